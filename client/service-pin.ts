/**
 * The IDVA service key's fingerprint pinned in the portal's configuration (SERVICE_KEY_FINGERPRINT),
 * as the server wrote it into the page: the anchor every key chain is checked against. It never
 * comes from a database row, so an insider who replaces the service's keys in the database cannot
 * make a browser trust theirs. Null when the page carries none: callers then refuse.
 */
export function servicePin(): string | null {
  const pin = document.querySelector<HTMLMetaElement>('meta[name="sd-service-pin"]')?.content.trim() ?? ''
  return /^\d{5}( \d{5}){5}$/.test(pin) ? pin : null
}
