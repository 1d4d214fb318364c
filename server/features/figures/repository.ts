import { sql, type Kysely } from 'kysely'
import type { Schema } from '../../db/schema.ts'
import { withActor } from '../../db/actor.ts'
import { median, suppressRow } from '../../../rules/figures.ts'
import type { FiguresView, FigureTableView } from '../../../views/pages/staff/figures.tsx'
import { workingDaysBetween, type HolidayTest } from '../../../rules/working-days.ts'

/**
 * The figures (README, "Figures"): counts from metadata the portal keeps in clear, never from
 * anything sealed, each table suppressed as rules/figures.ts says before it leaves this module, so
 * the page, the charts and the CSV show the same numbers.
 */

const SUBMITTED = ['case.submitted', 'case.consultation_submitted'] as const
const WITHDRAWN = ['case.withdrawn_and_deleted', 'case.withdrawn_record_kept'] as const

function monday(day: string): string {
  const date = new Date(`${day}T00:00:00Z`)
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7))
  return date.toISOString().slice(0, 10)
}

function addDays(day: string, days: number): string {
  const date = new Date(`${day}T00:00:00Z`)
  date.setUTCDate(date.getUTCDate() + days)
  return date.toISOString().slice(0, 10)
}

function table(id: string, title: string, rowHeading: string, columns: readonly string[], rows: readonly { label: string; counts: readonly number[] }[], minimum: number, withTotal: boolean, note?: string): FigureTableView {
  return { id, title, rowHeading, columns, note, rows: rows.map((row) => ({ label: row.label, ...suppressRow(row.counts, minimum, withTotal) })) }
}

