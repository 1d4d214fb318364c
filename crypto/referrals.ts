import { utf8 } from './bytes.ts'
import { fail } from './errors.ts'
import type { Track } from './records.ts'
import { UUID, type EvidenceReference } from './thread.ts'

/**
 * A referral package: what the IDVA service sends an investigating unit, on one track, about one
 * case. The IDVA's browser builds it from the decrypted disclosure, with only what the person
 * consented to share with that track (never the original disclosure itself), seals it to the
 * receiving unit's key and to the service's, and signs it with the service's key:
 *
 *   envelope kind referral_package (7), case id = the case's pseudonym,
 *   context = "sd-referral-v1|" || track || "|" || referral id (lower-case UUID)
 *
 * so a package cannot be moved to another case, track or referral. Its plaintext is UTF-8 JSON,
 * version 1, checked by readPackageContent before anything in it is used.
 *
 * An exported package (for a unit of a force with no accounts here) travels as a JSON file,
 * format "sd-referral-export-v1", holding the envelope, the context it is bound to, the service's
 * public key chain (to be checked against the fingerprint on the posters) and the evidence files
 * it names, still encrypted: `npm run envelope -- open-package` opens one.
 */

/** What a person can agree to share with a track, item by item (evidence files are chosen one by one). */
export const SHAREABLE_ITEMS = ['their_words', 'what_happened', 'about_the_person', 'places', 'safety', 'contact'] as const
export type ShareableItem = (typeof SHAREABLE_ITEMS)[number]

export const SHAREABLE_ITEM_NAMES: Readonly<Record<ShareableItem, string>> = {
  their_words: 'What they wrote, in their own words',
  what_happened: 'What is happening: the kinds of abuse, how long and how often',
  about_the_person: 'About the person harming them: who they are, their work, rank, and whether they used their position',
  places: 'Where they live and work, and where it happened',
  safety: 'Their safety: how safe they feel, and children in the household',
  contact: 'How an investigator may contact them safely',
}

/** The report's answers each item carries (names as in the report). */
export const ITEM_ANSWERS: Readonly<Record<Exclude<ShareableItem, 'their_words'>, readonly string[]>> = {
  what_happened: ['abuseTypes', 'duration', 'frequency'],
  about_the_person: [
    'relationship',
    'perpetratorPolice',
    'perpetratorName',
    'perpetratorNumber',
    'perpetratorRole',
    'perpetratorRank',
    'perpetratorStaffGrade',
    'perpetratorWorkplace',
    'perpetratorBorough',
    'usedPosition',
    'usedPositionDetail',
    'onDuty',
  ],
  places: ['liveBorough', 'workBorough', 'incidentBorough'],
  safety: ['safeNow', 'children'],
  contact: ['contactWays', 'contactDetails', 'contactTimes', 'contactAvoid'],
}

export function isShareableItem(value: unknown): value is ShareableItem {
  return typeof value === 'string' && (SHAREABLE_ITEMS as readonly string[]).includes(value)
}

export function referralContext(track: Track, referralId: string): Uint8Array {
  if (track !== 'criminal' && track !== 'misconduct') fail('malformed', 'a referral is on the criminal or the misconduct track')
  if (typeof referralId !== 'string' || !UUID.test(referralId)) fail('malformed', 'a referral id is a UUID')
  return utf8(`sd-referral-v1|${track}|${referralId}`)
}

/** Why the package may go: the person's consent (its latest version for this track), or a safeguarding override. */
export type ReferralBasis =
  | { readonly kind: 'consent'; readonly givenOn: string; readonly share: string; readonly withWhom: string }
  | { readonly kind: 'safeguarding'; readonly reason: string }

