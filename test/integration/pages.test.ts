import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { readManifest } from '../../server/bundle.ts'
import { HTMX_CONFIG } from '../../views/context.ts'
import { loadGuidance } from '../../server/features/managers/guidance.ts'
import { buildTestApp } from '../helpers/app.ts'

const { app } = await buildTestApp(t, { env: { QUICK_EXIT_URL: 'https://www.bbc.co.uk/weather' } })

const page = (url: string) => app.inject({ method: 'GET', url, headers: { accept: 'text/html' } })
const pages: Record<string, Awaited<ReturnType<typeof page>>> = {
  landing: await page('/'),
  'not found': await page('/nowhere'),
  report: await page('/report'),
  return: await page('/return'),
  'managers index': await page('/managers'),
  'managers ask': await page('/managers/ask'),
  'managers card': await page('/managers/card'),
  safety: await page('/safety'),
  information: await page('/information'),
}
for (const guide of loadGuidance()) pages[`managers ${guide.slug}`] = await page(`/managers/${guide.slug}`)

for (const [name, response] of Object.entries(pages)) {
  t.test(`${name} page: no inline script or style, assets only from the portal, quick exit present`, async (t) => {
    const html = response.body
    t.match(html, /^<!doctype html><html lang="en-GB">/)
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)]
    t.ok(scripts.length >= 2)
    for (const [, attributes, body] of scripts) {
      t.match(attributes, /\ssrc="\/static\/[A-Za-z0-9.-]+\.js"/, 'every script is a file from /static')
      t.equal(body, '', 'no inline script')
    }
    t.notMatch(html, /<style\b/i, 'no <style> element')
    t.notMatch(html, /\sstyle=/i, 'no style attribute')
    t.notMatch(html, /\son[a-z]+=/i, 'no inline event handler')
    t.notMatch(html, /(src|href)="(https?:)?\/\/(?!www\.bbc\.co\.uk\/weather")/, 'nothing loaded from another host')
    t.match(html, `<link rel="stylesheet" href="${app.pageContext.assets.css}"/>`)
    t.match(html, `<meta name="sd-evidence-worker" content="${app.pageContext.assets.evidenceWorker}"/>`)
    t.match(html, /<a class="quick-exit__button" href="https:\/\/www.bbc.co.uk\/weather" rel="noreferrer nofollow" data-quick-exit="">Leave this site<\/a>/)
    t.match(html, /Or press Shift three times/)
    t.match(html, /call <strong>999<\/strong>/)
  })
}

t.test('htmx is configured safely through its meta tag', async (t) => {
  const meta = /<meta name="htmx-config" content="([^"]+)"\/>/.exec(pages.landing!.body)?.[1]
  t.ok(meta)
  const config = JSON.parse((meta ?? '').replaceAll('&#34;', '"')) as Record<string, unknown>
  t.same(config, JSON.parse(HTMX_CONFIG))
  t.match(config, {
    allowEval: false,
    allowScriptTags: false,
    historyEnabled: false,
    historyCacheSize: 0,
    selfRequestsOnly: true,
    includeIndicatorStyles: false,
  })
})

t.test('the landing page says what the portal is, who runs it, who can read it, and that it is not open yet', async (t) => {
  const html = pages.landing!.body
  t.match(html, /<h1>Confidential support if you are experiencing domestic abuse<\/h1>/)
  t.match(html, /Independent Domestic Violence Advisors \(IDVAs\)/)
  t.match(html, /work for a charity, not for the police/)
  t.match(html, /Nobody in the force can read it/)
  t.match(html, /Nothing goes to anyone who investigates unless you agree/)
  t.match(html, /The portal is not open yet/)
  t.match(html, /0808 2000 247/)
})

t.test('the bundle is served from the portal itself, under content-hashed names', async (t) => {
  const require = createRequire(import.meta.url)
  const { assets } = app.pageContext
  const htmx = await app.inject({ method: 'GET', url: assets.htmx })
  t.equal(htmx.statusCode, 200)
  t.match(htmx.headers['content-type'], /^text\/javascript/)
  t.equal(htmx.body, readFileSync(require.resolve('htmx.org/dist/htmx.min.js'), 'utf8'), 'the packaged htmx, unchanged')

  const manifest = readManifest()
  t.ok(manifest, 'dist/public/manifest.json exists')
  for (const file of manifest?.files ?? []) {
    const response = await app.inject({ method: 'GET', url: `/static/${file.name}` })
    t.equal(response.statusCode, 200, file.name)
    const sha256 = createHash('sha256').update(response.rawPayload).digest('hex')
    t.equal(sha256, file.sha256, `${file.name} is what the manifest says`)
    t.equal(response.headers['x-content-sha256'], sha256, 'its hash is published in a header')
    t.ok(file.name.includes(sha256.slice(0, 10)) || /-[A-Z0-9]{8}\.js$/.test(file.name), 'the name carries a content hash')
  }
  const bundle = await app.inject({ method: 'GET', url: assets.app })
  t.match(bundle.body, /data-quick-exit/, 'the entry module carries the quick exit')

  const css = await app.inject({ method: 'GET', url: assets.css })
  t.match(css.headers['content-type'], /^text\/css/)
  t.match(css.body, /html\.is-leaving/)
  const unknown = await app.inject({ method: 'GET', url: '/static/app.js' })
  t.equal(unknown.statusCode, 404, 'nothing is served under an unhashed name')
})

t.test('the leave beacon clears site data and refuses other sites', async (t) => {
  const same = await app.inject({ method: 'POST', url: '/leave', headers: { 'sec-fetch-site': 'same-origin' } })
  t.equal(same.statusCode, 204)
  t.equal(same.headers['clear-site-data'], '"cache", "cookies", "storage"')
  const cross = await app.inject({ method: 'POST', url: '/leave', headers: { 'sec-fetch-site': 'cross-site' } })
  t.equal(cross.statusCode, 403)
  t.notOk(cross.headers['clear-site-data'])
})
