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

let build: 'standard' | 'sumo' = 'standard'
let ready: Promise<Sodium> | undefined

/** On staff pages, before any cryptography: use the sumo build for everything. */
export function useSumoBuild(): void {
  build = 'sumo'
}

export function loadSodium(): Promise<Sodium> {
  ready ??=
    build === 'sumo'
      ? import('./sodium-sumo.ts').then(async ({ loadSodiumSumo }) => (await loadSodiumSumo()) as unknown as Sodium)
      : import('libsodium-wrappers').then(async ({ default: sodium }) => {
          await sodium.ready
          return sodium
        })
  return ready
}

interface RawModule {
  _free(address: number): void
  _crypto_secretstream_xchacha20poly1305_statebytes(): number
  HEAPU8: Uint8Array
}

/**
 * libsodium-wrappers never frees a secretstream state (a block on its WebAssembly heap that holds
 * the stream's key). Zero it and free it once the stream is finished or abandoned.
 */
export function freeSecretstreamState(s: Sodium, state: unknown): void {
  if (typeof state !== 'number') return
  const raw = (s as unknown as { libsodium: RawModule }).libsodium
  raw.HEAPU8.fill(0, state, state + raw._crypto_secretstream_xchacha20poly1305_statebytes())
  raw._free(state)
}
