/**
 * What the reporter's pages (/report, /return) share: checking that this browser can encrypt,
 * following the IDVA service's key chain from its published key, sealing messages, and encrypting
 * and uploading evidence. Nothing readable is ever sent from here.
 */
import type { CaseKeys, EnvelopeKind, PublicKeySet } from '../../crypto/index.ts'
import { encryptFile } from '../evidence.ts'
import { Problem, required } from '../ui.ts'
import { checkServiceChain, type ServiceChain, type ServiceKeys } from '../service-pin.ts'
import { answer, getJson as get, postJson as post, RequestRefused } from '../http.ts'

type Crypto = typeof import('../../crypto/index.ts')

export const MAX_FILES = 10
export const MAX_FILE_BYTES = 25 * 1024 * 1024

/**
 * Why this browser cannot lock what the person writes, named as exactly as it can be (issue 21), or
 * null when it can. WebAssembly is not needed: where it is off (iPhone Lockdown Mode, Tor Browser's
 * Safer level) the same cryptography runs in plain JavaScript (crypto/sodium.ts). Without
 * JavaScript at all the page's <noscript> text says so instead (views/components/service.tsx).
 */
export function missingCapability(): string | null {
  if (globalThis.isSecureContext !== true) {
    return 'This page was not opened over a secure connection, and browsers lock things only on one. Open the portal at its secure address (it starts with https://, or it is its .onion address in Tor Browser), from the link the IDVA service gave you.'
  }
  const webCrypto = globalThis.crypto
  if (typeof webCrypto?.getRandomValues !== 'function' || typeof webCrypto.subtle?.digest !== 'function' || typeof webCrypto.randomUUID !== 'function') {
    return "This browser does not have the web cryptography this page uses to lock what you write. Current versions of Firefox, Safari, Chrome, Edge and Tor Browser have it."
  }
  if (typeof Worker !== 'function') {
    return 'This browser does not run the background workers this page uses to lock files and messages. Current versions of Firefox, Safari, Chrome, Edge and Tor Browser do.'
  }
  return null
}

const NOT_LOADED = 'The part of this page that locks what you write did not load, perhaps because the connection dropped. Reload the page to try again.'

/** Shows the page's "cannot send anything" notice with its reason (as text). */
export function cryptoMissing(reason: string): void {
  for (const notice of document.querySelectorAll<HTMLElement>('[data-crypto-missing]')) {
    const place = notice.querySelector<HTMLElement>('[data-crypto-reason]')
    if (place !== null) {
      place.textContent = reason
      place.hidden = false
    }
    notice.hidden = false
  }
}

/**
 * Loads crypto/ and libsodium (or its plain JavaScript build) and checks what encryption needs. Any
 * failure means this browser cannot encrypt: the page says why and must not send anything.
 */
export async function loadCryptoOrNull(): Promise<Crypto | null> {
  const missing = missingCapability()
  if (missing !== null) {
    cryptoMissing(missing)
    return null
  }
  try {
    const crypto = await import('../../crypto/index.ts')
    await crypto.loadSodium()
    showSlowCryptoNotice(crypto.sodiumBuild() === 'javascript')
    return crypto
  } catch {
    cryptoMissing(NOT_LOADED)
    return null
  }
}

/** Where WebAssembly is off, files are locked more slowly: the stylesheet then shows the note beside each file input. */
function showSlowCryptoNotice(slow: boolean): void {
  if (slow) document.documentElement.dataset.cryptoBuild = 'javascript'
  else delete document.documentElement.dataset.cryptoBuild
}

/** Hides the "cannot encrypt" notice: only once the cryptography has actually loaded. */
export function cryptoReady(): void {
  for (const notice of document.querySelectorAll<HTMLElement>('[data-crypto-missing]')) notice.hidden = true
}

const SIGNED_OUT = 'For your safety, you were signed out of your case. Enter your case code again to continue.'

export async function postJson<T>(url: string, body: unknown, csrfToken?: string): Promise<T> {
  return post<T>(url, body, csrfToken ?? null, SIGNED_OUT)
}

export async function getJson<T>(url: string): Promise<T> {
  return get<T>(url, SIGNED_OUT)
}

export type { ServiceChain, ServiceKeys }

export const KEY_NOT_CHECKED = "We could not check the IDVA service's key. Do not send anything now; see the safety page for other ways to get help."

/** The service key could not be checked against the pin: nothing may be sealed, no reply trusted. */
export class KeyNotChecked extends Problem {
  constructor() {
    super(KEY_NOT_CHECKED)
    this.name = 'KeyNotChecked'
  }
}

/** The service's chain checked against the pin (client/service-pin.ts); KeyNotChecked otherwise. */
export async function verifyServiceChain(crypto: Crypto, chain: ServiceChain | null): Promise<ServiceKeys> {
  try {
    return await checkServiceChain(crypto, chain)
  } catch {
    throw new KeyNotChecked()
  }
}

/** Shows the page's "could not check the key" notice (with its link to the safety page). */
export function showKeyProblem(): void {
  const notice = document.querySelector<HTMLElement>('[data-key-problem]')
  if (notice === null) return
  notice.hidden = false
  notice.focus()
}

export interface UploadedFile {
  readonly id: string
  readonly token: string
  readonly reference: { id: string; fileId: string; key: string; name: string; type: string; size: number }
}

