import t from 'tap'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { base64url } from '../../crypto/bytes.ts'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { generateKeySet } from '../../crypto/keys.ts'
import { issueKeyCertificate, newGroupKeys, rotateGroupKeys, unwrapGroupKeys, unwrapKeyRing, unwrapMemberKeys, verifyKeyChain, wrapGroupKeys } from '../../crypto/staff-keys.ts'
import { issueFirstAdminLink, issueSetupLink } from '../../server/features/staff/first-run.ts'
import { sha256 } from '../../server/security/tokens.ts'
import { buildTestApp } from '../helpers/app.ts'
import { asStaff, b64, codeAt, freshAddress, login, newMemberBody, readEnrolmentPage, sessionCookie, type StaffClient } from '../helpers/staff.ts'

/**
 * The whole life of the staff side through its HTTP interface, doing in Node what the pages'
 * scripts do: first-run set-up, the first administrator, units, invitations, enrolment, giving
 * access, certifying a unit, rotating a key, removing a member, changing a passphrase, and a
 * second factor reset. Each refusal leaves nothing half-written.
 */

// Not pinned in advance: set-up pins the key the lead's browser makes (embedded), or says how to.
const { app, logs, testDatabase } = await buildTestApp(t, { unpinned: true })
const db = app.database.db
const PASSPHRASE = 'correct horse battery staple lantern'

const count = async (table: 'groups' | 'accounts' | 'group_keys' | 'group_key_grants' | 'sessions') =>
  Number((await db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)
const auditActions = async () => (await db.selectFrom('audit_log').select('action').execute()).map((row) => row.action)
const pathOf = (link: string) => new URL(link).pathname
const linkIn = (html: string) => /<code class="invitation-link">([^<]+)<\/code>/.exec(html)?.[1] ?? null

interface Member {
  readonly accountId: string
  readonly username: string
  readonly passphrase: string
  readonly keys: Awaited<ReturnType<typeof generateKeySet>>
  readonly totpSecret: Buffer
  client: StaffClient
  readonly recoveryCodes: string[]
}

/** GET the page, then POST what its script would. */
async function enrol(link: string, username: string, extra: (page: ReturnType<typeof readEnrolmentPage>, keys: Member['keys']) => Promise<Record<string, unknown>> = async () => ({})) {
  const page = await app.inject({ method: 'GET', url: pathOf(link), remoteAddress: freshAddress() })
  if (page.statusCode !== 200) throw new Error(`enrolment page answered ${page.statusCode}: ${page.body}`)
  const fields = readEnrolmentPage(page.body)
  const member = await newMemberBody(fields, username, PASSPHRASE)
  const response = await app.inject({ method: 'POST', url: pathOf(link), payload: { ...member.body, ...(await extra(fields, member.keys)) }, remoteAddress: freshAddress() })
  return { response, fields, member }
}

function memberFrom(result: Awaited<ReturnType<typeof enrol>>, username: string): Member {
  const cookie = sessionCookie(app, result.response)
  if (cookie === null) throw new Error(`no session: ${result.response.body}`)
  return { accountId: result.fields.accountId, username, passphrase: PASSPHRASE, keys: result.member.keys, totpSecret: result.fields.totpSecret, client: { cookie, csrf: '' }, recoveryCodes: result.response.json().recoveryCodes }
}

/** The member's CSRF token, read from a page as their browser would. */
async function withCsrf(member: Member): Promise<Member> {
  const page = await app.inject({ method: 'GET', url: '/staff/account', headers: { cookie: member.client.cookie } })
  member.client = { cookie: member.client.cookie, csrf: /<meta name="csrf-token" content="([^"]+)"/.exec(page.body)![1]! }
  return member
}

async function keysOf(member: Member) {
  return (await app.inject({ method: 'GET', url: '/staff/keys', headers: { cookie: member.client.cookie } })).json()
}

const serviceKeys = await newGroupKeys()
let lead: Member
let admin: Member
let idva: Member
let investigator: Member
const unitId = 'met-cn-safeguarding'
let unitKeys: Awaited<ReturnType<typeof newGroupKeys>>
let setupLink: string

