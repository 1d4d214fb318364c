/** What every page needs from the server, passed to views as plain data (views never read config). */
export interface PageContext {
  /** The neutral site the quick exit goes to. */
  readonly quickExitUrl: string
  /** A demonstration portal: every page says so. */
  readonly demo: boolean
  /** URLs of the bundle's files (content-hashed names, from dist/public/manifest.json). */
  readonly assets: { readonly css: string; readonly htmx: string; readonly app: string; readonly evidenceWorker: string }
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