export interface PackageContent {
  readonly v: 1
  readonly type: 'referral_package'
  readonly track: Track
  readonly referralId: string
  /** The day the IDVA's browser sealed it. */
  readonly sentOn: string
  /** The IDVA who sent it, and the service it comes from. */
  readonly from: { readonly service: string; readonly author: string }
  /** The unit it is for (its id and name in the routing policy), and the force. */
  readonly to: { readonly unit: string; readonly name: string; readonly force: string }
  /** The routing decision for this track, as the engine explained it. */
  readonly decision: {
    readonly policyVersion: string
    readonly rules: readonly string[]
    readonly explanation: readonly string[]
    readonly warnings: readonly string[]
    readonly iopc: { readonly required: boolean; readonly rules: readonly string[]; readonly explanation: readonly string[] }
    /** When the IDVA chose another unit than the engine proposed. */
    readonly override: { readonly proposedUnit: string | null; readonly reason: string } | null
  }
  readonly basis: ReferralBasis
  /** The IDVA's summary for the investigators. */
  readonly summary: string
  /** What was shared, item by item: their own words, and answers by the report's names. */
  readonly shared: {
    readonly items: readonly ShareableItem[]
    readonly text: string | null
    readonly answers: Readonly<Record<string, string | readonly string[]>>
  }
  /** Evidence files chosen one by one, with the keys to open them. */
  readonly evidence: readonly EvidenceReference[]
}

export const MAX_SUMMARY_CHARACTERS = 20_000
const MAX_SHARED_TEXT = 200_000
const DAY = /^\d{4}-\d{2}-\d{2}$/
const RULE = /^R([1-9]|1[0-2])$/
const ID = /^[A-Za-z0-9._:-]{1,128}$/

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(value: unknown, max: number, what: string): string {
  if (typeof value !== 'string' || value.length > max) fail('malformed', `${what} is missing or too long`)
  return value
}

function texts(value: unknown, maxItems: number, maxEach: number, what: string): string[] {
  if (!Array.isArray(value) || value.length > maxItems || !value.every((item) => typeof item === 'string' && item.length <= maxEach)) fail('malformed', `${what} is not a list of texts`)
  return [...(value as string[])]
}

function rules(value: unknown, what: string): string[] {
  const list = texts(value, 12, 3, what)
  if (!list.every((rule) => RULE.test(rule))) fail('malformed', `${what} names an unknown rule`)
  return list
}

function evidenceReference(value: unknown): EvidenceReference {
  if (
    !isRecord(value) ||
    typeof value.id !== 'string' ||
    !UUID.test(value.id) ||
    typeof value.fileId !== 'string' ||
    value.fileId.length > 64 ||
    typeof value.key !== 'string' ||
    value.key.length > 64 ||
    typeof value.name !== 'string' ||
    value.name.length > 255 ||
    typeof value.type !== 'string' ||
    value.type.length > 255 ||
    typeof value.size !== 'number' ||
    !Number.isSafeInteger(value.size)
  ) {
    fail('malformed', 'an evidence reference is not valid')
  }
  return { id: value.id, fileId: value.fileId, key: value.key, name: value.name, type: value.type, size: value.size }
}

/**
 * Checks a decrypted package and returns it typed, with nothing but the known fields; throws
 * CryptoError('malformed') for anything else. `expected` is what the reader knows independently
 * (the track and referral id the package was bound to).
 */
