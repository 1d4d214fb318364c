import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { base64url, fromUtf8, messageContext, openEnvelope } from '../../crypto/index.ts'
import { seedAccount, seedGrant, seedService } from '../../scripts/lib/staff-fixtures.ts'
import { GuidanceError, loadGuidance } from '../../server/features/managers/guidance.ts'
import { buildTestApp } from '../helpers/app.ts'
import { NOTE, recordBody, TRIAGE } from '../helpers/idva.ts'
import { disclosureBody, newReporter, openCase, sealFromReporter, servicePublic, storedMessage, withPuzzle } from '../helpers/reporter.ts'
import { asStaff, freshAddress, sessionFor } from '../helpers/staff.ts'

/**
 * Line managers: every guidance page renders with the quick exit and every link resolves; the
 * guidance files are checked (names, titles, links; raw HTML shown as text); and a consultation is
 * stored as its own kind of case, exactly like a disclosure, read back at /return.
 */

const { app, serviceKeys } = await buildTestApp(t)
const db = app.database.db
const guides = loadGuidance()

async function get(url: string) {
  return app.inject({ method: 'GET', url, remoteAddress: freshAddress() })
}

t.test('every guide renders, with the quick exit, and every link on every page resolves', async (t) => {
  t.equal(guides.length, 12)
  const index = await get('/managers')
  t.equal(index.statusCode, 200)
  t.equal(index.headers['cache-control'], 'no-store')
  for (const guide of guides) t.match(index.body, `href="/managers/${guide.slug}"`, `the index links to ${guide.slug}`)
  const pages = ['/managers', '/managers/ask', '/managers/card', ...guides.map((guide) => `/managers/${guide.slug}`)]
  const links = new Set<string>()
  for (const url of pages) {
    const page = await get(url)
    t.equal(page.statusCode, 200, url)
    t.match(page.body, /class="quick-exit"/, `${url} has the quick exit`)
    t.match(page.body, /data-print=""|data-page="managers-ask"|data-page="managers"/)
    const main = page.body.slice(page.body.indexOf('<main'), page.body.indexOf('</main>'))
    t.notMatch(main, /href="https?:\/\//, `${url} links only to the portal (the quick exit aside)`)
    for (const match of page.body.matchAll(/href="(\/[^"]*)"/g)) links.add(match[1]!)
  }
  for (const topic of ['coercive', 'male|Men', 'LGBTQ', 'manipulate', 'private matter', 'Are you sure you want to do this', 'down at the station', '999', 'rota|shift', 'parking', 'whereabouts', 'colleague', 'supervisor', 'adjustments', 'leave', 'confidential', 'IDVA', 'consent', 'borough', 'force', 'criminal', 'misconduct', 'yourself', "don't want help|do not want help", 'firearms', 'occupational health', "Clare's Law", 'DVPO|protection order', 'self-refer|refer themselves']) {
    t.ok(guides.some((guide) => new RegExp(topic, 'i').test(guide.html)), `the guidance covers ${topic}`)
  }
  for (const link of links) {
    const response = await get(link)
    t.equal(response.statusCode, 200, `${link} resolves`)
  }
  t.equal((await get('/managers/no-such-guide')).statusCode, 404)
  t.match((await get('/')).body, /href="\/managers"/, 'the landing page links to the guidance')
})

t.test('guidance files are checked: names, titles, summaries, links; raw HTML is only text', async (t) => {
  const folder = () => {
    const path = mkdtempSync(join(tmpdir(), 'sd-guidance-'))
    t.teardown(() => rmSync(path, { recursive: true, force: true }))
    return path
  }
  const cases: [string, string, RegExp][] = [
    ['Bad Name.md', '# Title\n\nSummary.\n', /named NN-slug.md/],
    ['01-no-title.md', 'Summary.\n', /first line must be the title/],
    ['01-no-summary.md', '# Title\n\n## Straight to a heading\n', /followed by a paragraph/],
    ['01-offsite.md', '# Title\n\nSummary with [a link](https://example.org).\n', /is not a page of this portal/],
    ['01-ask.md', '# Title\n\nSummary.\n', /"ask" is the consultation page/],
    ['01-image.md', '# Title\n\nSummary.\n\n![a tracker](https://example.org/pixel.png)\n', /cannot show images/],
  ]
  for (const [name, text, message] of cases) {
    const path = folder()
    writeFileSync(join(path, name), text)
    t.throws(() => loadGuidance(path), { name: 'GuidanceError', message }, name)
  }
  const fresh = folder()
  writeFileSync(join(fresh, '01-safe.md'), '# A <b>title</b>\n\nSummary with **bold** and [a page](/managers/safe).\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[call](tel:08082000247) or [not a link](javascript:alert(1))\n')
  const [page] = loadGuidance(fresh)
  t.equal(page!.summary, 'Summary with bold and a page.', 'the summary is plain text')
  t.notMatch(page!.html, /<script|<img/, 'raw HTML is never rendered')
  t.match(page!.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/, 'it is shown as text')
  t.match(page!.html, /<a href="tel:08082000247">call<\/a>/)
  t.notMatch(page!.html, /href="javascript/, 'a javascript: link is never a link')
  t.throws(() => loadGuidance(join(fresh, 'missing')), GuidanceError)
})

t.test('a consultation is a case of its own kind, sealed like a disclosure, read back at /return', async (t) => {
  const service = await seedService(db, { keys: serviceKeys })
  const idva = await seedAccount(db, app.config.serverSecret, { username: 'idva.one', role: 'idva', groupId: service.id })
  await seedGrant(db, idva, service)
  const manager = await newReporter()
  const caseKeys = { reply: base64url.encode(manager.keys.reply.publicKey), auth: base64url.encode(manager.keys.auth.publicKey) }
  const asked = { v: 1, text: 'A member of my team told me her partner, who is in another team, checks her phone.', answers: { managerRole: 'line_manager', adviceTopics: ['safety_at_work'] }, evidence: [], caseKeys }
  const body = await disclosureBody(manager, servicePublic(service.keys), asked)
  const ask = async (payload: unknown) => app.inject({ method: 'POST', url: '/managers/ask', payload: (await withPuzzle(app, payload)) as Record<string, unknown>, remoteAddress: freshAddress() })

  const asDisclosure = await ask(body)
  t.equal(asDisclosure.statusCode, 400, 'an envelope sealed as a disclosure is not a consultation')
  const consultation = { ...body, ...(await sealFromReporter(manager, servicePublic(service.keys), { kind: 'consultation', content: asked })) }
  t.equal((await ask({ ...consultation, uploads: [{ id: '0f8fad5b-d9cb-469f-a165-70867728950e', token: base64url.encode(new Uint8Array(32)) }] })).statusCode, 400, 'a consultation carries no files')
  const sent = await ask(consultation)
  t.equal(sent.statusCode, 201, sent.body)
  t.equal(sent.json<{ firstReplyTargetDays: number }>().firstReplyTargetDays, app.config.consultationReplyTargetDays)
  const row = await db.selectFrom('cases').select(['kind', 'status']).where('id', '=', manager.caseId).executeTakeFirstOrThrow()
  t.same(row, { kind: 'consultation', status: 'new' })
  const message = await db.selectFrom('case_messages').select(['kind', 'envelope', 'id', 'case_id']).where('case_id', '=', manager.caseId).executeTakeFirstOrThrow()
  t.equal(message.kind, 'consultation')
  const opened = await openEnvelope(await storedMessage(app, message), { caseId: manager.caseId, keys: [service.keys.encryption], expectKind: 'consultation', trustedSigners: [manager.keys.auth.publicKey], context: messageContext(1, message.id) })
  t.match(fromUtf8(opened.plaintext), /checks her phone/, 'the IDVA service can read it')
  t.ok((await db.selectFrom('case_audit_log').select('action').where('object_id', '=', manager.caseId).execute()).some((entry) => entry.action === 'case.consultation_submitted'))

  const session = await openCase(app, manager.keys)
  t.equal(session.status, 200, 'the manager returns with their own code')
  const thread = (await app.inject({ method: 'GET', url: '/return/thread', headers: { cookie: session.cookie }, remoteAddress: freshAddress() })).json<{ kind: string; firstReplyTargetDays: number }>()
  t.equal(thread.kind, 'consultation')
  t.equal(thread.firstReplyTargetDays, app.config.consultationReplyTargetDays, 'told its own reply target')
  const withFile = await app.inject({
    method: 'POST',
    url: '/return/messages',
    payload: { ...(await sealFromReporter(manager, servicePublic(service.keys), { kind: 'reporter_message', seq: 2, content: { v: 1, text: 'more', evidence: [] } })), seq: 2, uploads: [{ id: '0f8fad5b-d9cb-469f-a165-70867728950e', token: base64url.encode(new Uint8Array(32)) }] },
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken },
    remoteAddress: freshAddress(),
  })
  t.equal(withFile.statusCode, 400, 'nor files later, at /return')
  t.match(withFile.json().message, /cannot carry files/)

  const client = await sessionFor(app, idva)
  const queue = await asStaff(app, client, { method: 'GET', url: '/staff/cases?kind=consultation' })
  t.match(queue.body, new RegExp(`data-case-row="${manager.caseId}"`), 'in the IDVA queue as a consultation')
  t.match(queue.body, /Manager consultation/)
  const triage = await asStaff(app, client, { method: 'POST', url: `/staff/cases/${manager.caseId}/records`, payload: await recordBody({ caseId: manager.caseId, kind: 'triage', seq: 1, content: TRIAGE('high'), service: service.keys, riskLevel: 'high' }) })
  t.equal(triage.statusCode, 400, 'a consultation has no risk checklist')
  t.match(triage.json().message, /names nobody/)
  const note = await asStaff(app, client, { method: 'POST', url: `/staff/cases/${manager.caseId}/records`, payload: await recordBody({ caseId: manager.caseId, kind: 'note', seq: 1, content: NOTE('Advised on rota changes'), service: service.keys }) })
  t.equal(note.statusCode, 201, 'but it can have notes')
  const page = await asStaff(app, client, { method: 'GET', url: `/staff/cases/${manager.caseId}` })
  t.notMatch(page.body, /data-form="triage"/, 'no checklist on its page')
  t.match(page.body, /line manager&#39;s consultation|line manager's consultation/)
})
