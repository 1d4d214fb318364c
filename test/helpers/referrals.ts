import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { base64url, referralContext, sealEnvelope, utf8, type KeySet, type PackageContent } from '../../crypto/index.ts'
import type { Schema } from '../../server/db/schema.ts'
import { seedUnit, seedUnitCertificate, type SeededGroup } from '../../scripts/lib/staff-fixtures.ts'

/**
 * What an IDVA's browser does to refer a case, done in Node for the integration tests: a package
 * per track, sealed to the unit's key and the service's, signed with the service's key.
 */

type Track = 'criminal' | 'misconduct'

export function packageContent(track: Track, referralId: string, unit: { id: string; name: string; force: string }, overrides: Partial<PackageContent> = {}): PackageContent {
  return {
    v: 1,
    type: 'referral_package',
    track,
    referralId,
    sentOn: '2026-12-03',
    from: { service: 'Independent Domestic Abuse Service', author: 'idva.one' },
    to: { unit: unit.id, name: unit.name, force: unit.force },
    decision: { policyVersion: 'met-2026-11-example', rules: track === 'criminal' ? ['R2', 'R3', 'R4'] : ['R6'], explanation: ['Because.'], warnings: [], iopc: { required: false, rules: [], explanation: [] }, override: null },
    basis: { kind: 'consent', givenOn: '2026-12-01', share: 'what happened', withWhom: 'investigators' },
    summary: `Summary for the ${track} track.`,
    shared: { items: ['what_happened'], text: null, answers: { abuseTypes: ['physical'] } },
    evidence: [],
    ...overrides,
  }
}

export async function packageBody(options: {
  caseId: string
  track: Track
  unit: SeededGroup & { name?: string; force?: string }
  service: KeySet
  referralId?: string
  content?: PackageContent
  recipients?: Uint8Array[]
  signer?: KeySet['signing']
  unitGeneration?: number
  iopcRequired?: boolean
  tellReporter?: boolean
}) {
  const referralId = options.referralId ?? randomUUID()
  const content = options.content ?? packageContent(options.track, referralId, { id: options.unit.id, name: options.unit.name ?? options.unit.id, force: options.unit.force ?? 'met' })
  const envelope = await sealEnvelope({
    kind: 'referral_package',
    caseId: options.caseId,
    plaintext: utf8(JSON.stringify(content)),
    recipients: options.recipients ?? [options.unit.keys.encryption.publicKey, options.service.encryption.publicKey],
    signer: options.signer ?? options.service.signing,
    context: referralContext(options.track, referralId),
  })
  return {
    referralId,
    track: options.track,
    unitId: options.unit.id,
    unitGeneration: options.unitGeneration ?? options.unit.generation,
    envelope: base64url.encode(envelope),
    iopcRequired: options.iopcRequired ?? false,
    tellReporter: options.tellReporter ?? true,
  }
}

/** The units ROUTING.md's worked example needs, on this portal and outside it, keyed and vouched for. */
export async function seedReferralUnits(db: Kysely<Schema>, service: SeededGroup) {
  const criminal = (await seedUnit(db, { id: 'met-na-safeguarding', track: 'criminal', force: 'met', name: 'North Area safeguarding unit' }))!
  await db.updateTable('groups').set({ command_unit: 'NA' }).where('id', '=', criminal.id).execute()
  await seedUnitCertificate(db, criminal, service)
  const other = (await seedUnit(db, { id: 'met-ce-safeguarding', track: 'criminal', force: 'met', name: 'Central East safeguarding unit' }))!
  await db.updateTable('groups').set({ command_unit: 'CE' }).where('id', '=', other.id).execute()
  await seedUnitCertificate(db, other, service)
  const professionalStandards = (await seedUnit(db, { id: 'met-dps', track: 'misconduct', force: 'met', name: 'Directorate of Professional Standards' }))!
  await seedUnitCertificate(db, professionalStandards, service)
  const uncertified = (await seedUnit(db, { id: 'met-cs-safeguarding', track: 'criminal', force: 'met', name: 'Central South safeguarding unit' }))!
  const outside = (await seedUnit(db, { id: 'city-psd', track: 'misconduct', force: 'city', name: 'City of London Police professional standards' }))!
  await db.updateTable('groups').set({ external: true }).where('id', '=', outside.id).execute()
  await seedUnitCertificate(db, outside, service)
  return { criminal: { ...criminal, name: 'North Area safeguarding unit', force: 'met' }, other: { ...other, force: 'met' }, professionalStandards: { ...professionalStandards, name: 'Directorate of Professional Standards', force: 'met' }, uncertified, outside: { ...outside, force: 'city' } }
}

export { randomUUID }
