/**
 * The routing step on the IDVA's case page, in the browser: the routing engine (rules/routing/,
 * the same code as the server's) runs here, on facts only this page sees, with the policy the
 * server serves; the decision is shown as ROUTING.md says the IDVA sees it; an override needs a
 * reason and cannot break the tracks' separation or pick a conflicted unit; the facts, decision and
 * overrides are saved as a sealed record; then one package per track is built from what the person
 * consented to share with that track, sealed here to the receiving unit's key (only one the IDVA
 * service vouched for, checked against the service's keys this tab holds, which were checked
 * against the pinned fingerprint when it unlocked them) and to the service's key, and signed.
 *
 * Nothing decrypted leaves this page except inside those packages; every text is set with
 * textContent.
 */
import {
  base64url,
  certifiedUnitKey,
  certifiedUnitKeys,
  ITEM_ANSWERS,
  referralContext,
  sealEnvelope,
  SHAREABLE_ITEM_NAMES,
  SHAREABLE_ITEMS,
  utf8,
  type ConsentContent,
  type EvidenceReference,
  type ExportedPackage,
  type KeySet,
  type MessageContent,
  type PackageContent,
  type PublicKeySet,
  type RoutingContent,
  type ShareableItem,
  type TriageContent,
  type UnitKeyGeneration,
} from '../../crypto/index.ts'
import { route } from '../../rules/routing/engine.ts'
import { overrideCandidates, type PolicyUnit } from '../../rules/routing/units.ts'
import type { Decision, Facts, Policy } from '../../rules/routing/types.ts'
import { Problem, required } from '../ui.ts'
import { getJson, postJson, RequestRefused } from './http.ts'
import { openUpdates, updateItems, type StoredUpdate } from './referral-updates.ts'
import { readableDay } from '../../rules/dates.ts'
import { RANK_EQUIVALENTS } from '../../rules/answer-labels.ts'

type Track = 'criminal' | 'misconduct'
const TRACKS: readonly Track[] = ['criminal', 'misconduct']
const TRACK_NAMES: Record<Track, string> = { criminal: 'Criminal', misconduct: 'Misconduct' }

interface WireGeneration {
  readonly generation: number
  readonly x25519: string
  readonly ed25519: string
  readonly rotationCertificate: string | null
  readonly serviceCertificate: string | null
  readonly serviceGeneration: number | null
}

/** A unit key generation from the wire, as the certificate checks take it. */
function wireGeneration(row: WireGeneration): UnitKeyGeneration {
  return {
    generation: row.generation,
    publicKeys: { encryption: base64url.decode(row.x25519, 'unit key', 32), signing: base64url.decode(row.ed25519, 'unit key', 32) },
    rotationCertificate: row.rotationCertificate === null ? null : base64url.decode(row.rotationCertificate, 'certificate', 64),
    serviceCertificate: row.serviceCertificate === null ? null : base64url.decode(row.serviceCertificate, 'certificate', 64),
    serviceGeneration: row.serviceGeneration,
  }
}

interface ReferralUnit extends PolicyUnit {
  /** portal: delivered here; export: a file for a force without accounts here; null: no key yet. */
  readonly delivery: 'portal' | 'export' | null
  readonly generations: readonly WireGeneration[]
}

interface RoutingPolicy {
  readonly policy: Policy
  readonly service: { readonly serviceId: string; readonly generations: readonly { x25519: string; ed25519: string; certificate: string | null }[] } | null
  readonly units: readonly ReferralUnit[]
}

interface ReferralState {
  readonly id: string
  readonly track: Track
  readonly unit: string
  readonly unitName: string
  readonly force: string
  readonly delivery: 'portal' | 'export'
  readonly status: string
  readonly iopcRequired: boolean
  readonly iopcDecision: 'referred' | 'not_referred' | null
  readonly sentAt: string
  readonly statusChangedAt: string
  readonly updates: readonly StoredUpdate[]
}

/** What the case page hands the routing step once the case is decrypted. */
export interface ReferralContext {
  readonly caseId: string
  readonly username: string
  readonly serviceName: string
  /** The service's keys in this tab, newest first, with their generations. */
  readonly service: readonly { readonly generation: number; readonly keys: KeySet }[]
  readonly disclosure: MessageContent | null
  /** Everything the person wrote after the first message (text only), in order. */
  readonly laterTexts: readonly string[]
  /** Every evidence file of the case the page could decrypt the key of. */
  readonly evidence: readonly EvidenceReference[]
  readonly triage: TriageContent | null
  readonly consent: Readonly<Record<Track, ConsentContent | null>>
  readonly routing: RoutingContent | null
  /** Saves a routing record (sealed), with what the audit log keeps beside it. */
  saveRouting(content: RoutingContent, audit: Record<string, unknown>): Promise<void>
  reload(): Promise<void>
}

