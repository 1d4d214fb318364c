/**
 * Small numbers suppressed, so figures never identify anyone (README, "Figures").
 *
 * A count from 1 to below the minimum group size shows as "fewer than N" (primary suppression).
 * Where a table shows a total, a single suppressed cell could be worked out as the total minus the
 * others, so the smallest other cell is suppressed too (secondary suppression); a total below the
 * minimum is itself suppressed, and then so is every cell it would let a reader bound. Zero is shown
 * as zero: it names nobody.
 */

/**
 * One cell as shown: a number, or suppressed, because it is small (shown as "fewer than N", which is
 * true of it), or because it would give a small one away (shown as "not shown": it may be large).
 */
export type Shown = { readonly value: number } | { readonly suppressed: 'small' | 'derivable' }

export const isSuppressed = (cell: Shown): cell is { readonly suppressed: 'small' | 'derivable' } => 'suppressed' in cell

/** The cells of one row (with its total, when the table shows one), suppressed as above. */
export function suppressRow(cells: readonly number[], minimum: number, withTotal: boolean): { cells: Shown[]; total: Shown | null } {
  const small = (n: number) => n > 0 && n < minimum
  const hidden: (false | 'small' | 'derivable')[] = cells.map((n) => (small(n) ? 'small' : false))
  const total = cells.reduce((sum, n) => sum + n, 0)
  const totalHidden = withTotal && small(total)
  if (withTotal) {
    if (totalHidden) {
      // A small total bounds every non-zero cell under it: hide them all.
      cells.forEach((n, index) => {
        if (n > 0) hidden[index] = 'small'
      })
    } else if (hidden.filter(Boolean).length === 1) {
      // One hidden cell = total minus the others: hide the smallest other non-zero cell too.
      let smallest = -1
      cells.forEach((n, index) => {
        if (!hidden[index] && n > 0 && (smallest < 0 || n < cells[smallest]!)) smallest = index
      })
      if (smallest >= 0) hidden[smallest] = 'derivable'
    }
  }
  return {
    cells: cells.map((n, index): Shown => {
      const why = hidden[index] ?? false
      return why === false ? { value: n } : { suppressed: why }
    }),
    total: withTotal ? (totalHidden ? { suppressed: 'small' } : { value: total }) : null,
  }
}

/** As people read it: "fewer than 5" for a small count, "not shown" for one that would give it away. */
export function shownText(cell: Shown, minimum: number): string {
  if (!isSuppressed(cell)) return String(cell.value)
  return cell.suppressed === 'small' ? `fewer than ${minimum}` : 'not shown'
}

/** A median of whole numbers (null for none), for time to first response in working days. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}
