import Holidays from 'date-holidays'

/**
 * The bank holidays of the IDVA service's region, for the first-response clocks: a day that is one
 * is not a working day. They come from a kept data package (date-holidays, which follows each
 * government's announcements, substitute days included), never a hand-typed list, and are worked
 * out per year on first use.
 *
 * Regions (configuration BANK_HOLIDAYS): England and Wales share their bank holidays; Scotland and
 * Northern Ireland have their own; "none" counts Monday to Friday only.
 */
export const BANK_HOLIDAY_REGIONS = {
  'england-and-wales': 'ENG',
  scotland: 'SCT',
  'northern-ireland': 'NIR',
  none: null,
} as const

export type BankHolidayRegion = keyof typeof BANK_HOLIDAY_REGIONS

export function isBankHolidayRegion(value: string): value is BankHolidayRegion {
  return Object.hasOwn(BANK_HOLIDAY_REGIONS, value)
}

/** A test for 'YYYY-MM-DD' days: true on the region's bank holidays. */
export function bankHolidays(region: BankHolidayRegion): (day: string) => boolean {
  const state = BANK_HOLIDAY_REGIONS[region]
  if (state === null) return () => false
  const calendar = new Holidays('GB', state)
  const years = new Map<number, ReadonlySet<string>>()
  return (day) => {
    const year = Number(day.slice(0, 4))
    let days = years.get(year)
    if (days === undefined) {
      const found = calendar.getHolidays(year) || []
      days = new Set(found.filter((holiday) => holiday.type === 'public' || holiday.type === 'bank').map((holiday) => holiday.date.slice(0, 10)))
      years.set(year, days)
    }
    return days.has(day)
  }
}
