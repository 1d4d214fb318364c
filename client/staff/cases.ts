/**
 * The IDVA's case page, in the browser: the service's keys (unlocked in this tab) open the thread
 * and the IDVAs' records; replies, triage, consent and notes are sealed and signed here before they
 * are sent. The server sends envelopes and receives envelopes; nothing decrypted leaves this page,
 * and decrypted text is only ever set with textContent.
 *
 * What the browser checks before showing anything: the reporter's messages are signed with the
 * case's key (and the first message names the same keys the server holds), the IDVA service's
 * replies and every record with one of the service's keys this tab holds, each bound to this case
 * and its place. Anything that fails is shown as "could not be decrypted" or "could not be
 * verified", without its text, and the rest of the page works.
 */
import {
  base64url,
  fromUtf8,
  messageContext,
  openEnvelope,
  readMessageContent,
  readRecordContent,
  recordContext,
  RECORD_ENVELOPE_KIND,
  sealEnvelope,
  utf8,
  type Answer,
  type EnvelopeKind,
  type ConsentContent,
  type IdentifiersContent,
  type KeySet,
  type MessageContent,
  type NoteContent,
  type RecordContent,
  type RecordKind,
  type RiskLevel,
  type RoutingContent,
  type ShareableItem,
  SHAREABLE_ITEM_NAMES,
  type TriageContent,
} from '../../crypto/index.ts'
import { wireRouting, type ReferralContext } from './referrals.ts'
import type { EvidenceReference } from '../../crypto/thread.ts'
import { assessRisk, isLower, RISK_LEVEL_NAMES, RISK_QUESTIONS } from '../../rules/risk-checklist.ts'
import { AT_A_GLANCE, CONSULTATION_AT_A_GLANCE, IDVA_QUESTION_NAMES } from '../answers.ts'
import { appendContent, answerList, downloadEvidence, gapNotice, isUnverified, messageItem, unreadable, type ThreadMessage } from '../thread-view.ts'
import { FormStatus, Problem, required, submitButton } from '../ui.ts'
import { getJson, postJson, RequestRefused } from './http.ts'
import { identifiersOf, isEmpty, sameIdentifiers, samePerson, type Identifiers } from './identifiers.ts'
import type { Keystore } from './keystore.ts'
import { keysInThisTab } from './unlock.ts'
import { readableDay } from '../../rules/dates.ts'

const SERVICE_ID = 'idva-service'

interface StoredRecord {
  readonly id: string
  readonly kind: RecordKind
  readonly seq: number
  readonly createdOn: string
  readonly envelope: string
}

interface CaseContent {
  readonly caseId: string
  readonly kind: 'disclosure' | 'consultation'
  readonly status: string
  readonly authPublic: string
  readonly replyPublic: string
  readonly messages: readonly ThreadMessage[]
  readonly records: readonly StoredRecord[]
}

/** The service's keys in this tab, newest generation first. */
interface ServiceRing {
  readonly current: KeySet
  readonly all: readonly KeySet[]
}

type Opened<T> = { readonly record: StoredRecord; readonly content: T | null }

const UNREADABLE = 'This message could not be decrypted or verified, so it is not shown. It may have been changed in the database, or not have come from who it says. Tell the IDVA lead.'

function ringOf(store: Keystore | null): ServiceRing | null {
  const group = store?.group
  if (group === undefined || group === null || group.id !== SERVICE_ID || group.generations.length === 0) return null
  const all = group.generations.map((entry) => entry.keys)
  return { current: all[0]!, all }
}

/**
 * Opens an envelope of `caseId` with every generation of the service key this tab holds. It must
 * be signed: by `signers` when given (a reporter's case key), else by one of those generations.
 */
function openWithRing(ring: ServiceRing, envelope: string, options: { caseId: string; kind: EnvelopeKind; context: Uint8Array; signers?: readonly Uint8Array[] }) {
  return openEnvelope(base64url.decode(envelope, 'envelope'), {
    caseId: options.caseId,
    keys: ring.all.map((set) => set.encryption),
    expectKind: options.kind,
    trustedSigners: options.signers ?? ring.all.map((set) => set.signing.publicKey),
    requireSignature: true,
    context: options.context,
  })
}

/**
 * The list a stored record goes in, by the kind the server gave it, or null for a kind that is not
 * one: own entries only, so "constructor" or "__proto__" from a changed database is not a list.
 */
