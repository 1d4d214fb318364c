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
 * Loads crypto/ and libsodium and checks what encryption needs. Any failure means this browser
 * cannot encrypt, and the page must not send anything.
 */
export async function loadCryptoOrNull(): Promise<Crypto | null> {
  try {
    if (typeof WebAssembly !== 'object' || typeof globalThis.crypto?.getRandomValues !== 'function' || typeof Worker !== 'function') return null
    const crypto = await import('../../crypto/index.ts')
    await crypto.loadSodium()
    return crypto
  } catch {
    return null
  }
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

/** Encrypts each file in a worker and uploads the result; only encrypted bytes leave the page. */
export async function encryptAndUpload(crypto: Crypto, files: readonly File[], progress: (message: string) => void): Promise<UploadedFile[]> {
  const uploaded: UploadedFile[] = []
  for (const [index, file] of files.entries()) {
    progress(`Locking and sending file ${index + 1} of ${files.length}…`)
    const key = await crypto.newEvidenceKey()
    const encrypted = await encryptFile(file, key)
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
