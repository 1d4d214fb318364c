import t from 'tap'
import { generateKeySet, publicKeysOf } from '../../crypto/keys.ts'
import { issueKeyCertificate } from '../../crypto/certificates.ts'
import { seedService } from '../../scripts/lib/staff-fixtures.ts'
import { buildTestApp } from '../helpers/app.ts'
import { disclosureBody, newReporter, servicePublic, submit } from '../helpers/reporter.ts'

/**
 * The server's side of the trust anchor (the browser's is test/browser/service-anchor.test.ts):
 * it takes nothing sealed to a key chain that does not start at the pinned key and follow its
 * certificates, says so at start and at /healthz, and refuses the pages that send.
 */

t.test('a pin that does not match the database is logged as an error at start', async (t) => {
  const first = await buildTestApp(t)
  await seedService(first.app.database.db, { keys: first.serviceKeys })
  const second = await buildTestApp(t, { testDatabase: first.testDatabase, env: { SERVICE_KEY_FINGERPRINT: '99999 88888 77777 66666 55555 44444' } })
  const errors = second.logs.entries().filter((entry) => entry.level === 50 && entry.serviceKey === 'mismatch')
  t.equal(errors.length, 1, 'one error line, as the portal starts')
  t.match(errors[0]?.msg, /does not match SERVICE_KEY_FINGERPRINT/)
  t.equal((await second.app.inject({ method: 'GET', url: '/report' })).statusCode, 503)
})

t.test("the insider's swap: nothing sealed to their key is taken, and nothing is stored", async (t) => {
  const { app, serviceKeys } = await buildTestApp(t)
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const reporter = await newReporter()
  t.equal((await submit(app, await disclosureBody(reporter, servicePublic(service.keys)))).statusCode, 201, 'before the swap, disclosures arrive')

  const insider = await generateKeySet()
  await db.updateTable('group_keys').set({ x25519_public: Buffer.from(insider.encryption.publicKey), ed25519_public: Buffer.from(insider.signing.publicKey) }).where('group_id', '=', service.id).execute()
  const sealedToInsider = await submit(app, await disclosureBody(await newReporter(), publicKeysOf(insider)))
  t.equal(sealedToInsider.statusCode, 503)
  t.match(sealedToInsider.json().message, /could not check the IDVA service's key, so nothing was sent/)
  t.equal((await db.selectFrom('cases').select('id').execute()).length, 1, 'nothing stored')
  t.equal((await app.inject({ method: 'GET', url: '/report/keys' })).statusCode, 503, 'the swapped chain is not handed out')
  t.equal((await app.inject({ method: 'POST', url: '/report/uploads', payload: Buffer.alloc(100), headers: { 'content-type': 'application/octet-stream' } })).statusCode, 400, 'uploads are checked before anything else')
})

t.test('a later generation not certified by the one before breaks the chain: refused', async (t) => {
  const { app, serviceKeys, logs } = await buildTestApp(t)
  const db = app.database.db
  const service = await seedService(db, { keys: serviceKeys })
  const forged = await generateKeySet()
  // Generation 2, "certified" by a key that is not generation 1's.
  const certificate = await issueKeyCertificate(forged.signing, { id: service.id, generation: 2, publicKeys: publicKeysOf(forged) })
  await db
    .insertInto('group_keys')
    .values({ group_id: service.id, generation: 2, x25519_public: Buffer.from(forged.encryption.publicKey), ed25519_public: Buffer.from(forged.signing.publicKey), rotation_certificate: Buffer.from(certificate), previous_keys_sealed: Buffer.alloc(180, 1), service_certificate: null, service_generation: null, created_by: null })
    .execute()
  const response = await submit(app, await disclosureBody(await newReporter(), publicKeysOf(forged)))
  t.equal(response.statusCode, 503)
  t.equal((await db.selectFrom('cases').select('id').execute()).length, 0)
  t.ok(logs.entries().some((entry) => entry.serviceKey === 'broken_chain'), 'the operator is told')
})

t.test('pages that send say so plainly while the key is not pinned', async (t) => {
  const { app } = await buildTestApp(t, { unpinned: true })
  await seedService(app.database.db)
  for (const url of ['/report', '/managers/ask', '/return']) {
    const page = await app.inject({ method: 'GET', url, headers: { accept: 'text/html' } })
    t.equal(page.statusCode, 503, url)
    t.match(page.body, /Do not send anything now/)
    t.match(page.body, /href="\/safety"/)
  }
  const landing = await app.inject({ method: 'GET', url: '/' })
  t.equal(landing.statusCode, 200)
  t.match(landing.body, /Nothing can be sent from here at the moment/)
  t.notMatch(landing.body, /href="\/report"/, 'no way in to the form')
  const safety = await app.inject({ method: 'GET', url: '/safety' })
  t.equal(safety.statusCode, 200)
  t.match(safety.body, /0808 2000 247/)
})
