import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { base64url, decryptEvidence, deriveCaseKeys, encodeSecretKeySet, encryptEvidence, generateKeySet, newEvidenceKey, publicKeysOf } from '../../crypto/index.ts'
import { deriveStaffSecrets, unwrapMemberKeys } from '../../crypto/staff-keys.ts'
import { baseUrl, buildTestApp } from '../helpers/app.ts'
import { isolatedContext, launchChromium } from '../helpers/browser.ts'

/**
 * The real bundle, in real Chromium, under the portal's real CSP: envelopes and evidence files
 * round-trip between the browser and Node (the library and the envelope CLI), both ways.
 */

const browser = await launchChromium(t)
if (browser !== null) {
  const { app } = await buildTestApp(t, { listen: true })
  const portal = baseUrl(app)
  const bundle = app.pageContext.assets.app
  const dir = mkdtempSync(join(tmpdir(), 'safe-disclosure-browser-crypto-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  const cli = (args: string[], input?: Uint8Array) => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/envelope.ts', ...args], { input, timeout: 60_000 })
    if (result.status !== 0) throw new Error(`envelope ${args[0]} failed: ${result.stderr.toString()}`)
    return result.stdout
  }
  cli(['keygen', '--out', dir])
  const publicKeyFile = readFileSync(join(dir, 'public.key'), 'utf8')
  const secretKeyFile = readFileSync(join(dir, 'secret.key'), 'utf8')

  const { context } = await isolatedContext(browser, portal)
  t.teardown(() => context.close())
  const page: Page = await context.newPage()
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text())
  })
  page.on('pageerror', (error) => problems.push(error.message))
  await page.goto(`${portal}/`)

  t.test('the bundle and libsodium load under the real CSP', async (t) => {
    const loaded = await page.evaluate(async (url) => {
      const module = await import(url)
      const crypto = await module.loadCrypto()
      const sodium = await crypto.loadSodium()
      return { version: sodium.SODIUM_VERSION_STRING as string, hasPwhash: 'crypto_pwhash' in sodium }
    }, bundle)
    t.match(loaded.version, /^\d+\.\d+\.\d+/)
    t.equal(loaded.hasPwhash, false, 'the standard build, not sumo')
    t.same(problems, [], 'no CSP violation or script error')
  })

  t.test('the CLI opens an envelope sealed in the browser', async (t) => {
    const sealed = await page.evaluate(
      async ({ url, publicKeyFile }) => {
        const crypto = await (await import(url)).loadCrypto()
        const recipient = crypto.decodePublicKeySet(publicKeyFile)
        const envelope = await crypto.sealEnvelope({
          kind: 'disclosure',
          caseId: 'browser-case-1',
          plaintext: new TextEncoder().encode('Written in the browser: he checks my phone every night.'),
          recipients: [recipient.encryption],
        })
        return crypto.base64url.encode(envelope) as string
      },
      { url: bundle, publicKeyFile },
    )
    const plaintext = cli(['open', '--key', join(dir, 'secret.key'), '--case', 'browser-case-1'], base64url.decode(sealed, 'envelope'))
    t.equal(plaintext.toString(), 'Written in the browser: he checks my phone every night.')
  })

  t.test('the browser opens an envelope sealed by the CLI, and refuses it for another case', async (t) => {
    const sealed = cli(['seal', '--to', join(dir, 'public.key'), '--case', 'cli-case-2', '--kind', 'consultation'], Buffer.from('Sealed by the CLI. ✓ ünïcödé'))
    const result = await page.evaluate(
      async ({ url, secretKeyFile, envelope }) => {
        const crypto = await (await import(url)).loadCrypto()
        const keys = await crypto.decodeSecretKeySet(secretKeyFile)
        const bytes = crypto.base64url.decode(envelope, 'envelope')
        const opened = await crypto.openEnvelope(bytes, { caseId: 'cli-case-2', keys: [keys.encryption] })
        let wrongCase = 'opened'
        try {
          await crypto.openEnvelope(bytes, { caseId: 'cli-case-3', keys: [keys.encryption] })
        } catch (error) {
          wrongCase = `${(error as { name: string }).name}:${(error as { code: string }).code}`
        }
        return { kind: opened.kind as string, text: new TextDecoder().decode(opened.plaintext), wrongCase }
      },
      { url: bundle, secretKeyFile, envelope: base64url.encode(new Uint8Array(sealed)) },
    )
    t.same(result, { kind: 'consultation', text: 'Sealed by the CLI. ✓ ünïcödé', wrongCase: 'CryptoError:decryption_failed' })
  })

  t.test('evidence files round-trip through the Web Worker and Node, both ways', async (t) => {
    const key = await newEvidenceKey()
    const file = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7 + 3) % 256)
    const fromBrowser = await page.evaluate(
      async ({ url, fileId, key, size }) => {
        const module = await import(url)
        const crypto = await module.loadCrypto()
        const evidence = await module.loadEvidence()
        const data = Uint8Array.from({ length: size }, (_, i) => (i * 7 + 3) % 256)
        const encrypted: Blob = await evidence.encryptFile(new Blob([data]), { fileId: crypto.base64url.decode(fileId, 'id'), key: crypto.base64url.decode(key, 'key') })
        return crypto.base64url.encode(new Uint8Array(await encrypted.arrayBuffer())) as string
      },
      { url: bundle, fileId: base64url.encode(key.fileId), key: base64url.encode(key.key), size: file.length },
    )
    t.same(await decryptEvidence(base64url.decode(fromBrowser, 'evidence', 1 << 24), key), file, 'Node decrypts what the browser encrypted')

    const fromNode = await encryptEvidence(file, key)
    const decrypted = await page.evaluate(
      async ({ url, fileId, key, encrypted }) => {
        const module = await import(url)
        const crypto = await module.loadCrypto()
        const evidence = await module.loadEvidence()
        const blob: Blob = await evidence.decryptFile(new Blob([crypto.base64url.decode(encrypted, 'evidence', 1 << 24)]), {
          fileId: crypto.base64url.decode(fileId, 'id'),
          key: crypto.base64url.decode(key, 'key'),
        })
        const bytes = new Uint8Array(await blob.arrayBuffer())
        return { length: bytes.length, matches: bytes.every((b, i) => b === (i * 7 + 3) % 256) }
      },
      { url: bundle, fileId: base64url.encode(key.fileId), key: base64url.encode(key.key), encrypted: base64url.encode(fromNode) },
    )
    t.same(decrypted, { length: file.length, matches: true }, 'the browser decrypts what Node encrypted')

    const tampered = fromNode.slice()
    tampered[5000] = tampered[5000]! ^ 1
    const refused = await page.evaluate(
      async ({ url, fileId, key, encrypted }) => {
        const module = await import(url)
        const crypto = await module.loadCrypto()
        const evidence = await module.loadEvidence()
        try {
          await evidence.decryptFile(new Blob([crypto.base64url.decode(encrypted, 'evidence', 1 << 24)]), {
            fileId: crypto.base64url.decode(fileId, 'id'),
            key: crypto.base64url.decode(key, 'key'),
          })
          return 'opened'
        } catch (error) {
          return (error as { code: string }).code
        }
      },
      { url: bundle, fileId: base64url.encode(key.fileId), key: base64url.encode(key.key), encrypted: base64url.encode(tampered) },
    )
    t.equal(refused, 'decryption_failed', 'an altered file is refused in the browser too')
  })

  t.test('a 25 MB file encrypts without freezing the page', async (t) => {
    const result = await page.evaluate(async (url) => {
      const module = await import(url)
      const crypto = await module.loadCrypto()
      const evidence = await module.loadEvidence()
      const size = 25 * 1024 * 1024
      const data = new Uint8Array(size)
      for (let i = 0; i < size; i += 4096) data[i] = i % 251
      const file = new Blob([data])
      const key = await crypto.newEvidenceKey()
      // The main thread's heartbeat: the longest gap between ticks is how long the page froze.
      let last = performance.now()
      let longest = 0
      const timer = setInterval(() => {
        const now = performance.now()
        longest = Math.max(longest, now - last)
        last = now
      }, 10)
      let progressEvents = 0
      const started = performance.now()
      const encrypted: Blob = await evidence.encryptFile(file, key, () => progressEvents++)
      const elapsed = performance.now() - started
      clearInterval(timer)
      return { longest, elapsed, progressEvents, size: encrypted.size, expected: crypto.encryptedEvidenceSize(size) as number }
    }, bundle)
    t.equal(result.size, result.expected, '25 MiB encrypted')
    t.ok(result.progressEvents > 1, `progress was reported (${result.progressEvents} times)`)
    // Done on the main thread, the longest pause would be about the whole encryption time.
    t.ok(
      result.longest < 250 && result.longest < Math.max(50, result.elapsed / 2),
      `the page kept responding: longest pause ${Math.round(result.longest)} ms while encrypting for ${Math.round(result.elapsed)} ms`,
    )
  })

  t.test('case codes made in the browser derive the same keys in Node', async (t) => {
    const made = await page.evaluate(async (url) => {
      const crypto = await (await import(url)).loadCrypto()
      const words: string[] = await crypto.generateCaseCode()
      const keys = await crypto.deriveCaseKeys(words.join(' ').toUpperCase())
      return { code: words.join('-'), lookupId: crypto.base64url.encode(keys.lookupId) as string, reply: crypto.base64url.encode(keys.reply.publicKey) as string }
    }, bundle)
    const keys = await deriveCaseKeys(made.code)
    t.equal(base64url.encode(keys.lookupId), made.lookupId)
    t.equal(base64url.encode(keys.reply.publicKey), made.reply)
  })

  t.test('staff passphrases: Argon2id (the sumo build) runs in the browser, and only when asked for', async (t) => {
    const loaded = await page.evaluate(async (url) => {
      const module = await import(url)
      await module.loadCrypto()
      await module.loadEvidence()
      // (No named functions in here: the test runner's transform would wrap them in a helper the page lacks.)
      const before = performance.getEntriesByType('resource').map((entry) => entry.name).filter((name) => name.endsWith('.js'))
      await module.loadStaffCrypto()
      const after = performance
        .getEntriesByType('resource')
        .map((entry) => entry.name)
        .filter((name) => name.endsWith('.js') && !before.includes(name))
      return { before, after }
    }, bundle)
    t.ok(loaded.after.length > 0, 'the staff module arrived as separate files')
    t.notOk(loaded.before.some((name) => loaded.after.includes(name)), 'none of them had been loaded for the reporter-side crypto')

    const params = { salt: 'AAECAwQFBgcICQoLDA0ODw', opsLimit: 3, memLimit: 128 * 1024 * 1024 }
    const member = await generateKeySet()
    const passphrase = 'a passphrase typed in the browser, then checked in Node'
    const wrapped = await page.evaluate(
      async ({ url, params, passphrase, secretKeyFile }) => {
        const module = await import(url)
        const crypto = await module.loadCrypto()
        const staff = await module.loadStaffCrypto()
        const started = performance.now()
        const secrets = await staff.deriveStaffSecrets(passphrase, { ...params, salt: crypto.base64url.decode(params.salt, 'salt') })
        const elapsed = performance.now() - started
        const keys = await crypto.decodeSecretKeySet(secretKeyFile)
        const blob = await staff.wrapMemberKeys(keys, secrets.keyEncryptionKey, 'staff-42')
        return { verifier: crypto.base64url.encode(secrets.authVerifier) as string, blob: crypto.base64url.encode(blob) as string, elapsed }
      },
      { url: bundle, params, passphrase, secretKeyFile: await encodeSecretKeySet(member) },
    )
    const secrets = await deriveStaffSecrets(passphrase, { ...params, salt: base64url.decode(params.salt, 'salt') })
    t.equal(base64url.encode(secrets.authVerifier), wrapped.verifier, `the same verifier in Node (the browser took ${Math.round(wrapped.elapsed)} ms)`)
    const unwrapped = await unwrapMemberKeys(base64url.decode(wrapped.blob, 'blob'), secrets.keyEncryptionKey, 'staff-42', publicKeysOf(member))
    t.same(unwrapped.signing.publicKey, member.signing.publicKey, 'Node unwraps the keys the browser wrapped')
  })

  t.test('still no CSP violation or script error after all of that', async (t) => {
    t.same(problems, [])
  })
}
