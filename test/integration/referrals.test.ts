import t from 'tap'
import { randomBytes, randomUUID } from 'node:crypto'
import { base64url, fromUtf8, generateKeySet, issueKeyCertificate, openEnvelope, publicKeysOf, readPackageContent, referralContext } from '../../crypto/index.ts'
import { seedAccount, seedGrant } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { recordBody } from '../helpers/idva.ts'
import { packageBody, seedReferralWorld } from '../helpers/referrals.ts'
import { disclosureBody, newReporter, openCase, servicePublic, submit } from '../helpers/reporter.ts'
import { asStaff, sessionFor } from '../helpers/staff.ts'
import type { Transaction } from 'kysely'
import { withActor } from '../../server/db/actor.ts'
import type { Schema } from '../../server/db/schema.ts'

/**
 * Referring a case, the server's side: the policy and units the browser's routing step uses, the
 * routing record and what the audit log keeps of it, and the packages: only to a unit of the
 * right track, whose key the service vouched for, sealed to it and the service and signed by the
 * service, never both tracks to one unit, never too large; each refusal leaving nothing stored.
 */

const { app, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const { service, units, asIdva } = await seedReferralWorld(app, serviceKeys)
const lead = await seedAccount(db, app.config.serverSecret, { username: 'lead.one', role: 'idva_lead', groupId: service.id })
await seedGrant(db, lead, service)
const asLead = await sessionFor(app, lead)
const reporter = await newReporter()
t.equal((await submit(app, await disclosureBody(reporter, servicePublic(service.keys)))).statusCode, 201)
const caseId = reporter.caseId

const send = (body: unknown, client = asIdva, id = caseId) => asStaff(app, client, { method: 'POST', url: `/staff/cases/${id}/referrals`, payload: body as Record<string, unknown> })
// The referral tables answer only someone acting (server/db/actor.ts): the test reads as the system.
const asSystem = <T>(work: (trx: Transaction<Schema>) => Promise<T>) => withActor(db, { role: 'system' }, work)
const stored = async () => Number((await asSystem((trx) => trx.selectFrom('referrals').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow())).n)
const audits = async (action: string) => (await db.selectFrom('audit_log').select(['object_id']).where('action', '=', action).execute()).map((row) => row.object_id)

t.test('the routing step gets the policy, the service chain and every unit with its keys', async (t) => {
  const response = await asStaff(app, asIdva, { method: 'GET', url: '/staff/referrals/policy' })
  t.equal(response.statusCode, 200)
  const body = response.json<{ policy: { version: string }; units: { id: string; delivery: string | null; generations: { serviceCertificate: string | null }[] }[]; service: { generations: unknown[] } }>()
  t.equal(body.policy.version, app.routingPolicy.version)
  t.equal(body.service.generations.length, 1)
  const unit = (id: string) => body.units.find((candidate) => candidate.id === id)
  t.equal(unit('met-na-safeguarding')?.delivery, 'portal')
  t.ok(unit('met-na-safeguarding')?.generations[0]?.serviceCertificate, 'with the service certificate, for the browser to check')
  t.equal(unit('city-psd')?.delivery, 'export', 'a unit outside this portal gets exported files')
  t.equal(unit('met-ne-safeguarding')?.delivery, null, 'a unit not open here has no delivery')
})

t.test('a routing record: the audit log keeps the policy version, the rule ids and which tracks were overridden, never why', async (t) => {
  const content = { v: 1, type: 'routing', author: 'idva.one', writtenOn: '2026-12-03', facts: { secret: 'Canary-Facts-4410' }, decision: { policyVersion: app.routingPolicy.version }, overrides: { criminal: { unit: 'met-ce-safeguarding', reason: 'Canary-Reason-7712' }, misconduct: null } }
  const body = await recordBody({ caseId, kind: 'routing', seq: 1, content, service: service.keys })
  const stale = await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/records`, payload: { ...body, routing: { policyVersion: 'old', criminal: [], misconduct: [], iopc: [], overridden: [] } } })
  t.equal(stale.statusCode, 409, 'a page loaded with another policy version')
  const badRules = await asStaff(app, asIdva, { method: 'POST', url: `/staff/cases/${caseId}/records`, payload: { ...body, routing: { policyVersion: app.routingPolicy.version, criminal: ['R99'], misconduct: [], iopc: [], overridden: [] } } })
  t.equal(badRules.statusCode, 400)
  const saved = await asStaff(app, asIdva, {
    method: 'POST',
    url: `/staff/cases/${caseId}/records`,
    payload: { ...body, routing: { policyVersion: app.routingPolicy.version, criminal: ['R2', 'R3', 'R4'], misconduct: ['R6'], iopc: [], overridden: ['criminal'] } },
  })
  t.equal(saved.statusCode, 201, saved.body)
  t.same(await audits('case.routing_decision'), [`${app.routingPolicy.version}|criminal:R2,R3,R4|misconduct:R6|iopc:`])
  t.same(await audits('case.routing_overridden'), ['criminal'])
  const everything = JSON.stringify(await db.selectFrom('audit_log').selectAll().execute())
  t.notMatch(everything, /Canary-(Facts|Reason)/, 'the reason and the facts stay in the envelope')
})

t.test('refusals: wrong kind of unit, both tracks to one unit, an uncertified key, a forged or wrong seal, too large', async (t) => {
  const cases: [string, () => Promise<unknown>, number, RegExp][] = [
    ['a criminal package to professional standards', async () => ({ packages: [await packageBody({ caseId, track: 'criminal', unit: units.professionalStandards, service: service.keys })] }), 422, /works on the misconduct track/],
    ['a misconduct package to a safeguarding unit', async () => ({ packages: [await packageBody({ caseId, track: 'misconduct', unit: units.criminal, service: service.keys })] }), 422, /works on the criminal track/],
    [
      'both tracks to one unit',
      async () => ({ packages: [await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys }), await packageBody({ caseId, track: 'misconduct', unit: units.criminal, service: service.keys })] }),
      422,
      /same unit/,
    ],
    ['a unit whose key the service has not vouched for', async () => ({ packages: [await packageBody({ caseId, track: 'criminal', unit: units.uncertified, service: service.keys })] }), 422, /not vouched/],
    ['a unit not open here', async () => ({ packages: [{ ...(await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys })), unitId: 'met-ne-safeguarding' }] }), 422, /not open/],
    ['a forged service signature', async () => ({ packages: [await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys, signer: (await generateKeySet()).signing })] }), 400, /not signed by the IDVA service/],
    [
      'sealed to another key than the unit\'s',
      async () => ({ packages: [await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys, recipients: [units.other.keys.encryption.publicKey, service.keys.encryption.publicKey] })] }),
      400,
      /not locked to the right keys/,
    ],
    ['not sealed to the service', async () => ({ packages: [await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys, recipients: [units.criminal.keys.encryption.publicKey] })] }), 400, /not locked to the right keys/],
    [
      'bound to another case',
      async () => {
        const body = await packageBody({ caseId: randomUUID(), track: 'criminal', unit: units.criminal, service: service.keys })
        return { packages: [body] }
      },
      400,
      /not signed by the IDVA service for this case/,
    ],
    ['a stale unit key generation', async () => ({ packages: [await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys, unitGeneration: 2 })] }), 409, /key has changed/],
    ['over the size limit', async () => ({ packages: [{ ...(await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys })), envelope: base64url.encode(randomBytes(1_200_000)) }] }), 413, /larger than a referral can be/],
    ['not an envelope', async () => ({ packages: [{ ...(await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys })), envelope: base64url.encode(randomBytes(500)) }] }), 400, /not a message this portal can store/],
    ['no packages', async () => ({ packages: [] }), 400, /at least one/],
  ]
  for (const [what, body, status, message] of cases) {
    const response = await send(await body())
    t.equal(response.statusCode, status, `${what}: ${response.body}`)
    t.match(response.json().message, message, what)
  }
  t.equal(await stored(), 0, 'nothing stored')
})

t.test('both tracks, to the units the routing gives: stored sealed, the case referred, audited; each unit opens only its own', async (t) => {
  const criminal = await packageBody({ caseId, track: 'criminal', unit: units.criminal, service: service.keys })
  const misconduct = await packageBody({ caseId, track: 'misconduct', unit: units.professionalStandards, service: service.keys, iopcRequired: true })
  const response = await send({ packages: [criminal, misconduct] })
  t.equal(response.statusCode, 201, response.body)
  t.same(response.json().referrals.map((row: { track: string; delivery: string }) => [row.track, row.delivery]), [['criminal', 'portal'], ['misconduct', 'portal']])
  const rows = await asSystem((trx) => trx.selectFrom('referrals').selectAll().where('case_id', '=', caseId).orderBy('track').execute())
  t.same(rows.map((row) => [row.track, row.unit_id, row.status, row.iopc_required]), [['criminal', 'met-na-safeguarding', 'sent', false], ['misconduct', 'met-dps', 'sent', true]])
  t.notOk(rows[0]!.envelope!.includes(Buffer.from(base64url.decode(criminal.envelope, 'e').subarray(0, 64))), 'sealed at rest')
  t.equal((await db.selectFrom('cases').select('status').where('id', '=', caseId).executeTakeFirstOrThrow()).status, 'referred')
  t.same(await audits('referral.sent'), [criminal.referralId, misconduct.referralId])
  t.same(await audits('referral.package_sealed'), [criminal.referralId, misconduct.referralId])

  const listed = (await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${caseId}/referrals` })).json<{ referrals: { track: string; status: string; unitName: string }[] }>()
  t.same(listed.referrals.map((row) => [row.track, row.status, row.unitName]), [['criminal', 'sent', 'North Area safeguarding unit'], ['misconduct', 'sent', 'Directorate of Professional Standards']])

  const fetched = await asStaff(app, asIdva, { method: 'GET', url: `/staff/cases/${caseId}/referrals/${criminal.referralId}/package` })
  const envelope = base64url.decode(fetched.json<{ envelope: string }>().envelope, 'e')
  const opened = await openEnvelope(envelope, { caseId, keys: [units.criminal.keys.encryption], expectKind: 'referral_package', trustedSigners: [service.keys.signing.publicKey], requireSignature: true, context: referralContext('criminal', criminal.referralId) })
  t.equal(readPackageContent(fromUtf8(opened.plaintext), { track: 'criminal', referralId: criminal.referralId }).summary, 'Summary for the criminal track.')
  await t.rejects(
    openEnvelope(envelope, { caseId, keys: [units.professionalStandards.keys.encryption], expectKind: 'referral_package', trustedSigners: [service.keys.signing.publicKey], requireSignature: true, context: referralContext('criminal', criminal.referralId) }),
    'professional standards cannot open the criminal package',
  )

  // The same package twice is refused; and the person sees what they agreed to, never the unit.
  t.equal((await send({ packages: [criminal] })).statusCode, 409)
  const session = await openCase(app, reporter.keys)
  const thread = (await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie: session.cookie } })).json<{ referrals: unknown[] }>()
  t.same(thread.referrals, [{ track: 'criminal', outsideForce: false }, { track: 'misconduct', outsideForce: false }])
  t.notMatch(JSON.stringify(thread), /met-na|met-dps|safeguarding|Professional/, 'no unit named to the person')
})

