/**
 * crypto/: shared by the browser bundle and the server. The server uses only what needs no
 * private key (parsing and checking formats, verifying signatures); the browsers do the rest.
 * Staff passphrase functions live in crypto/staff-keys.ts, apart, because they load libsodium's
 * larger sumo build.
 */
export * from './bytes.ts'
export * from './case-code.ts'
export * from './envelope.ts'
export * from './errors.ts'
export * from './evidence.ts'
export * from './fingerprint.ts'
export * from './keys.ts'
export * from './padding.ts'
export * from './thread.ts'
export * from './records.ts'
export * from './referrals.ts'
export * from './referral-updates.ts'
export * from './certificates.ts'
export { loadSodium, sodiumBuild } from './sodium.ts'
