/** What every page needs from the server, passed to views as plain data (views never read config). */
export interface PageContext {
  /** The neutral site the quick exit goes to. */
  readonly quickExitUrl: string
  /** A demonstration portal: every page says so. */
  readonly demo: boolean
  /** URLs of the bundle's files (content-hashed names, from dist/public/manifest.json). */
  /** How to reach the IDVA service by phone or in person (configuration); null when none is set. */
  readonly contact: ServiceContact | null
  /** The service's time zone, for the exact times of staff actions. */
  readonly timeZone: string
  readonly assets: { readonly css: string; readonly htmx: string; readonly app: string; readonly evidenceWorker: string; readonly puzzleWorker: string }
}

/**
 * htmx, configured safely: no eval, no script execution from swapped content, no history snapshots
 * in localStorage (or anywhere), requests only to this origin, and no injected indicator styles
 * (which would need 'unsafe-inline' in the CSP).
 */
export const HTMX_CONFIG = JSON.stringify({
  allowEval: false,
  allowScriptTags: false,
  historyEnabled: false,
  historyCacheSize: 0,
  refreshOnHistoryMiss: true,
  selfRequestsOnly: true,
  includeIndicatorStyles: false,
  withCredentials: false,
  getCacheBusterParam: false,
})

/** How to reach the IDVA service by phone or in person, shown on the public pages. */
export interface ServiceContact {
  /** As written for people: digits and spaces, optionally a leading +. */
  readonly phone: string | null
  /** "Monday to Friday, 9am to 5pm". */
  readonly hours: string | null
  /** An offer to meet face to face, in the service's words. */
  readonly meeting: string | null
}

