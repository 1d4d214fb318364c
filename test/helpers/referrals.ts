import { randomUUID } from 'node:crypto'
import type { Kysely } from 'kysely'
import { base64url, referralContext, referralUpdateContext, sealEnvelope, utf8, type KeySet, type PackageContent, type ReferralAction, type UpdateContent } from '../../crypto/index.ts'
import type { Schema } from '../../server/db/schema.ts'
import type { FastifyInstance } from 'fastify'
import { seedAccount, seedGrant, seedService, seedUnit, seedUnitCertificate, type SeededGroup } from '../../scripts/lib/staff-fixtures.ts'
import { sessionFor } from './staff.ts'

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
  /** Evidence ids to copy to the referral (the package names them with their keys). */
  evidence?: string[]
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
    evidence: options.evidence ?? [],
  }
}

/** What a unit member's browser sends to record a step: a note sealed to the service and the unit, signed by the unit. */
export async function updateBody(options: {
  caseId: string
  referralId: string
  seq: number
  action: ReferralAction
  unit: SeededGroup
  service: KeySet
  note?: string
  content?: Partial<UpdateContent>
  recipients?: Uint8Array[]
  signer?: KeySet['signing']
  context?: Uint8Array
}) {
  const content: UpdateContent = {
    v: 1,
    type: 'referral_update',
    referralId: options.referralId,
    seq: options.seq,
    action: options.action,
    writtenOn: '2026-12-04',
    author: 'inv.one',
    unit: options.unit.id,
    note: options.note ?? (['no_further_action', 'closed', 'returned', 'iopc_not_referred'].includes(options.action) ? `Why: ${options.action}.` : ''),
    transferredTo: options.action === 'transferred' ? 'Another force' : null,
    iopcReferredOn: options.action === 'iopc_referred' ? '2026-12-04' : null,
    ...options.content,
  }
  const envelope = await sealEnvelope({
    kind: 'unit_note',
    caseId: options.caseId,
    plaintext: utf8(JSON.stringify(content)),
    recipients: options.recipients ?? [options.service.encryption.publicKey, options.unit.keys.encryption.publicKey],
    signer: options.signer ?? options.unit.keys.signing,
    context: options.context ?? referralUpdateContext(options.referralId, options.seq, options.action),
  })
  return { updateId: randomUUID(), seq: options.seq, action: options.action, envelope: base64url.encode(envelope) }
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

/**
 * A portal ready to refer: the IDVA service (with the keys the portal pinned), the units of
 * ROUTING.md's worked example, and an IDVA holding the service's key, signed in.
 */
export async function seedReferralWorld(app: FastifyInstance, serviceKeys: KeySet) {
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const units = await seedReferralUnits(db, service)
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id })
  await seedGrant(db, idva, service)
  return { service, units, idva, asIdva: await sessionFor(app, idva) }
}

export { randomUUID }
