import t from 'tap'
import { spawnSync } from 'node:child_process'
import { base64url, fromUtf8, generateKeySet, openEnvelope, sealEnvelope, sodiumBuild, utf8, loadSodium } from '../../../crypto/index.ts'

/**
 * crypto/sodium.ts picks the build by itself: libsodium's WebAssembly where WebAssembly works, the
 * plain JavaScript build (crypto/sodium-js.ts) where it does not. A Node process with `--jitless`
 * has no WebAssembly, as a locked-down phone's browser has none: there crypto/ loads the JavaScript
 * build, and what it seals opens here with libsodium, and the reverse.
 */

const CASE = '7b0ad9d4-8d5e-4a8e-9c61-3f4f3c2f8a11'

t.test('with WebAssembly, libsodium\'s WebAssembly build', async (t) => {
  await loadSodium()
  t.equal(sodiumBuild(), 'webassembly')
})

t.test('without WebAssembly (node --jitless), the JavaScript build; each opens what the other sealed', async (t) => {
  const service = await generateKeySet()
  const fromHere = await sealEnvelope({ kind: 'disclosure', caseId: CASE, plaintext: utf8('sealed with WebAssembly'), recipients: [service.encryption.publicKey] })
  const script = `
    const crypto = await import('./crypto/index.ts')
    const input = JSON.parse(process.argv[1])
    const key = (name) => crypto.base64url.decode(input[name], name)
    const keys = [{ publicKey: key('public'), privateKey: key('private') }]
    const opened = await crypto.openEnvelope(key('envelope'), { caseId: input.caseId, keys })
    const sealed = await crypto.sealEnvelope({ kind: 'disclosure', caseId: input.caseId, plaintext: crypto.utf8('sealed without WebAssembly'), recipients: [key('public')] })
    process.stdout.write(JSON.stringify({ webAssembly: typeof WebAssembly, build: crypto.sodiumBuild(), opened: crypto.fromUtf8(opened.plaintext), sealed: crypto.base64url.encode(sealed) }))
  `
  const input = { caseId: CASE, public: base64url.encode(service.encryption.publicKey), private: base64url.encode(service.encryption.privateKey), envelope: base64url.encode(fromHere) }
  const child = spawnSync(process.execPath, ['--jitless', '--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(input)], { encoding: 'utf8', timeout: 120_000 })
  t.equal(child.status, 0, child.stderr)
  const result = JSON.parse(child.stdout) as { webAssembly: string; build: string; opened: string; sealed: string }
  t.equal(result.webAssembly, 'undefined', 'no WebAssembly in that process')
  t.equal(result.build, 'javascript', 'so crypto/ loaded the JavaScript build')
  t.equal(result.opened, 'sealed with WebAssembly', 'it opened what libsodium sealed')
  const opened = await openEnvelope(base64url.decode(result.sealed, 'envelope'), { caseId: CASE, keys: [service.encryption] })
  t.equal(fromUtf8(opened.plaintext), 'sealed without WebAssembly', 'and libsodium opens what it sealed')
})
