/**
 * npm run build: builds the browser bundle into dist/public (content-hashed names, manifest) and
 * compiles the server into dist/server (what `npm start` runs; scripts/lib/server-build.mjs).
 */
import { buildBundle, bundleFileSize } from '../server/bundle.ts'
import { buildServer } from './lib/server-build.mjs'
import { exitQuietlyOnClosedPipe } from './stdout.ts'

exitQuietlyOnClosedPipe()

const manifest = await buildBundle()
for (const file of manifest.files) process.stdout.write(`${String(bundleFileSize(file.name)).padStart(9)}  ${file.name}\n`)
process.stdout.write(`bundle sha256 ${manifest.bundleHash}\n`)
process.stdout.write(`server compiled to ${await buildServer()}\n`)
