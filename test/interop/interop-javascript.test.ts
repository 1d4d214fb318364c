/**
 * The interop tests again, with crypto/ on the plain JavaScript build (crypto/sodium-js.ts, what a
 * browser without WebAssembly runs) and independent.ts on libsodium: the JavaScript build produces
 * what an independent implementation written from SECURITY.md opens, and opens what it produces.
 * (Staff passphrase functions stay on libsodium's sumo build, as in a browser.)
 */
import { sodiumBuild, useJavaScriptBuild, loadSodium } from '../../crypto/sodium.ts'

useJavaScriptBuild()
await loadSodium()
if (sodiumBuild() !== 'javascript') throw new Error('the JavaScript build was not loaded')
await import('./interop.test.ts')
