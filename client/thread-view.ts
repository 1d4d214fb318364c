/**
 * Showing a case's thread, decrypted in this browser: for the reporter at /return and for the IDVA
 * on the case page. Every piece of decrypted content is set with textContent, never as HTML, so
 * whatever anyone wrote (or forged) is shown as the characters it is.
 */
import type { EvidenceReference, MessageContent } from '../crypto/thread.ts'
import { base64url } from '../crypto/bytes.ts'
import { decryptFile } from './evidence.ts'
import { describeFileName } from './file-names.ts'
import { readable } from './answers.ts'
import { RequestRefused } from './http.ts'
import { readableDay } from '../rules/dates.ts'

export interface ThreadMessage {
  readonly id: string
  readonly seq: number
  readonly author: 'reporter' | 'idva'
  readonly kind: 'disclosure' | 'consultation' | 'reporter_message' | 'idva_reply'
  readonly createdOn: string
  readonly envelope: string
  readonly evidence: readonly { id: string; size: number }[]
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (className !== '') node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

/** A list item for one message, with who wrote it and when. */
export function messageItem(message: ThreadMessage, who: string): HTMLLIElement {
  const item = element('li', `message message--${message.author}`)
  item.dataset.messageId = message.id
  item.append(element('p', 'message__meta', `${who}, ${readableDay(message.createdOn)}`))
  return item
}

/** In place of content that failed its checks: says why, shows none of it. */
export function unreadable(item: HTMLElement, unverified: boolean, unverifiedText: string): HTMLElement {
  item.classList.add('message--unverified')
  item.dataset.unverified = unverified ? 'true' : 'false'
  item.append(element('p', 'message__text', unverified ? unverifiedText : 'This message could not be decrypted, so it is not shown.'))
  return item
}

/** Whether a failure to open an envelope was its signature (as opposed to its encryption). */
export function isUnverified(error: unknown): boolean {
  const code = (error as { code?: string }).code
  return code === 'bad_signature' || code === 'unknown_signer' || code === 'signature_required'
}

/** A definition list of answers, named for the reader; empty answers are left out. */
export function answerList(answers: Readonly<Record<string, string | readonly string[]>>, names: Readonly<Record<string, string>>, only?: readonly string[]): HTMLDListElement {
  const list = element('dl', 'summary message__answers')
  const keys = only ?? Object.keys(answers)
  for (const name of keys) {
    const value = answers[name]
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue
    // The name comes from decrypted content: only the table's own entries, never "constructor" or "toString".
    list.append(element('dt', '', (Object.hasOwn(names, name) ? names[name] : undefined) ?? name), element('dd', '', readable(name, value)))
  }
  return list
}

/**
 * One evidence file: its name cleaned (no invisible or reordering characters, shortened), what its
 * real extension says it is, and, for programs and documents that can carry macros, a plain
 * warning. The name is the reporter's own words, so it is only ever text.
 */
export function evidenceRow(file: EvidenceReference, stored: boolean, download: (file: EvidenceReference, button: HTMLButtonElement) => void): HTMLDivElement {
  const name = describeFileName(file.name)
  const row = element('div', 'evidence-file')
  row.dataset.evidenceFile = file.id
  row.dataset.extension = name.extension
  row.dataset.risky = name.risky ? 'true' : 'false'
  const line = element('p', 'evidence-file__name')
  // dir="ltr" isolates the name: whatever it contains cannot reorder the words around it.
  const shown = element('span', '', name.shown)
  shown.dir = 'ltr'
  const button = element('button', 'button button--secondary button--small')
  button.type = 'button'
  button.disabled = !stored
  if (stored) button.append('Download ', shown)
  else button.append(shown, ' (missing)')
  button.addEventListener('click', () => download(file, button))
  line.append(button, ` — ${name.kind}`)
  row.append(line)
  if (name.risky) {
    const warning = element('p', 'notice notice--warning evidence-file__warning', name.warning)
    warning.dataset.fileWarning = 'true'
    row.append(warning)
  }
  return row
}

/** Text, answers (folded away) and a download button per file, as text and buttons only. */
export function appendContent(
  item: HTMLElement,
  content: MessageContent,
  options: { stored: readonly { id: string }[]; answersTitle: string; names: Readonly<Record<string, string>>; download: (file: EvidenceReference, button: HTMLButtonElement) => void },
): void {
  if (content.text !== '') item.append(element('p', 'message__text', content.text))
  if (content.answers !== undefined && Object.keys(content.answers).length > 0) {
    const details = element('details', '')
    details.append(element('summary', '', options.answersTitle), answerList(content.answers, options.names))
    item.append(details)
  }
  const stored = new Set(options.stored.map((file) => file.id))
  for (const file of content.evidence) item.append(evidenceRow(file, stored.has(file.id), options.download))
}

/**
 * Fetches an encrypted evidence file, decrypts it in the evidence worker, and offers it to save:
 * always as a download (application/octet-stream, with the download attribute), never opened in
 * the page, under its cleaned name with its real extension.
 */
export async function downloadEvidence(url: string, file: EvidenceReference): Promise<void> {
  const response = await fetch(url, { credentials: 'same-origin' })
  if (!response.ok) throw new RequestRefused(response.status, 'That file could not be fetched. Please try again.')
  const blob = await decryptFile(await response.blob(), { fileId: base64url.decode(file.fileId, 'file id'), key: base64url.decode(file.key, 'file key') })
  const link = URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' }))
  const anchor = document.createElement('a')
  anchor.href = link
  anchor.download = describeFileName(file.name).download
  anchor.rel = 'noopener'
  anchor.click()
  setTimeout(() => URL.revokeObjectURL(link), 30_000)
}

/** Where the thread skips a position: a message was removed without the reader's knowledge. */
export function gapNotice(text: string): HTMLLIElement {
  const item = element('li', 'message message--unverified')
  item.dataset.gap = 'true'
  item.append(element('p', 'message__text', text))
  return item
}
