import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { basename, join, relative, resolve } from 'node:path'
import { brotliCompressSync, brotliDecompressSync, constants as zlib, gunzipSync, gzipSync } from 'node:zlib'

/**
 * The browser bundle: esbuild bundles client/ (with crypto/ and libsodium) into content-hashed
 * files under dist/public, with the stylesheet and htmx copied beside them under hashed names, and
 * a manifest. `npm run build` makes it; the server and the tests make it when it is missing or
 * older than its sources (a hash of every input is kept in the manifest).
 *
 * Files are named by their content, so they can be cached for a year; the pages that name them are
 * never cached. Each file is also written compressed, once, at the highest levels (`name.gz`, gzip
 * level 9, and `name.br`, brotli quality 11; 9 for a file over 600 KiB), and served by negotiation (plugins/static-assets.ts);
 * the manifest and the bundle hash name the uncompressed files, and loading checks that each
 * compressed copy opens to exactly its file. `bundleHash` (npm run bundle:hash) is one SHA-256 over every file's name and hash,
 * to publish and compare with what a live portal serves (npm run bundle:check).
 */

const ROOT = resolve(import.meta.dirname, '..')
export const BUNDLE_DIR = join(ROOT, 'dist', 'public')
const MANIFEST = 'manifest.json'
const require = createRequire(import.meta.url)

export interface BundleFile {
  readonly name: string
  readonly sha256: string
  readonly contentType: string
}

export interface Manifest {
  readonly inputsHash: string
  /** Logical name -> hashed file name, for the pages to reference. */
  readonly entries: { readonly app: string; readonly evidenceWorker: string; readonly puzzleWorker: string; readonly css: string; readonly htmx: string }
  readonly files: readonly BundleFile[]
  /** SHA-256 over every "name sha256" line, sorted: the one value to publish. */
  readonly bundleHash: string
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex')
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(join(dir, entry.name)) : [join(dir, entry.name)]))
    .sort()
}

function packageVersion(name: string): string {
  let folder = resolve(require.resolve(name), '..')
  while (!existsSync(join(folder, 'package.json'))) folder = resolve(folder, '..')
  return (JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { version: string }).version
}

/** A hash of everything the bundle is made from: sources, stylesheet, and the tools' versions. */
export function bundleInputsHash(): string {
  const hash = createHash('sha256')
  // This file too: it holds the build options.
  const files = [...listFiles(join(ROOT, 'client')), ...listFiles(join(ROOT, 'crypto')), ...listFiles(join(ROOT, 'public')), join(ROOT, 'server/bundle.ts')]
  for (const file of files) hash.update(`${relative(ROOT, file)}\0`).update(readFileSync(file)).update('\0')
  // libsodium and libsodium-sumo hold the WebAssembly the wrappers load.
  for (const name of ['esbuild', 'htmx.org', 'libsodium-wrappers', 'libsodium-wrappers-sumo', 'libsodium', 'libsodium-sumo', '@zxcvbn-ts/core', '@zxcvbn-ts/language-common', '@zxcvbn-ts/language-en']) {
    hash.update(`${name}@${packageVersion(name)}\0`)
  }
  return hash.digest('hex')
}

function contentTypeOf(name: string): string {
  if (name.endsWith('.js')) return 'text/javascript; charset=utf-8'
  if (name.endsWith('.css')) return 'text/css; charset=utf-8'
  throw new Error(`unexpected file in the bundle: ${name}`)
}

export function computeBundleHash(files: readonly BundleFile[]): string {
  return sha256(
    files
      .map((file) => `${file.name} ${file.sha256}\n`)
      .sort()
      .join(''),
  )
}