t.test('a unit outside this portal: the lead adds its key by fingerprint; its package is exported, and the audit log says so', async (t) => {
  const partner = await generateKeySet()
  const certificate = await issueKeyCertificate(service.keys.signing, { id: 'surrey-psd', generation: 1, publicKeys: publicKeysOf(partner) })
  const body = { unitId: 'surrey-psd', x25519Public: base64url.encode(partner.encryption.publicKey), ed25519Public: base64url.encode(partner.signing.publicKey), serviceCertificate: base64url.encode(certificate), serviceGeneration: 1 }
  t.equal((await asStaff(app, asIdva, { method: 'POST', url: '/staff/referrals/outside-units', payload: body })).statusCode, 403, 'only the IDVA lead')
  const forged = await issueKeyCertificate((await generateKeySet()).signing, { id: 'surrey-psd', generation: 1, publicKeys: publicKeysOf(partner) })
  t.equal((await asStaff(app, asLead, { method: 'POST', url: '/staff/referrals/outside-units', payload: { ...body, serviceCertificate: base64url.encode(forged) } })).statusCode, 400, 'a certificate the service did not make')
  t.equal((await asStaff(app, asLead, { method: 'POST', url: '/staff/referrals/outside-units', payload: { ...body, unitId: 'met-se-safeguarding' } })).statusCode, 400, "a unit of this force")
  const added = await asStaff(app, asLead, { method: 'POST', url: '/staff/referrals/outside-units', payload: body })
  t.equal(added.statusCode, 201, added.body)
  t.equal((await asStaff(app, asLead, { method: 'POST', url: '/staff/referrals/outside-units', payload: body })).statusCode, 409)
  t.same(await audits('keys.outside_unit_added'), ['surrey-psd'])

  const other = await newReporter()
  t.equal((await submit(app, await disclosureBody(other, servicePublic(service.keys)))).statusCode, 201)
  const exported = await packageBody({ caseId: other.caseId, track: 'misconduct', unit: { id: 'surrey-psd', generation: 1, keys: partner, force: 'surrey' }, service: service.keys, tellReporter: false })
  const response = await send({ packages: [exported] }, asIdva, other.caseId)
  t.equal(response.statusCode, 201, response.body)
  t.equal((await asSystem((trx) => trx.selectFrom('referrals').select('status').where('id', '=', exported.referralId).executeTakeFirstOrThrow())).status, 'exported')
  t.same(await audits('referral.exported'), [exported.referralId])
  const session = await openCase(app, other.keys)
  t.same((await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie: session.cookie } })).json<{ referrals: unknown[] }>().referrals, [], 'not said to the person when they did not agree')
})

t.test('investigators and administrators cannot use any of it', async (t) => {
  const investigator = await seedAccount(db, app.config.serverSecret, { username: 'inv.one', role: 'investigator', groupId: units.criminal.id })
  const admin = await seedAccount(db, app.config.serverSecret, { username: 'admin.one', role: 'admin' })
  for (const member of [investigator, admin]) {
    const client = await sessionFor(app, member)
    t.equal((await asStaff(app, client, { method: 'GET', url: '/staff/referrals/policy' })).statusCode, 403)
    t.equal((await asStaff(app, client, { method: 'GET', url: `/staff/cases/${caseId}/referrals` })).statusCode, 403)
    t.equal((await send({ packages: [] }, client)).statusCode, 403)
  }
})