export function listForKind<T>(lists: Readonly<Record<RecordKind, T[]>>, kind: string): T[] | null {
  return Object.hasOwn(lists, kind) ? lists[kind as RecordKind] : null
}

/** A stored record opened and checked, or null when it fails any check. */
async function openRecordOf(ring: ServiceRing, caseId: string, record: Pick<StoredRecord, 'id' | 'kind' | 'seq' | 'envelope'>): Promise<RecordContent | null> {
  try {
    const opened = await openWithRing(ring, record.envelope, { caseId, kind: RECORD_ENVELOPE_KIND[record.kind], context: recordContext(record.kind, record.seq, record.id) })
    return readRecordContent(record.kind, fromUtf8(opened.plaintext))
  } catch {
    return null
  }
}

/** Seals a record to the service's current key, signs it with that key, and stores it with the case. */
async function sendRecord(ring: ServiceRing, caseId: string, kind: RecordKind, seq: number, payload: RecordContent, extra: Record<string, unknown> = {}): Promise<void> {
  const recordId = globalThis.crypto.randomUUID()
  const envelope = await sealEnvelope({
    kind: RECORD_ENVELOPE_KIND[kind],
    caseId,
    plaintext: utf8(JSON.stringify(payload)),
    recipients: [ring.current.encryption.publicKey],
    signer: ring.current.signing,
    context: recordContext(kind, seq, recordId),
  })
  await postJson(`/staff/cases/${caseId}/records`, { kind, recordId, seq, envelope: base64url.encode(envelope), ...extra })
}

