/**
 * Dates as people read them. A day ("2026-12-01", as the portal keeps anonymous activity) is
 * written "1 December 2026", the same everywhere. An exact time (kept only for staff actions) is
 * written in the service's time zone, "1 December 2026, 14:05", never in UTC.
 */

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/

/** "1 December 2026" from "2026-12-01"; anything else is returned as it is. */
export function readableDay(day: string): string {
  const match = DAY.exec(day)
  if (match === null) return day
  const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])))
  return date.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' })
}

/** "1 December 2026, 14:05" in `timeZone` (an IANA name such as Europe/London). */
export function readableTime(at: Date, timeZone: string): string {
  const day = at.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone })
  const time = at.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone })
  return `${day}, ${time}`
}

/** True when `timeZone` is a time zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone })
    return true
  } catch {
    return false
  }
}
