import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'

/**
 * The static files the portal serves, all from itself: its stylesheet, htmx, and the browser
 * bundle built from client/ with esbuild when the server starts (so what runs is always what is in
 * the repository, with no separate build step to forget). Held in memory; a SHA-256 of each is
 * kept so the served bundle can be compared with a published hash.
 */

export interface Asset {
  readonly body: Buffer
  readonly contentType: string
  readonly sha256: string
}

const ROOT = resolve(import.meta.dirname, '..')
const require = createRequire(import.meta.url)

async function bundleClient(): Promise<Buffer> {
  const result = await build({
    entryPoints: [resolve(ROOT, 'client/main.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  })
  const output = result.outputFiles[0]
  if (output === undefined) throw new Error('the browser bundle was not produced')
  return Buffer.from(output.contents)
}

function asset(body: Buffer, contentType: string): Asset {
  return { body, contentType, sha256: createHash('sha256').update(body).digest('hex') }
}

let loaded: Promise<ReadonlyMap<string, Asset>> | undefined

/** Path -> asset. Built once per process. */
export function loadAssets(): Promise<ReadonlyMap<string, Asset>> {
  loaded ??= (async () => {
    const [app, css, htmx] = await Promise.all([
      bundleClient(),
      readFile(resolve(ROOT, 'public/app.css')),
      readFile(require.resolve('htmx.org/dist/htmx.min.js')),
    ])
    return new Map([
      ['/static/app.js', asset(app, 'text/javascript; charset=utf-8')],
      ['/static/app.css', asset(css, 'text/css; charset=utf-8')],
      ['/static/htmx.min.js', asset(htmx, 'text/javascript; charset=utf-8')],
    ])
  })()
  return loaded
}
