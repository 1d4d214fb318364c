import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { baseUrl, buildTestApp } from '../helpers/app.ts'
import { isolatedContext, launchChromium } from '../helpers/browser.ts'

const NEUTRAL = 'https://www.bbc.co.uk/weather'
const BEFORE = 'https://example.org/start'

const browser = await launchChromium(t)
if (browser !== null) {
  const { app, logs } = await buildTestApp(t, { listen: true, env: { QUICK_EXIT_URL: NEUTRAL } })
  const portal = baseUrl(app)

  /** Opens a neutral page first, then the portal, so we can see where Back goes afterwards. */
  async function openPortal(t: Test): Promise<{ page: Page; problems: string[]; offsite: string[]; blanked: unknown[] }> {
    const { context, offsite } = await isolatedContext(browser!, portal)
    t.teardown(() => context.close())
    // Watch the portal page at the moment it starts leaving: what would someone glancing at the
    // screen see while the neutral site loads?
    const blanked: unknown[] = []
    await context.exposeFunction('reportLeaving', (state: unknown) => blanked.push(state))
    await context.addInitScript(() => {
      const report = (window as unknown as { reportLeaving: (state: unknown) => void }).reportLeaving
      new MutationObserver(() => {
        const main = document.querySelector('main')
        if (main !== null && document.documentElement.classList.contains('is-leaving')) {
          report({ mainDisplay: getComputedStyle(main).display, title: document.title })
        }
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ['class'] })
    })
    // The neutral site answers only once the portal page has reported going blank (or after 3 s),
    // so the report cannot be lost to the navigation, and "blank before the next site" is real.
    await context.route(NEUTRAL, async (route) => {
      for (let waited = 0; blanked.length === 0 && waited < 3_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20))
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Weather</title><h1>Weather forecast</h1>' })
    })
    const page = await context.newPage()
    const problems: string[] = []
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))
    await page.goto(BEFORE)
    await page.goto(`${portal}/`)
    await page.waitForFunction(() => 'htmx' in window)
    return { page, problems, offsite: offsite.requests, blanked }
  }

  t.test('the landing page loads with no CSP violation, no script error and nothing from other hosts', async (t) => {
    const { page, problems, offsite } = await openPortal(t)
    t.equal(await page.title(), 'Staff support')
    t.same(problems, [], 'no console errors or CSP violations')
    t.same(offsite.filter((url) => url !== BEFORE), [], 'no request to any other host')
    const config = await page.evaluate(() => {
      const htmx = (window as unknown as { htmx: { config: Record<string, unknown> } }).htmx
      return {
        allowEval: htmx.config.allowEval,
        allowScriptTags: htmx.config.allowScriptTags,
        historyEnabled: htmx.config.historyEnabled,
        historyCacheSize: htmx.config.historyCacheSize,
        selfRequestsOnly: htmx.config.selfRequestsOnly,
        includeIndicatorStyles: htmx.config.includeIndicatorStyles,
      }
    })
    t.same(config, {
      allowEval: false,
      allowScriptTags: false,
      historyEnabled: false,
      historyCacheSize: 0,
      selfRequestsOnly: true,
      includeIndicatorStyles: false,
    })
    t.equal(await page.evaluate(() => localStorage.length), 0, 'nothing kept in localStorage')
    const button = page.getByRole('link', { name: 'Leave this site' })
    t.ok(await button.isVisible(), 'the quick exit button is visible')
  })

  t.test('the button blanks the page, replaces it with a neutral site, and Back does not return', async (t) => {
    const { page, blanked } = await openPortal(t)
    const beacon = page.waitForRequest((request) => request.url() === `${portal}/leave` && request.method() === 'POST')
    await page.getByRole('link', { name: 'Leave this site' }).click()
    await page.waitForURL(NEUTRAL)
    t.equal(await page.textContent('h1'), 'Weather forecast')
    t.same(blanked, [{ mainDisplay: 'none', title: '' }], 'the portal page went blank at once')
    t.ok(await beacon, 'the browser asked the portal to clear its site data')
    await page.goBack()
    t.equal(page.url(), BEFORE, 'Back goes to the page before the portal, not to the portal')
  })

  t.test('after several pages of the portal, Back still goes to the page before it', async (t) => {
    const { page } = await openPortal(t)
    const entries = await page.evaluate(() => history.length)
    await page.click('a[href="/safety"]')
    await page.waitForURL(`${portal}/safety`)
    await page.click('a.site-header__name')
    await page.waitForURL(`${portal}/`)
    await page.click('a[href="/managers"]')
    await page.waitForURL(`${portal}/managers`)
    await page.focus('a[href="#main"]')
    await page.keyboard.press('Enter')
    await page.getByRole('link', { name: 'Leave this site' }).click()
    await page.waitForURL(NEUTRAL)
    await page.goBack()
    t.equal(page.url(), BEFORE, 'Back goes to the page before the portal')
    t.equal(await page.evaluate(() => history.length), entries, 'the whole visit took one history entry, now the neutral site')
  })

  t.test('no page title says what the site is about', async (t) => {
    const { page } = await openPortal(t)
    for (const path of ['/', '/report', '/return', '/safety', '/managers', '/managers/ask', '/no-such-page']) {
      await page.goto(`${portal}${path}`)
      t.notMatch(await page.title(), /abuse|violence|disclos|report|IDVA/i, path)
    }
    const guides = await page.evaluate(() => fetch('/managers').then((response) => response.text()))
    for (const href of [...guides.matchAll(/href="(\/managers\/[a-z-]+)"/g)].map((match) => match[1]!)) {
      await page.goto(`${portal}${href}`)
      t.notMatch(await page.title(), /abuse|violence|disclos|IDVA/i, href)
    }
  })

  t.test('pressing Shift three times leaves, and blanks the page at once', async (t) => {
    const { page, blanked } = await openPortal(t)
    await page.keyboard.press('Shift')
    await page.keyboard.press('Shift')
    await page.keyboard.press('Shift')
    await page.waitForURL(NEUTRAL)
    t.same(blanked, [{ mainDisplay: 'none', title: '' }], 'the portal page went blank before the neutral site loaded')
    await page.goBack()
    t.equal(page.url(), BEFORE, 'Back does not return to the portal')
  })

  t.test('Shift pressed twice, or interrupted by another key, does not leave', async (t) => {
    const { page } = await openPortal(t)
    await page.keyboard.press('Shift')
    await page.keyboard.press('Shift')
    await page.keyboard.press('a')
    await page.keyboard.press('Shift')
    await page.waitForTimeout(300)
    t.equal(page.url(), `${portal}/`)
    t.notOk(await page.evaluate(() => document.documentElement.classList.contains('is-leaving')))
  })

  t.test('the quick exit is reachable by keyboard', async (t) => {
    const { page } = await openPortal(t)
    await page.keyboard.press('Tab') // skip link
    await page.keyboard.press('Tab')
    t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Leave this site')
    await page.keyboard.press('Enter')
    await page.waitForURL(NEUTRAL)
  })

  t.test('the portal logged no address or browser details while the browser used it', async (t) => {
    t.notMatch(logs.text(), /HeadlessChrome|Mozilla|127\.0\.0\.1:\d+.*reqId/)
  })
}