t.test('before set-up: the public pages say the portal is not open, and a set-up link is issued', async (t) => {
  t.match((await app.inject({ method: 'GET', url: '/' })).body, /The portal is not open yet/)
  t.match((await app.inject({ method: 'GET', url: '/staff/login' })).body, /has not been set up yet/)
  const first = await issueSetupLink(db, app.config.publicOrigin)
  setupLink = (await issueSetupLink(db, app.config.publicOrigin))!
  t.match(setupLink, new RegExp(`^${app.config.publicOrigin}/staff/setup/[A-Za-z0-9_-]{43}$`))
  t.equal((await app.inject({ method: 'GET', url: pathOf(first!) })).statusCode, 404, 'a newer link replaces an older one')
  t.equal((await db.selectFrom('setup_tokens').selectAll().execute()).length, 1, 'only a hash of the token is kept')
  const row = await db.selectFrom('setup_tokens').selectAll().executeTakeFirstOrThrow()
  t.same(row.token_hash, sha256(pathOf(setupLink).split('/').pop()!))
  t.ok(row.expires_at.getTime() - Date.now() <= 3600_000 && row.expires_at.getTime() - Date.now() > 3500_000, 'valid for an hour')
})

t.test('set-up refuses bad input and writes nothing', async (t) => {
  const tampered = pathOf(setupLink).replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'))
  const tamperedPage = await app.inject({ method: 'GET', url: tampered, headers: { accept: 'text/html' } })
  t.equal(tamperedPage.statusCode, 404)
  t.match(tamperedPage.body, /expired or has already been used/)
  t.equal((await app.inject({ method: 'GET', url: '/staff/setup/short' })).statusCode, 404)

  const base = async (username: string) => {
    const page = readEnrolmentPage((await app.inject({ method: 'GET', url: pathOf(setupLink) })).body)
    const member = await newMemberBody(page, username, PASSPHRASE)
    return { page, member }
  }
  const { page, member } = await base('lead')
  const serviceFields = { serviceName: 'Safe Haven IDVA Service', service: { x25519Public: b64(serviceKeys.encryption.publicKey), ed25519Public: b64(serviceKeys.signing.publicKey) }, serviceGrant: b64(await wrapGroupKeys(serviceKeys, 'idva-service', member.keys.encryption.publicKey)) }
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['no service keys', { ...member.body, serviceName: 'X' }, /service is missing/],
    ['a wrong code', { ...member.body, ...serviceFields, code: codeAt(page.totpSecret) === '000000' ? '111111' : '000000' }, /code from your authenticator app is not right/],
    ['a tampered ticket', { ...member.body, ...serviceFields, ticket: member.body.ticket + 'A' }, /base64url|expired or was changed/],
    ['a short key', { ...member.body, ...serviceFields, member: { ...(member.body.member as object), x25519Public: 'AAAA' } }, /x25519Public must be 32 bytes/],
    ['weak Argon2id parameters', { ...member.body, ...serviceFields, passphrase: { ...(member.body.passphrase as object), memLimit: 1024 } }, /memLimit/],
    ['a bad user name', { ...member.body, ...serviceFields, username: 'A B' }, /user name is 3 to 64 characters/],
    ['not JSON', 'plain text' as unknown as Record<string, unknown>, /JSON object|not accepted|format/],
  ]
  for (const [what, payload, message] of cases) {
    const response = await app.inject({ method: 'POST', url: pathOf(setupLink), payload, remoteAddress: freshAddress() })
    t.ok(response.statusCode >= 400 && response.statusCode < 500, `${what}: ${response.statusCode}`)
    t.match(response.json().message, message, what)
  }
  t.equal(await count('groups'), 0, 'no service')
  t.equal(await count('accounts'), 0, 'no account')
  t.equal(await count('group_keys'), 0, 'no keys')
})

