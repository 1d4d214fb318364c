import t from 'tap'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { seedAccount, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { loadConfig } from '../../server/config.ts'
import { publishFirstRunLinks, type FirstRunOutput } from '../../server/features/staff/first-run-file.ts'
import { buildTestApp } from '../helpers/app.ts'

/**
 * The first-run links (the IDVA service's set-up link, the first administrator's invitation) are
 * bearer tokens. They go to a file only the portal's user can read, made afresh at every start, and
 * to the screen only when standard output is a terminal; never to a log. The file is deleted once
 * the links are used, and at a start where the service and an administrator exist.
 */

const { app, logs } = await buildTestApp(t)
const db = app.database.db
const dir = mkdtempSync(join(tmpdir(), 'safe-disclosure-first-run-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

function output(isTTY: boolean): FirstRunOutput & { text: () => string } {
  let text = ''
  return { isTTY, write: (chunk: string) => (text += chunk), text: () => text }
}
const tokenOf = (link: string) => new URL(link).pathname.split('/').pop()!

t.test('FIRST_RUN_FILE: beside the embedded database by default, in the working directory with DATABASE_URL', async (t) => {
  t.equal(loadConfig({ DATA_DIR: '/srv/portal/data' }, '/opt/portal').firstRunFile, '/srv/portal/data/first-run-links.txt')
  t.equal(loadConfig({}, '/opt/portal').firstRunFile, '/opt/portal/data/first-run-links.txt')
  t.equal(loadConfig({ DATABASE_URL: 'postgres://portal@db/portal', SERVER_SECRET: 'b'.repeat(64) }, '/opt/portal').firstRunFile, '/opt/portal/first-run-links.txt')
  t.equal(loadConfig({ FIRST_RUN_FILE: 'private/links.txt' }, '/opt/portal').firstRunFile, '/opt/portal/private/links.txt')
  t.equal(loadConfig({ FIRST_RUN_FILE: '/run/portal/links.txt', DATABASE_URL: 'postgres://portal@db/portal', SERVER_SECRET: 'b'.repeat(64) }).firstRunFile, '/run/portal/links.txt')
})

t.test('not a terminal: the links go to a 0600 file, and only its path is printed', async (t) => {
  const file = join(dir, 'first-run-links.txt')
  const out = output(false)
  const published = await publishFirstRunLinks(db, { publicOrigin: app.config.publicOrigin, file, out, watchEveryMs: null })
  t.match(published.setupLink, /\/staff\/setup\/[A-Za-z0-9_-]{43}$/)
  t.match(published.adminLink, /\/staff\/enrol\/[A-Za-z0-9_-]{43}$/)
  t.equal(published.file, file)
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by the portal\'s user only')
  const text = readFileSync(file, 'utf8')
  t.ok(text.includes(published.setupLink!) && text.includes(published.adminLink!), 'both links are in the file')
  t.ok(out.text().includes(file), 'its path is printed')
  for (const link of [published.setupLink!, published.adminLink!]) {
    t.notOk(out.text().includes(tokenOf(link)), 'no link is printed')
    t.notOk(logs.text().includes(tokenOf(link)), 'or logged')
  }
  t.equal(await published.check(), false, 'the file stays while the links are unused')
  t.ok(existsSync(file))
})

t.test('a terminal: the links are shown as well', async (t) => {
  const file = join(dir, 'tty', 'first-run-links.txt')
  const out = output(true)
  const published = await publishFirstRunLinks(db, { publicOrigin: app.config.publicOrigin, file, out, watchEveryMs: null })
  t.ok(out.text().includes(published.setupLink!), 'the set-up link is on the screen')
  t.ok(out.text().includes(published.adminLink!), 'and the administrator\'s')
  t.equal(statSync(file).mode & 0o777, 0o600, 'and in the file')
  t.equal(statSync(join(dir, 'tty')).mode & 0o777, 0o700, 'a folder it had to make is private too')
})

t.test('every start makes the file afresh: an older file, or a link planted in its place, is replaced', async (t) => {
  const file = join(dir, 'fresh.txt')
  writeFileSync(file, 'old links\n', { mode: 0o644 })
  const first = await publishFirstRunLinks(db, { publicOrigin: app.config.publicOrigin, file, out: output(false), watchEveryMs: null })
  t.equal(statSync(file).mode & 0o777, 0o600, 'not the old file\'s mode')
  t.notMatch(readFileSync(file, 'utf8'), /old links/)

  const elsewhere = join(dir, 'someone-elses.txt')
  writeFileSync(elsewhere, 'not the portal\'s\n', { mode: 0o644 })
  rmSync(file)
  symlinkSync(elsewhere, file)
  const second = await publishFirstRunLinks(db, { publicOrigin: app.config.publicOrigin, file, out: output(false), watchEveryMs: null })
  t.equal(readFileSync(elsewhere, 'utf8'), 'not the portal\'s\n', 'a symbolic link is not followed')
  t.equal(statSync(elsewhere).mode & 0o777, 0o644)
  const text = readFileSync(file, 'utf8')
  t.ok(text.includes(second.setupLink!), 'the new links')
  t.notOk(text.includes(first.setupLink!), 'not the old ones')
  t.equal((await app.inject({ method: 'GET', url: new URL(first.setupLink!).pathname })).statusCode, 404, 'which no longer work')
})

t.test('the file is deleted once the links are used; a later start writes none and deletes a stale one', async (t) => {
  const file = join(dir, 'used.txt')
  const published = await publishFirstRunLinks(db, { publicOrigin: app.config.publicOrigin, file, out: output(false), watchEveryMs: 20 })
  await seedService(db)
  t.equal(await published.check(), false, 'one link used: the other is still needed')
  t.ok(existsSync(file))
  await seedAccount(db, app.config.serverSecret, { username: 'first.admin', role: 'admin' })
  for (let waited = 0; existsSync(file) && waited < 5000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
  t.notOk(existsSync(file), 'both used: the running portal deletes the file')
  published.stop()

  const stale = join(dir, 'stale.txt')
  writeFileSync(stale, 'links from an earlier start\n', { mode: 0o600 })
  const out = output(true)
  const later = await publishFirstRunLinks(db, { publicOrigin: app.config.publicOrigin, file: stale, out, watchEveryMs: null })
  t.equal(later.setupLink, null)
  t.equal(later.adminLink, null)
  t.equal(later.file, null)
  t.notOk(existsSync(stale), 'a stale file is deleted')
  t.equal(out.text(), '', 'and nothing is printed')
})

t.test('links that expired unused: the file is deleted too', async (t) => {
  const fresh = await buildTestApp(t)
  const file = join(dir, 'expired.txt')
  const published = await publishFirstRunLinks(fresh.app.database.db, { publicOrigin: fresh.app.config.publicOrigin, file, out: output(false), watchEveryMs: null })
  t.equal(await published.check(Date.now() + 30 * 60_000), false, 'within the hour it stays')
  t.equal(await published.check(Date.now() + 61 * 60_000), true, 'after the hour it goes')
  t.notOk(existsSync(file))
})

t.test('a file that cannot be written: the links are not printed instead (unless on a terminal)', async (t) => {
  const fresh = await buildTestApp(t)
  const blocker = join(dir, 'not-a-folder')
  writeFileSync(blocker, '')
  const out = output(false)
  const published = await publishFirstRunLinks(fresh.app.database.db, { publicOrigin: fresh.app.config.publicOrigin, file: join(blocker, 'links.txt'), out, watchEveryMs: null })
  t.ok(published.setupLink !== null && published.adminLink !== null)
  t.equal(published.file, null)
  t.match(out.text(), /could not be written to .*not-a-folder\/links\.txt \(E[A-Z]+\)\. Set FIRST_RUN_FILE/)
  t.notMatch(out.text(), /\/staff\/(setup|enrol)\//, 'no link on a log')
})
