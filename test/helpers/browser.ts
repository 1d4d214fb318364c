import { existsSync, readFileSync } from 'node:fs'
import type { IncomingMessage } from 'node:http'
import { createRequire } from 'node:module'
import type { FastifyInstance } from 'fastify'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { codeAt } from './staff.ts'
import type { Test } from 'tap'

/**
 * Real Chromium (Debian's package; nothing downloads a browser). Without it the browser tests are
 * skipped with a note, unless REQUIRE_BROWSER_TESTS=1 (set by .ci/run), when they fail instead.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
]

/**
 * Chromium as a locked-down phone's browser is, for the reporter's cryptography: no JIT, and so no
 * WebAssembly (`typeof WebAssembly` is "undefined"), as iPhone Lockdown Mode and Tor Browser's Safer
 * level leave a page.
 */
export const JITLESS = ['--js-flags=--jitless']

export async function launchChromium(t: Test, options: { args?: readonly string[] } = {}): Promise<Browser | null> {
  if (!existsSync(CHROMIUM_PATH)) {
    if (process.env.REQUIRE_BROWSER_TESTS === '1') {
      t.fail(`Chromium is required but not found at ${CHROMIUM_PATH} (apt-get install chromium)`)
    } else {
      t.pass('browser tests', { skip: `Chromium not found at ${CHROMIUM_PATH} (apt-get install chromium to run them)` })
    }
    return null
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_FLAGS, ...(options.args ?? [])] })
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

/** Signs a seeded member in through the real login page (passphrase and authenticator code). */
export async function signIn(page: Page, origin: string, member: { username: string; passphrase: string; totpSecret: Buffer; step?: number }): Promise<void> {
  await page.goto(`${origin}/staff/login`)
  await page.waitForSelector('[data-submit]:not([disabled])')
  await page.fill('#username', member.username)
  await page.fill('#passphrase', member.passphrase)
  await page.fill('#code', codeAt(member.totpSecret, member.step ?? 0))
  await page.click('[data-submit]')
  await page.waitForURL(`${origin}/staff`, { timeout: 60_000 })
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8')

/** axe-core (from its npm package) over the page: no WCAG 2.2 AA violation. Needs a bypassCSP context. */
export async function axe(t: Test, page: Page, what: string): Promise<void> {
  await page.evaluate(axeSource)
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: unknown): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } })
  })
  t.same(result.violations.map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`), [], `no WCAG 2.2 AA violations: ${what}`)
}

/**
 * Pages for one test file, each in its own isolated context (closed at teardown), with every script
 * error, console warning and off-site request collected for a final check.
 */
export class PageWatch {
  readonly problems: string[] = []
  readonly offsite: string[][] = []

  constructor(
    private readonly t: Test,
    private readonly browser: Browser,
    private readonly origin: string,
  ) {}

  async newPage(options: { bypassCSP?: boolean } = {}): Promise<Page> {
    const { context, offsite } = await isolatedContext(this.browser, this.origin, options)
    this.t.teardown(() => context.close())
    this.offsite.push(offsite.requests)
    const page = await context.newPage()
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') this.problems.push(`${page.url()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => this.problems.push(error.message))
    // The portal never opens a dialog; one would block the page, and would mean injected script ran.
    page.on('dialog', (dialog) => {
      this.problems.push(`${page.url()}: dialog: ${dialog.message()}`)
      void dialog.dismiss()
    })
    return page
  }
}

/**
 * Every request body the app receives (requests without one are left out), byte for byte as it comes off the socket, before anything
 * reads it (evidence uploads reach their handler as a stream, so a hook cannot simply look at the
 * body): for the canary checks, that a phrase typed in the browser reached the server in no form.
 * Call from buildTestApp's `extend`.
 */
export function recordRequestBodies(app: FastifyInstance, received: (url: string, body: Buffer) => void): void {
  app.server.prependListener('request', (message: IncomingMessage) => {
    const chunks: Buffer[] = []
    const push = message.push.bind(message)
    message.push = (chunk: Buffer | null, encoding?: BufferEncoding) => {
      if (chunk === null) {
        if (chunks.length > 0) received(message.url ?? '', Buffer.concat(chunks))
      }
      else chunks.push(Buffer.from(chunk))
      return push(chunk, encoding)
    }
  })
}
