/**
 * JSON requests from the pages' scripts to the portal itself. A refusal becomes a RequestRefused
 * carrying the server's message, which is written for a person to read.
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

export async function answer<T>(response: Response, signedOutMessage = 'Your session has ended. Please sign in again.'): Promise<T> {
  const data = (await response.json().catch(() => null)) as { message?: unknown } | null
  if (!response.ok) {
    const fallback = response.status === 401 ? signedOutMessage : 'Something went wrong, so nothing was changed. Please try again.'
    throw new RequestRefused(response.status, typeof data?.message === 'string' ? data.message : fallback)
  }
  return (response.status === 204 ? null : data) as T
}

/** POSTs JSON, with a CSRF token in X-CSRF-Token when there is one. */
export async function postJson<T>(url: string, body: unknown, csrfToken: string | null = null, signedOutMessage?: string): Promise<T> {
  const response = await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...(csrfToken === null ? {} : { 'x-csrf-token': csrfToken }) },
    body: JSON.stringify(body),
  })
  return answer<T>(response, signedOutMessage)
}

export async function getJson<T>(url: string, signedOutMessage?: string): Promise<T> {
  return answer<T>(await fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } }), signedOutMessage)
}