t.test('the IDVA lead sets up the service: the server keeps public keys and wrapped blobs only', async (t) => {
  const page = readEnrolmentPage((await app.inject({ method: 'GET', url: pathOf(setupLink) })).body)
  t.equal(page.groupId, 'idva-service')
  const member = await newMemberBody(page, 'lead', PASSPHRASE)
  const grant = await wrapGroupKeys(serviceKeys, 'idva-service', member.keys.encryption.publicKey)
  const response = await app.inject({
    method: 'POST',
    url: pathOf(setupLink),
    payload: { ...member.body, serviceName: 'Safe Haven IDVA Service', service: { x25519Public: b64(serviceKeys.encryption.publicKey), ed25519Public: b64(serviceKeys.signing.publicKey) }, serviceGrant: b64(grant) },
    remoteAddress: freshAddress(),
  })
  t.equal(response.statusCode, 200, response.body)
  const body = response.json()
  t.equal(body.recoveryCodes.length, 10)
  t.match(body.recoveryCodes[0], /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/)
  lead = await withCsrf({ accountId: page.accountId, username: 'lead', passphrase: PASSPHRASE, keys: member.keys, totpSecret: page.totpSecret, client: { cookie: sessionCookie(app, response)!, csrf: '' }, recoveryCodes: body.recoveryCodes })

  const account = await db.selectFrom('accounts').selectAll().where('id', '=', page.accountId).executeTakeFirstOrThrow()
  t.equal(account.role, 'idva_lead')
  t.match(account.verifier_hash, /^\$argon2id\$/, 'an Argon2id hash of the verifier')
  t.notOk(account.verifier_hash.includes(b64(member.secrets.authVerifier)))
  const unwrapped = await unwrapMemberKeys(account.member_keys_wrapped, member.secrets.keyEncryptionKey, page.accountId, { encryption: account.x25519_public, signing: account.ed25519_public })
  t.same(unwrapped.encryption.privateKey, member.keys.encryption.privateKey, 'the stored blob is what the browser wrapped, bound to the account id')
  t.notOk(account.totp_secret_sealed!.includes(page.totpSecret), 'the TOTP key is sealed')
  const keys = await db.selectFrom('group_keys').selectAll().where('group_id', '=', 'idva-service').execute()
  t.equal(keys.length, 1)
  t.same(keys[0]!.x25519_public, Buffer.from(serviceKeys.encryption.publicKey))

  t.equal((await app.inject({ method: 'GET', url: pathOf(setupLink) })).statusCode, 404, 'the link works once')
  t.ok((await auditActions()).includes('staff.setup_refused'), 'a refused set-up link is audited')
  t.equal(await issueSetupLink(db, app.config.publicOrigin), null, 'no new link once the service exists')
  const serviceFingerprint = await fingerprint({ encryption: serviceKeys.encryption.publicKey, signing: serviceKeys.signing.publicKey })
  t.same(body.pin?.line, `SERVICE_KEY_FINGERPRINT="${serviceFingerprint}"`, 'the set-up answer gives the exact line for the configuration')
  const landing = (await app.inject({ method: 'GET', url: '/' })).body
  t.notMatch(landing, /not open yet/)
  if (testDatabase.kind === 'embedded') {
    t.equal(body.pin.pinned, true, 'with the embedded database the portal pins it at once')
    const pinFile = join(app.config.dataDir, 'service-key-fingerprint')
    t.equal(readFileSync(pinFile, 'utf8'), `${serviceFingerprint}\n`, 'beside the server secret, outside the database')
    t.equal(statSync(pinFile).mode & 0o777, 0o600)
    t.match(landing, /Safe Haven IDVA Service/)
    t.ok(landing.includes(serviceFingerprint), 'the landing page shows the pinned fingerprint')
  } else {
    t.equal(body.pin.pinned, false, 'with PostgreSQL the operator must add it')
    t.match(landing, /Nothing can be sent from here at the moment/, 'and until then nothing can be sent')
    t.equal((await app.inject({ method: 'GET', url: '/report' })).statusCode, 503)
    // The operator adds the line and restarts; from here on the portal checks keys against it.
    app.anchor.pinFromConfiguration(serviceFingerprint)
    t.notMatch((await app.inject({ method: 'GET', url: '/' })).body, /Nothing can be sent from here at the moment/, 'once pinned, the portal opens')
  }
  t.ok((await auditActions()).includes('staff.service_created'))
  t.notOk(logs.text().includes(pathOf(setupLink).split('/').pop()!), 'the set-up token is never logged')
})

t.test('the first administrator enrols through a printed link; administrators cannot invite IDVAs', async (t) => {
  const link = (await issueFirstAdminLink(db, app.config.publicOrigin))!
  const page = await app.inject({ method: 'GET', url: pathOf(link) })
  t.match(page.body, /invited as <strong>Portal administrator<\/strong>/)
  t.match(page.body, /You cannot read any case/)
  const result = await enrol(link, 'it.admin')
  t.equal(result.response.statusCode, 200, result.response.body)
  admin = await withCsrf(memberFrom(result, 'it.admin'))
  t.equal(await issueFirstAdminLink(db, app.config.publicOrigin), null, 'no new link once an administrator exists')
  t.same((await keysOf(admin)).group, null, 'an administrator holds no team key')

  const idvaInvite = await asStaff(app, admin.client, { method: 'POST', url: '/staff/admin/invitations', payload: { role: 'idva' } })
  t.equal(idvaInvite.statusCode, 400)
  t.match(idvaInvite.json().message, /invited by an IDVA lead/)
})

