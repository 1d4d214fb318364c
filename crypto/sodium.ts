import sodium from 'libsodium-wrappers'

/**
 * The one place libsodium is loaded (the standard build, ESM in the browser). Use the default export
 * only: the type declarations allow named imports that fail at run time. Every crypto function
 * awaits `loadSodium()`; after the first call it resolves at once.
 */
export type Sodium = typeof sodium

let ready: Promise<Sodium> | undefined

export function loadSodium(): Promise<Sodium> {
  ready ??= sodium.ready.then(() => sodium)
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
