/**
 * The first-response clock, in working days: Monday to Friday, except the bank holidays of the
 * service's region, which the caller passes as a test (server/bank-holidays.ts; this module does no
 * I/O and knows no calendar). Days are 'YYYY-MM-DD' strings, as the database keeps them: a case
 * records the day it arrived, never the time.
 */
import { readableDay } from './dates.ts'

/** True on a day that is not worked although it is a weekday (a bank holiday). */
export type HolidayTest = (day: string) => boolean

const NO_HOLIDAYS: HolidayTest = () => false

const DAY_MS = 86_400_000
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/

function toUtc(day: string): number {
  const match = DAY.exec(day)
  if (match === null) throw new RangeError(`not a day: ${day}`)
  return Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
}

function fromUtc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10)
}

function isWorkingDay(ms: number, holidays: HolidayTest): boolean {
  const weekday = new Date(ms).getUTCDay()
  return weekday !== 0 && weekday !== 6 && !holidays(fromUtc(ms))
}

/** The day `n` working days after `day` (a case arriving at the weekend counts from Monday). */
export function addWorkingDays(day: string, n: number, holidays: HolidayTest = NO_HOLIDAYS): string {
  let ms = toUtc(day)
  let left = n
  while (left > 0) {
    ms += DAY_MS
    if (isWorkingDay(ms, holidays)) left--
  }
  return fromUtc(ms)
}

/** The day `n` working days before `day`. */
export function subtractWorkingDays(day: string, n: number, holidays: HolidayTest = NO_HOLIDAYS): string {
  let ms = toUtc(day)
  let left = n
  while (left > 0) {
    ms -= DAY_MS
    if (isWorkingDay(ms, holidays)) left--
  }
  return fromUtc(ms)
}

/** Working days from `from` (exclusive) to `to` (inclusive); 0 when `to` is not after `from`. */
export function workingDaysBetween(from: string, to: string, holidays: HolidayTest = NO_HOLIDAYS): number {
  let count = 0
  const end = toUtc(to)
  for (let ms = toUtc(from) + DAY_MS; ms <= end; ms += DAY_MS) if (isWorkingDay(ms, holidays)) count++
  return count
}

export interface ResponseClock {
  readonly state: 'replied' | 'due' | 'overdue' | 'closed'
  /** The day the first reply is due. */
  readonly dueOn: string
  /** Working days the case has waited (or waited, once replied). */
  readonly waited: number
  /** Working days past the target, when overdue. */
  readonly overdueBy: number
  /** Plain words for the queue and the case page. */
  readonly text: string
}

function days(n: number): string {
  return `${n} working day${n === 1 ? '' : 's'}`
}

/**
 * Where a case stands against its first-response target. A case is overdue once the due day has
 * passed without a reply: a target of two working days for a Monday case is met by Wednesday, and
 * it is overdue from Thursday (a case due on a Friday is overdue over the weekend, "was due").
 */
export interface ClockWords {
  /** "First reply" (after N working days) */
  readonly done: string
  /** "Reply" (due by…) */
  readonly due: string
  /** "Closed without a reply" */
  readonly closed: string
}

const REPLY_WORDS: ClockWords = { done: 'First reply', due: 'Reply', closed: 'Closed without a reply' }

export function responseClock(options: { createdOn: string; firstReplyOn: string | null; closed: boolean; targetDays: number; today: string; words?: ClockWords; holidays?: HolidayTest }): ResponseClock {
  const words = options.words ?? REPLY_WORDS
  const holidays = options.holidays ?? NO_HOLIDAYS
  const dueOn = addWorkingDays(options.createdOn, options.targetDays, holidays)
  if (options.firstReplyOn !== null) {
    const waited = workingDaysBetween(options.createdOn, options.firstReplyOn, holidays)
    const late = Math.max(0, waited - options.targetDays)
    const after = waited === 0 ? 'within a working day' : `after ${days(waited)}`
    return { state: 'replied', dueOn, waited, overdueBy: late, text: `${words.done} ${after}${late > 0 ? ` (${days(late)} late)` : ''}` }
  }
  const waited = workingDaysBetween(options.createdOn, options.today, holidays)
  if (options.closed) return { state: 'closed', dueOn, waited, overdueBy: 0, text: words.closed }
  const overdueBy = workingDaysBetween(dueOn, options.today, holidays)
  const due = readableDay(dueOn)
  if (options.today > dueOn) return { state: 'overdue', dueOn, waited, overdueBy, text: overdueBy > 0 ? `${days(overdueBy)} past the target (due ${due})` : `Was due ${due}` }
  return { state: 'due', dueOn, waited, overdueBy: 0, text: dueOn === options.today ? `${words.due} due today` : `${words.due} due by ${due}` }
}

/** Each kind's overdue cutoff today (see overdueCutoff), for the queue and its counts. */
export function overdueCutoffs(today: string, targets: Readonly<Record<'disclosure' | 'consultation', number>>, holidays: HolidayTest = NO_HOLIDAYS): Record<'disclosure' | 'consultation', string> {
  return { disclosure: overdueCutoff(today, targets.disclosure, holidays), consultation: overdueCutoff(today, targets.consultation, holidays) }
}

/**
 * The newest arrival day that is overdue today: a case that arrived on or before it, with no reply,
 * is past its target. Used to filter the queue with an index range rather than row by row.
 */
export function overdueCutoff(today: string, targetDays: number, holidays: HolidayTest = NO_HOLIDAYS): string {
  // Overdue means the due day is before today; the due day only moves earlier as the arrival day
  // does, so walk back from today to the first arrival day that is overdue.
  let candidate = today
  for (let i = 0; i < 400; i++) {
    if (addWorkingDays(candidate, targetDays, holidays) < today) return candidate
    candidate = fromUtc(toUtc(candidate) - DAY_MS)
  }
  throw new RangeError('no overdue cutoff within 400 days')
}
