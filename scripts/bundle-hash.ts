/**
 * npm run bundle:hash: the SHA-256 of the browser bundle, to publish (intranet page, poster) so
 * that anyone can check what a portal serves with npm run bundle:check. Builds the bundle first
 * if it is missing or out of date. First line: the bundle hash; then each file's hash and name.
 */
import { ensureBundle } from '../server/bundle.ts'
import { exitQuietlyOnClosedPipe } from './stdout.ts'

exitQuietlyOnClosedPipe()

const manifest = await ensureBundle()
process.stdout.write(`${manifest.bundleHash}  bundle\n`)
for (const file of manifest.files) process.stdout.write(`${file.sha256}  ${file.name}\n`)
