import type standard from 'libsodium-wrappers'

/**
 * The one place libsodium is loaded. Use the default export only: the type declarations allow named
 * imports that fail at run time. Every crypto function awaits `loadSodium()`; after the first call it
 * resolves at once.
 *
 * Which build: the standard one (what the reporter's and managers' pages need), or, on staff pages,
 * which need libsodium's larger "sumo" build for Argon2id anyway, that one for everything: the sumo
 * build is the same library with more functions, so loading both would only double the download
 * (its sumo build alone keeps the sign-in's crypto step within its 250 KB budget). Either is loaded
 * by a dynamic import, so a page downloads only the one it uses.
 */
export type Sodium = typeof standard

/**
 * The functions the reporter's side uses: what crypto/sodium-js.ts implements in plain JavaScript
 * (for browsers without WebAssembly). Code that should also run on that build takes this type.
 */
export type SodiumSubset = Pick<
  Sodium,
  | 'randombytes_buf'
  | 'randombytes_uniform'
  | 'crypto_generichash'
  | 'crypto_kdf_derive_from_key'
  | 'crypto_sign_seed_keypair'
  | 'crypto_sign_keypair'
  | 'crypto_sign_detached'
  | 'crypto_sign_verify_detached'
  | 'crypto_scalarmult_base'
  | 'crypto_box_seed_keypair'
  | 'crypto_box_keypair'
  | 'crypto_box_seal'
  | 'crypto_box_seal_open'
  | 'crypto_aead_xchacha20poly1305_ietf_encrypt'
  | 'crypto_aead_xchacha20poly1305_ietf_decrypt'
  | 'crypto_aead_xchacha20poly1305_ietf_keygen'
  | 'crypto_secretstream_xchacha20poly1305_keygen'
  | 'crypto_secretstream_xchacha20poly1305_init_push'
  | 'crypto_secretstream_xchacha20poly1305_push'
  | 'crypto_secretstream_xchacha20poly1305_init_pull'
  | 'crypto_secretstream_xchacha20poly1305_pull'
  | 'crypto_secretstream_xchacha20poly1305_TAG_MESSAGE'
  | 'crypto_secretstream_xchacha20poly1305_TAG_PUSH'
  | 'crypto_secretstream_xchacha20poly1305_TAG_REKEY'
  | 'crypto_secretstream_xchacha20poly1305_TAG_FINAL'
  | 'memzero'
>

let build: 'standard' | 'sumo' = 'standard'
let ready: Promise<Sodium> | undefined
let loaded: 'webassembly' | 'javascript' | null = null
let forceJavaScript = false

/** On staff pages, before any cryptography: use the sumo build for everything. */
export function useSumoBuild(): void {
  build = 'sumo'
}

/** Tests only: use the plain JavaScript build even where WebAssembly works (to run both paths). */
export function useJavaScriptBuild(): void {
  forceJavaScript = true
}

/** Whether WebAssembly can be used here: it exists and a minimal module compiles. */
export function webAssemblyWorks(): boolean {
  try {
    if (typeof WebAssembly !== 'object' || typeof WebAssembly.Module !== 'function') return false
    // The smallest valid module (magic number and version): compiling it proves WebAssembly is on.
    return new WebAssembly.Module(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])) instanceof WebAssembly.Module
  } catch {
    return false
  }
}

/**
 * The reporter's side (standard build): libsodium's WebAssembly build where WebAssembly works, and
 * where it does not (iPhone Lockdown Mode, Tor Browser's Safer level, a browser without a JIT) the
 * same functions in plain JavaScript (crypto/sodium-js.ts, from the noble libraries), loaded only
 * then. Both produce and open exactly the same bytes. The JavaScript build holds only the functions
 * the reporter's side uses (SodiumSubset); test/unit/crypto/sodium-js.test.ts runs crypto/ on it
 * behind a guard that fails on any other. Staff pages need the sumo build (WebAssembly) and say so
 * where it is missing (client/staff/pages.ts).
 */
async function loadStandard(): Promise<Sodium> {
  if (!forceJavaScript && webAssemblyWorks()) {
    try {
      const { default: sodium } = await import('libsodium-wrappers')
      await sodium.ready
      loaded = 'webassembly'
      return sodium
    } catch {
      // WebAssembly compiled a test module but libsodium's did not start: the JavaScript build.
    }
  }
  const { createSodiumJs } = await import('./sodium-js.ts')
  loaded = 'javascript'
  return createSodiumJs() as unknown as Sodium
}

export function loadSodium(): Promise<Sodium> {
  ready ??=
    build === 'sumo'
      ? import('./sodium-sumo.ts').then(async ({ loadSodiumSumo }) => {
          const sumo = (await loadSodiumSumo()) as unknown as Sodium
          loaded = 'webassembly'
          return sumo
        })
      : loadStandard()
  return ready
}

/** Which build loadSodium() loaded: null before it has. */
export function sodiumBuild(): 'webassembly' | 'javascript' | null {
  return loaded
}

interface RawModule {
  _free(address: number): void
  _crypto_secretstream_xchacha20poly1305_statebytes(): number
  HEAPU8: Uint8Array
}

/**
 * libsodium-wrappers never frees a secretstream state (a block on its WebAssembly heap that holds
 * the stream's key). Zero it and free it once the stream is finished or abandoned. The plain
 * JavaScript build (crypto/sodium-js.ts) keeps its state in a Uint8Array instead: that is zeroed.
 */
export function freeSecretstreamState(s: SodiumSubset, state: unknown): void {
  if (state instanceof Uint8Array) {
    state.fill(0)
    return
  }
  if (typeof state !== 'number') return
  const raw = (s as unknown as { libsodium: RawModule }).libsodium
  raw.HEAPU8.fill(0, state, state + raw._crypto_secretstream_xchacha20poly1305_statebytes())
  raw._free(state)
}