/** Checks the chosen files against the limits; says what is wrong in words. */
export function checkFiles(files: readonly File[]): void {
  if (files.length > MAX_FILES) throw new Problem(`You can add up to ${MAX_FILES} files at a time. Please choose fewer.`)
  const large = files.find((file) => file.size > MAX_FILE_BYTES)
  if (large !== undefined) throw new Problem(`"${large.name}" is larger than 25 MB. Please choose a smaller file, or leave it out for now.`)
  const empty = files.find((file) => file.size === 0)
  if (empty !== undefined) throw new Problem(`"${empty.name}" is empty. Please choose it again.`)
}

/**
 * Encrypts each file in a worker and uploads the result; only encrypted bytes leave the page. While a
 * file is being locked, `progress` gets a sentence (changed at most every two seconds, so a screen
 * reader is not flooded) and the fraction done; with an estimate of the time left once there is
 * enough to go on (where WebAssembly is off, a large file takes a while).
 */
export async function encryptAndUpload(
  crypto: Crypto,
  files: readonly File[],
  progress: (message: string, fraction: number | null) => void,
): Promise<UploadedFile[]> {
  const uploaded: UploadedFile[] = []
  for (const [index, file] of files.entries()) {
    const which = files.length === 1 ? 'your file' : `file ${index + 1} of ${files.length}`
    progress(`Locking ${which} on this device…`, 0)
    const key = await crypto.newEvidenceKey()
    const began = performance.now()
    let said = began
    const encrypted = await encryptFile(file, key, (done, total) => {
      const now = performance.now()
      const fraction = total === 0 ? 1 : done / total
      if (now - said < 2_000) return progress('', fraction)
      said = now
      const secondsLeft = ((now - began) / Math.max(done, 1)) * (total - done) / 1000
      progress(`Locking ${which} on this device: ${Math.floor(fraction * 100)}% done, ${timeLeft(secondsLeft)}.`, fraction)
    })
    progress(`Sending ${which}…`, null)
    const response = await fetch('/report/uploads', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/octet-stream', accept: 'application/json' }, body: encrypted })
    const { id, token } = await answer<{ id: string; token: string }>(response, SIGNED_OUT)
    uploaded.push({
      id,
      token,
      reference: { id, fileId: crypto.base64url.encode(key.fileId), key: crypto.base64url.encode(key.key), name: file.name.slice(0, 255), type: file.type.slice(0, 255), size: file.size },
    })
  }
  return uploaded
}

/** "about 20 seconds left", in words a person reads at a glance. */
export function timeLeft(seconds: number): string {
  if (seconds < 5) return 'nearly finished'
  if (seconds < 60) return `about ${Math.ceil(seconds / 5) * 5} seconds left`
  const minutes = Math.round(seconds / 60)
  return minutes === 1 ? 'about a minute left' : `about ${minutes} minutes left`
}

/**
 * Shows a sentence and, when `fraction` is a number, a progress bar under it. An empty sentence
 * keeps the one shown (only the bar moves).
 */
export function showProgress(element: HTMLElement, message: string, fraction: number | null): void {
  let text = element.querySelector<HTMLElement>('[data-progress-text]')
  let bar = element.querySelector<HTMLProgressElement>('progress')
  if (text === null || bar === null) {
    text = document.createElement('span')
    text.setAttribute('data-progress-text', '')
    bar = document.createElement('progress')
    bar.max = 1
    bar.setAttribute('aria-label', 'How much of the file is locked')
    element.replaceChildren(text, bar)
  }
  if (message !== '') text.textContent = message
  bar.hidden = fraction === null
  if (fraction !== null) bar.value = fraction
  element.hidden = false
}

/** A reporter's message, sealed to the service and the case's reply key, signed with the case's auth key. */
export async function sealReporterMessage(
  crypto: Crypto,
  options: { kind: EnvelopeKind; caseId: string; seq: number; messageId: string; content: unknown; caseKeys: CaseKeys; service: PublicKeySet },
): Promise<string> {
  const envelope = await crypto.sealEnvelope({
    kind: options.kind,
    caseId: options.caseId,
    plaintext: crypto.utf8(JSON.stringify(options.content)),
    recipients: [options.service.encryption, options.caseKeys.reply.publicKey],
    signer: options.caseKeys.auth,
    context: crypto.messageContext(options.seq, options.messageId),
  })
  return crypto.base64url.encode(envelope)
}

/** Shows the chosen files (names as text) under a file input. */
export function listFiles(input: HTMLInputElement, list: HTMLElement): void {
  list.replaceChildren(
    ...[...(input.files ?? [])].map((file) => {
      const item = document.createElement('li')
      item.textContent = `${file.name} (${formatSize(file.size)})`
      return item
    }),
  )
}

export function formatSize(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`
}

export function show(element: HTMLElement, message: string): void {
  element.textContent = message
  element.hidden = message === ''
}

/** An error summary: a heading and the message (as text), announced and focused. */
export function showProblem(box: HTMLElement, message: string): void {
  box.replaceChildren()
  const heading = document.createElement('h2')
  heading.className = 'error-summary__title'
  heading.textContent = 'There is a problem'
  const text = document.createElement('p')
  text.textContent = message
  box.append(heading, text)
  box.hidden = false
  box.focus()
}

export function hideProblem(box: HTMLElement): void {
  box.hidden = true
  box.replaceChildren()
}

export { Problem, RequestRefused, required }