t.test('units come from the routing policy; the first investigator makes the unit\'s keys', async (t) => {
  const unknown = await asStaff(app, admin.client, { method: 'POST', url: '/staff/admin/units', payload: { unitId: 'made-up-unit' } })
  t.equal(unknown.statusCode, 400)
  const opened = await asStaff(app, admin.client, { method: 'POST', url: '/staff/admin/units', payload: { unitId } })
  t.equal(opened.statusCode, 303)
  const group = await db.selectFrom('groups').selectAll().where('id', '=', unitId).executeTakeFirstOrThrow()
  t.equal(group.track, 'criminal')
  t.equal(group.name, 'Central North safeguarding unit')
  t.equal((await asStaff(app, admin.client, { method: 'POST', url: '/staff/admin/units', payload: { unitId } })).statusCode, 409, 'opened once')

  const invitation = await asStaff(app, admin.client, { method: 'POST', url: '/staff/admin/invitations', payload: { role: 'investigator', groupId: unitId }, headers: { accept: 'text/html' } })
  t.equal(invitation.statusCode, 200)
  const link = linkIn(invitation.body)!
  t.match(link, /\/staff\/enrol\/[A-Za-z0-9_-]{43}$/)

  const before = await count('accounts')
  const withoutKeys = await enrol(link, 'inv.one')
  t.equal(withoutKeys.fields.createsGroupKeys, true)
  t.equal(withoutKeys.response.statusCode, 400)
  t.match(withoutKeys.response.json().message, /first member of a unit creates its keys/)
  t.equal(await count('accounts'), before, 'the account was not half-created')

  unitKeys = await newGroupKeys()
  const result = await enrol(link, 'inv.one', async (page, keys) => ({
    groupKeys: { x25519Public: b64(unitKeys.encryption.publicKey), ed25519Public: b64(unitKeys.signing.publicKey) },
    groupGrant: b64(await wrapGroupKeys(unitKeys, page.groupId, keys.encryption.publicKey)),
  }))
  t.equal(result.response.statusCode, 200, result.response.body)
  investigator = await withCsrf(memberFrom(result, 'inv.one'))
  const material = await keysOf(investigator)
  t.equal(material.group.id, unitId)
  t.equal(material.group.grant.generation, 1)
  t.ok((await auditActions()).includes('keys.group_created'))
})

t.test('invitations: used, expired, revoked and tampered links are refused and audited', async (t) => {
  const make = async () => linkIn((await asStaff(app, admin.client, { method: 'POST', url: '/staff/admin/invitations', payload: { role: 'investigator', groupId: unitId }, headers: { accept: 'text/html' } })).body)!
  const used = await make()
  const first = await enrol(used, 'inv.two')
  t.equal(first.response.statusCode, 200)
  t.equal(first.fields.createsGroupKeys, false, 'the second member does not make keys')
  const again = await app.inject({ method: 'GET', url: pathOf(used), headers: { accept: 'text/html' } })
  t.equal(again.statusCode, 404)
  t.match(again.body, /expired, has been used, or is not valid/)

  const expired = await make()
  await db.updateTable('invitations').set({ expires_at: new Date(Date.now() - 1000) }).where('token_hash', '=', sha256(pathOf(expired).split('/').pop()!)).execute()
  t.equal((await app.inject({ method: 'GET', url: pathOf(expired) })).statusCode, 404)

  const revoked = await make()
  const id = (await db.selectFrom('invitations').select('id').where('token_hash', '=', sha256(pathOf(revoked).split('/').pop()!)).executeTakeFirstOrThrow()).id
  t.equal((await asStaff(app, admin.client, { method: 'POST', url: `/staff/admin/invitations/${id}/revoke`, payload: {} })).statusCode, 303)
  t.equal((await app.inject({ method: 'GET', url: pathOf(revoked) })).statusCode, 404)
  t.equal((await asStaff(app, admin.client, { method: 'POST', url: `/staff/admin/invitations/${id}/revoke`, payload: {} })).statusCode, 404, 'revoked once')

  const live = await make()
  const tampered = pathOf(live).replace(/.$/, (last) => (last === 'A' ? 'B' : 'A'))
  t.equal((await app.inject({ method: 'GET', url: tampered })).statusCode, 404)
  const page = readEnrolmentPage((await app.inject({ method: 'GET', url: pathOf(live) })).body)
  const member = await newMemberBody(page, 'inv.three', PASSPHRASE)
  const refusedBefore = (await auditActions()).filter((action) => action === 'staff.invitation_refused').length
  t.equal((await app.inject({ method: 'POST', url: tampered, payload: member.body })).statusCode, 404, 'posting to a tampered link too')
  t.equal((await auditActions()).filter((action) => action === 'staff.invitation_refused').length, refusedBefore + 1, 'and that is audited')
  const otherTicket = readEnrolmentPage((await app.inject({ method: 'GET', url: pathOf(live) })).body)
  const swapped = await app.inject({ method: 'POST', url: pathOf(expired), payload: { ...member.body, ticket: otherTicket.ticket } })
  t.equal(swapped.statusCode, 404)
  const taken = await app.inject({ method: 'POST', url: pathOf(live), payload: { ...member.body, username: 'inv.one' } })
  t.equal(taken.statusCode, 409, 'a user name is taken once')
  t.equal((await db.selectFrom('invitations').select('used_at').where('token_hash', '=', sha256(pathOf(live).split('/').pop()!)).executeTakeFirstOrThrow()).used_at, null, 'and the invitation is still unused')
  t.ok((await auditActions()).filter((action) => action === 'staff.invitation_refused').length >= 3)
})

