/**
 * Sending a new case from the browser, for /report (a disclosure) and /managers/ask (a
 * consultation): a fresh case code made here, the case's keys derived from it, the first message
 * sealed to the IDVA service and the case's reply key and signed with the case's key, and only
 * that sent. Then the receipt: the code shown once, and a check that it was noted.
 */
import type { PublicKeySet } from '../../crypto/index.ts'
import { messageOf } from '../ui.ts'
import { cryptoReady, getJson, KeyNotChecked, loadCryptoOrNull, postJson, RequestRefused, required, sealReporterMessage, showKeyProblem, showProblem, verifyServiceChain, type ServiceChain, type UploadedFile } from './common.ts'

type Crypto = typeof import('../../crypto/index.ts')

/**
 * What a page that sends a new case needs before anything can be typed: the cryptography loaded
 * and the IDVA service's key followed from the published one. Null (the page stays switched off,
 * saying why) when either fails: there is never a plaintext fallback.
 */
export async function readyToSeal(): Promise<{ crypto: Crypto; service: PublicKeySet; errorBox: HTMLElement; working: HTMLElement } | null> {
  const crypto = await loadCryptoOrNull()
  if (crypto === null) return null
  const errorBox = required<HTMLElement>(document, '[data-error]')
  const working = required<HTMLElement>(document, '[data-working]')
  try {
    const service = (await verifyServiceChain(crypto, await getJson<ServiceChain>('/report/keys'))).current
    cryptoReady()
    return { crypto, service, errorBox, working }
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

/**
 * Seals and sends; returns the case code's words. If the service key changed since the page
 * loaded, follows the chain again, re-seals once, and reports the new keys through `onNewKey`.
 */
export async function sendNewCase(crypto: Crypto, newCase: NewCase, onNewKey: (service: PublicKeySet) => void): Promise<string[]> {
  const words = await crypto.generateCaseCode()
  const caseKeys = await crypto.deriveCaseKeys(words.join(' '))
  const caseId = globalThis.crypto.randomUUID()
  const messageId = globalThis.crypto.randomUUID()
  const content = {
    v: 1,
    text: newCase.text,
    answers: newCase.answers,
    evidence: newCase.evidence,
    // So IDVA browsers can refuse a server copy of these keys that an insider swapped.
    caseKeys: { reply: crypto.base64url.encode(caseKeys.reply.publicKey), auth: crypto.base64url.encode(caseKeys.auth.publicKey) },
  }
  const send = async (to: PublicKeySet) =>
    postJson(newCase.url, {
      caseId,
      lookupId: crypto.base64url.encode(caseKeys.lookupId),
      authPublic: crypto.base64url.encode(caseKeys.auth.publicKey),
      replyPublic: crypto.base64url.encode(caseKeys.reply.publicKey),
      messageId,
      envelope: await sealReporterMessage(crypto, { kind: newCase.kind, caseId, seq: 1, messageId, content, caseKeys, service: to }),
      uploads: newCase.uploads.map((upload) => ({ id: upload.id, token: upload.token })),
      ...(newCase.urgency === undefined || newCase.urgency === null ? {} : { urgency: newCase.urgency }),
    })
  try {
    await send(newCase.service)
  } catch (error) {
    if (!(error instanceof RequestRefused && error.status === 409 && /changed its key/.test(error.message))) throw error
    const current = (await verifyServiceChain(crypto, await getJson<ServiceChain>('/report/keys'))).current
    onNewKey(current)
    await send(current)
  }
  return words
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
export function showReceipt(form: HTMLElement, words: readonly string[]): void {
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
  receipt.hidden = false
  required<HTMLElement>(receipt, 'h2').focus()
  window.scrollTo({ top: 0 })
}
