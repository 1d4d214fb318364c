/**
 * Sending a new case from the browser, for /report (a disclosure) and /managers/ask (a
 * consultation): a fresh case code made here, the case's keys derived from it, the first message
 * sealed to the IDVA service and the case's reply key and signed with the case's key, and only
 * that sent. Then the receipt: the code shown once, and a check that it was noted.
 */
import type { PublicKeySet } from '../../crypto/index.ts'
import { messageOf } from '../ui.ts'
import { cryptoReady, getJson, KeyNotChecked, loadCryptoOrNull, Problem, RequestRefused, required, sealReporterMessage, showKeyProblem, showProblem, verifyServiceChain, type ServiceChain, type UploadedFile } from './common.ts'
import { PuzzleRun } from './puzzle.ts'

type Crypto = typeof import('../../crypto/index.ts')

/**
 * One new case in the making, from the moment the page can encrypt until the server has it: its
 * id (so the proof of work can be bound to it while the person writes), and once sealed, the code's
 * words and the body sent, kept in memory (never in storage) until the server acknowledges it, so a
 * retry sends the same case again instead of making a second one with a new code.
 */
export interface Draft {
  readonly caseId: string
  readonly messageId: string
  readonly puzzle: PuzzleRun
  sealed?: { readonly words: string[]; readonly body: Record<string, unknown>; readonly content: string }
}

function newDraft(): Draft {
  const caseId = globalThis.crypto.randomUUID()
  return { caseId, messageId: globalThis.crypto.randomUUID(), puzzle: new PuzzleRun(caseId) }
}

/**
 * What a page that sends a new case needs before anything can be typed: the cryptography loaded
 * and the IDVA service's key followed from the published one. Null (the page stays switched off,
 * saying why) when either fails: there is never a plaintext fallback.
 */
export async function readyToSeal(): Promise<{ crypto: Crypto; service: PublicKeySet; errorBox: HTMLElement; working: HTMLElement; draft: Draft } | null> {
  const crypto = await loadCryptoOrNull()
  if (crypto === null) return null
  const errorBox = required<HTMLElement>(document, '[data-error]')
  const working = required<HTMLElement>(document, '[data-working]')
  try {
    const service = (await verifyServiceChain(crypto, await getJson<ServiceChain>('/report/keys'))).current
    cryptoReady()
    return { crypto, service, errorBox, working, draft: newDraft() }
  } catch (error) {
    // The questions stay switched off: nothing can be sealed to a key that does not check out.
    cryptoReady()
    if (error instanceof KeyNotChecked || (error instanceof RequestRefused && error.status === 503 && /check the IDVA service's key/.test(error.message))) showKeyProblem()
    else showProblem(errorBox, messageOf(error))
    return null
  }
}

export interface NewCase {
  readonly url: '/report' | '/managers/ask'
  readonly kind: 'disclosure' | 'consultation'
  readonly text: string
  readonly answers: Record<string, string | string[]>
  readonly evidence: readonly UploadedFile['reference'][]
  readonly uploads: readonly UploadedFile[]
  /** The service's current keys, checked against the published fingerprint. */
  readonly service: PublicKeySet
  /** A disclosure's urgency band, sent in clear so the IDVA queue can put it first (SECURITY.md). */
  readonly urgency?: string | null
}

/** What sending came to: received, or received earlier in a different version (the first one sent). */
export interface Sent {
  readonly words: string[]
  readonly earlierVersion: boolean
}

/** How long to keep trying when the portal cannot be reached, and the longest wait between tries. */
const RETRY_FOR_MS = 3 * 60_000
const LONGEST_WAIT_S = 30

const NOT_CONFIRMED =
  'We could not confirm that what you wrote arrived. It is kept on this page, with the same code: press Send again to try again. If you close the page, nothing is kept.'

const pause = (seconds: number) => new Promise((resolve) => setTimeout(resolve, seconds * 1000))

/**
 * Seals and sends, keeping the draft until the server acknowledges it; returns the case code's
 * words. A lost connection or an outage (503 with a short Retry-After) is retried with the same
 * body for up to three minutes, saying so through `onWaiting`; the server answers a repeat it
 * already has as received. If the service key changed since the page loaded, follows the chain
 * again, re-seals once, and reports the new keys through `onNewKey`.
 */
export async function sendNewCase(crypto: Crypto, draft: Draft, newCase: NewCase, onNewKey: (service: PublicKeySet) => void, onWaiting: (message: string) => void = () => undefined): Promise<Sent> {
  const content = JSON.stringify([newCase.url, newCase.text, newCase.answers, newCase.evidence, newCase.urgency ?? null])
  let service = newCase.service
  const seal = async (): Promise<{ words: string[]; body: Record<string, unknown> }> => {
    // The same words for every version of this draft: once a code may have reached the server, it is the one to keep.
    const words = draft.sealed?.words ?? (await crypto.generateCaseCode())
    const caseKeys = await crypto.deriveCaseKeys(words.join(' '))
    const message = {
      v: 1,
      text: newCase.text,
      answers: newCase.answers,
      evidence: newCase.evidence,
      // So IDVA browsers can refuse a server copy of these keys that an insider swapped.
      caseKeys: { reply: crypto.base64url.encode(caseKeys.reply.publicKey), auth: crypto.base64url.encode(caseKeys.auth.publicKey) },
    }
    const body = {
      caseId: draft.caseId,
      lookupId: crypto.base64url.encode(caseKeys.lookupId),
      authPublic: crypto.base64url.encode(caseKeys.auth.publicKey),
      replyPublic: crypto.base64url.encode(caseKeys.reply.publicKey),
      messageId: draft.messageId,
      envelope: await sealReporterMessage(crypto, { kind: newCase.kind, caseId: draft.caseId, seq: 1, messageId: draft.messageId, content: message, caseKeys, service }),
      uploads: newCase.uploads.map((upload) => ({ id: upload.id, token: upload.token })),
      ...(newCase.urgency === undefined || newCase.urgency === null ? {} : { urgency: newCase.urgency }),
    }
    draft.sealed = { words, body, content }
    return { words, body }
  }
  let { words, body } = draft.sealed !== undefined && draft.sealed.content === content ? draft.sealed : await seal()
  let puzzle = await draft.puzzle.answer()
  let resealed = false
  let renewed = false
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    let response: Response
    try {
      response = await fetch(newCase.url, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify({ ...body, puzzle }) })
    } catch {
      // No answer at all: the portal may or may not have it. Send the same again.
      if (Date.now() - started > RETRY_FOR_MS) throw new Problem(NOT_CONFIRMED)
      const wait = Math.min(LONGEST_WAIT_S, 2 ** attempt)
      onWaiting(`The connection was lost. Trying again in ${wait} seconds. Keep this page open: what you wrote is kept here.`)
      await pause(wait)
      continue
    }
    if (response.ok) return { words, earlierVersion: false }
    const data = (await response.json().catch(() => null)) as { message?: unknown } | null
    const message = typeof data?.message === 'string' ? data.message : NOT_CONFIRMED
    if (response.status === 409 && /changed its key/.test(message) && !resealed) {
      resealed = true
      service = (await verifyServiceChain(crypto, await getJson<ServiceChain>('/report/keys'))).current
      onNewKey(service)
      ;({ words, body } = await seal())
      continue
    }
    // An earlier version of this draft arrived (its answer was lost), and this one differs: the
    // earlier one is the case, and this page's code opens it.
    if (response.status === 409 && draft.sealed !== undefined && response.headers.get('sd-case') === 'received-different') return { words, earlierVersion: true }
    if (response.status === 400 && response.headers.get('sd-puzzle') === 'renew' && !renewed) {
      renewed = true
      onWaiting('Getting this page ready to send again. This takes a few seconds.')
      puzzle = await draft.puzzle.renew()
      continue
    }
    const retryAfter = Number(response.headers.get('retry-after'))
    if ((response.status === 502 || response.status === 503 || response.status === 504) && Number.isFinite(retryAfter) && retryAfter <= LONGEST_WAIT_S && Date.now() - started < RETRY_FOR_MS) {
      const wait = Math.max(1, retryAfter)
      onWaiting(`The portal is not answering at the moment. Trying again in ${wait} seconds. Keep this page open: what you wrote is kept here.`)
      await pause(wait)
      continue
    }
    throw new RequestRefused(response.status, message)
  }
}