t.test('an IDVA lead invites an IDVA, who sees nothing until a colleague gives access', async (t) => {
  const invitation = await asStaff(app, lead.client, { method: 'POST', url: '/staff/team/invitations', payload: { role: 'idva' }, headers: { accept: 'text/html' } })
  t.equal(invitation.statusCode, 200)
  const result = await enrol(linkIn(invitation.body)!, 'idva.one')
  t.equal(result.response.statusCode, 200, result.response.body)
  idva = await withCsrf(memberFrom(result, 'idva.one'))
  t.same((await keysOf(idva)).group.grant, null, 'no access yet')
  const home = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: idva.client.cookie } })
  t.match(home.body, /do not have access to this team's cases yet/)
  t.match(home.body, new RegExp(await fingerprint({ encryption: idva.keys.encryption.publicKey, signing: idva.keys.signing.publicKey })), 'they see their own fingerprint, to read to a colleague')

  const team = await app.inject({ method: 'GET', url: '/staff/team', headers: { cookie: lead.client.cookie } })
  t.match(team.body, /Waiting for access/)
  t.match(team.body, new RegExp(`data-grant="" data-group="idva-service" data-generation="1" data-account="${idva.accountId}"`))
})

t.test('giving access: only a member holding the key, only to a member of the same team', async (t) => {
  const wrapped = b64(await wrapGroupKeys(serviceKeys, 'idva-service', idva.keys.encryption.publicKey))
  const byNonHolder = await asStaff(app, idva.client, { method: 'POST', url: '/staff/groups/idva-service/grants', payload: { accountId: idva.accountId, generation: 1, wrapped } })
  t.equal(byNonHolder.statusCode, 403)
  t.match(byNonHolder.json().message, /do not hold this team's current key/)
  const byInvestigator = await asStaff(app, investigator.client, { method: 'POST', url: '/staff/groups/idva-service/grants', payload: { accountId: idva.accountId, generation: 1, wrapped } })
  t.equal(byInvestigator.statusCode, 403)
  t.match(byInvestigator.json().message, /not a member of this team/)
  const toOutsider = await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/grants', payload: { accountId: investigator.accountId, generation: 1, wrapped } })
  t.equal(toOutsider.statusCode, 400)
  const stale = await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/grants', payload: { accountId: idva.accountId, generation: 2, wrapped } })
  t.equal(stale.statusCode, 409)
  t.equal(await count('group_key_grants'), 2, 'nothing granted so far')

  const granted = await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/grants', payload: { accountId: idva.accountId, generation: 1, wrapped } })
  t.equal(granted.statusCode, 200, granted.body)
  t.equal((await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/grants', payload: { accountId: idva.accountId, generation: 1, wrapped } })).statusCode, 409, 'once')
  const material = await keysOf(idva)
  const opened = await unwrapGroupKeys(base64url.decode(material.group.grant.wrapped, 'grant'), idva.keys.encryption, 'idva-service', { encryption: serviceKeys.encryption.publicKey, signing: serviceKeys.signing.publicKey })
  t.same(opened.encryption.privateKey, serviceKeys.encryption.privateKey, 'the IDVA can now open the service key')
  t.match((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: idva.client.cookie } })).body, /You have access to this team's cases/)
})

t.test('the IDVA lead certifies a unit\'s key with the service key', async (t) => {
  const subject = { id: unitId, generation: 1, publicKeys: { encryption: unitKeys.encryption.publicKey, signing: unitKeys.signing.publicKey } }
  const forged = b64(await issueKeyCertificate((await generateKeySet()).signing, subject))
  const bad = await asStaff(app, lead.client, { method: 'POST', url: `/staff/units/${unitId}/certify`, payload: { generation: 1, certificate: forged } })
  t.equal(bad.statusCode, 400)
  t.match(bad.json().message, /not signed by the IDVA service/)
  const unitsPage = async () => (await app.inject({ method: 'GET', url: '/staff/admin/units', headers: { cookie: admin.client.cookie } })).body
  const before = await unitsPage()
  t.match(before, new RegExp(`data-unit="${unitId}" data-key-state="waiting"`), 'the administrator sees the key waiting for the lead')
  t.match(before, /Criminal investigation \(safeguarding\)/, 'each unit\'s kind')
  t.match(before, /inv\.one/, 'and its members')
  const certificate = b64(await issueKeyCertificate(serviceKeys.signing, subject))
  t.equal((await asStaff(app, idva.client, { method: 'POST', url: `/staff/units/${unitId}/certify`, payload: { generation: 1, certificate } })).statusCode, 403, 'an IDVA who is not a lead cannot')
  const ok = await asStaff(app, lead.client, { method: 'POST', url: `/staff/units/${unitId}/certify`, payload: { generation: 1, certificate } })
  t.equal(ok.statusCode, 200)
  const row = await db.selectFrom('group_keys').selectAll().where('group_id', '=', unitId).executeTakeFirstOrThrow()
  t.equal(row.service_generation, 1)
  t.match((await app.inject({ method: 'GET', url: '/staff/unit', headers: { cookie: investigator.client.cookie } })).body, /Certified by the IDVA service/)
  t.match(await unitsPage(), new RegExp(`data-unit="${unitId}" data-key-state="certified"`), 'and the administrator sees it certified (checked against the pinned service key)')
})

t.test('the lead removes a member; the key should then be rotated, and rotation is checked', async (t) => {
  const extra = await enrol(linkIn((await asStaff(app, lead.client, { method: 'POST', url: '/staff/team/invitations', payload: { role: 'idva' }, headers: { accept: 'text/html' } })).body)!, 'idva.leaving')
  const leaving = await withCsrf(memberFrom(extra, 'idva.leaving'))
  await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/grants', payload: { accountId: leaving.accountId, generation: 1, wrapped: b64(await wrapGroupKeys(serviceKeys, 'idva-service', leaving.keys.encryption.publicKey)) } })
  t.equal((await asStaff(app, idva.client, { method: 'POST', url: `/staff/team/members/${leaving.accountId}/remove`, payload: {} })).statusCode, 403, 'only a lead removes')
  t.equal((await asStaff(app, lead.client, { method: 'POST', url: `/staff/team/members/${lead.accountId}/remove`, payload: {} })).statusCode, 400, 'not themselves')
  const removed = await asStaff(app, lead.client, { method: 'POST', url: `/staff/team/members/${leaving.accountId}/remove`, payload: {} })
  t.equal(removed.statusCode, 303)
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: leaving.client.cookie } })).statusCode, 401, 'their session ended')
  t.equal((await db.selectFrom('group_key_grants').select('generation').where('account_id', '=', leaving.accountId).execute()).length, 0, 'their copies of the key are deleted')
  t.match((await app.inject({ method: 'GET', url: '/staff/team', headers: { cookie: lead.client.cookie } })).body, /rotate the key/)

  const rotation = await rotateGroupKeys(serviceKeys, 'idva-service', 1)
  const grants = async (members: Member[]) => Promise.all(members.map(async (member) => ({ accountId: member.accountId, wrapped: b64(await wrapGroupKeys(rotation.next, 'idva-service', member.keys.encryption.publicKey)) })))
  const payload = {
    generation: 2,
    x25519Public: b64(rotation.next.encryption.publicKey),
    ed25519Public: b64(rotation.next.signing.publicKey),
    certificate: b64(rotation.certificate),
    previousKeysSealed: b64(rotation.previous),
    grants: await grants([lead, idva]),
  }
  t.equal((await asStaff(app, idva.client, { method: 'POST', url: '/staff/groups/idva-service/rotate', payload })).statusCode, 403, 'an IDVA cannot rotate the service key')
  const forgedCertificate = b64(await issueKeyCertificate((await generateKeySet()).signing, { id: 'idva-service', generation: 2, publicKeys: { encryption: rotation.next.encryption.publicKey, signing: rotation.next.signing.publicKey } }))
  t.equal((await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/rotate', payload: { ...payload, certificate: forgedCertificate } })).statusCode, 400, 'a key not certified by the current one is refused')
  t.equal((await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/rotate', payload: { ...payload, grants: await grants([lead, idva, leaving]) } })).statusCode, 400, 'not to a removed member')
  t.equal((await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/rotate', payload: { ...payload, grants: await grants([idva]) } })).statusCode, 400, 'the rotating lead keeps the key')
  t.equal((await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/rotate', payload: { ...payload, generation: 3 } })).statusCode, 409)
  t.equal((await db.selectFrom('group_keys').select('generation').where('group_id', '=', 'idva-service').execute()).length, 1, 'nothing written by the refusals')

  const ok = await asStaff(app, lead.client, { method: 'POST', url: '/staff/groups/idva-service/rotate', payload })
  t.equal(ok.statusCode, 200, ok.body)
  t.same(ok.json(), { generation: 2 })
  const group = await db.selectFrom('groups').select('rotation_recommended_at').where('id', '=', 'idva-service').executeTakeFirstOrThrow()
  t.equal(group.rotation_recommended_at, null)

  // The IDVA's browser follows the chain from the published key and recovers both generations.
  const material = await keysOf(idva)
  const generations = material.group.generations as { generation: number; x25519Public: string; ed25519Public: string; certificate: string | null; previousKeysSealed: string | null }[]
  const publicKeys = (entry: (typeof generations)[number]) => ({ encryption: base64url.decode(entry.x25519Public, 'x'), signing: base64url.decode(entry.ed25519Public, 'e') })
  const current = await verifyKeyChain('idva-service', publicKeys(generations[0]!), [{ publicKeys: publicKeys(generations[1]!), certificate: base64url.decode(generations[1]!.certificate!, 'c') }])
  t.same(current.encryption, rotation.next.encryption.publicKey)
  const newest = await unwrapGroupKeys(base64url.decode(material.group.grant.wrapped, 'g'), idva.keys.encryption, 'idva-service', current)
  const ring = await unwrapKeyRing(newest, 'idva-service', [{ blob: base64url.decode(generations[1]!.previousKeysSealed!, 'p'), publicKeys: publicKeys(generations[0]!) }])
  t.same(ring[1]!.encryption.privateKey, serviceKeys.encryption.privateKey, 'old cases stay readable')
  if (testDatabase.kind === 'embedded') {
    t.match((await app.inject({ method: 'GET', url: '/' })).body, new RegExp(await fingerprint({ encryption: serviceKeys.encryption.publicKey, signing: serviceKeys.signing.publicKey })), 'the published fingerprint stays the first key\'s')
  }
})

t.test('changing a passphrase re-wraps the same keys and signs out other browsers', async (t) => {
  const { deriveStaffSecrets, wrapMemberKeys } = await import('../../crypto/staff-keys.ts')
  const account = await db.selectFrom('accounts').selectAll().where('id', '=', idva.accountId).executeTakeFirstOrThrow()
  const current = await deriveStaffSecrets(PASSPHRASE, { salt: account.passphrase_salt, opsLimit: account.passphrase_ops, memLimit: account.passphrase_mem })
  const other = await login(app, idva, codeAt(idva.totpSecret, 1), { remoteAddress: freshAddress() })
  t.equal(other.statusCode, 200)
  const otherCookie = sessionCookie(app, other)!

  const fresh = readEnrolmentPage(`data-ticket="" data-account-id="${idva.accountId}" <code class="totp-secret">AAAA</code>`)
  const next = await newMemberBody(fresh, idva.username, 'a brand new passphrase for the idva')
  const rewrapped = await wrapMemberKeys(idva.keys, next.secrets.keyEncryptionKey, idva.accountId)
  const body = { ...(next.body as object), member: { x25519Public: b64(idva.keys.encryption.publicKey), ed25519Public: b64(idva.keys.signing.publicKey), wrappedKeys: b64(rewrapped) } }

  const wrongCurrent = await asStaff(app, idva.client, { method: 'POST', url: '/staff/account/passphrase', payload: { ...body, currentVerifier: b64(next.secrets.authVerifier) } })
  t.equal(wrongCurrent.statusCode, 403)
  t.match(wrongCurrent.json().message, /current passphrase is not right/)
  const otherKeys = await asStaff(app, idva.client, { method: 'POST', url: '/staff/account/passphrase', payload: { ...(next.body as object), currentVerifier: b64(current.authVerifier) } })
  t.equal(otherKeys.statusCode, 400, 'different keys are refused')
  const unchanged = await db.selectFrom('accounts').select('verifier_hash').where('id', '=', idva.accountId).executeTakeFirstOrThrow()
  t.equal(unchanged.verifier_hash, account.verifier_hash, 'nothing changed')

  const ok = await asStaff(app, idva.client, { method: 'POST', url: '/staff/account/passphrase', payload: { ...body, currentVerifier: b64(current.authVerifier) } })
  t.equal(ok.statusCode, 200, ok.body)
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: otherCookie } })).statusCode, 401, 'the other browser is signed out')
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: idva.client.cookie } })).statusCode, 200, 'this one stays')
  const old = await login(app, idva, codeAt(idva.totpSecret, 1), { remoteAddress: freshAddress() })
  t.equal(old.statusCode, 401, 'the old passphrase no longer works')
  await db.updateTable('accounts').set({ failed_logins: 0 }).where('id', '=', idva.accountId).execute()
  t.ok((await auditActions()).includes('staff.passphrase_changed'))
})

