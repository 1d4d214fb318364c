import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBundle, bundleInputsHash, computeBundleHash, ensureBundle, loadBundle, readManifest } from '../../server/bundle.ts'

/** The bundle is built when missing or out of date, reproducibly, and never half-written. */

const parent = mkdtempSync(join(tmpdir(), 'safe-disclosure-bundle-'))
t.teardown(() => rmSync(parent, { recursive: true, force: true }))
const dir = join(parent, 'public')

t.test('missing: built; up to date: kept; out of date: rebuilt', async (t) => {
  t.equal(readManifest(dir), null, 'nothing there yet')
  const built = await ensureBundle(dir)
  t.equal(built.inputsHash, bundleInputsHash())
  const builtAt = statSync(join(dir, 'manifest.json')).mtimeMs
  const kept = await ensureBundle(dir)
  t.same(kept, built)
  t.equal(statSync(join(dir, 'manifest.json')).mtimeMs, builtAt, 'not rebuilt when up to date')
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...built, inputsHash: 'stale' }))
  t.same(await ensureBundle(dir), built, 'rebuilt, identically, when its sources changed')
  rmSync(join(dir, built.entries.app))
  t.same(await ensureBundle(dir), built, 'rebuilt when a file is missing')
})

t.test('reproducible: two builds give the same files and the same bundle hash', async (t) => {
  const first = await buildBundle(dir)
  const second = await buildBundle(join(parent, 'again'))
  t.same(second.files, first.files)
  t.equal(second.bundleHash, first.bundleHash)
  t.equal(first.bundleHash, computeBundleHash(first.files))
  for (const file of first.files) t.match(file.name, /^[a-z-]+-[A-Za-z0-9]{8,10}(\.min)?\.(js|css)$/, `${file.name} carries a hash`)
})

t.test('every file is also there compressed (gzip and brotli), checked when loaded', async (t) => {
  const manifest = await ensureBundle(dir)
  for (const file of manifest.files) {
    const content = readFileSync(join(dir, file.name))
    t.same(gunzipSync(readFileSync(join(dir, `${file.name}.gz`))), content, `${file.name}.gz`)
    t.same(brotliDecompressSync(readFileSync(join(dir, `${file.name}.br`))), content, `${file.name}.br`)
  }
  t.notOk(manifest.files.some((file) => /\.(gz|br)$/.test(file.name)), 'the manifest and the bundle hash name the uncompressed files only')
  const { assets } = await loadBundle(dir)
  t.equal(assets.size, manifest.files.length)

  rmSync(join(dir, `${manifest.entries.css}.br`))
  t.same(await ensureBundle(dir), manifest, 'rebuilt when a compressed copy is missing')
  writeFileSync(join(dir, `${manifest.entries.css}.gz`), gzipSync(Buffer.from('body { display: none }')))
  await t.rejects(loadBundle(dir), /app-[0-9a-f]+\.css\.gz does not match its manifest/, 'a compressed copy that opens to something else is refused')
})