function todayHere(): string {
  const now = new Date()
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`
}

function text(tag: keyof HTMLElementTagNameMap, value: string, className = ''): HTMLElement {
  const node = document.createElement(tag)
  node.textContent = value
  if (className !== '') node.className = className
  return node
}

export async function casePage(): Promise<void> {
  const view = required<HTMLElement>(document, '[data-case-view]')
  const recordsView = required<HTMLElement>(document, '[data-case-records]')
  const caseId = view.dataset.caseId!
  const pageStatus = new FormStatus(required<HTMLElement>(document, '[data-page-status]'), [])
  const username = document.querySelector('.staff-nav__who strong')?.textContent ?? ''

  let ring: ServiceRing | null = null
  let content: CaseContent | null = null
  let disclosure: MessageContent | null = null
  let replyKey: Uint8Array | null = null
  let lastSeq = 0
  let records: { triage: Opened<TriageContent>[]; note: Opened<NoteContent>[]; consent: Opened<ConsentContent>[]; identifiers: Opened<IdentifiersContent>[]; routing: Opened<RoutingContent>[] } = { triage: [], note: [], consent: [], identifiers: [], routing: [] }
  let generations: readonly { generation: number; keys: KeySet }[] = []
  let laterTexts: string[] = []
  let evidence: EvidenceReference[] = []

  // A manager's consultation has no risk checklist or consent: those parts are not on its page.
  const hasTriage = document.querySelector('form[data-form="triage"]') !== null
  wireReply()
  if (hasTriage) {
    wireTriage()
    wireConsent()
  }
  wireNote()
  const routingSection = document.querySelector<HTMLElement>('[data-routing]')
  const routing = routingSection === null ? null : wireRouting(routingSection, referralContext)

  const store = await keysInThisTab((unlocked) => void start(unlocked))
  if (store !== null) await start(store)

  async function start(unlocked: Keystore): Promise<void> {
    ring = ringOf(unlocked)
    generations = unlocked.group?.id === SERVICE_ID ? unlocked.group.generations : []
    if (ring === null) {
      pageStatus.error('You do not hold the IDVA service\'s key yet, so this case cannot be decrypted here. A colleague gives you access from the team page.')
      return
    }
    await pageStatus.run(load)
    void compareWithOtherCases().catch(() => undefined)
  }

  /** Fetches the envelopes, decrypts and checks them here, and shows them. */
  async function load(): Promise<void> {
    const keys = ring!
    const fetched = await getJson<CaseContent>(`/staff/cases/${caseId}/content`)
    content = fetched
    const authPublic = base64url.decode(fetched.authPublic, 'auth key', 32)
    let opened = 0
    let failed = 0
    const items: HTMLElement[] = []
    let expected = 1
    disclosure = null
    replyKey = null
    laterTexts = []
    evidence = []
    let keysMatch = true
    for (const message of fetched.messages) {
      if (message.seq !== expected) items.push(gapNotice('A message is missing here: it may have been removed from the database. Tell the IDVA lead.'))
      expected = message.seq + 1
      const who = message.author === 'idva' ? 'The IDVA service replied' : message.kind === 'consultation' ? 'The manager asked' : message.seq === 1 ? 'They wrote first' : 'They wrote'
      const item = messageItem(message, who)
      try {
        const envelope = await openWithRing(keys, message.envelope, { caseId, kind: message.kind, context: messageContext(message.seq, message.id), ...(message.author === 'idva' ? {} : { signers: [authPublic] }) })
        const read = readMessageContent(fromUtf8(envelope.plaintext))
        opened++
        if (message.author === 'reporter') {
          evidence.push(...read.evidence)
          if (message.seq !== 1 && read.text !== '') laterTexts.push(read.text)
        }
        if (message.seq === 1) {
          disclosure = read
          // The first message names the case's keys: a server copy an insider swapped is refused,
          // and so is a first message that does not name them (every portal page puts them in).
          if (read.caseKeys === undefined || read.caseKeys.auth !== fetched.authPublic || read.caseKeys.reply !== fetched.replyPublic) keysMatch = false
        }
        appendContent(item, read, { stored: message.evidence, answersTitle: 'All their answers', names: IDVA_QUESTION_NAMES, download: (file, button) => void download(file, button) })
        items.push(item)
      } catch (error) {
        failed++
        items.push(unreadable(item, isUnverified(error), UNREADABLE))
      }
    }
    lastSeq = fetched.messages.at(-1)?.seq ?? 0
    required<HTMLElement>(view, '[data-thread]').replaceChildren(...items)
    replyKey = keysMatch && disclosure !== null ? base64url.decode(fetched.replyPublic, 'reply key', 32) : null
    if (!keysMatch && disclosure !== null) pageStatus.error('The case\'s keys held by the portal do not match the ones the person sent, so replying is switched off. Tell the IDVA lead: the database may have been changed.')
    showGlance()

    const byKind = { triage: [] as Opened<TriageContent>[], note: [] as Opened<NoteContent>[], consent: [] as Opened<ConsentContent>[], identifiers: [] as Opened<IdentifiersContent>[], routing: [] as Opened<RoutingContent>[] }
    for (const record of fetched.records) {
      const list = listForKind<Opened<RecordContent>>(byKind, record.kind)
      if (list === null) {
        failed++
        continue
      }
      const read = await openRecordOf(keys, caseId, record)
      if (read === null) failed++
      else opened++
      list.push({ record, content: read })
    }
    records = byKind
    if (hasTriage) {
      showTriage()
      showConsent()
    }
    showNotes()
    if (routing !== null) await routing.show().catch((error: unknown) => pageStatus.error(`The routing step could not be prepared: ${(error as Error).message}`))
    view.hidden = false
    recordsView.hidden = false
    required<HTMLFormElement>(view, 'form[data-form="reply"]').hidden = fetched.status === 'closed'
    await postJson(`/staff/cases/${caseId}/decrypted`, { opened, failed }).catch(() => undefined)
  }

  async function download(file: EvidenceReference, button: HTMLButtonElement): Promise<void> {
    button.disabled = true
    try {
      await downloadEvidence(`/staff/cases/${caseId}/evidence/${encodeURIComponent(file.id)}`, file)
    } catch (error) {
      pageStatus.error(error instanceof Error && error.name === 'RequestRefused' ? error.message : 'That file could not be decrypted here.')
    } finally {
      button.disabled = false
    }
  }

  function showGlance(): void {
    const glance = required<HTMLElement>(view, '[data-glance]')
    if (disclosure === null) {
      glance.replaceChildren(text('dt', 'Answers'), text('dd', 'The first message could not be read, so there is nothing to show here.'))
      return
    }
    const answers = disclosure.answers ?? {}
    const list = answerList(answers, IDVA_QUESTION_NAMES, content?.kind === 'consultation' ? CONSULTATION_AT_A_GLANCE : AT_A_GLANCE)
    glance.replaceChildren(...list.childNodes)
    if (glance.childElementCount === 0) glance.append(text('dt', 'Answers'), text('dd', 'They did not answer the questions. Everything they wrote is below.'))
  }

  // ---- sealing and sending ---------------------------------------------------------------------

  async function sealRecord(kind: RecordKind, payload: RecordContent, extra: Record<string, unknown> = {}): Promise<void> {
    const keys = ring
    if (keys === null) throw new Problem('Unlock your keys in this tab first.')
    const seq = records[kind].length === 0 ? 1 : Math.max(...records[kind].map((entry) => entry.record.seq)) + 1
    await sendRecord(keys, caseId, kind, seq, payload, extra)
  }

  /** Runs a form's action; a conflict (a colleague was quicker) reloads the case and says so. */
  function wire(form: HTMLFormElement, action: () => Promise<string>): void {
    const status = new FormStatus(form, [submitButton(form)])
    const done = required<HTMLElement>(form, '[data-done]')
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      done.hidden = true
      void status.run(async () => {
        if (content === null) throw new Problem('The case has not been decrypted yet. Unlock your keys in this tab first.')
        try {
          const message = await action()
          await load()
          done.textContent = message
          done.hidden = false
        } catch (error) {
          if (error instanceof RequestRefused && error.status === 409) await load().catch(() => undefined)
          throw error
        }
      })
    })
  }

  function wireReply(): void {
    const form = required<HTMLFormElement>(view, 'form[data-form="reply"]')
    const input = required<HTMLTextAreaElement>(form, '[data-reply-text]')
    wire(form, async () => {
      const keys = ring!
      const message = input.value.trim()
      if (message === '') throw new Problem('Write your reply first.')
      if (replyKey === null) throw new Problem('Replying is switched off for this case: its keys could not be checked.')
      const messageId = globalThis.crypto.randomUUID()
      const seq = lastSeq + 1
      const envelope = await sealEnvelope({
        kind: 'idva_reply',
        caseId,
        plaintext: utf8(JSON.stringify({ v: 1, text: message, evidence: [] })),
        recipients: [keys.current.encryption.publicKey, replyKey],
        signer: keys.current.signing,
        context: messageContext(seq, messageId),
      })
      await postJson(`/staff/cases/${caseId}/replies`, { messageId, seq, envelope: base64url.encode(envelope) })
      input.value = ''
      // The status panel and the waiting count ask the server again (htmx listens for this event).
      document.body.dispatchEvent(new CustomEvent('sd-replied'))
      return 'Reply sent. The person will see it when they next come back with their code.'
    })
  }

  // ---- triage ----------------------------------------------------------------------------------

  function triageInputs(form: HTMLFormElement): { answers: Record<string, Answer>; incidents: number | null; judgement: RiskLevel | null } {
    const answers: Record<string, Answer> = {}
    for (const input of form.querySelectorAll<HTMLInputElement>('input[data-risk-answer]:checked')) answers[input.dataset.riskAnswer!] = input.value as Answer
    const raw = required<HTMLInputElement>(form, '[data-risk-incidents]').value.trim()
    const incidents = raw === '' ? null : Number(raw)
    if (incidents !== null && (!Number.isInteger(incidents) || incidents < 0 || incidents > 10_000)) throw new Problem('Incidents in the last twelve months is a whole number, or empty if not known.')
    const judgement = required<HTMLSelectElement>(form, '[data-risk-judgement]').value
    return { answers, incidents, judgement: judgement === '' ? null : (judgement as RiskLevel) }
  }

  function showRiskSummary(form: HTMLFormElement): void {
    const summary = required<HTMLElement>(form, '[data-risk-summary]')
    let inputs
    try {
      inputs = triageInputs(form)
    } catch (error) {
      summary.replaceChildren(text('p', (error as Error).message))
      return
    }
    const risk = assessRisk(inputs.answers, inputs.incidents, inputs.judgement)
    const unanswered = RISK_QUESTIONS.length - Object.keys(inputs.answers).length
    // Unanswered questions could still raise the level: until each has an answer (yes, no or not
    // known), the level is not given, unless the answers already make it high.
    const unfinished = unanswered > 0 && risk.computedLevel !== 'high'
    const lines = [
      `${risk.yes} of ${RISK_QUESTIONS.length} answered yes${unanswered > 0 ? ` (${unanswered} not answered yet)` : ''}.`,
      unfinished
        ? `Assessment not finished: answer every question (yes, no, or not known) to see the risk level.${inputs.judgement === null ? '' : ` Your judgement: at least ${RISK_LEVEL_NAMES[inputs.judgement]}.`}`
        : `Risk level from the answers: ${RISK_LEVEL_NAMES[risk.computedLevel]}.${risk.level === risk.computedLevel ? '' : ` With your judgement: ${RISK_LEVEL_NAMES[risk.level]}.`}`,
      risk.maracEligible ? `Qualifies for a MARAC referral: ${risk.maracReasons.join('; ')}.` : 'Does not qualify for a MARAC referral on these answers; your judgement can still refer.',
    ]
    summary.replaceChildren(...lines.map((line) => text('p', line)))
    summary.dataset.level = unfinished ? 'unfinished' : risk.level
    summary.dataset.yes = String(risk.yes)
  }

  function wireTriage(): void {
    const form = required<HTMLFormElement>(document, 'form[data-form="triage"]')
    form.addEventListener('change', () => showRiskSummary(form))
    form.addEventListener('input', () => showRiskSummary(form))
    showRiskSummary(form)
    wire(form, async () => {
      const inputs = triageInputs(form)
      const risk = assessRisk(inputs.answers, inputs.incidents, inputs.judgement)
      const judgementReason = required<HTMLTextAreaElement>(form, '[data-risk-reason]').value.trim()
      const refer = required<HTMLInputElement>(form, '[data-marac-refer]').checked
      const maracReason = required<HTMLTextAreaElement>(form, '[data-marac-reason]').value.trim()
      const unanswered = RISK_QUESTIONS.length - Object.keys(inputs.answers).length
      if (unanswered > 0) {
        throw new Problem(`The assessment is not finished: ${unanswered} question${unanswered === 1 ? ' has' : 's have'} no answer. Choose "not known" where the person has not said.`)
      }
      if (risk.level !== risk.computedLevel && judgementReason === '') throw new Problem('Say why you are raising the level.')
      if (refer && maracReason === '') throw new Problem('Give the reason for the MARAC referral.')
      if (isLower(risk.level, risk.computedLevel)) throw new Problem('The level cannot be lower than the answers give.')
      const payload: TriageContent = {
        v: 1,
        type: 'triage',
        author: username,
        writtenOn: todayHere(),
        answers: inputs.answers,
        incidentsLastYear: inputs.incidents,
        computedLevel: risk.computedLevel,
        level: risk.level,
        judgementReason,
        marac: { eligible: risk.maracEligible, refer, reason: maracReason },
      }
      await sealRecord('triage', payload, { riskLevel: risk.level, maracReferred: refer })
      const shown = document.querySelector<HTMLElement>('[data-risk-level]')
      if (shown !== null) {
        shown.dataset.level = risk.level
        shown.replaceChildren(text('span', `${RISK_LEVEL_NAMES[risk.level]} risk`, `tag tag--risk-${risk.level}`), document.createTextNode(` (assessed ${readableDay(todayHere())})`))
      }
      return `Assessment saved: ${RISK_LEVEL_NAMES[risk.level]} risk.`
    })
  }

  /** Each kind's versions are numbered from 1: a number missing means a record was removed. */
  function withGaps<T>(entries: readonly Opened<T>[], line: (entry: Opened<T>) => HTMLElement): HTMLElement[] {
    const lines: HTMLElement[] = []
    let expected = 1
    for (const entry of entries) {
      if (entry.record.seq !== expected) lines.push(text('li', 'A version is missing here: it may have been removed from the database. Tell the IDVA lead.', 'notice notice--warning'))
      expected = entry.record.seq + 1
      lines.push(line(entry))
    }
    return lines
  }

  function triageLine(entry: Opened<TriageContent>): HTMLElement {
    if (entry.content === null) return text('li', `An assessment saved on ${readableDay(entry.record.createdOn)} could not be decrypted or verified, so it is not shown.`)
    const triage = entry.content
    const yes = Object.values(triage.answers).filter((answer) => answer === 'yes').length
    const marac = triage.marac.refer ? `referred to the MARAC (${triage.marac.reason})` : triage.marac.eligible ? 'qualified for the MARAC, not referred' + (triage.marac.reason === '' ? '' : ` (${triage.marac.reason})`) : 'not referred to the MARAC'
    const raised = triage.level === triage.computedLevel ? '' : `, raised from ${RISK_LEVEL_NAMES[triage.computedLevel]} by judgement (${triage.judgementReason})`
    // The answers decide the floor: a record claiming less than they give was not made by this page.
    const floor = assessRisk(triage.answers, triage.incidentsLastYear, null).computedLevel
    const wrong = isLower(triage.level, floor) ? ` Warning: the answers give ${RISK_LEVEL_NAMES[floor]} risk, higher than this record says.` : ''
    return text('li', `${readableDay(triage.writtenOn)}, ${triage.author}: ${RISK_LEVEL_NAMES[triage.level]} risk, ${yes} of ${RISK_QUESTIONS.length} yes${raised}; ${marac}.${wrong}`)
  }

  function showTriage(): void {
    const form = required<HTMLFormElement>(document, 'form[data-form="triage"]')
    const entries = records.triage
    required<HTMLElement>(document, '[data-triage-history]').replaceChildren(...withGaps(entries, triageLine).reverse())
    const latest = entries.at(-1)
    const latestView = required<HTMLElement>(document, '[data-triage-latest]')
    if (latest === undefined) {
      latestView.replaceChildren(text('p', 'Not assessed yet.'))
      return
    }
    const list = document.createElement('ul')
    list.className = 'list'
    list.append(triageLine(latest))
    latestView.replaceChildren(text('p', 'Latest assessment:', 'hint'), list)
    const shown = document.querySelector<HTMLElement>('[data-risk-level]')?.dataset.level
    if (latest.content !== null && shown !== undefined && shown !== latest.content.level) {
      latestView.append(text('p', `The level the portal shows in the queue (${shown}) is not the latest assessment's. Save the assessment again, and tell the IDVA lead.`, 'notice notice--warning'))
    }
    if (latest.content === null) return
    // Start from the latest answers, so a change is a new version of them.
    for (const [id, answer] of Object.entries(latest.content.answers)) {
      const input = form.querySelector<HTMLInputElement>(`input[name="risk-${CSS.escape(id)}"][value="${answer}"]`)
      if (input !== null) input.checked = true
    }
    required<HTMLInputElement>(form, '[data-risk-incidents]').value = latest.content.incidentsLastYear === null ? '' : String(latest.content.incidentsLastYear)
    showRiskSummary(form)
  }

  // ---- consent ---------------------------------------------------------------------------------

  function wireConsent(): void {
    const form = required<HTMLFormElement>(document, 'form[data-form="consent"]')
    required<HTMLInputElement>(form, '[data-consent-date]').value = todayHere()
    wire(form, async () => {
      const track = form.querySelector<HTMLInputElement>('[data-consent-track]:checked')?.value
      const agreed = form.querySelector<HTMLInputElement>('[data-consent-agreed]:checked')?.value
      if (track !== 'criminal' && track !== 'misconduct') throw new Problem('Choose the track: criminal or misconduct.')
      if (agreed !== 'yes' && agreed !== 'no') throw new Problem('Say whether the person agrees to anything going to this track.')
      const share = required<HTMLTextAreaElement>(form, '[data-consent-share]').value.trim()
      const withWhom = required<HTMLInputElement>(form, '[data-consent-with]').value.trim()
      const words = required<HTMLTextAreaElement>(form, '[data-consent-words]').value.trim()
      const givenOn = required<HTMLInputElement>(form, '[data-consent-date]').value
      if (agreed === 'yes' && (share === '' || withWhom === '')) throw new Problem('Say what the person agrees to share, and with whom.')
      if (!/^\d{4}-\d{2}-\d{2}$/.test(givenOn)) throw new Problem('Enter the day the person said so.')
      const items = agreed === 'yes' ? [...form.querySelectorAll<HTMLInputElement>('[data-consent-item]:checked')].map((input) => input.value as ShareableItem) : []
      const files = agreed === 'yes' ? [...form.querySelectorAll<HTMLInputElement>('[data-consent-file]:checked')].map((input) => input.value) : []
      if (agreed === 'yes' && items.length === 0 && files.length === 0) throw new Problem('Tick what the person agrees may go to this track.')
      const payload: ConsentContent = { v: 1, type: 'consent', author: username, writtenOn: todayHere(), track, agreed: agreed === 'yes', share, withWhom, words, givenOn, items, evidence: files }
      await sealRecord('consent', payload)
      for (const field of form.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('[data-consent-share], [data-consent-with], [data-consent-words]')) field.value = ''
      for (const box of form.querySelectorAll<HTMLInputElement>('[data-consent-item], [data-consent-file]')) box.checked = false
      return `Consent for the ${track} track recorded.`
    })
  }

  function consentLine(entry: Opened<ConsentContent>): HTMLElement {
    if (entry.content === null) return text('li', `A consent record saved on ${readableDay(entry.record.createdOn)} could not be decrypted or verified, so it is not shown.`)
    const consent = entry.content
    const item = document.createElement('li')
    item.dataset.consentTrack = consent.track
    const what = consent.agreed ? `the person agreed to share ${consent.share} with ${consent.withWhom}` : 'the person did not agree to anything going to this track'
    item.append(text('p', `${consent.track === 'criminal' ? 'Criminal' : 'Misconduct'} track: on ${readableDay(consent.givenOn)}, ${what}. Recorded by ${consent.author} on ${readableDay(consent.writtenOn)}.`))
    if (consent.agreed) {
      const files = evidence.filter((file) => consent.evidence.includes(file.id)).map((file) => file.name)
      const parts = [...consent.items.map((shareable) => SHAREABLE_ITEM_NAMES[shareable]), ...(files.length === 0 ? [] : [`files: ${files.join(', ')}`])]
      item.append(text('p', parts.length === 0 ? 'Nothing ticked item by item: record a new version before a package can be built.' : `May go to this track: ${parts.join('; ')}.`, 'hint'))
    }
    if (consent.words !== '') item.append(text('p', `In their words: ${consent.words}`, 'message__text'))
    return item
  }

  function showConsent(): void {
    // The person's files, to tick one by one.
    const fileField = document.querySelector<HTMLElement>('[data-consent-evidence-field]')
    const fileList = document.querySelector<HTMLElement>('[data-consent-evidence]')
    if (fileField !== null && fileList !== null) {
      fileList.replaceChildren(
        ...evidence.map((file) => {
          const row = document.createElement('div')
          row.className = 'choice'
          const input = document.createElement('input')
          input.type = 'checkbox'
          input.id = `consent-file-${file.id}`
          input.value = file.id
          input.dataset.consentFile = ''
          const label = text('label', file.name)
          label.setAttribute('for', input.id)
          row.append(input, label)
          return row
        }),
      )
      fileField.hidden = evidence.length === 0
    }
    const entries = records.consent
    required<HTMLElement>(document, '[data-consent-history]').replaceChildren(...withGaps(entries, consentLine).reverse())
    const current = required<HTMLElement>(document, '[data-consent-current]')
    const lines: HTMLElement[] = []
    for (const track of ['criminal', 'misconduct'] as const) {
      const latest = [...entries].reverse().find((entry) => entry.content?.track === track)
      lines.push(latest === undefined ? text('li', `${track === 'criminal' ? 'Criminal' : 'Misconduct'} track: no consent recorded. Nothing goes to investigators on this track.`) : consentLine(latest))
    }
    const list = document.createElement('ul')
    list.className = 'list'
    list.append(...lines)
    current.replaceChildren(list)
  }

  // ---- referral --------------------------------------------------------------------------------

  /** What the routing step needs, once the case is decrypted (null until then). */
  function referralContext(): ReferralContext | null {
    if (content === null || ring === null) return null
    const latest = (track: 'criminal' | 'misconduct') => [...records.consent].reverse().find((entry) => entry.content?.track === track)?.content ?? null
    return {
      caseId,
      username,
      serviceName: document.querySelector<HTMLElement>('[data-routing]')?.dataset.serviceName ?? 'The IDVA service',
      service: generations,
      disclosure,
      laterTexts,
      evidence,
      triage: records.triage.at(-1)?.content ?? null,
      consent: { criminal: latest('criminal'), misconduct: latest('misconduct') },
      routing: records.routing.at(-1)?.content ?? null,
      saveRouting: (payload, audit) => sealRecord('routing', payload, audit),
      reload: load,
    }
  }

  // ---- notes -----------------------------------------------------------------------------------

  function wireNote(): void {
    const form = required<HTMLFormElement>(document, 'form[data-form="note"]')
    const input = required<HTMLTextAreaElement>(form, '[data-note-text]')
    wire(form, async () => {
      const note = input.value.trim()
      if (note === '') throw new Problem('Write the note first.')
      await sealRecord('note', { v: 1, type: 'note', author: username, writtenOn: todayHere(), text: note })
      input.value = ''
      return 'Note added.'
    })
  }

  function showNotes(): void {
    required<HTMLElement>(document, '[data-notes]').replaceChildren(
      ...withGaps(records.note, (entry) => {
        if (entry.content === null) return text('li', `A note saved on ${readableDay(entry.record.createdOn)} could not be decrypted or verified, so it is not shown.`)
        const item = document.createElement('li')
        item.append(text('p', `${readableDay(entry.content.writtenOn)}, ${entry.content.author}`, 'message__meta'), text('p', entry.content.text, 'message__text'))
        return item
      }),
    )
  }

  // ---- the repeat-perpetrator signal -----------------------------------------------------------

  /**
   * Keeps this case's index entry up to date, indexes a batch of cases nobody has opened yet, then
   * decrypts every other case's entry here and counts those naming the same person.
   */
  async function compareWithOtherCases(): Promise<void> {
    const keys = ring
    if (keys === null || content === null || content.kind !== 'disclosure') return
    const mine = identifiersOf(disclosure?.answers)
    const latest = records.identifiers.at(-1)?.content ?? null
    if (disclosure !== null && (latest === null || !sameIdentifiers(latest, mine))) {
      await sealRecord('identifiers', { v: 1, type: 'identifiers', ...mine }).catch(() => undefined)
    }
    await indexUnopenedCases(keys)
    // The whole index is read and the comparison reported even when this case names nobody, so
    // the server cannot tell from the requests whether it does.
    const matches: string[] = []
    let after: string | null = null
    for (;;) {
      const page: { entries: { caseId: string; recordId: string; seq: number; envelope: string }[]; more: boolean } = await getJson(`/staff/identifiers${after === null ? '' : `?after=${after}`}`)
      for (const entry of page.entries) {
        if (entry.caseId === caseId) continue
        const other = await openRecordOf(keys, entry.caseId, { id: entry.recordId, kind: 'identifiers', seq: entry.seq, envelope: entry.envelope })
        if (other?.type === 'identifiers' && !isEmpty(mine) && samePerson(mine, other)) matches.push(entry.caseId)
      }
      if (!page.more || page.entries.length === 0) break
      after = page.entries.at(-1)!.caseId
    }
    await postJson(`/staff/cases/${caseId}/compared`, {}).catch(() => undefined)
    showMatches(matches)
  }

  /**
   * Disclosures no IDVA has opened yet have no index entry: this browser makes theirs (a batch at a
   * time). One that cannot be read, or whose first message does not name the keys the server holds,
   * gets an empty entry, so a few unreadable submissions cannot hold up the indexing of the rest.
   */
  async function indexUnopenedCases(keys: ServiceRing): Promise<void> {
    const batch = await getJson<{ cases: { caseId: string; messageId: string; kind: 'disclosure' | 'consultation'; authPublic: string; envelope: string }[] }>('/staff/identifiers/unindexed')
    for (const other of batch.cases) {
      if (other.caseId === caseId) continue
      let found: Identifiers = { names: [], numbers: [] }
      try {
        const envelope = await openWithRing(keys, other.envelope, { caseId: other.caseId, kind: other.kind, context: messageContext(1, other.messageId), signers: [base64url.decode(other.authPublic, 'auth key', 32)] })
        const read = readMessageContent(fromUtf8(envelope.plaintext))
        if (read.caseKeys?.auth === other.authPublic) found = identifiersOf(read.answers)
      } catch {
        // Unreadable: indexed as naming nobody.
      }
      try {
        await sendRecord(keys, other.caseId, 'identifiers', 1, { v: 1, type: 'identifiers', ...found })
      } catch {
        // Indexed by a colleague meanwhile, or withdrawn: nothing to do.
      }
    }
  }

  function showMatches(matches: readonly string[]): void {
    const panel = required<HTMLElement>(view, '[data-repeat]')
    if (matches.length === 0) {
      panel.hidden = true
      return
    }
    required<HTMLElement>(panel, '[data-repeat-text]').textContent = `This person is named in ${matches.length} other case${matches.length === 1 ? '' : 's'}.`
    required<HTMLElement>(panel, '[data-repeat-links]').replaceChildren(
      ...matches.map((id) => {
        const item = document.createElement('li')
        const link = document.createElement('a')
        link.href = `/staff/cases/${encodeURIComponent(id)}`
        link.textContent = `Case ${id.slice(0, 8)}`
        item.append(link)
        return item
      }),
    )
    panel.hidden = false
  }
}