t.test('a lost second factor: the administrator resets it, and the member must set up a new one', async (t) => {
  const investigatorCookie = investigator.client.cookie
  t.equal((await asStaff(app, admin.client, { method: 'POST', url: `/staff/admin/accounts/${admin.accountId}/reset-second-factor`, payload: {} })).statusCode, 400, 'not their own')
  const reset = await asStaff(app, admin.client, { method: 'POST', url: `/staff/admin/accounts/${investigator.accountId}/reset-second-factor`, payload: {} })
  t.equal(reset.statusCode, 303)
  t.equal((await app.inject({ method: 'GET', url: '/staff', headers: { cookie: investigatorCookie } })).statusCode, 401, 'sessions ended')
  const row = await db.selectFrom('accounts').select('totp_secret_sealed').where('id', '=', investigator.accountId).executeTakeFirstOrThrow()
  t.equal(row.totp_secret_sealed, null)

  const signIn = await login(app, investigator, codeAt(investigator.totpSecret, 1), { remoteAddress: freshAddress() })
  t.equal(signIn.statusCode, 200)
  t.same(signIn.json(), { next: '/staff/second-factor' })
  const cookie = sessionCookie(app, signIn)!
  const home = await app.inject({ method: 'GET', url: '/staff/unit', headers: { cookie, accept: 'text/html' } })
  t.equal(home.statusCode, 303)
  t.equal(home.headers.location, '/staff/second-factor')
  const keys = await app.inject({ method: 'GET', url: '/staff/keys', headers: { cookie } })
  t.equal(keys.statusCode, 403, 'no keys until the second factor is set up')
  const pageResponse = await app.inject({ method: 'GET', url: '/staff/second-factor', headers: { cookie } })
  t.equal(pageResponse.statusCode, 200)
  const page = readEnrolmentPage(pageResponse.body)
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(pageResponse.body)![1]!
  const wrong = await app.inject({ method: 'POST', url: '/staff/second-factor', headers: { cookie, 'x-csrf-token': csrf }, payload: { ticket: page.ticket, code: codeAt(investigator.totpSecret, 1) } })
  t.equal(wrong.statusCode, 400, 'the old factor does not count')
  t.ok((await auditActions()).includes('staff.second_factor_refused'), 'a wrong code is audited')
  const done = await app.inject({ method: 'POST', url: '/staff/second-factor', headers: { cookie, 'x-csrf-token': csrf }, payload: { ticket: page.ticket, code: codeAt(page.totpSecret) } })
  t.equal(done.statusCode, 200, done.body)
  t.equal(done.json().recoveryCodes.length, 10)
  const full = sessionCookie(app, done)!
  t.not(full, cookie, 'a new session, fully signed in')
  t.equal((await app.inject({ method: 'GET', url: '/staff/unit', headers: { cookie: full } })).statusCode, 200)
  t.ok((await auditActions()).includes('staff.second_factor_reset'))
  t.ok((await auditActions()).includes('staff.second_factor_enrolled'))
})

t.test('the administrator sees counts and health, never content or keys', async (t) => {
  const home = await app.inject({ method: 'GET', url: '/staff', headers: { cookie: admin.client.cookie } })
  t.match(home.body, /You cannot read any case/)
  t.match(home.body, /Database<\/dt><dd>answering/)
  t.match(home.body, /Active accounts: Investigator<\/dt><dd>2/)
  t.match(home.body, /Active accounts: IDVA lead<\/dt>/, 'role names written properly')
  const accounts = await app.inject({ method: 'GET', url: '/staff/admin/accounts', headers: { cookie: admin.client.cookie } })
  t.match(accounts.body, /idva\.one/)
  for (const page of [home.body, accounts.body, (await app.inject({ method: 'GET', url: '/staff/admin/units', headers: { cookie: admin.client.cookie } })).body]) {
    t.notOk(page.includes(b64(serviceKeys.encryption.publicKey)), 'no key material on the administrator\'s pages')
    t.notMatch(page, /data-grant|data-rotate|data-certify/)
  }
})
