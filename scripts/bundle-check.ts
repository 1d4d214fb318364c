/**
 * npm run bundle:check -- PORTAL_URL [--expect BUNDLE_HASH]
 *
 * Checks that a running portal serves exactly the browser bundle built from this checkout (or, with
 * --expect, the one whose hash was published): fetches every file of the bundle from the portal,
 * hashes it, and checks that the start page loads these files and no others.
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

async function fetchBytes(path: string): Promise<Buffer> {
  let response: Response
  try {
    response = await fetch(new URL(path, origin), { redirect: 'error' })
  } catch (error) {
    process.stderr.write(`bundle:check: could not reach ${origin.origin}: ${(error as Error).message}\n`)
    process.exit(2)
  }
  if (!response.ok) throw new Error(`${path} answered ${response.status}`)
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

const page = (await fetchBytes('/')).toString('utf8')
const referenced = [...page.matchAll(/(?:src|href|content)="(\/static\/[^"]+)"/g)].map((match) => match[1]!.slice('/static/'.length))
const entries = Object.values(manifest.entries)
for (const name of referenced) if (!manifest.files.some((file) => file.name === name)) problems.push(`the start page loads ${name}, which is not in this bundle`)
for (const name of entries) if (!referenced.includes(name)) problems.push(`the start page does not load ${name}`)

const servedHash = computeBundleHash(served)
if (expect !== undefined && servedHash !== expect) problems.push(`the served bundle hash ${servedHash} is not the expected ${expect}`)

if (problems.length > 0) {
  process.stdout.write(`${origin.origin} does NOT serve this bundle:\n${problems.map((problem) => `  - ${problem}\n`).join('')}`)
  process.exit(1)
}
process.stdout.write(`${origin.origin} serves bundle ${servedHash} (${served.length} files)\n`)
