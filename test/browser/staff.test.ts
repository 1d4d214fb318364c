import t from 'tap'
import { sql } from 'kysely'
import { gzipSync } from 'node:zlib'
import type { BrowserContext, Page } from 'playwright-core'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { decodeSecretKeySet, type KeySet } from '../../crypto/keys.ts'
import { seedAccount, seedGrant, seedUnit } from '../../scripts/lib/staff-fixtures.ts'
import { issueSetupLink } from '../../server/features/staff/first-run.ts'
import { base32 } from '../../server/features/staff/totp.ts'
import { buildTestApp, freePort } from '../helpers/app.ts'
import { axe, isolatedContext, launchChromium, signIn } from '../helpers/browser.ts'
import { base32Decode, codeAt } from '../helpers/staff.ts'

/**
 * The staff side in real Chromium, under the real CSP, with the real bundle: the IDVA lead sets
 * up the service, invites an IDVA, the IDVA enrols, the lead gives access, the IDVA signs out and
 * back in with passphrase and authenticator code, and signs out. Then the lead certifies a unit and
 * rotates the service key. Finally every table, and the log, is searched for every private key the
 * browsers made (and every passphrase, TOTP key and recovery code), in every encoding.
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const port = await freePort()
  const origin = `http://127.0.0.1:${port}`
  // Not pinned in advance: set-up pins the key the lead's browser makes.
  const { app, logs, testDatabase } = await buildTestApp(t, { listen: true, unpinned: true, env: { PORT: String(port), PUBLIC_ORIGIN: origin } })
  const db = app.database.db
  const LEAD_PASSPHRASE = 'violet kettle marching under quiet harbour'
  const IDVA_PASSPHRASE = 'seven orange lanterns drift past midnight'
  const secrets: { what: string; bytes?: Uint8Array; text?: string }[] = []
  const problems: string[] = []
  const offsiteRequests: string[][] = []

  async function open(options: { bypassCSP?: boolean } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const { context, offsite } = await isolatedContext(browser!, origin, options)
    t.teardown(() => context.close())
    offsiteRequests.push(offsite.requests)
    const page = await context.newPage()
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    return { context, page }
  }

  /** The keys this tab holds (sessionStorage), decoded, or null. */
  async function tabKeys(page: Page): Promise<{ accountId: string; member: KeySet; group: { id: string; generations: { generation: number; keys: KeySet }[] } | null } | null> {
    const text = await page.evaluate(() => sessionStorage.getItem('sd-staff-keys'))
    if (text === null) return null
    const stored = JSON.parse(text) as { accountId: string; member: string; group: { id: string; generations: { generation: number; keys: string }[] } | null }
    return {
      accountId: stored.accountId,
      member: await decodeSecretKeySet(stored.member),
      group: stored.group === null ? null : { id: stored.group.id, generations: await Promise.all(stored.group.generations.map(async (entry) => ({ generation: entry.generation, keys: await decodeSecretKeySet(entry.keys) }))) },
    }
  }

  function remember(owner: string, keys: KeySet): void {
    secrets.push({ what: `${owner} X25519 private key`, bytes: keys.encryption.privateKey })
    secrets.push({ what: `${owner} Ed25519 seed`, bytes: keys.signing.privateKey.slice(0, 32) })
    secrets.push({ what: `${owner} Ed25519 private key`, bytes: keys.signing.privateKey })
  }

  async function fillNewAccount(page: Page, username: string, passphrase: string): Promise<Buffer> {
    await page.fill('#username', username)
    await page.fill('#passphrase', passphrase)
    await page.fill('#passphrase-again', passphrase)
    const totpSecret = base32Decode((await page.textContent('.totp-secret'))!)
    await page.fill('#code', codeAt(totpSecret))
    return totpSecret
  }

  const lead = await open()
  const idva = await open()
  // Only for axe-core, which needs to be injected: the lead again, in a context without the CSP.
  const checker = await open({ bypassCSP: true })
  let leadTotp: Buffer
  let idvaTotp: Buffer

  await t.test('the IDVA lead sets up the service in the browser', async (t) => {
    const link = (await issueSetupLink(db, origin))!
    const { page } = lead
    await page.goto(link)
    await page.waitForSelector('[data-submit]:not([disabled])')
    await page.fill('#service-name', 'Safe Haven IDVA Service')
    leadTotp = await fillNewAccount(page, 'lead', 'password1234')
    await page.click('[data-submit]')
    await page.waitForSelector('[data-error]:not([hidden])')
    t.match(await page.textContent('[data-error]'), /too easy to guess/, 'a weak passphrase is refused in the browser')
    t.equal(Number((await db.selectFrom('groups').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 0, 'and nothing was sent')

    await page.fill('#passphrase', LEAD_PASSPHRASE)
    await page.fill('#passphrase-again', LEAD_PASSPHRASE)
    await page.waitForSelector('[data-strength-message][data-acceptable="true"]')
    await page.click('[data-submit]')
    await page.waitForSelector('[data-done]:not([hidden])', { timeout: 60_000 })
    const codes = await page.$$eval('[data-recovery-codes] li', (items) => items.map((item) => item.textContent ?? ''))
    t.equal(codes.length, 10)
    for (const code of codes) secrets.push({ what: 'recovery code', text: code })
    const service = await db.selectFrom('group_keys').selectAll().where('group_id', '=', 'idva-service').executeTakeFirstOrThrow()
    const serviceFingerprint = await fingerprint({ encryption: service.x25519_public, signing: service.ed25519_public })
    t.equal(await page.textContent('[data-fingerprint]'), serviceFingerprint, 'the fingerprint shown is the service key\'s')
    if (testDatabase.kind === 'embedded') {
      t.ok(await page.locator('[data-pin-pinned]').isVisible(), 'the portal pinned it beside its server secret')
    } else {
      t.ok(await page.locator('[data-pin-needed]').isVisible(), 'the administrator is told to add it to the configuration')
      t.equal(await page.textContent('[data-pin-line]'), `SERVICE_KEY_FINGERPRINT="${serviceFingerprint}"`)
      // The operator adds the line and restarts the portal.
      app.anchor.pinFromConfiguration(serviceFingerprint)
    }

    const keys = (await tabKeys(page))!
    t.ok(keys.group !== null && keys.group.generations[0]!.generation === 1)
    t.same(Buffer.from(keys.group!.generations[0]!.keys.encryption.publicKey), service.x25519_public, 'this tab holds the service key')
    remember('lead', keys.member)
    remember('service generation 1', keys.group!.generations[0]!.keys)
    secrets.push({ what: 'lead passphrase', text: LEAD_PASSPHRASE }, { what: 'lead TOTP key', bytes: leadTotp })

    await page.click('[data-continue]')
    await page.waitForURL(`${origin}/staff`)
    await page.waitForSelector('[data-keys-status]:not([hidden])')
    t.match(await page.textContent('[data-keys-status]'), /unlocked in this browser tab/)
  })

  let invitation = ''
  await t.test('the lead invites an IDVA', async (t) => {
    const { page } = lead
    await page.click('a[href="/staff/team"]')
    await page.selectOption('#invite-role', 'idva')
    await page.click('text=Create an invitation link')
    invitation = (await page.textContent('.invitation-link'))!.trim()
    t.match(invitation, new RegExp(`^${origin}/staff/enrol/[A-Za-z0-9_-]{43}$`))
  })

  await t.test('the IDVA enrols, and waits for access', async (t) => {
    const { page } = idva
    await page.goto(invitation)
    await page.waitForSelector('[data-submit]:not([disabled])')
    idvaTotp = await fillNewAccount(page, 'idva.one', IDVA_PASSPHRASE)
    await page.click('[data-submit]')
    await page.waitForSelector('[data-done]:not([hidden])', { timeout: 60_000 })
    for (const code of await page.$$eval('[data-recovery-codes] li', (items) => items.map((item) => item.textContent ?? ''))) secrets.push({ what: 'recovery code', text: code })
    const keys = (await tabKeys(page))!
    t.equal(keys.group, null, 'no group key yet')
    remember('idva', keys.member)
    secrets.push({ what: 'idva passphrase', text: IDVA_PASSPHRASE }, { what: 'idva TOTP key', bytes: idvaTotp })
    await page.click('[data-continue]')
    await page.waitForURL(`${origin}/staff`)
    t.match(await page.textContent('[data-access]'), /do not have access to this team's cases yet/)
  })

  await t.test('the lead compares the fingerprint and gives access', async (t) => {
    const { page } = lead
    await page.goto(`${origin}/staff/team`)
    const button = page.locator('button[data-grant][data-username="idva.one"]')
    const shown = await button.getAttribute('data-fingerprint')
    const account = await db.selectFrom('accounts').selectAll().where('username', '=', 'idva.one').executeTakeFirstOrThrow()
    t.equal(shown, await fingerprint({ encryption: account.x25519_public, signing: account.ed25519_public }))
    await page.waitForSelector('button[data-grant]:not([disabled])')
    await Promise.all([page.waitForEvent('load'), button.click()])
    t.match(await page.locator(`tr[data-member="${account.id}"]`).textContent(), /Has access/)
  })

  await t.test('the IDVA signs out, and back in with passphrase and code', async (t) => {
    const { page } = idva
    await page.goto(`${origin}/staff`)
    await Promise.all([page.waitForURL(/\/staff\/login\?signed-out=here$/), page.click('.staff-nav__logout button')])
    t.match(await page.textContent('[data-signed-out]'), /You are signed out/)
    t.equal(await page.evaluate(() => sessionStorage.getItem('sd-staff-keys')), null, 'the tab forgot its keys')

    await page.waitForSelector('[data-submit]:not([disabled])')
    await page.fill('#username', 'idva.one')
    await page.fill('#passphrase', 'not the passphrase at all')
    await page.fill('#code', codeAt(idvaTotp, 1))
    await page.click('[data-submit]')
    await page.waitForSelector('[data-error]:not([hidden])', { timeout: 60_000 })
    t.match(await page.textContent('[data-error]'), /user name, passphrase or code is not right/)
    // The browser reports the refused request (401) on its console; that one is expected.
    problems.splice(0, problems.length, ...problems.filter((problem) => !/status of 401/.test(problem)))

    await page.fill('#passphrase', IDVA_PASSPHRASE)
    // The code used at enrolment cannot be used again: the next one.
    await page.fill('#code', codeAt(idvaTotp, 1))
    await Promise.all([page.waitForURL(`${origin}/staff`, { timeout: 60_000 }), page.click('[data-submit]')])
    t.match(await page.textContent('[data-access]'), /You have access to this team's cases/)
    await page.waitForSelector('[data-keys-status]:not([hidden])')
    t.match(await page.textContent('[data-keys-status]'), /unlocked/)
    const keys = (await tabKeys(page))!
    const leadKeys = (await tabKeys(lead.page))!
    t.same(keys.group!.generations[0]!.keys.encryption.privateKey, leadKeys.group!.generations[0]!.keys.encryption.privateKey, 'the IDVA now holds the service key, unwrapped in the browser')
  })

  await t.test("the sign-in's crypto step downloads at most 250 KB of script, gzipped, and is served compressed", async (t) => {
    const { context, page } = await open()
    const scripts = new Map<string, { gzip: number; wire: number; encoding: string | undefined }>()
    const pending: Promise<void>[] = []
    page.on('response', (response) => {
      const url = new URL(response.url())
      if (!url.pathname.startsWith('/static/') || !url.pathname.endsWith('.js')) return
      pending.push(
        (async () => {
          const body = await response.body()
          const sizes = await response.request().sizes()
          scripts.set(url.pathname, { gzip: gzipSync(body).length, wire: sizes.responseBodySize, encoding: (await response.allHeaders())['content-encoding'] })
        })(),
      )
    })
    await page.goto(`${origin}/staff/login`)
    await page.waitForSelector('[data-submit]:not([disabled])')
    await page.fill('#username', 'idva.one')
    await page.fill('#passphrase', 'a wrong passphrase still runs every step')
    await page.fill('#code', '000000')
    await page.click('[data-submit]')
    await page.waitForSelector('[data-error]:not([hidden])', { timeout: 60_000 })
    problems.splice(0, problems.length, ...problems.filter((problem) => !/status of 401/.test(problem)))
    await Promise.all(pending)
    const gzip = [...scripts.values()].reduce((sum, script) => sum + script.gzip, 0)
    const wire = [...scripts.values()].reduce((sum, script) => sum + script.wire, 0)
    t.ok(scripts.size >= 2, `${scripts.size} scripts loaded`)
    t.ok(gzip <= 250 * 1024, `every script the sign-in loaded: ${(gzip / 1024).toFixed(0)} KB gzipped (budget 250 KB)`)
    t.ok(wire <= gzip, `and ${(wire / 1024).toFixed(0)} KB on the wire`)
    for (const [path, script] of scripts) t.equal(script.encoding, 'br', `${path} came brotli-compressed`)
    await context.close()
  })

  await t.test('a unit\'s key is certified, and the service key rotated, from the lead\'s browser', async (t) => {
    const unit = (await seedUnit(db, { id: 'met-dps', track: 'misconduct', force: 'Metropolitan Police Service', name: 'Directorate of Professional Standards' }))!
    const member = await seedAccount(db, app.config.serverSecret, { username: 'dps.one', role: 'investigator', groupId: unit.id })
    await seedGrant(db, member, unit)
    const { page } = lead
    await page.goto(`${origin}/staff/team`)
    await page.waitForSelector('button[data-certify]:not([disabled])')
    await Promise.all([page.waitForEvent('load'), page.click('button[data-certify]')])
    const row = await db.selectFrom('group_keys').selectAll().where('group_id', '=', unit.id).executeTakeFirstOrThrow()
    t.equal(row.service_generation, 1, 'certified by the service key')

    await page.waitForSelector('button[data-rotate-ask]:not([disabled])')
    t.notOk(await page.locator('button[data-rotate]').isVisible(), 'rotating takes two steps')
    await page.click('button[data-rotate-ask]')
    t.match(await page.textContent('[data-rotate-confirm]'), /cannot open anything sent from now on/, 'the first says what it does')
    await page.waitForSelector('button[data-rotate]:not([disabled])')
    await Promise.all([page.waitForEvent('load'), page.click('button[data-rotate]')])
    await page.waitForSelector('[data-group-fingerprint]')
    t.equal((await db.selectFrom('group_keys').select('generation').where('group_id', '=', 'idva-service').execute()).length, 2, 'a second generation')
    const leadKeys = (await tabKeys(page))!
    t.same(leadKeys.group!.generations.map((entry) => entry.generation), [2, 1])
    remember('service generation 2', leadKeys.group!.generations[0]!.keys)

    // The IDVA's tab catches up on its next page, with no passphrase.
    await idva.page.goto(`${origin}/staff`)
    await idva.page.waitForSelector('[data-keys-status]:not([hidden])')
    const idvaKeys = (await tabKeys(idva.page))!
    t.same(idvaKeys.group!.generations.map((entry) => entry.generation), [2, 1])
    t.same(idvaKeys.group!.generations[0]!.keys.encryption.privateKey, leadKeys.group!.generations[0]!.keys.encryption.privateKey)
  })

  await t.test('axe-core finds no WCAG 2.2 AA violation on the staff pages: team, rotation step, removal step, queue, figures, account', async (t) => {
    const { page } = checker
    await signIn(page, origin, { username: 'lead', passphrase: LEAD_PASSPHRASE, totpSecret: leadTotp, step: 1 })
    await page.goto(`${origin}/staff/team`)
    await page.waitForSelector('button[data-rotate-ask]:not([disabled])')
    await axe(t, page, '/staff/team')
    await page.click('button[data-rotate-ask]')
    await axe(t, page, '/staff/team with the rotation step open')
    const member = await db.selectFrom('accounts').select('id').where('username', '=', 'idva.one').executeTakeFirstOrThrow()
    await page.goto(`${origin}/staff/team/members/${member.id}/remove`)
    t.match(await page.textContent('[data-confirm-action]'), /can no longer open the service's cases/)
    await axe(t, page, 'the removal step')
    await page.click('text=Go back without changing anything')
    await page.waitForURL(`${origin}/staff/team`)
    t.equal((await db.selectFrom('accounts').select('status').where('id', '=', member.id).executeTakeFirstOrThrow()).status, 'active', 'going back changes nothing')
    await page.goto(`${origin}/staff/cases`)
    await axe(t, page, '/staff/cases')
    await page.goto(`${origin}/staff/figures`)
    t.equal(await page.locator('svg.chart[role="img"]').count() >= 5, true, 'the figures are drawn as charts')
    await axe(t, page, '/staff/figures')
    await page.goto(`${origin}/staff/account`)
    t.match(await page.textContent('main'), /\d{1,2} [A-Z][a-z]+ \d{4}, \d{2}:\d{2}/, 'times as people read them')
    await axe(t, page, '/staff/account')
  })

  await t.test('the IDVA signs out: the session ends and the tab holds nothing', async (t) => {
    const { page } = idva
    await Promise.all([page.waitForURL(/signed-out=here/), page.click('.staff-nav__logout button')])
    // htmx keeps the current path for its history feature; nothing else may remain.
    t.same(await page.evaluate(() => Object.keys(sessionStorage).filter((key) => key !== 'htmx-current-path-for-history')), [])
    await page.goto(`${origin}/staff`)
    t.match(page.url(), /\/staff\/login$/)
    t.equal(Number((await db.selectFrom('sessions').innerJoin('accounts', 'accounts.id', 'sessions.account_id').select((eb) => eb.fn.countAll<number>().as('n')).where('accounts.username', '=', 'idva.one').executeTakeFirstOrThrow()).n), 0)
  })

  await t.test('no table and no log line holds a private key, passphrase, TOTP key or recovery code, in any encoding', async (t) => {
    t.ok(secrets.length >= 20, `${secrets.length} secrets to look for`)
    const tables = await sql<{ table_name: string }>`SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`.execute(db)
    t.ok(tables.rows.length >= 10)
    let text = ''
    for (const { table_name } of tables.rows) {
      const rows = await sql<{ row: string }>`SELECT t::text AS row FROM ${sql.table(table_name)} t`.execute(db)
      text += `${rows.rows.map((row) => row.row).join('\n')}\n`
      const columns = await sql<{ column_name: string }>`SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table_name} AND data_type = 'bytea'`.execute(db)
      for (const { column_name } of columns.rows) {
        for (const secret of secrets.filter((entry) => entry.bytes !== undefined)) {
          const found = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(table_name)} WHERE position(${Buffer.from(secret.bytes!)}::bytea IN ${sql.ref(column_name)}) > 0`.execute(db)
          t.equal(found.rows[0]!.n, 0, `${secret.what} not in ${table_name}.${column_name} as raw bytes`)
        }
      }
    }
    const haystacks = { tables: text.toLowerCase(), log: logs.text().toLowerCase() }
    for (const secret of secrets) {
      const forms = secret.bytes === undefined ? [secret.text!] : encodings(Buffer.from(secret.bytes))
      for (const [where, haystack] of Object.entries(haystacks)) {
        t.notOk(forms.some((form) => haystack.includes(form.toLowerCase())), `${secret.what} not in the ${where}`)
      }
    }
  })

  t.test('no script error or CSP violation in any page, and no request left the portal', async (t) => {
    t.same(problems, [])
    t.same(offsiteRequests.flat(), [])
  })
}

/** Every text form a key might take: hex, base64, base64url, base32. */
function encodings(bytes: Buffer): string[] {
  return [bytes.toString('hex'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url'), base32(bytes)]
}
