import { randomUUID } from 'node:crypto'
import {
  base64url,
  encryptEvidence,
  generateKeySet,
  issueKeyCertificate,
  newEvidenceKey,
  publicKeysOf,
  referralContext,
  sealEnvelope,
  utf8,
  type EvidenceReference,
  type ExportedPackage,
  type KeySet,
  type PackageContent,
  type Track,
} from '../../crypto/index.ts'
import { packageContent as baseContent } from './referrals.ts'

/**
 * A referral package exported for a unit outside the portal (format "sd-referral-export-v1"), made
 * in Node as the IDVA's browser makes it (client/staff/referrals.ts): the service's key chain, the
 * package sealed to the unit's and the service's current X25519 keys and signed with the service's
 * current signing key, and the evidence files it names, encrypted.
 */

export const SERVICE_ID = 'idva-service'

export interface ServiceChain {
  /** Oldest first. */
  readonly keys: readonly KeySet[]
  readonly exported: ExportedPackage['service']
}

/** The service's keys over `generations` generations, each later one certified by the one before. */
export async function serviceChain(generations: number): Promise<ServiceChain> {
  const keys: KeySet[] = []
  const exported: { x25519: string; ed25519: string; certificate: string | null }[] = []
  for (let generation = 1; generation <= generations; generation++) {
    const next = await generateKeySet()
    const certificate = generation === 1 ? null : await issueKeyCertificate(keys.at(-1)!.signing, { id: SERVICE_ID, generation, publicKeys: publicKeysOf(next) })
    keys.push(next)
    exported.push({ x25519: base64url.encode(next.encryption.publicKey), ed25519: base64url.encode(next.signing.publicKey), certificate: certificate === null ? null : base64url.encode(certificate) })
  }
  return { keys, exported: { id: SERVICE_ID, generations: exported } }
}

/** A package's content for the export, with its evidence (the rest as the shared fixture has it). */
export function packageContent(track: Track, referralId: string, unit: { id: string; name: string; force: string }, evidence: readonly EvidenceReference[]): PackageContent {
  return baseContent(track, referralId, unit, { evidence, shared: { items: ['their_words', 'what_happened'], text: 'In their own words.', answers: { abuseTypes: ['physical', 'coercive'], duration: 'over_a_year' } } })
}

export interface ExportOptions {
  readonly service: ServiceChain
  /** The unit's keys: the package is sealed to its X25519 key. */
  readonly unit: KeySet
  readonly unitId?: string
  readonly track?: Track
  readonly caseId?: string
  /** Evidence files to encrypt and name in the package. */
  readonly files?: readonly { readonly name: string; readonly type: string; readonly bytes: Uint8Array }[]
  /** Signs with this key instead of the service's current one. */
  readonly signer?: KeySet['signing']
}

export interface BuiltExport {
  readonly file: ExportedPackage
  readonly content: PackageContent
}

export async function buildExport(options: ExportOptions): Promise<BuiltExport> {
  const track = options.track ?? 'misconduct'
  const referralId = randomUUID()
  const unitId = options.unitId ?? 'city-psd'
  const references: EvidenceReference[] = []
  const evidence: Record<string, string> = {}
  for (const file of options.files ?? []) {
    const key = await newEvidenceKey()
    const id = randomUUID()
    evidence[id] = base64url.encode(await encryptEvidence(file.bytes, key))
    references.push({ id, fileId: base64url.encode(key.fileId), key: base64url.encode(key.key), name: file.name, type: file.type, size: file.bytes.length })
  }
  const content = packageContent(track, referralId, { id: unitId, name: 'City of London Police professional standards', force: 'city' }, references)
  const current = options.service.keys.at(-1)!
  const caseId = options.caseId ?? 'case-4f2a'
  const envelope = await sealEnvelope({
    kind: 'referral_package',
    caseId,
    plaintext: utf8(JSON.stringify(content)),
    recipients: [options.unit.encryption.publicKey, current.encryption.publicKey],
    signer: options.signer ?? current.signing,
    context: referralContext(track, referralId),
  })
  return {
    file: { format: 'sd-referral-export-v1', caseId, referralId, track, unit: unitId, service: options.service.exported, envelope: base64url.encode(envelope), evidence },
    content,
  }
}
