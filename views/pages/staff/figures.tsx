import { StaffLayout, type StaffView } from '../../staff/layout.tsx'
import { readableDay } from '../../../rules/dates.ts'
import { isSuppressed, shownText, type Shown } from '../../../rules/figures.ts'

/** One table of figures, already suppressed (server/features/figures/repository.ts). */
export interface FigureTableView {
  readonly id: string
  readonly title: string
  readonly rowHeading: string
  readonly columns: readonly string[]
  readonly rows: readonly { readonly label: string; readonly cells: readonly Shown[]; readonly total: Shown | null }[]
  readonly note?: string
}

export interface FiguresView {
  readonly minimum: number
  readonly from: string
  readonly to: string
  readonly tables: readonly FigureTableView[]
  readonly firstResponse: { readonly answered: Shown; readonly medianDays: number | null; readonly withinTarget: Shown; readonly targetDays: number }
}

const BAR_HEIGHT = 18
const GAP = 6
const LABEL_WIDTH = 150
const CHART_WIDTH = 560

/**
 * A horizontal bar chart drawn on the server: one bar per cell, scaled to the largest shown value;
 * a suppressed cell is a short dotted outline labelled "fewer than N", never a bar of its true length. The
 * same numbers are in the table below it, which is what a screen reader is pointed to.
 */
function Chart({ table, minimum }: { table: FigureTableView; minimum: number }): JSX.Element {
  const bars = table.rows.flatMap((row) => row.cells.map((cell, index) => ({ label: table.columns.length > 1 ? `${row.label}, ${table.columns[index]}` : row.label, cell, series: index })))
  const largest = Math.max(1, ...bars.map((bar) => (isSuppressed(bar.cell) ? 0 : bar.cell.value)))
  const height = bars.length * (BAR_HEIGHT + GAP) + GAP
  const scale = (CHART_WIDTH - LABEL_WIDTH - 110) / largest
  return (
    <svg class="chart" viewBox={`0 0 ${CHART_WIDTH} ${height}`} width="100%" role="img" aria-labelledby={`chart-${table.id}-title`} data-chart={table.id}>
      <title id={`chart-${table.id}-title`} safe>{`${table.title}: the same figures are in the table below.`}</title>
      {bars.map((bar, index) => {
        const y = GAP + index * (BAR_HEIGHT + GAP)
        const width = isSuppressed(bar.cell) ? 6 : Math.max(bar.cell.value > 0 ? 2 : 0, Math.round(bar.cell.value * scale))
        return (
          <g>
            <text x={String(LABEL_WIDTH - 8)} y={String(y + BAR_HEIGHT - 5)} class="chart__label" text-anchor="end" safe>
              {bar.label.length > 24 ? `${bar.label.slice(0, 23)}…` : bar.label}
            </text>
            <rect x={String(LABEL_WIDTH)} y={String(y)} width={String(width)} height={String(BAR_HEIGHT)} class={isSuppressed(bar.cell) ? 'chart__bar chart__bar--suppressed' : `chart__bar chart__bar--${bar.series}`} />
            <text x={String(LABEL_WIDTH + width + 6)} y={String(y + BAR_HEIGHT - 5)} class="chart__value" safe>
              {shownText(bar.cell, minimum)}
            </text>
          </g>
        )
      })}
    </svg>
  )
}

