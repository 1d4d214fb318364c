/**
 * Requests from the staff pages' scripts: JSON to the portal itself, with the session's CSRF token
 * (from the page's meta tag). A refusal becomes an Error carrying the server's message, which is
 * written for a person to read.
 */

export class RequestRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
    this.name = 'RequestRefused'
  }
}

function csrfToken(): string | null {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? null
}

async function answer<T>(response: Response): Promise<T> {
  const data = (await response.json().catch(() => null)) as { message?: unknown } | null
  if (!response.ok) {
    const fallback = response.status === 401 ? 'Your session has ended. Please sign in again.' : 'Something went wrong. Please try again.'
    throw new RequestRefused(response.status, typeof data?.message === 'string' ? data.message : fallback)
  }
  return data as T
}

export async function postJson<T>(url: string, body: unknown): Promise<T> {
  const token = csrfToken()
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(token === null ? {} : { 'x-csrf-token': token }) },
    body: JSON.stringify(body),
  })
  return answer<T>(response)
}

export async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
  return answer<T>(response)
}