export function readPackageContent(json: string, expected: { track: Track; referralId: string }): PackageContent {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    fail('malformed', 'package content is not JSON')
  }
  if (!isRecord(value) || value.v !== 1 || value.type !== 'referral_package') fail('malformed', 'not a version 1 referral package')
  if (value.track !== expected.track || value.referralId !== expected.referralId) fail('malformed', 'the package names another track or referral')
  const from = value.from
  const to = value.to
  const decision = value.decision
  const basis = value.basis
  const shared = value.shared
  if (!isRecord(from) || !isRecord(to) || !isRecord(decision) || !isRecord(basis) || !isRecord(shared)) fail('malformed', 'the package is incomplete')
  if (typeof to.unit !== 'string' || !ID.test(to.unit)) fail('malformed', 'the package names no unit')
  const iopc = decision.iopc
  if (!isRecord(iopc) || typeof iopc.required !== 'boolean') fail('malformed', 'the IOPC part is not valid')
  let override: PackageContent['decision']['override'] = null
  if (decision.override !== null) {
    const given = decision.override
    if (!isRecord(given) || (given.proposedUnit !== null && (typeof given.proposedUnit !== 'string' || !ID.test(given.proposedUnit)))) fail('malformed', 'the override is not valid')
    override = { proposedUnit: given.proposedUnit as string | null, reason: text(given.reason, 5_000, 'the reason for the override') }
  }
  let readBasis: ReferralBasis
  if (basis.kind === 'consent') {
    if (typeof basis.givenOn !== 'string' || !DAY.test(basis.givenOn)) fail('malformed', 'consent has no day')
    readBasis = { kind: 'consent', givenOn: basis.givenOn, share: text(basis.share, 5_000, 'what may be shared'), withWhom: text(basis.withWhom, 1_000, 'with whom') }
  } else if (basis.kind === 'safeguarding') {
    readBasis = { kind: 'safeguarding', reason: text(basis.reason, 5_000, 'the safeguarding reason') }
  } else {
    fail('malformed', 'the package says neither consent nor safeguarding')
  }
  const items = texts(shared.items, SHAREABLE_ITEMS.length, 40, 'shared items')
  if (!items.every(isShareableItem)) fail('malformed', 'a shared item is not one the portal knows')
  if (!isRecord(shared.answers) || Object.keys(shared.answers).length > 60) fail('malformed', 'shared answers are not valid')
  const answers: Record<string, string | string[]> = {}
  for (const [name, answer] of Object.entries(shared.answers)) {
    if (!/^[a-z][a-zA-Z]{0,40}$/.test(name)) fail('malformed', 'a shared answer has an invalid name')
    if (typeof answer === 'string' && answer.length <= 2_000) answers[name] = answer
    else if (Array.isArray(answer) && answer.length <= 20 && answer.every((item) => typeof item === 'string' && item.length <= 200)) answers[name] = [...(answer as string[])]
    else fail('malformed', 'a shared answer is not valid')
  }
  if (!Array.isArray(value.evidence) || value.evidence.length > 100) fail('malformed', 'evidence is not a list')
  if (typeof value.sentOn !== 'string' || !DAY.test(value.sentOn)) fail('malformed', 'the package has no day')
  return {
    v: 1,
    type: 'referral_package',
    track: expected.track,
    referralId: expected.referralId,
    sentOn: value.sentOn,
    from: { service: text(from.service, 200, 'the service name'), author: text(from.author, 64, 'the author') },
    to: { unit: to.unit, name: text(to.name, 200, 'the unit name'), force: text(to.force, 100, 'the force') },
    decision: {
      policyVersion: text(decision.policyVersion, 100, 'the policy version'),
      rules: rules(decision.rules, 'the rules'),
      explanation: texts(decision.explanation, 20, 2_000, 'the explanation'),
      warnings: texts(decision.warnings, 20, 2_000, 'the warnings'),
      iopc: { required: iopc.required, rules: rules(iopc.rules, 'the IOPC rules'), explanation: texts(iopc.explanation, 20, 2_000, 'the IOPC explanation') },
      override,
    },
    basis: readBasis,
    summary: text(value.summary, MAX_SUMMARY_CHARACTERS, 'the summary'),
    shared: { items: items as ShareableItem[], text: shared.text === null ? null : text(shared.text, MAX_SHARED_TEXT, 'their words'), answers },
    evidence: value.evidence.map(evidenceReference),
  }
}

/** The file a unit outside this portal receives. */
export interface ExportedPackage {
  readonly format: 'sd-referral-export-v1'
  readonly caseId: string
  readonly referralId: string
  readonly track: Track
  readonly unit: string
  /** The IDVA service's public keys, oldest first, each later one certified by the one before (base64url). */
  readonly service: { readonly id: string; readonly generations: readonly { readonly x25519: string; readonly ed25519: string; readonly certificate: string | null }[] }
  /** The sealed package, base64url. */
  readonly envelope: string
  /** The evidence files the package names, still encrypted, by upload id (base64url). */
  readonly evidence: Readonly<Record<string, string>>
}