function FigureTable({ table, minimum }: { table: FigureTableView; minimum: number }): JSX.Element {
  const withTotal = table.rows.some((row) => row.total !== null)
  return (
    <section class="figure" aria-labelledby={`figure-${table.id}`} data-figure={table.id}>
      <h2 id={`figure-${table.id}`} safe>
        {table.title}
      </h2>
      <Chart table={table} minimum={minimum} />
      <table class="table">
        <caption class="visually-hidden" safe>
          {table.title}
        </caption>
        <thead>
          <tr>
            <th scope="col" safe>
              {table.rowHeading}
            </th>
            {table.columns.map((column) => (
              <th scope="col" safe>
                {column}
              </th>
            ))}
            {withTotal ? <th scope="col">Total</th> : ''}
          </tr>
        </thead>
        <tbody>
          {table.rows.map((row) => (
            <tr>
              <th scope="row" safe>
                {/^\d{4}-\d{2}-\d{2}$/.test(row.label) ? readableDay(row.label) : row.label}
              </th>
              {row.cells.map((cell) => (
                <td data-suppressed={isSuppressed(cell) ? '' : undefined} safe>
                  {shownText(cell, minimum)}
                </td>
              ))}
              {row.total === null ? '' : <td safe>{shownText(row.total, minimum)}</td>}
            </tr>
          ))}
        </tbody>
      </table>
      {table.note === undefined ? '' : <p class="hint" safe>{table.note}</p>}
    </section>
  )
}

/** /staff/figures: for the IDVA lead, and the force's administrator. Metadata only, small numbers suppressed. */
export function FiguresPage({ view, figures }: { view: StaffView; figures: FiguresView }): JSX.Element {
  const first = figures.firstResponse
  return (
    <StaffLayout view={view} title="Figures" page="staff-figures">
      <h1>Figures</h1>
      <p class="lead" safe>
        {`From ${readableDay(figures.from)} to ${readableDay(figures.to)}. Counted from what the portal keeps in clear (kinds, days, statuses, risk levels, where referrals went), never from anything a person wrote.`}
      </p>
      <p safe>
        {`Any count from 1 to ${figures.minimum - 1} shows as "fewer than ${figures.minimum}", and so does any count that could be worked out from the others, so that no figure points to a person. Cases destroyed under the retention policy are no longer counted, except in the weekly and monthly arrivals.`}
      </p>
      <p data-figures-junk="">Cases an IDVA marked as junk are not referrals, so they are not counted anywhere here, before or after they are destroyed; one put back is counted again.</p>
      <p>
        <a href="/staff/figures.csv" class="button button--secondary" download="figures.csv">
          Download these figures (CSV)
        </a>
      </p>
      <section class="figure" aria-labelledby="figure-first-response" data-figure="first-response">
        <h2 id="figure-first-response">Time to first response (self-referrals this year)</h2>
        <dl class="summary">
          <dt>Answered</dt>
          <dd safe>{shownText(first.answered, figures.minimum)}</dd>
          <dt>Median</dt>
          <dd safe>{first.medianDays === null ? 'not shown: too few cases' : `${first.medianDays} working day${first.medianDays === 1 ? '' : 's'}`}</dd>
          <dt safe>{`Within the target of ${first.targetDays} working day${first.targetDays === 1 ? '' : 's'}`}</dt>
          <dd safe>{shownText(first.withinTarget, figures.minimum)}</dd>
        </dl>
      </section>
      {figures.tables.map((table) => (
        <FigureTable table={table} minimum={figures.minimum} />
      ))}
    </StaffLayout>
  )
}

/** The same suppressed figures as CSV: table, row, column, value. */
export function figuresCsv(figures: FiguresView): string {
  const cell = (value: string) => (/[",\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value)
  const lines = [['table', 'row', 'column', 'value']]
  const first = figures.firstResponse
  lines.push(['first-response', 'self-referrals this year', 'answered', shownText(first.answered, figures.minimum)])
  lines.push(['first-response', 'self-referrals this year', 'median working days', first.medianDays === null ? 'not shown' : String(first.medianDays)])
  lines.push(['first-response', 'self-referrals this year', `within ${first.targetDays} working days`, shownText(first.withinTarget, figures.minimum)])
  for (const table of figures.tables) {
    for (const row of table.rows) {
      row.cells.forEach((value, index) => lines.push([table.id, row.label, table.columns[index]!, shownText(value, figures.minimum)]))
      if (row.total !== null) lines.push([table.id, row.label, 'total', shownText(row.total, figures.minimum)])
    }
  }
  return `${lines.map((line) => line.map(cell).join(',')).join('\n')}\n`
}
