import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'

/**
 * True in the compiled server (dist/server/*.mjs, what `npm start` runs: scripts/lib/server-build.mjs);
 * false where the TypeScript runs through tsx (the tests and the scripts). In the compiled server
 * every module shares the compiled file's `import.meta.url`.
 */
export const COMPILED = import.meta.url.endsWith('.mjs')

/** The folder of the compiled server (dist/server), in the compiled server only. */
export function compiledFolder(): string {
  if (!COMPILED) throw new Error('not running the compiled server')
  return dirname(fileURLToPath(import.meta.url))
}

/** A compiled file of the server by its name in dist/server (the compiled server only). */
export function compiledFile(name: string): URL {
  return new URL(`file://${join(compiledFolder(), name)}`)
}