export const STATUS_NAMES: Record<string, string> = {
  sent: 'sent',
  exported: 'exported as a file',
  acknowledged: 'acknowledged',
  investigating: 'investigation opened',
  no_further_action: 'no further action',
  transferred: 'transferred',
  closed: 'closed',
  returned: 'returned to the IDVA service',
}

function text(tag: keyof HTMLElementTagNameMap, value: string, className = ''): HTMLElement {
  const node = document.createElement(tag)
  node.textContent = value
  if (className !== '') node.className = className
  return node
}

/** A labelled checkbox, its value and data attribute set; the label is text. */
function checkbox(id: string, value: string, label: string, data: Record<string, string>, checked: boolean, disabled = false): HTMLElement {
  const row = document.createElement('div')
  row.className = 'choice'
  const input = document.createElement('input')
  input.type = 'checkbox'
  input.id = id
  input.value = value
  Object.assign(input.dataset, data)
  input.checked = checked
  input.disabled = disabled
  const text = document.createElement('label')
  text.textContent = label
  text.setAttribute('for', id)
  row.append(input, text)
  return row
}

/** A labelled textarea with its data attribute. */
function textArea(id: string, label: string, data: Record<string, string>, rows: number, maxLength: number): { label: HTMLElement; area: HTMLTextAreaElement } {
  const caption = document.createElement('label')
  caption.textContent = label
  caption.setAttribute('for', id)
  const area = document.createElement('textarea')
  area.id = id
  area.rows = rows
  area.maxLength = maxLength
  Object.assign(area.dataset, data)
  return { label: caption, area }
}

function showError(box: HTMLElement, message: string): void {
  box.replaceChildren(text('h2', 'There is a problem', 'error-summary__title'), text('p', message))
  box.hidden = false
  box.focus()
}

function when(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' })
}