export async function computeFigures(db: Kysely<Schema>, options: { today: string; minimum: number; targetDays: number; homeForce: string; holidays: HolidayTest }): Promise<FiguresView> {
  const { today, minimum } = options
  const weeksFrom = addDays(monday(today), -7 * 11)
  const monthsFrom = `${addDays(`${today.slice(0, 7)}-01`, -334).slice(0, 7)}-01`
  // Arrivals and withdrawals from the anonymous audit chain (kept after a case goes), by day only.
  // Junk is not a referral: a case marked as junk now, or destroyed as junk, is not counted.
  const events = await db
    .selectFrom('case_audit_log')
    .select(['action', sql<string>`occurred_on::text`.as('day'), (eb) => eb.fn.countAll<string>().as('n')])
    .where('action', 'in', [...SUBMITTED, ...WITHDRAWN])
    .where('occurred_on', '>=', sql<string>`${monthsFrom < weeksFrom ? monthsFrom : weeksFrom}::date`)
    .where(({ not, or, exists, selectFrom }) =>
      not(
        or([
          exists(selectFrom('cases').select('cases.id').whereRef('cases.id', '=', 'case_audit_log.actor_id').where('cases.junk_on', 'is not', null)),
          exists(selectFrom('audit_log').select('audit_log.seq').whereRef('audit_log.object_id', '=', 'case_audit_log.actor_id').where('audit_log.action', '=', 'retention.junk_destroyed')),
        ]),
      ),
    )
    .groupBy(['action', 'occurred_on'])
    .execute()

  const weeks = Array.from({ length: 12 }, (_, index) => addDays(weeksFrom, 7 * index))
  const perWeek = weeks.map((week) => {
    const inWeek = events.filter((row) => monday(row.day) === week)
    const count = (action: string) => inWeek.filter((row) => row.action === action).reduce((sum, row) => sum + Number(row.n), 0)
    return { label: week, counts: [count('case.submitted'), count('case.consultation_submitted')] }
  })
  const months: string[] = []
  for (let month = monthsFrom.slice(0, 7); month <= today.slice(0, 7); month = addDays(`${month}-28`, 7).slice(0, 7)) months.push(month)
  const perMonth = months.map((month) => {
    const inMonth = events.filter((row) => row.day.startsWith(month))
    const count = (actions: readonly string[]) => inMonth.filter((row) => actions.includes(row.action)).reduce((sum, row) => sum + Number(row.n), 0)
    return { label: month, counts: [count(['case.submitted']), count(['case.consultation_submitted']), count(WITHDRAWN)] }
  })

  // What the portal still holds, from the cases' own metadata (the year to date).
  const cases = await db
    .selectFrom('cases')
    .select(['kind', 'status', 'risk_level', 'marac_referred', 'withdrawn_on', sql<string>`created_on::text`.as('created_on'), sql<string | null>`first_reply_on::text`.as('first_reply_on')])
    .where('created_on', '>=', sql<string>`${monthsFrom}::date`)
    .where('junk_on', 'is', null)
    .execute()
  const disclosures = cases.filter((row) => row.kind === 'disclosure')
  const risk = ['high', 'medium', 'standard', null].map((level) => disclosures.filter((row) => row.risk_level === level).length)
  const marac = disclosures.filter((row) => row.marac_referred).length

  const answered = disclosures.filter((row) => row.first_reply_on !== null).map((row) => workingDaysBetween(row.created_on, row.first_reply_on!, options.holidays))
  const answeredShown = suppressRow([answered.length], minimum, false).cells[0]!
  const within = answered.filter((days) => days <= options.targetDays).length

  const open = await db
    .selectFrom('cases')
    .select(sql<string>`created_on::text`.as('created_on'))
    .where('status', '<>', 'closed')
    .where('withdrawn_on', 'is', null)
    .where('junk_on', 'is', null)
    .execute()
  const ages = [7, 28, 91, Number.POSITIVE_INFINITY]
  const ageLabels = ['Under a week', '1 to 4 weeks', '1 to 3 months', 'Over 3 months']
  const ageCounts = ages.map(() => 0)
  for (const row of open) {
    const age = (Date.parse(`${today}T00:00:00Z`) - Date.parse(`${row.created_on}T00:00:00Z`)) / 86_400_000
    ageCounts[ages.findIndex((limit) => age < limit)]! += 1
  }

  // Routes taken: referrals sent in the period, by track and whether the unit is of this force.
  const referrals = await withActor(db, { role: 'system' }, (trx) =>
    trx
      .selectFrom('referrals')
      .innerJoin('groups', 'groups.id', 'referrals.unit_id')
      .select(['referrals.track', 'groups.force', 'referrals.iopc_required', 'referrals.iopc_decision'])
      .where('referrals.sent_at', '>=', sql<Date>`${monthsFrom}::date`)
      .execute(),
  )
  const routeCount = (track: string, home: boolean) => referrals.filter((row) => row.track === track && (row.force === options.homeForce) === home).length
  const iopcRequired = referrals.filter((row) => row.iopc_required).length
  const iopcReferred = referrals.filter((row) => row.iopc_decision === 'referred').length

  const tables: FigureTableView[] = [
    table('arrivals-weekly', 'Self-referrals and consultations each week', 'Week starting', ['Self-referrals', 'Consultations'], perWeek, minimum, true),
    table('arrivals-monthly', 'Each month: self-referrals, consultations and withdrawals', 'Month', ['Self-referrals', 'Consultations', 'Withdrawals'], perMonth, minimum, false, 'Withdrawals are counted in the month the person withdrew.'),
    table('risk', 'Risk levels of self-referrals this year', 'Risk level', ['Self-referrals'], [{ label: 'High', counts: [risk[0]!] }, { label: 'Medium', counts: [risk[1]!] }, { label: 'Standard', counts: [risk[2]!] }, { label: 'Not assessed yet', counts: [risk[3]!] }], minimum, false),
    table('marac', 'MARAC referrals this year', 'Referred to a MARAC', ['Self-referrals'], [{ label: 'Referred', counts: [marac] }], minimum, false),
    table('routes', 'Referrals to investigators this year, by track', 'Track', ['This force', 'Another force'], [{ label: 'Criminal', counts: [routeCount('criminal', true), routeCount('criminal', false)] }, { label: 'Misconduct', counts: [routeCount('misconduct', true), routeCount('misconduct', false)] }], minimum, true),
    table('iopc', 'IOPC referrals this year', 'IOPC', ['Packages'], [{ label: 'Needed an IOPC decision', counts: [iopcRequired] }, { label: 'Referred to the IOPC', counts: [iopcReferred] }], minimum, false),
    table('open-ages', 'Open cases by how long they have been open', 'Open for', ['Cases'], ageLabels.map((label, index) => ({ label, counts: [ageCounts[index]!] })), minimum, false),
  ]
  const answeredEnough = !('suppressed' in answeredShown)
  return {
    minimum,
    from: monthsFrom,
    to: today,
    tables,
    firstResponse: {
      answered: answeredShown,
      // A median or share of fewer cases than the minimum would describe them one by one.
      medianDays: answeredEnough ? median(answered) : null,
      withinTarget: answeredEnough ? suppressRow([within, answered.length - within], minimum, true).cells[0]! : { suppressed: 'small' },
      targetDays: options.targetDays,
    },
  }
}
