// @ts-check
/**
 * The server, compiled: esbuild bundles server/server.ts (with views/, crypto/ and rules/; packages
 * stay in node_modules) into dist/server/server.mjs, the worker pool's task file into
 * dist/server/heavy-tasks.mjs, and each migration into dist/server/migrations/. `npm start` runs
 * that (scripts/start.mjs), not the TypeScript through tsx: tsx's loader keeps a thread of its own
 * and the source maps of every module, which cost the running portal about 100 MB of resident
 * memory (measured: 79 MB against 42 MB for an empty process, 187 MB against about 90 MB with the
 * app's modules loaded). The tests and the scripts still run the TypeScript through tsx.
 *
 * Plain JavaScript, so that `npm start` needs nothing but Node to compile and start. Paths the
 * sources take from `import.meta.dirname` are rewritten to the same folders under the project's
 * root, found from the compiled file's own place (dist/server, two folders down).
 */
import { build } from 'esbuild'
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')
export const SERVER_OUT = join(ROOT, 'dist', 'server')
export const SERVER_ENTRY = join(SERVER_OUT, 'server.mjs')

/**
 * V8 flags the portal runs with (`npm start` passes them; the benchmarks and the process tests
 * start the server with the same; V8 reads them only at start-up): a young generation of 4 MB a
 * half instead of 16, and the old generation let grow to 1.5 times what a full collection leaves
 * (V8 otherwise picks up to 4 times). Under bench:http's 50 submissions at once the heap otherwise
 * swells with promoted request garbage to 130 MB before V8 collects it (about 45 MB is live).
 * Measured on the embedded database, peak resident memory under the same load (2 cores, Node 20):
 * neither 265-271 MB; 4 MB alone 246-271 MB; both 219 MB; requests a second the same within the
 * run's noise (issue 20, README "Speed").
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=4', '--heap-growing-percent=50']

const BANNER = [
  "import { resolve as __sdResolve } from 'node:path'",
  // The project's root, from dist/server/ (or dist/server/migrations/).
  "const __sdRoot = __sdResolve(import.meta.dirname, import.meta.dirname.endsWith('migrations') ? '../../..' : '../..')",
].join('\n')

/** @type {import('esbuild').Plugin} */
const sourceFolders = {
  name: 'source-folders',
  setup(builder) {
    builder.onLoad({ filter: /\.(ts|tsx)$/ }, async (args) => {
      if (args.path.includes('node_modules')) return undefined
      const { readFile } = await import('node:fs/promises')
      const source = await readFile(args.path, 'utf8')
      if (!source.includes('import.meta.dirname')) return undefined
      const folder = JSON.stringify(relative(ROOT, dirname(args.path)))
      return { contents: source.replaceAll('import.meta.dirname', `__sdResolve(__sdRoot, ${folder})`), loader: args.path.endsWith('x') ? 'tsx' : 'ts' }
    })
  },
}

/**
 * Compiles the server into dist/server; each file is written beside its final name and renamed
 * into place, so a process starting at the same moment reads a whole file, old or new.
 * @returns {Promise<string>} the path of the compiled server/server.ts
 */
export async function buildServer() {
  const migrations = readdirSync(join(ROOT, 'migrations')).filter((name) => name.endsWith('.ts'))
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: {
      server: 'server/server.ts',
      'heavy-tasks': 'server/workers/heavy-tasks.ts',
      ...Object.fromEntries(migrations.map((name) => [`migrations/${name.slice(0, -3)}`, `migrations/${name}`])),
    },
    outdir: SERVER_OUT,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    banner: { js: BANNER },
    plugins: [sourceFolders],
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  })
  mkdirSync(join(SERVER_OUT, 'migrations'), { recursive: true })
  const written = new Set()
  for (const file of result.outputFiles) {
    const temporary = `${file.path}.${process.pid}.tmp`
    writeFileSync(temporary, file.contents)
    renameSync(temporary, file.path)
    written.add(file.path)
  }
  // A migration removed from migrations/ must not stay behind in the compiled folder.
  for (const name of readdirSync(join(SERVER_OUT, 'migrations'))) {
    const path = join(SERVER_OUT, 'migrations', name)
    if (name.endsWith('.mjs') && !written.has(path)) rmSync(path, { force: true })
  }
  return SERVER_ENTRY
}
