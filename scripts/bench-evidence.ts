/**
 * Benchmark: locking (encrypting) evidence files in the browser, with WebAssembly and without it
 * (issue 21). A locked-down phone (iPhone Lockdown Mode, Tor Browser's Safer level) has no JIT and
 * so no WebAssembly; the reporter's cryptography then runs in plain JavaScript (crypto/sodium-js.ts).
 *
 *   npm run bench:evidence                      1, 5 and 25 MiB, each three times, in both browsers
 *   npm run bench:evidence -- --sizes 1,5 --runs 1
 *
 * Starts a portal (scripts/lib/bench-portal.ts), opens /report in Debian's Chromium, once as it is
 * and once with `--js-flags=--jitless` (where `typeof WebAssembly` is "undefined"), and has the
 * page's own evidence worker (client/evidence-worker.ts, the file the page names) lock files of
 * random bytes; prints the median time of each size, and each path's seconds per 10 MB. A
 * benchmark, not a test: README "Locked-down browsers" carries its latest table.
 */
import { chromium, type Page } from 'playwright-core'
import { availableParallelism, cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { CHROMIUM_FLAGS, CHROMIUM_PATH, JITLESS } from '../test/helpers/browser.ts'
import { startBenchPortal } from './lib/bench-portal.ts'

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1,5,25' }, runs: { type: 'string', default: '3' } } })
const SIZES = values.sizes.split(',').map(Number)
const RUNS = Number(values.runs)
if (SIZES.some((size) => !(size > 0 && size <= 25)) || !(RUNS >= 1)) {
  process.stderr.write('usage: npm run bench:evidence -- [--sizes 1,5,25] [--runs 3]   (sizes in MiB, at most 25)\n')
  process.exit(2)
}
const say = (line: string) => process.stderr.write(`bench:evidence: ${line}\n`)

/** Milliseconds the page's evidence worker takes to lock `mebibytes` of random bytes. */
async function lockOnce(page: Page, mebibytes: number): Promise<number> {
  return page.evaluate(async (size) => {
    const url = document.querySelector<HTMLMetaElement>('meta[name="sd-evidence-worker"]')!.content
    const bytes = new Uint8Array(size * 1024 * 1024)
    for (let offset = 0; offset < bytes.length; offset += 65_536) crypto.getRandomValues(bytes.subarray(offset, offset + 65_536))
    const file = new Blob([bytes])
    const worker = new Worker(url, { type: 'module' })
    try {
      const began = performance.now()
      await new Promise<void>((resolve, reject) => {
        worker.onmessage = (event: MessageEvent<{ result?: Blob; error?: { message: string } }>) => {
          if (event.data.result !== undefined) resolve()
          else if (event.data.error !== undefined) reject(new Error(event.data.error.message))
        }
        worker.postMessage({ id: 1, op: 'encrypt', file, fileId: crypto.getRandomValues(new Uint8Array(16)), key: crypto.getRandomValues(new Uint8Array(32)) })
      })
      return performance.now() - began
    } finally {
      worker.terminate()
    }
  }, mebibytes)
}

const portal = await startBenchPortal({ name: 'evidence', env: {} })
const rows: { path: string; size: number; ms: number }[] = []
try {
  for (const [path, args] of [['with WebAssembly', []], ['without WebAssembly (--jitless)', JITLESS]] as const) {
    const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: [...CHROMIUM_FLAGS, ...args] })
    try {
      const page = await browser.newPage()
      await page.goto(`${portal.origin}/report`)
      const webAssembly = await page.evaluate(() => typeof WebAssembly)
      say(`${path}: typeof WebAssembly is "${webAssembly}"`)
      await lockOnce(page, 1) // warm-up: the worker's first start loads the cryptography
      for (const size of SIZES) {
        const times: number[] = []
        for (let run = 0; run < RUNS; run++) times.push(await lockOnce(page, size))
        times.sort((a, b) => a - b)
        rows.push({ path, size, ms: times[Math.floor(times.length / 2)]! })
        say(`${path}: ${size} MiB in ${(rows.at(-1)!.ms / 1000).toFixed(2)} s (median of ${RUNS})`)
      }
    } finally {
      await browser.close()
    }
  }
} finally {
  await portal.cleanUp()
}

const cpu = cpus()[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU'
process.stdout.write(`\nbench:evidence: Chromium (${CHROMIUM_PATH}), ${availableParallelism()} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB; median of ${RUNS} a size\n\n`)
process.stdout.write(`${'path'.padEnd(34)}${SIZES.map((size) => `${size} MiB`.padStart(10)).join('')}   seconds per 10 MB\n`)
for (const path of new Set(rows.map((row) => row.path))) {
  const mine = rows.filter((row) => row.path === path)
  const largest = mine.at(-1)!
  const perTen = (largest.ms / 1000 / (largest.size * 1.048576)) * 10
  process.stdout.write(`${path.padEnd(34)}${mine.map((row) => `${(row.ms / 1000).toFixed(2)} s`.padStart(10)).join('')}   ${perTen.toFixed(1)}\n`)
}