/** Every answered question: checkboxes as lists, everything else as trimmed text. */
export function gatherAnswers(container: HTMLElement): Record<string, string | string[]> {
  const answers: Record<string, string | string[]> = {}
  for (const element of container.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('[data-answer]')) {
    const name = element.dataset.answer!
    if (element instanceof HTMLInputElement && element.type === 'checkbox') {
      if (element.checked) answers[name] = [...((answers[name] as string[] | undefined) ?? []), element.value]
    } else if (element instanceof HTMLInputElement && element.type === 'radio') {
      if (element.checked) answers[name] = element.value
    } else {
      const value = element.value.trim()
      if (value !== '') answers[name] = value
    }
  }
  return answers
}

function twoPositions(count: number): [number, number] {
  const random = new Uint32Array(2)
  globalThis.crypto.getRandomValues(random)
  const first = random[0]! % count
  const second = (first + 1 + (random[1]! % (count - 1))) % count
  return first < second ? [first, second] : [second, first]
}

/** What was written has been sent: it is cleared from the page (so it is not left on screen), and the receipt shown. */
export function showReceipt(form: HTMLElement, sent: Sent): void {
  const words = sent.words
  form.replaceChildren()
  form.hidden = true
  for (const intro of document.querySelectorAll<HTMLElement>('[data-report-intro]')) intro.hidden = true
  // The first heading on the screen is the receipt's, not the form's.
  for (const title of document.querySelectorAll<HTMLElement>('[data-page-title]')) title.hidden = true
  const receipt = required<HTMLElement>(document, '[data-receipt]')
  required<HTMLElement>(receipt, '[data-case-code]').textContent = words.join(' ')
  const positions = twoPositions(words.length)
  required<HTMLElement>(receipt, '[data-check-label-a]').textContent = `Word ${positions[0] + 1} of your code`
  required<HTMLElement>(receipt, '[data-check-label-b]').textContent = `Word ${positions[1] + 1} of your code`
  const result = required<HTMLElement>(receipt, '[data-check-result]')
  const check = () => {
    const a = required<HTMLInputElement>(receipt, '[data-check-word-a]').value.trim().toLowerCase()
    const b = required<HTMLInputElement>(receipt, '[data-check-word-b]').value.trim().toLowerCase()
    if (a === words[positions[0]] && b === words[positions[1]]) {
      result.textContent = 'That is right. You have your code.'
      required<HTMLElement>(receipt, '[data-receipt-done]').hidden = false
    } else {
      result.textContent = `That does not match. Look at your code again and type word ${positions[0] + 1} and word ${positions[1] + 1}.`
    }
  }
  required<HTMLButtonElement>(receipt, '[data-check-code]').addEventListener('click', check)
  for (const input of receipt.querySelectorAll<HTMLInputElement>('input')) {
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') check()
    })
  }
  required<HTMLElement>(receipt, '[data-receipt-earlier]').hidden = !sent.earlierVersion
  receipt.hidden = false
  required<HTMLElement>(receipt, 'h2').focus()
  window.scrollTo({ top: 0 })
}