function todayHere(): string {
  const now = new Date()
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`
}

// ---- facts --------------------------------------------------------------------------------------

type Answers = Readonly<Record<string, string | readonly string[]>>

function answer(answers: Answers, name: string): string | null {
  const value = answers[name]
  return typeof value === 'string' && value !== '' ? value : null
}

function yesNo(value: string | null): boolean | null {
  return value === 'yes' ? true : value === 'no' ? false : null
}

/** The engine's facts, first guessed from the disclosure's answers: unknown stays unknown. */
export function factsFromDisclosure(answers: Answers, policy: Policy, consent: Record<Track, boolean>): Facts {
  const boroughs = new Set(Object.values(policy.commandUnits).flat())
  const borough = (name: string) => {
    const value = answer(answers, name)
    return value !== null && boroughs.has(value) ? value : null
  }
  const police = answer(answers, 'perpetratorPolice')
  const policeEmployee = police === 'this_force' || police === 'another_force' ? true : police === 'no' ? false : null
  const given = answer(answers, 'perpetratorRank')
  const rank = given !== null && Object.hasOwn(RANK_EQUIVALENTS, given) ? RANK_EQUIVALENTS[given]! : given
  const knownRank = rank !== null && (rank === 'staff' || policy.ranks.includes(rank)) ? rank : null
  const grade = answer(answers, 'perpetratorStaffGrade')
  const incident = borough('incidentBorough')
  const abuse = answers.abuseTypes
  return {
    reporter: { homeBorough: borough('liveBorough'), workBorough: borough('workBorough'), force: policy.force },
    incidentBoroughs: incident === null ? null : [incident],
    suspect: {
      policeEmployee,
      force: police === 'this_force' ? policy.force : null,
      workBorough: policeEmployee === true ? borough('perpetratorBorough') : null,
      rank: knownRank,
      staffGrade: knownRank === 'staff' && grade !== null && grade !== 'not_sure' ? grade : null,
      department: null,
      onDuty: yesNo(answer(answers, 'onDuty')),
      abuseOfPosition: yesNo(answer(answers, 'usedPosition')),
      abuseOfPositionSexual: null,
    },
    // Domestic abuse of the kinds the report lists is usually a crime; the IDVA confirms it.
    allegation: { criminal: Array.isArray(abuse) ? abuse.length > 0 : true, seriousAssault: null, seriousSexualOffence: null, discriminatory: null, relevantOffence: null },
    consent,
    safeguardingOverride: null,
    requestOtherForce: yesNo(answer(answers, 'otherForce')),
  }
}

function fields(form: HTMLFormElement, fact: string): HTMLInputElement[] {
  return [...form.querySelectorAll<HTMLInputElement>(`[data-fact="${CSS.escape(fact)}"]`)]
}

function setSelect(form: HTMLFormElement, fact: string, value: string | null | undefined): void {
  const select = form.querySelector<HTMLSelectElement>(`select[data-fact="${CSS.escape(fact)}"]`)
  if (select === null) return
  select.value = value ?? ''
  if (select.value !== (value ?? '')) select.value = ''
}

function setTristate(form: HTMLFormElement, fact: string, value: boolean | null | undefined): void {
  const wanted = value === true ? 'yes' : value === false ? 'no' : 'unknown'
  for (const input of fields(form, fact)) input.checked = input.value === wanted
}

function fillFacts(form: HTMLFormElement, facts: Facts): void {
  setSelect(form, 'reporter.homeBorough', facts.reporter.homeBorough)
  setSelect(form, 'reporter.workBorough', facts.reporter.workBorough)
  setSelect(form, 'incidentBoroughs.0', facts.incidentBoroughs?.[0])
  setSelect(form, 'incidentBoroughs.1', facts.incidentBoroughs?.[1])
  setTristate(form, 'requestOtherForce', facts.requestOtherForce)
  setTristate(form, 'suspect.policeEmployee', facts.suspect.policeEmployee)
  setSelect(form, 'suspect.force', facts.suspect.force)
  setSelect(form, 'suspect.workBorough', facts.suspect.workBorough)
  setSelect(form, 'suspect.rank', facts.suspect.rank)
  setSelect(form, 'suspect.staffGrade', facts.suspect.staffGrade)
  setSelect(form, 'suspect.department', facts.suspect.department)
  setTristate(form, 'suspect.onDuty', facts.suspect.onDuty)
  setTristate(form, 'suspect.abuseOfPosition', facts.suspect.abuseOfPosition)
  setTristate(form, 'suspect.abuseOfPositionSexual', facts.suspect.abuseOfPositionSexual)
  setTristate(form, 'allegation.criminal', facts.allegation.criminal)
  setTristate(form, 'allegation.seriousAssault', facts.allegation.seriousAssault)
  setTristate(form, 'allegation.seriousSexualOffence', facts.allegation.seriousSexualOffence)
  setTristate(form, 'allegation.discriminatory', facts.allegation.discriminatory)
  setTristate(form, 'allegation.relevantOffence', facts.allegation.relevantOffence)
  const override = facts.safeguardingOverride ?? null
  fields(form, 'safeguardingOverride')[0]!.checked = override !== null
  required<HTMLTextAreaElement>(form, '[data-fact="safeguardingOverride.reason"]').value = override?.reason ?? ''
}

/** The facts as the IDVA has confirmed them on the form. */
function readFacts(form: HTMLFormElement, policy: Policy, consent: Record<Track, boolean>): Facts {
  const select = (fact: string) => {
    const value = form.querySelector<HTMLSelectElement>(`select[data-fact="${CSS.escape(fact)}"]`)?.value ?? ''
    return value === '' ? null : value
  }
  const tristate = (fact: string) => yesNo(fields(form, fact).find((input) => input.checked)?.value ?? null)
  const criminal = tristate('allegation.criminal')
  if (criminal === null) throw new Problem('Say whether a criminal offence is alleged (yes or no).')
  const overrideWanted = fields(form, 'safeguardingOverride')[0]!.checked
  const reason = required<HTMLTextAreaElement>(form, '[data-fact="safeguardingOverride.reason"]').value.trim()
  if (overrideWanted && reason === '') throw new Problem('Give the reason for the safeguarding override: the risk to life or to children that requires it.')
  const incidents = [select('incidentBoroughs.0'), select('incidentBoroughs.1')].filter((value): value is string => value !== null)
  const rank = select('suspect.rank')
  const department = select('suspect.department')
  return {
    reporter: { homeBorough: select('reporter.homeBorough'), workBorough: select('reporter.workBorough'), force: policy.force },
    incidentBoroughs: incidents.length === 0 ? null : [...new Set(incidents)],
    suspect: {
      policeEmployee: tristate('suspect.policeEmployee'),
      force: select('suspect.force'),
      workBorough: select('suspect.workBorough'),
      rank,
      staffGrade: rank === 'staff' ? select('suspect.staffGrade') : null,
      department: department === 'another' ? 'another-department' : department,
      onDuty: tristate('suspect.onDuty'),
      abuseOfPosition: tristate('suspect.abuseOfPosition'),
      abuseOfPositionSexual: tristate('suspect.abuseOfPositionSexual'),
    },
    allegation: {
      criminal,
      seriousAssault: tristate('allegation.seriousAssault'),
      seriousSexualOffence: tristate('allegation.seriousSexualOffence'),
      discriminatory: tristate('allegation.discriminatory'),
      relevantOffence: tristate('allegation.relevantOffence'),
    },
    consent,
    safeguardingOverride: overrideWanted ? { reason } : null,
    requestOtherForce: tristate('requestOtherForce'),
  }
}

// ---- the step -----------------------------------------------------------------------------------

export function wireRouting(section: HTMLElement, context: () => ReferralContext | null): { show(): Promise<void> } {
  const form = required<HTMLFormElement>(section, 'form[data-form="routing"]')
  const formError = required<HTMLElement>(form, '[data-error]')
  const decisionView = required<HTMLElement>(section, '[data-decision]')
  const routingError = required<HTMLElement>(section, '[data-routing-error]')
  const packagesView = required<HTMLElement>(section, '[data-packages]')
  const packageError = required<HTMLElement>(section, '[data-package-error]')
  const working = required<HTMLElement>(section, '[data-package-working]')
  let served: RoutingPolicy | null = null
  let proposal: { facts: Facts; decision: Decision } | null = null

  const policyNow = async (): Promise<RoutingPolicy> => (served ??= await getJson<RoutingPolicy>('/staff/referrals/policy'))
  const unitName = (id: string | null) => (id === null ? 'no unit' : (served?.policy.names?.units?.[id] ?? id))
  const forceName = (id: string | null) => (id === null ? 'another force' : (served?.policy.names?.forces?.[id] ?? id))
  const consentGiven = (ctx: ReferralContext): Record<Track, boolean> => ({ criminal: ctx.consent.criminal?.agreed === true, misconduct: ctx.consent.misconduct?.agreed === true })

  form.addEventListener('submit', (event) => {
    event.preventDefault()
    formError.hidden = true
    void (async () => {
      try {
        const ctx = context()
        if (ctx === null) throw new Problem('The case has not been decrypted yet. Unlock your keys in this tab first.')
        const { policy } = await policyNow()
        const facts = readFacts(form, policy, consentGiven(ctx))
        proposal = { facts, decision: route(facts, policy) }
        showDecision(proposal.decision, null)
      } catch (error) {
        showError(formError, error instanceof Problem ? error.message : `The route could not be worked out: ${(error as Error).message}`)
      }
    })()
  })

  required<HTMLButtonElement>(section, '[data-save-routing]').addEventListener('click', () => {
    routingError.hidden = true
    void (async () => {
      const button = required<HTMLButtonElement>(section, '[data-save-routing]')
      button.disabled = true
      try {
        const ctx = context()
        if (ctx === null || proposal === null) throw new Problem('Work out the route first.')
        const overrides = readOverrides(proposal.decision)
        const content: RoutingContent = { v: 1, type: 'routing', author: ctx.username, writtenOn: todayHere(), facts: proposal.facts as unknown as Record<string, unknown>, decision: proposal.decision as unknown as Record<string, unknown>, overrides }
        await ctx.saveRouting(content, {
          routing: {
            policyVersion: proposal.decision.policyVersion,
            criminal: proposal.decision.criminal?.rules ?? proposal.decision.criminalWithheld?.rules ?? [],
            misconduct: proposal.decision.misconduct?.rules ?? proposal.decision.misconductWithheld?.rules ?? [],
            iopc: proposal.decision.iopcReferral.rules,
            overridden: TRACKS.filter((track) => overrides[track] !== null),
          },
        })
        await ctx.reload()
        const saved = required<HTMLElement>(section, '[data-routing-saved]')
        saved.textContent = 'Routing saved. The packages can now be prepared below.'
        saved.hidden = false
      } catch (error) {
        showError(routingError, error instanceof Problem || error instanceof RequestRefused ? error.message : 'The routing could not be saved. Reload the page and try again.')
      } finally {
        button.disabled = false
      }
    })()
  })

  required<HTMLButtonElement>(section, '[data-send-packages]').addEventListener('click', () => {
    packageError.hidden = true
    void sendPackages().catch((error: unknown) => {
      working.hidden = true
      showError(packageError, error instanceof Problem || error instanceof RequestRefused ? error.message : 'The packages could not be sent. Nothing was sent. Reload the page and try again.')
    })
  })

  /** The decision in plain words: per track the unit and force, the rules that fired, what is withheld and why. */
  function showDecision(decision: Decision, saved: RoutingContent['overrides'] | null): void {
    const policy = served!.policy
    required<HTMLElement>(section, '[data-decision-policy]').textContent = `Routing policy ${decision.policyVersion}. Conflicted command units: ${decision.conflicts.commandUnits.map((code) => policy.names?.commandUnits?.[code] ?? code).join(', ') || 'none'}.`
    const tracks = required<HTMLElement>(section, '[data-decision-tracks]')
    tracks.replaceChildren()
    for (const track of TRACKS) {
      const open = decision[track]
      const withheld = track === 'criminal' ? decision.criminalWithheld : decision.misconductWithheld
      const box = document.createElement('div')
      box.className = 'decision-track'
      box.dataset.decisionTrack = track
      if (open === null) {
        box.append(text('h4', `${TRACK_NAMES[track]}: not opened`))
        const list = document.createElement('ul')
        list.className = 'list'
        list.append(...(withheld?.explanation ?? ['No track.']).map((line) => text('li', line)))
        box.append(list)
        tracks.append(box)
        continue
      }
      box.append(text('h4', `${TRACK_NAMES[track]}: ${unitName(open.unit)} (${forceName(open.force)})`))
      box.lastElementChild!.setAttribute('data-decision-unit', open.unit ?? '')
      box.append(text('p', `Rules: ${open.rules.join(', ')}`, 'hint'))
      const list = document.createElement('ul')
      list.className = 'list'
      list.append(...open.explanation.map((line) => text('li', line)))
      box.append(list)
      // Override: another unit of the same track, never conflicted, never the other track's.
      const other = TRACKS.find((candidate) => candidate !== track)!
      const otherUnit = saved?.[other]?.unit ?? decision[other]?.unit ?? null
      const candidates = overrideCandidates(policy, track, decision.conflicts, otherUnit).filter((unit) => unit.id !== open.unit)
      const field = document.createElement('div')
      field.className = 'field'
      const selectId = `override-${track}`
      const label = text('label', `Send the ${track} package to another unit instead (optional)`)
      label.setAttribute('for', selectId)
      const select = document.createElement('select')
      select.id = selectId
      select.dataset.overrideUnit = track
      select.append(new Option(`Keep ${unitName(open.unit)}`, ''))
      for (const unit of candidates) select.append(new Option(`${unit.name} (${forceName(unit.force)})`, unit.id))
      const { label: reasonLabel, area: reason } = textArea(`override-reason-${track}`, 'The reason for choosing another unit (required if you do)', { overrideReason: track }, 2, 5000)
      const given = saved?.[track] ?? null
      if (given !== null) {
        select.value = given.unit
        reason.value = given.reason
      }
      field.append(label, select, reasonLabel, reason)
      box.append(field)
      tracks.append(box)
    }
    const iopc = required<HTMLElement>(section, '[data-decision-iopc]')
    iopc.replaceChildren()
    if (decision.iopcReferral.required) {
      iopc.append(text('h4', 'A referral to the IOPC is required'), text('p', `Rules: ${decision.iopcReferral.rules.join(', ')}`, 'hint'))
      const list = document.createElement('ul')
      list.className = 'list'
      list.append(...decision.iopcReferral.explanation.map((line) => text('li', line)))
      iopc.append(list)
    }
    const warnings = required<HTMLElement>(section, '[data-decision-warnings]')
    warnings.replaceChildren(...decision.warnings.map((line) => text('li', line, 'notice notice--warning')))
    decisionView.hidden = false
  }

  /** The overrides chosen, checked: a reason each, never both tracks to one unit, only allowed units. */
  function readOverrides(decision: Decision): RoutingContent['overrides'] {
    const policy = served!.policy
    const chosen: Record<Track, { unit: string; reason: string } | null> = { criminal: null, misconduct: null }
    for (const track of TRACKS) {
      const unit = section.querySelector<HTMLSelectElement>(`[data-override-unit="${track}"]`)?.value ?? ''
      if (unit === '' || decision[track] === null) continue
      const reason = section.querySelector<HTMLTextAreaElement>(`[data-override-reason="${track}"]`)?.value.trim() ?? ''
      if (reason === '') throw new Problem(`Give the reason for sending the ${track} package to another unit.`)
      chosen[track] = { unit, reason }
    }
    const final = (track: Track) => chosen[track]?.unit ?? decision[track]?.unit ?? null
    for (const track of TRACKS) {
      const given = chosen[track]
      if (given === null) continue
      const other = TRACKS.find((candidate) => candidate !== track)!
      const allowed = overrideCandidates(policy, track, decision.conflicts, final(other))
      if (!allowed.some((unit) => unit.id === given.unit)) throw new Problem(`That unit cannot take the ${track} track: it is in a conflicted command unit or force, or it holds the other track.`)
    }
    if (final('criminal') !== null && final('criminal') === final('misconduct')) throw new Problem('The criminal and misconduct tracks must go to different units.')
    return chosen
  }

  /** Renders the step from the case's latest routing record (if any) and its referrals. */
  async function show(): Promise<void> {
    const ctx = context()
    if (ctx === null) return
    const { policy } = await policyNow()
    const consent = consentGiven(ctx)
    required<HTMLElement>(form, '[data-routing-consent]').textContent = `Consent recorded: criminal track ${consent.criminal ? 'agreed' : 'not agreed'}; misconduct track ${consent.misconduct ? 'agreed' : 'not agreed'}. (Record consent above to change this.)`
    const savedFacts = ctx.routing?.facts as unknown as Facts | undefined
    fillFacts(form, savedFacts === undefined ? factsFromDisclosure(ctx.disclosure?.answers ?? {}, policy, consent) : { ...savedFacts, consent })
    for (const button of form.querySelectorAll<HTMLButtonElement>('[data-submit]')) button.disabled = false
    await showStates(ctx)
    if (ctx.routing === null) return
    const decision = ctx.routing.decision as unknown as Decision
    proposal = { facts: ctx.routing.facts as unknown as Facts, decision }
    showDecision(decision, ctx.routing.overrides)
    showPackages(ctx, ctx.routing)
  }

  async function showStates(ctx: ReferralContext): Promise<void> {
    const { referrals } = await getJson<{ referrals: ReferralState[] }>(`/staff/cases/${ctx.caseId}/referrals`)
    const box = required<HTMLElement>(section, '[data-referral-states]')
    box.replaceChildren()
    if (referrals.length === 0) return
    const list = document.createElement('ul')
    list.className = 'list referral-states'
    for (const referral of referrals) {
      const iopc = !referral.iopcRequired ? '.' : referral.iopcDecision === 'referred' ? '. Referred to the IOPC.' : referral.iopcDecision === 'not_referred' ? '. Not referred to the IOPC.' : '. IOPC referral required: the unit has not recorded its decision yet.'
      const item = text('li', `${TRACK_NAMES[referral.track]}: ${referral.unitName} (${forceName(referral.force)}): ${STATUS_NAMES[referral.status] ?? referral.status} (sent ${when(referral.sentAt)}${referral.statusChangedAt !== referral.sentAt ? `, updated ${when(referral.statusChangedAt)}` : ''})${iopc}`)
      item.dataset.referralTrack = referral.track
      item.dataset.referralStatus = referral.status
      item.dataset.iopcDecision = referral.iopcDecision ?? ''
      if (referral.updates.length > 0) {
        // What the unit recorded, each note opened with the service's key and checked against the
        // unit's keys the service vouched for: an insider cannot write as the unit.
        const opened = await openUpdates(referral.updates, { caseId: ctx.caseId, referralId: referral.id, keys: ctx.service.map((entry) => entry.keys.encryption), signers: await unitSigners(ctx, referral.unit) })
        const history = document.createElement('ol')
        history.className = 'list thread'
        history.dataset.unitUpdates = referral.track
        history.append(...updateItems(opened, 'This update could not be decrypted, or was not signed by the unit, so it is not shown. It may have been changed in the database. Tell the IDVA lead.'))
        // The state the server keeps must be the one the unit signed.
        const last = [...opened].reverse().find((entry) => entry.content !== null && entry.content.action !== 'iopc_referred' && entry.content.action !== 'iopc_not_referred')
        if (last !== undefined && last.content!.action !== referral.status) item.append(text('p', 'The state shown does not match what the unit signed. The database may have been changed. Tell the IDVA lead.', 'notice notice--warning'))
        item.append(history)
      }
      list.append(item)
    }
    box.append(text('h3', 'Referrals'), list)
  }

  /** The signing keys of a unit's key generations the service vouched for (none when it has no certified key). */
  async function unitSigners(ctx: ReferralContext, unitId: string): Promise<Uint8Array[]> {
    const unit = served?.units.find((candidate) => candidate.id === unitId)
    if (unit === undefined) return []
    try {
      const certified = await certifiedUnitKeys(unit.id, unit.generations.map(wireGeneration), serviceSigningKeys(ctx))
      return certified.map((entry) => entry.publicKeys.signing)
    } catch {
      return []
    }
  }

  // ---- packages -------------------------------------------------------------------------------

  /** What may go to a track: the latest consent's items and files, or, with a safeguarding override, what the IDVA judges needed. */
  function allowance(ctx: ReferralContext, routing: RoutingContent, track: Track): { items: readonly ShareableItem[]; files: readonly string[]; basis: PackageContent['basis'] } | string {
    const consent = ctx.consent[track]
    if (consent?.agreed === true) {
      if (consent.items.length === 0) return `The latest consent for the ${track} track does not say what may be shared item by item. Record a new consent version above, ticking what the person agreed to.`
      return { items: consent.items, files: consent.evidence, basis: { kind: 'consent', givenOn: consent.givenOn, share: consent.share, withWhom: consent.withWhom } }
    }
    const override = (routing.facts as { safeguardingOverride?: { reason?: unknown } | null }).safeguardingOverride
    if (override !== null && override !== undefined && typeof override.reason === 'string' && override.reason !== '') {
      return { items: SHAREABLE_ITEMS, files: ctx.evidence.map((file) => file.id), basis: { kind: 'safeguarding', reason: override.reason } }
    }
    return `The person has not agreed to anything going to the ${track} track, and no safeguarding override is recorded, so no package can be built (R1).`
  }

  function finalUnit(routing: RoutingContent, track: Track): string | null {
    const decision = routing.decision as unknown as Decision
    return routing.overrides[track]?.unit ?? decision[track]?.unit ?? null
  }

  function showPackages(ctx: ReferralContext, routing: RoutingContent): void {
    const container = required<HTMLElement>(section, '[data-package-tracks]')
    container.replaceChildren()
    let any = false
    for (const track of TRACKS) {
      const unitId = finalUnit(routing, track)
      if (unitId === null) continue
      any = true
      const unit = served!.units.find((candidate) => candidate.id === unitId)
      const box = document.createElement('fieldset')
      box.className = 'fieldset package'
      box.dataset.package = track
      const legend = document.createElement('legend')
      legend.textContent = `${TRACK_NAMES[track]} package, for ${unitName(unitId)} (${forceName(unit?.force ?? null)})`
      box.append(legend)
      const allowed = allowance(ctx, routing, track)
      if (typeof allowed === 'string') {
        box.append(text('p', allowed, 'notice notice--warning'))
        box.dataset.blocked = 'true'
        container.append(box)
        continue
      }
      if (unit === undefined || unit.delivery === null) {
        box.append(text('p', 'This unit is not on this portal and its key has not been added, so nothing can be sealed to it. The IDVA lead adds a key for a unit outside this portal from the team page, after comparing its fingerprint with the unit.', 'notice notice--warning'))
        box.dataset.blocked = 'true'
        container.append(box)
        continue
      }
      box.append(
        text(
          'p',
          allowed.basis.kind === 'consent'
            ? `The person agreed on ${readableDay(allowed.basis.givenOn)} to share with ${allowed.basis.withWhom}: ${allowed.basis.share}.`
            : `Safeguarding override: ${allowed.basis.reason}. Share only what is needed, and tell the person first where it is safe.`,
          'hint',
        ),
      )
      if (unit.delivery === 'export') box.append(text('p', 'This unit is outside this portal: the package is saved as a file for you to send it.', 'hint'))
      for (const item of SHAREABLE_ITEMS) {
        const permitted = allowed.items.includes(item)
        box.append(checkbox(`package-${track}-${item}`, item, permitted ? SHAREABLE_ITEM_NAMES[item] : `${SHAREABLE_ITEM_NAMES[item]} (not agreed for this track)`, { packageItem: track }, permitted && allowed.basis.kind === 'consent', !permitted))
      }
      const files = ctx.evidence.filter((file) => allowed.files.includes(file.id))
      if (files.length > 0) {
        box.append(text('p', 'Files, one by one:', 'hint'))
        for (const file of files) box.append(checkbox(`package-${track}-file-${file.id}`, file.id, file.name, { packageFile: track }, allowed.basis.kind === 'consent'))
      }
      const { label: summaryLabel, area: summary } = textArea(`package-${track}-summary`, 'Your summary for the investigators (required)', { packageSummary: track }, 4, 20_000)
      const field = document.createElement('div')
      field.className = 'field'
      field.append(summaryLabel, summary)
      box.append(field)
      container.append(box)
    }
    packagesView.hidden = !any
  }

  /** The service's signing keys by generation, from the keys this tab unlocked (checked against the pin). */
  function serviceSigningKeys(ctx: ReferralContext): Map<number, Uint8Array> {
    return new Map(ctx.service.map((entry) => [entry.generation, entry.keys.signing.publicKey]))
  }

  async function sendPackages(): Promise<void> {
    const ctx = context()
    if (ctx === null || ctx.routing === null) throw new Problem('Save the routing first.')
    const routing = ctx.routing
    const decision = routing.decision as unknown as Decision
    const current = ctx.service[0]
    if (current === undefined) throw new Problem('Unlock your keys in this tab first.')
    const answers = ctx.disclosure?.answers ?? {}
    const built: { track: Track; unit: ReferralUnit; generation: number; unitKeys: PublicKeySet; referralId: string; content: PackageContent }[] = []
    for (const track of TRACKS) {
      const box = section.querySelector<HTMLElement>(`[data-package="${track}"]`)
      if (box === null || box.dataset.blocked === 'true') continue
      const unitId = finalUnit(routing, track)!
      const unit = served!.units.find((candidate) => candidate.id === unitId)!
      const allowed = allowance(ctx, routing, track)
      if (typeof allowed === 'string') throw new Problem(allowed)
      const items = [...box.querySelectorAll<HTMLInputElement>('[data-package-item]:checked')].map((input) => input.value as ShareableItem).filter((item) => allowed.items.includes(item))
      const fileIds = [...box.querySelectorAll<HTMLInputElement>('[data-package-file]:checked')].map((input) => input.value).filter((id) => allowed.files.includes(id))
      const summary = required<HTMLTextAreaElement>(box, '[data-package-summary]').value.trim()
      if (summary === '') throw new Problem(`Write a summary for the ${track} package.`)
      // Only to a key the IDVA service vouched for, checked here against the service's keys.
      let certified: { generation: number; publicKeys: PublicKeySet }
      try {
        certified = await certifiedUnitKey(
          unit.id,
          unit.generations.map(wireGeneration),
          serviceSigningKeys(ctx),
        )
      } catch {
        throw new Problem(`The IDVA service has not vouched for the key of ${unit.name}, so nothing was sent. The IDVA lead certifies a unit's key from the team page after comparing fingerprints with the unit.`)
      }
      const shared: Record<string, string | readonly string[]> = {}
      for (const item of items) {
        if (item === 'their_words') continue
        for (const name of ITEM_ANSWERS[item]) {
          const value = answers[name]
          if (value !== undefined) shared[name] = value
        }
      }
      const referralId = globalThis.crypto.randomUUID()
      const open = decision[track]!
      const content: PackageContent = {
        v: 1,
        type: 'referral_package',
        track,
        referralId,
        sentOn: todayHere(),
        from: { service: ctx.serviceName, author: ctx.username },
        to: { unit: unit.id, name: unit.name, force: unit.force },
        decision: {
          policyVersion: decision.policyVersion,
          rules: open.rules,
          explanation: open.explanation,
          warnings: decision.warnings,
          iopc: track === 'misconduct' ? decision.iopcReferral : { required: false, rules: [], explanation: [] },
          override: routing.overrides[track] === null ? null : { proposedUnit: open.unit, reason: routing.overrides[track]!.reason },
        },
        basis: allowed.basis,
        summary,
        shared: {
          items,
          text: items.includes('their_words') ? [ctx.disclosure?.text ?? '', ...ctx.laterTexts].filter((part) => part !== '').join('\n\n') : null,
          answers: shared,
        },
        evidence: ctx.evidence.filter((file) => fileIds.includes(file.id)),
      }
      built.push({ track, unit, generation: certified.generation, unitKeys: certified.publicKeys, referralId, content })
    }
    if (built.length === 0) throw new Problem('No package can be sent: see what each track says above.')
    if (built.length === 2 && built[0]!.unit.id === built[1]!.unit.id) throw new Problem('The criminal and misconduct packages must go to different units.')
    working.textContent = 'Locking the packages in this browser…'
    working.hidden = false
    const sealed = await Promise.all(
      built.map(async (entry) => ({
        ...entry,
        envelope: await sealEnvelope({
          kind: 'referral_package',
          caseId: ctx.caseId,
          plaintext: utf8(JSON.stringify(entry.content)),
          recipients: [entry.unitKeys.encryption, current.keys.encryption.publicKey],
          signer: current.keys.signing,
          context: referralContext(entry.track, entry.referralId),
        }),
      })),
    )
    working.textContent = 'Sending…'
    await postJson(`/staff/cases/${ctx.caseId}/referrals`, {
      packages: sealed.map((entry) => ({
        referralId: entry.referralId,
        track: entry.track,
        unitId: entry.unit.id,
        unitGeneration: entry.generation,
        envelope: base64url.encode(entry.envelope),
        iopcRequired: entry.content.decision.iopc.required,
        tellReporter: entry.content.basis.kind === 'consent',
        evidence: entry.content.evidence.map((file) => file.id),
      })),
    })
    for (const entry of sealed.filter((candidate) => candidate.unit.delivery === 'export')) {
      working.textContent = `Saving the file for ${entry.unit.name}…`
      await exportPackage(ctx, entry)
    }
    working.hidden = true
    // The states first, so that when "sent" shows, the list already says where each package stands.
    await showStates(ctx)
    const sent = required<HTMLElement>(section, '[data-packages-sent]')
    sent.textContent = sealed.map((entry) => `${TRACK_NAMES[entry.track]} package ${entry.unit.delivery === 'export' ? 'saved as a file' : 'sent'} to ${entry.unit.name}.`).join(' ')
    sent.hidden = false
  }

  /** A package for a unit outside this portal: a JSON file with the envelope, the service's public chain and the files, still encrypted. */
  async function exportPackage(ctx: ReferralContext, entry: { track: Track; unit: ReferralUnit; referralId: string; content: PackageContent; envelope: Uint8Array }): Promise<void> {
    const evidence: Record<string, string> = {}
    for (const file of entry.content.evidence) {
      const response = await fetch(`/staff/cases/${ctx.caseId}/evidence/${encodeURIComponent(file.id)}`, { credentials: 'same-origin' })
      if (!response.ok) throw new Problem(`The file "${file.name}" could not be fetched for the export. The package was recorded; reload the case and export it again.`)
      evidence[file.id] = base64url.encode(new Uint8Array(await response.arrayBuffer()))
    }
    const chain = served!.service
    if (chain === null) throw new Problem('The IDVA service has no key yet.')
    // Sanity check: the chain handed out ends with the key this tab sealed with.
    const last = chain.generations.at(-1)
    if (last === undefined || last.x25519 !== base64url.encode(ctx.service[0]!.keys.encryption.publicKey)) throw new Problem('The IDVA service\'s keys have changed since this page was loaded. Reload the case and export again.')
    const file: ExportedPackage = {
      format: 'sd-referral-export-v1',
      caseId: ctx.caseId,
      referralId: entry.referralId,
      track: entry.track,
      unit: entry.unit.id,
      service: { id: chain.serviceId, generations: chain.generations.map((generation) => ({ x25519: generation.x25519, ed25519: generation.ed25519, certificate: generation.certificate })) },
      envelope: base64url.encode(entry.envelope),
      evidence,
    }
    const blob = new Blob([JSON.stringify(file)], { type: 'application/octet-stream' })
    const url = URL.createObjectURL(blob)
    const link = document.createElement('a')
    link.href = url
    link.download = `referral-${entry.track}-${entry.referralId.slice(0, 8)}.sdpkg.json`
    document.body.append(link)
    link.click()
    link.remove()
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
  }

  return { show }
}
