/**
 * A referral's page, in an investigator's browser. The unit's key (unlocked in this tab from the
 * member's own) opens the package; the IDVA service's signature on it is checked against the
 * service's keys, followed from the fingerprint pinned in the portal's configuration (never from
 * the database alone); the evidence files are decrypted here, with the keys the package holds,
 * when the investigator saves them. What the unit records is sealed here to the service's key and
 * the unit's, signed with the unit's key, and bound to the referral, its place and the action.
 *
 * Nothing decrypted is ever sent back: the server is told only whether the package opened (for the
 * audit log). Every text is set with textContent.
 */
import * as crypto from '../../crypto/index.ts'
import {
  base64url,
  checkUpdateContent,
  fromUtf8,
  isCryptoError,
  openEnvelope,
  readPackageContent,
  referralContext,
  referralUpdateContext,
  sealEnvelope,
  SHAREABLE_ITEM_NAMES,
  utf8,
  type EvidenceReference,
  type KeySet,
  type PackageContent,
  type ReferralAction,
  type UpdateContent,
} from '../../crypto/index.ts'
import { NOTE_PROMPTS } from '../../rules/referral-states.ts'
import { IDVA_QUESTION_NAMES } from '../answers.ts'
import { checkServiceChain, type ServiceChain, type ServiceKeys } from '../service-pin.ts'
import { answerList, downloadEvidence, evidenceRow } from '../thread-view.ts'
import { FormStatus, Problem, required, submitButton } from '../ui.ts'
import { getJson, postJson } from './http.ts'
import type { Keystore } from './keystore.ts'
import { openUpdates, updateItems, type StoredUpdate } from './referral-updates.ts'
import { keysInThisTab } from './unlock.ts'
import { readableDay } from '../../rules/dates.ts'

interface ReferralContent {
  readonly referralId: string
  readonly caseId: string
  readonly track: 'criminal' | 'misconduct'
  readonly unitId: string
  readonly unitGeneration: number
  readonly status: string
  readonly iopcRequired: boolean
  readonly envelope: string
  /** The person withdrew after this was sent: what it held was removed from the portal. */
  readonly contentRemovedOn: string | null
  readonly service: ServiceChain | null
  readonly files: readonly { readonly id: string; readonly size: number }[]
  readonly updates: readonly StoredUpdate[]
}

const NOT_OPENED =
  'This package could not be decrypted or verified, so nothing of it is shown. It may have been changed in the database, or not have come from the IDVA service. Tell the IDVA service and the portal\'s administrator.'
const SERVICE_UNCHECKED =
  'The IDVA service\'s key could not be checked against the fingerprint pinned in the portal\'s configuration, so this package is not trusted or shown. Tell the IDVA lead and the portal\'s administrator: the database may have been changed.'
const NOTE_UNVERIFIED = 'This update could not be decrypted or was not signed by your unit, so it is not shown. Tell the portal\'s administrator.'

function text(tag: keyof HTMLElementTagNameMap, value: string, className = ''): HTMLElement {
  const node = document.createElement(tag)
  node.textContent = value
  if (className !== '') node.className = className
  return node
}

