import t from 'tap'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBundle, bundleInputsHash, computeBundleHash, ensureBundle, readManifest } from '../../server/bundle.ts'

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
