/**
 * npm run bundle:check -- PORTAL_URL [--expect BUNDLE_HASH]
 *
 * Checks that a running portal serves exactly the browser bundle built from this checkout (or, with
 * --expect, the one whose hash was published): fetches every file of the bundle from the portal,
 * hashes it, and checks that its pages (the start page and an error page) load these files and
 * nothing else: no other script, stylesheet or worker, from any path or host, and no inline script.
 * A check, not a guarantee: a portal could serve something else to someone else at another time.
 *
 * Exit codes: 0 the portal serves this bundle, 1 it does not, 2 bad usage or the portal could not be
 * reached.
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { computeBundleHash, ensureBundle, type BundleFile } from '../server/bundle.ts'

function usage(message: string): never {
  process.stderr.write(`bundle:check: ${message}\nusage: npm run bundle:check -- PORTAL_URL [--expect BUNDLE_HASH]\n`)
  process.exit(2)
}

let origin: URL
let expect: string | undefined
try {
  const { values, positionals } = parseArgs({ options: { expect: { type: 'string' } }, allowPositionals: true })
  if (positionals.length !== 1) usage('give the portal address')
  origin = new URL(positionals[0]!)
  if (values.expect !== undefined && !/^[0-9a-f]{64}$/.test(values.expect)) usage('--expect takes a 64-character hex hash')
  expect = values.expect
} catch (error) {
  usage((error as Error).message)
}

async function fetchBytes(path: string, anyStatus = false): Promise<Buffer> {
  let response: Response
  try {
    response = await fetch(new URL(path, origin), { redirect: 'error', headers: { accept: 'text/html' } })
  } catch (error) {
    process.stderr.write(`bundle:check: could not reach ${origin.origin}: ${(error as Error).message}\n`)
    process.exit(2)
  }
  if (!response.ok && !anyStatus) throw new Error(`${path} answered ${response.status}`)
  return Buffer.from(await response.arrayBuffer())
}

const manifest = await ensureBundle()
const problems: string[] = []
const served: BundleFile[] = []
for (const file of manifest.files) {
  try {
    const sha256 = createHash('sha256').update(await fetchBytes(`/static/${file.name}`)).digest('hex')
    served.push({ ...file, sha256 })
    if (sha256 !== file.sha256) problems.push(`${file.name} differs (served ${sha256})`)
  } catch (error) {
    problems.push((error as Error).message)
  }
}

/** Attributes of every tag named `name` in `html` (any quoting, any order). */
function tags(html: string, name: string): { attributes: Map<string, string>; body: string }[] {
  const found: { attributes: Map<string, string>; body: string }[] = []
  const pattern = new RegExp(`<${name}\\b([^>]*)>`, 'gi')
  for (const match of html.matchAll(pattern)) {
    const attributes = new Map<string, string>()
    for (const attribute of (match[1] ?? '').matchAll(/([^\s=/>]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?/g)) {
      attributes.set(attribute[1]!.toLowerCase(), attribute[2] ?? attribute[3] ?? attribute[4] ?? '')
    }
    const close = name === 'script' ? html.indexOf('</script>', (match.index ?? 0) + match[0].length) : -1
    found.push({ attributes, body: close === -1 ? '' : html.slice((match.index ?? 0) + match[0].length, close) })
  }
  return found
}

const known = new Set(manifest.files.map((file) => file.name))
/** The bundle file a reference names, or null when it names anything else (another path or host). */
function bundleFile(reference: string): string | null {
  const url = new URL(reference, origin)
  if (url.origin !== origin.origin || !url.pathname.startsWith('/static/') || url.search !== '') return null
  const name = url.pathname.slice('/static/'.length)
  return known.has(name) ? name : null
}

// The start page and an error page: every script, stylesheet and worker they load must be ours.
const loaded = new Set<string>()
for (const path of ['/', '/bundle-check-no-such-page']) {
  const html = (await fetchBytes(path, true)).toString('utf8')
  const references: string[] = []
  for (const script of tags(html, 'script')) {
    const src = script.attributes.get('src')
    if (src === undefined) {
      if (script.body.trim() !== '' && script.attributes.get('type') !== 'application/json') problems.push(`${path} has an inline script`)
    } else references.push(src)
  }
  for (const link of tags(html, 'link')) {
    const href = link.attributes.get('href')
    if (href !== undefined && /stylesheet|preload|modulepreload|prefetch/i.test(link.attributes.get('rel') ?? '')) references.push(href)
  }
  for (const meta of tags(html, 'meta')) if (meta.attributes.get('name') === 'sd-evidence-worker' || meta.attributes.get('name') === 'sd-puzzle-worker') references.push(meta.attributes.get('content') ?? '')
  for (const reference of references) {
    const name = bundleFile(reference)
    if (name === null) problems.push(`${path} loads ${reference}, which is not part of this bundle`)
    else loaded.add(name)
  }
}
for (const name of Object.values(manifest.entries)) if (!loaded.has(name)) problems.push(`the pages do not load ${name}`)

const servedHash = computeBundleHash(served)
if (expect !== undefined && servedHash !== expect) problems.push(`the served bundle hash ${servedHash} is not the expected ${expect}`)

if (problems.length > 0) {
  process.stdout.write(`${origin.origin} does NOT serve this bundle:\n${problems.map((problem) => `  - ${problem}\n`).join('')}`)
  process.exit(1)
}
process.stdout.write(`${origin.origin} serves bundle ${servedHash} (${served.length} files)\n`)
