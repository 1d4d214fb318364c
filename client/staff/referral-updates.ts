/**
 * What investigator units record on a referral, opened in the browser: by the unit's members (with
 * the unit's key) on the referral's page, and by the IDVA service (with the service's key) on the
 * case page. Each note must be signed by the unit (for the IDVA: one of the unit's key generations
 * the service vouched for), bound to its referral, its place in the history and its action; any
 * that is not, and any gap in the history, is shown as such, without text. Text only via textContent.
 */
import {
  base64url,
  fromUtf8,
  openEnvelope,
  readUpdateContent,
  referralUpdateContext,
  type EncryptionKeyPair,
  type ReferralAction,
  type UpdateContent,
} from '../../crypto/index.ts'
import { ACTION_NAMES } from '../../rules/referral-states.ts'

/** An update as the server hands it out. */
export interface StoredUpdate {
  readonly seq: number
  readonly action: ReferralAction
  readonly envelope: string
  readonly recordedAt: string
}

export interface OpenedUpdate {
  readonly stored: StoredUpdate
  /** Null when it could not be decrypted or was not signed by the unit. */
  readonly content: UpdateContent | null
  /** An update is missing before this one (removed from the database). */
  readonly gapBefore: boolean
}

export async function openUpdates(
  updates: readonly StoredUpdate[],
  options: { caseId: string; referralId: string; keys: readonly EncryptionKeyPair[]; signers: readonly Uint8Array[] },
): Promise<OpenedUpdate[]> {
  const opened: OpenedUpdate[] = []
  let expected = 1
  for (const stored of updates) {
    const gapBefore = stored.seq !== expected
    expected = stored.seq + 1
    let content: UpdateContent | null = null
    try {
      const envelope = await openEnvelope(base64url.decode(stored.envelope, 'update'), {
        caseId: options.caseId,
        keys: options.keys,
        expectKind: 'unit_note',
        trustedSigners: options.signers,
        requireSignature: true,
        context: referralUpdateContext(options.referralId, stored.seq, stored.action),
      })
      content = readUpdateContent(fromUtf8(envelope.plaintext), { referralId: options.referralId, seq: stored.seq, action: stored.action })
    } catch {
      content = null
    }
    opened.push({ stored, content, gapBefore })
  }
  return opened
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (className !== '') node.className = className
  if (text !== '') node.textContent = text
  return node
}

function day(iso: string): string {
  return new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' })
}

/** The history as list items, in order, with a notice where one is missing. */
export function updateItems(opened: readonly OpenedUpdate[], unverifiedText: string): HTMLLIElement[] {
  const items: HTMLLIElement[] = []
  for (const entry of opened) {
    if (entry.gapBefore) {
      const gap = element('li', 'message message--unverified')
      gap.dataset.gap = 'true'
      gap.append(element('p', 'message__text', 'An update is missing here: it may have been removed from the database. Tell the IDVA lead and the portal\'s administrator.'))
      items.push(gap)
    }
    const item = element('li', entry.content === null ? 'message message--unverified' : 'message')
    item.dataset.update = entry.stored.action
    item.dataset.verified = entry.content === null ? 'false' : 'true'
    const content = entry.content
    if (content === null) {
      item.append(element('p', 'message__meta', `${day(entry.stored.recordedAt)}`), element('p', 'message__text', unverifiedText))
      items.push(item)
      continue
    }
    const title = content.action === 'iopc_referred' && content.iopcReferredOn !== null ? `Referred to the IOPC on ${content.iopcReferredOn}` : content.action === 'transferred' && content.transferredTo !== null ? `Transferred to ${content.transferredTo}` : ACTION_NAMES[content.action]
    item.append(element('p', 'message__meta', `${title}: ${day(entry.stored.recordedAt)}, by ${content.author}`))
    if (content.note !== '') item.append(element('p', 'message__text', content.note))
    items.push(item)
  }
  return items
}
