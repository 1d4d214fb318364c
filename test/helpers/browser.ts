import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext } from 'playwright-core'
import type { Test } from 'tap'

/**
 * Real Chromium (Debian's package; nothing downloads a browser). Without it the browser tests are
 * skipped with a note, unless REQUIRE_BROWSER_TESTS=1 (set by .ci/run), when they fail instead.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
]

export async function launchChromium(t: Test): Promise<Browser | null> {
  if (!existsSync(CHROMIUM_PATH)) {
    if (process.env.REQUIRE_BROWSER_TESTS === '1') {
      t.fail(`Chromium is required but not found at ${CHROMIUM_PATH} (apt-get install chromium)`)
    } else {
      t.pass('browser tests', { skip: `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium to run them)` })
    }
    return null
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: FLAGS })
  t.teardown(() => browser.close())
  return browser
}

export interface OffsiteLog {
  /** Requests the page tried to make to anywhere but the portal (each is answered by the test). */
  readonly requests: string[]
}

/**
 * A fresh context in which only the portal is reachable. Other hosts are answered with a tiny
 * neutral page (so the quick exit has somewhere to land) and recorded.
 */
export async function isolatedContext(browser: Browser, portalOrigin: string, options: { bypassCSP?: boolean } = {}): Promise<{ context: BrowserContext; offsite: OffsiteLog }> {
  // bypassCSP only for injecting axe-core; every other context runs under the portal's CSP.
  const context = await browser.newContext({ serviceWorkers: 'block', bypassCSP: options.bypassCSP === true })
  const offsite: OffsiteLog = { requests: [] }
  await context.route('**/*', async (route) => {
    const url = route.request().url()
    if (url.startsWith(portalOrigin)) return route.continue()
    offsite.requests.push(url)
    return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Weather</title><h1>Weather forecast</h1>' })
  })
  return { context, offsite }
}