function todayHere(): string {
  const now = new Date()
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`
}

export async function referralPage(): Promise<void> {
  const view = required<HTMLElement>(document, '[data-referral-view]')
  const referralId = view.dataset.referralId!
  const pageStatus = new FormStatus(required<HTMLElement>(document, '[data-page-status]'), [])
  const username = document.querySelector('.staff-nav__who strong')?.textContent ?? ''

  let ring: readonly { generation: number; keys: KeySet }[] = []
  let content: ReferralContent | null = null
  let service: ServiceKeys | null = null
  let pkg: PackageContent | null = null
  let lastSeq = 0

  const form = document.querySelector<HTMLFormElement>('form[data-form="update"]')
  if (form !== null) wireUpdateForm(form)

  const store = await keysInThisTab((unlocked) => void start(unlocked))
  if (store !== null) await start(store)

  async function start(unlocked: Keystore): Promise<void> {
    const group = unlocked.group
    if (group === null || group.generations.length === 0) {
      pageStatus.error('You do not hold your unit\'s key yet, so this package cannot be opened here. A colleague in your unit gives you access from the unit page.')
      return
    }
    ring = group.generations
    await pageStatus.run(load)
  }

  async function load(): Promise<void> {
    const fetched = await getJson<ReferralContent>(`/staff/inbox/${referralId}/content`)
    content = fetched
    if (ring[0] !== undefined && ring[0].generation < fetched.unitGeneration) throw new Problem('Your unit\'s key has changed since this tab unlocked it. Reload the page.')
    try {
      service = await checkServiceChain(crypto, fetched.service)
    } catch {
      service = null
    }
    if (fetched.contentRemovedOn !== null) {
      // Nothing to open: said plainly, not as a package that failed to decrypt.
      pkg = null
      view.hidden = true
      await showUpdates(fetched)
      throw new Problem(`The person withdrew on ${fetched.contentRemovedOn}, so what this package held was removed from the portal. The referral's state and your unit's updates are kept; the IDVA service can tell you what this means for your work.`)
    }
    let failure: string | null = null
    try {
      if (service === null) throw new Problem(SERVICE_UNCHECKED)
      const envelope = await openEnvelope(base64url.decode(fetched.envelope, 'package'), {
        caseId: fetched.caseId,
        keys: ring.map((entry) => entry.keys.encryption),
        expectKind: 'referral_package',
        trustedSigners: service.signingKeys,
        requireSignature: true,
        context: referralContext(fetched.track, referralId),
      })
      pkg = readPackageContent(fromUtf8(envelope.plaintext), { track: fetched.track, referralId })
      if (pkg.to.unit !== fetched.unitId) throw new Problem(NOT_OPENED)
      showPackage(pkg, fetched)
    } catch (error) {
      pkg = null
      view.hidden = true
      failure = error instanceof Problem && error.message === SERVICE_UNCHECKED ? SERVICE_UNCHECKED : NOT_OPENED
    }
    // Only whether it opened goes back, for the audit log.
    await postJson(`/staff/inbox/${referralId}/opened`, { opened: failure === null }).catch(() => undefined)
    await showUpdates(fetched)
    if (failure !== null) throw new Problem(failure)
  }

  async function showUpdates(fetched: ReferralContent): Promise<void> {
    const opened = await openUpdates(fetched.updates, {
      caseId: fetched.caseId,
      referralId,
      keys: ring.map((entry) => entry.keys.encryption),
      signers: ring.map((entry) => entry.keys.signing.publicKey),
    })
    lastSeq = fetched.updates.at(-1)?.seq ?? 0
    const list = required<HTMLElement>(document, '[data-updates]')
    const items = updateItems(opened, NOTE_UNVERIFIED)
    list.replaceChildren(...(items.length === 0 ? [text('li', 'Nothing recorded yet.', 'hint')] : items))
  }

  function showPackage(content: PackageContent, fetched: ReferralContent): void {
    required<HTMLElement>(view, '[data-package-from]').textContent = `${content.from.service}, sent on ${content.sentOn} by ${content.from.author}, for ${content.to.name}.`
    required<HTMLElement>(view, '[data-package-signature]').textContent = 'Signed by the IDVA service: its key was checked against the fingerprint pinned in the portal\'s configuration.'
    const decision = required<HTMLElement>(view, '[data-package-decision]')
    decision.replaceChildren(
      ...content.decision.explanation.map((line) => text('li', line)),
      text('li', `Routing policy ${content.decision.policyVersion}; rules ${content.decision.rules.join(', ') || 'none'}.`, 'hint'),
      ...content.decision.warnings.map((line) => text('li', line, 'notice notice--warning')),
    )
    const override = required<HTMLElement>(view, '[data-package-override]')
    if (content.decision.override !== null) {
      override.textContent = `The IDVA service chose your unit instead of the one the policy proposed${content.decision.override.proposedUnit === null ? '' : ` (${content.decision.override.proposedUnit})`}, because: ${content.decision.override.reason}`
      override.hidden = false
    }
    const iopc = required<HTMLElement>(view, '[data-iopc-criteria]')
    if (fetched.track === 'misconduct' && content.decision.iopc.required) {
      required<HTMLElement>(iopc, '[data-iopc-reasons]').replaceChildren(...content.decision.iopc.explanation.map((line) => text('li', line)), text('li', `Rules: ${content.decision.iopc.rules.join(', ')}`, 'hint'))
      iopc.hidden = false
    }
    required<HTMLElement>(view, '[data-package-basis]').textContent =
      content.basis.kind === 'consent'
        ? `The person agreed on ${readableDay(content.basis.givenOn)} to share this with ${content.basis.withWhom}: ${content.basis.share}`
        : `Shared without the person's agreement, to keep someone safe: ${content.basis.reason}`
    required<HTMLElement>(view, '[data-package-summary]').textContent = content.summary
    required<HTMLElement>(view, '[data-package-items]').textContent = `Shared: ${content.shared.items.map((item) => SHAREABLE_ITEM_NAMES[item]).join('; ')}.`
    const answers = answerList(content.shared.answers, IDVA_QUESTION_NAMES)
    answers.dataset.packageAnswers = ''
    required<HTMLElement>(view, '[data-package-answers]').replaceWith(answers)
    const words = required<HTMLElement>(view, '[data-package-words]')
    if (content.shared.text !== null && content.shared.text !== '') {
      required<HTMLElement>(words, '[data-package-text]').textContent = content.shared.text
      words.hidden = false
    }
    const files = required<HTMLElement>(view, '[data-package-files]')
    const stored = new Set(fetched.files.map((file) => file.id))
    files.replaceChildren(
      ...(content.evidence.length === 0
        ? [text('li', 'No files were shared.', 'hint')]
        : content.evidence.map((file) => {
            const item = document.createElement('li')
            item.append(evidenceRow(file, stored.has(file.id), (chosen, button) => void download(chosen, button)))
            return item
          })),
    )
    view.hidden = false
  }

  async function download(file: EvidenceReference, button: HTMLButtonElement): Promise<void> {
    button.disabled = true
    try {
      await downloadEvidence(`/staff/inbox/${referralId}/files/${encodeURIComponent(file.id)}`, file)
    } catch {
      pageStatus.error(`"${file.name}" could not be fetched or decrypted. It may have been changed in the database. Tell the IDVA service.`)
    } finally {
      button.disabled = false
    }
  }

  function wireUpdateForm(form: HTMLFormElement): void {
    const status = new FormStatus(form, [submitButton(form)])
    const radios = [...form.querySelectorAll<HTMLInputElement>('input[data-action]')]
    const transferred = required<HTMLElement>(form, '[data-transferred-field]')
    const iopcDay = required<HTMLElement>(form, '[data-iopc-day-field]')
    const hint = required<HTMLElement>(form, '[data-note-hint]')
    const baseHint = hint.textContent ?? ''
    const chosen = (): ReferralAction | null => (radios.find((radio) => radio.checked)?.value as ReferralAction | undefined) ?? null
    const follow = () => {
      const action = chosen()
      transferred.hidden = action !== 'transferred'
      iopcDay.hidden = action !== 'iopc_referred'
      const prompt = action === null ? null : NOTE_PROMPTS[action]
      hint.textContent = prompt === null ? baseHint : `${prompt} ${baseHint}`
    }
    for (const radio of radios) radio.addEventListener('change', follow)
    follow()
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      void status.run(async () => {
        const action = chosen()
        if (action === null) throw new Problem('Choose what happened.')
        if (content === null || ring[0] === undefined) throw new Problem('Unlock your keys and open the package first.')
        if (service === null) throw new Problem(SERVICE_UNCHECKED)
        const note = required<HTMLTextAreaElement>(form, '[data-update-note]').value.trim()
        const prompt = NOTE_PROMPTS[action]
        if (prompt !== null && note === '') throw new Problem(prompt)
        const to = required<HTMLInputElement>(form, '[data-transferred-to]').value.trim()
        if (action === 'transferred' && to === '') throw new Problem('Say where the referral was transferred to.')
        const referredOn = required<HTMLInputElement>(form, '[data-iopc-day]').value
        if (action === 'iopc_referred') {
          if (!/^\d{4}-\d{2}-\d{2}$/.test(referredOn)) throw new Problem('Enter the day it was referred to the IOPC.')
          if (referredOn > todayHere()) throw new Problem('The day it was referred to the IOPC cannot be in the future.')
        }
        const seq = lastSeq + 1
        const update: UpdateContent = {
          v: 1,
          type: 'referral_update',
          referralId,
          seq,
          action,
          writtenOn: todayHere(),
          author: username,
          unit: content.unitId,
          note,
          transferredTo: action === 'transferred' ? to : null,
          iopcReferredOn: action === 'iopc_referred' ? referredOn : null,
        }
        try {
          checkUpdateContent(update)
        } catch (error) {
          if (isCryptoError(error)) throw new Problem('Something in this form is missing. Check it and try again.')
          throw error
        }
        const unit = ring[0].keys
        const envelope = await sealEnvelope({
          kind: 'unit_note',
          caseId: content.caseId,
          plaintext: utf8(JSON.stringify(update)),
          recipients: [service.current.encryption, unit.encryption.publicKey],
          signer: unit.signing,
          context: referralUpdateContext(referralId, seq, action),
        })
        await postJson(`/staff/inbox/${referralId}/updates`, { updateId: globalThis.crypto.randomUUID(), seq, action, envelope: base64url.encode(envelope) })
        // The page shows the new state and the steps open from it.
        window.location.reload()
      })
    })
  }
}
