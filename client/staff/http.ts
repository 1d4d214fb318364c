/**
 * Requests from the staff pages' scripts: JSON to the portal itself, with the session's CSRF token
 * from the page's meta tag.
 */
import { getJson, postJson as post, RequestRefused } from '../http.ts'

function csrfToken(): string | null {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? null
}

export async function postJson<T>(url: string, body: unknown): Promise<T> {
  return post<T>(url, body, csrfToken())
}

export { getJson, RequestRefused }