/** Builds into a fresh folder, then swaps it in, so a reader never sees half a bundle. */
export async function buildBundle(dir: string = BUNDLE_DIR): Promise<Manifest> {
  const inputsHash = bundleInputsHash()
  const staging = `${dir}.building-${process.pid}-${Date.now()}`
  mkdirSync(staging, { recursive: true })
  try {
    const result = await build({
      entryPoints: { app: join(ROOT, 'client/main.ts'), 'evidence-worker': join(ROOT, 'client/evidence-worker.ts'), 'puzzle-worker': join(ROOT, 'client/puzzle-worker.ts') },
      outdir: staging,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      legalComments: 'none',
      entryNames: '[name]-[hash]',
      chunkNames: 'chunk-[hash]',
      metafile: true,
      logLevel: 'silent',
    })
    const outputs = Object.entries(result.metafile.outputs)
    const entryFile = (entry: string) => {
      const output = outputs.find(([, meta]) => meta.entryPoint !== undefined && resolve(ROOT, meta.entryPoint) === join(ROOT, entry))
      if (output === undefined) throw new Error(`esbuild produced no output for ${entry}`)
      return basename(output[0])
    }
    const copy = (source: string, stem: string, extension: string) => {
      const content = readFileSync(source)
      const name = `${stem}-${sha256(content).slice(0, 10)}${extension}`
      writeFileSync(join(staging, name), content)
      return name
    }
    const entries = {
      app: entryFile('client/main.ts'),
      evidenceWorker: entryFile('client/evidence-worker.ts'),
      puzzleWorker: entryFile('client/puzzle-worker.ts'),
      css: copy(join(ROOT, 'public/app.css'), 'app', '.css'),
      htmx: copy(require.resolve('htmx.org/dist/htmx.min.js'), 'htmx', '.min.js'),
    }
    const files: BundleFile[] = readdirSync(staging)
      .sort()
      .map((name) => ({ name, sha256: sha256(readFileSync(join(staging, name))), contentType: contentTypeOf(name) }))
    for (const file of files) {
      const content = readFileSync(join(staging, file.name))
      writeFileSync(join(staging, `${file.name}.gz`), gzipSync(content, { level: 9 }))
      writeFileSync(
        join(staging, `${file.name}.br`),
        // Quality 11, except for the one file over 600 KiB (zxcvbn's English dictionary, loaded only
        // where a passphrase is chosen): 9 makes it 5% larger in a tenth of the time (2 s a build).
        brotliCompressSync(content, { params: { [zlib.BROTLI_PARAM_QUALITY]: content.length > 600 * 1024 ? 9 : 11, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_TEXT, [zlib.BROTLI_PARAM_SIZE_HINT]: content.length } }),
      )
    }
    const manifest: Manifest = { inputsHash, entries, files, bundleHash: computeBundleHash(files) }
    writeFileSync(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`)

    const retired = `${dir}.retired-${process.pid}-${Date.now()}`
    if (existsSync(dir)) renameSync(dir, retired)
    try {
      renameSync(staging, dir)
    } catch (error) {
      // Another process swapped in the same build first; theirs is identical, so keep it.
      if (!existsSync(join(dir, MANIFEST))) throw error
    }
    rmSync(retired, { recursive: true, force: true })
    return manifest
  } finally {
    rmSync(staging, { recursive: true, force: true })
  }
}

export function readManifest(dir: string = BUNDLE_DIR): Manifest | null {
  try {
    return JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest
  } catch {
    return null
  }
}

/** The current bundle, built first if it is missing or out of date. */
export async function ensureBundle(dir: string = BUNDLE_DIR): Promise<Manifest> {
  const manifest = readManifest(dir)
  const present = (name: string) => [name, `${name}.gz`, `${name}.br`].every((file) => existsSync(join(dir, file)))
  if (manifest !== null && manifest.inputsHash === bundleInputsHash() && manifest.files.every((file) => present(file.name))) {
    return manifest
  }
  return buildBundle(dir)
}

export interface Asset {
  readonly body: Buffer
  /** The same file, gzipped and brotli-compressed at build. */
  readonly gzip: Buffer
  readonly brotli: Buffer
  readonly contentType: string
  readonly sha256: string
}

/**
 * Every file of the bundle, by URL path, read into memory and checked against the manifest: each
 * file's hash, and that its compressed copies open to exactly the same bytes.
 */
export async function loadBundle(dir: string = BUNDLE_DIR): Promise<{ manifest: Manifest; assets: ReadonlyMap<string, Asset> }> {
  const manifest = await ensureBundle(dir)
  const assets = new Map<string, Asset>()
  for (const file of manifest.files) {
    const mismatch = (what: string) => new Error(`dist/public/${what} does not match its manifest; run npm run build`)
    const body = readFileSync(join(dir, file.name))
    if (sha256(body) !== file.sha256) throw mismatch(file.name)
    const gzip = readFileSync(join(dir, `${file.name}.gz`))
    if (sha256(gunzipSync(gzip)) !== file.sha256) throw mismatch(`${file.name}.gz`)
    const brotli = readFileSync(join(dir, `${file.name}.br`))
    if (sha256(brotliDecompressSync(brotli)) !== file.sha256) throw mismatch(`${file.name}.br`)
    assets.set(`/static/${file.name}`, { body, gzip, brotli, contentType: file.contentType, sha256: file.sha256 })
  }
  return { manifest, assets }
}

export function bundleFileSize(name: string, dir: string = BUNDLE_DIR): number {
  return statSync(join(dir, name)).size
}
