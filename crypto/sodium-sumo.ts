import sumo from 'libsodium-wrappers-sumo'

/**
 * libsodium's "sumo" build, loaded only where Argon2id is needed (staff passphrases): it is the
 * only build with crypto_pwhash, and twice the size, so reporters' pages never load it.
 */
export type SodiumSumo = typeof sumo

let ready: Promise<SodiumSumo> | undefined

export function loadSodiumSumo(): Promise<SodiumSumo> {
  ready ??= sumo.ready.then(() => sumo)
  return ready
}
