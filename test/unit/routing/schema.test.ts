import t from 'tap'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { validatePolicy } from '../../../rules/routing/validate.ts'
import { RoutingInputError } from '../../../rules/routing/types.ts'

/**
 * config/routing/policy.schema.json documents the policy format for editors and tools. The example
 * policy must satisfy it, and what the schema refuses the portal refuses too.
 */

const folder = join(import.meta.dirname, '../../../config/routing')
const schema = JSON.parse(readFileSync(join(folder, 'policy.schema.json'), 'utf8')) as object
const example = JSON.parse(readFileSync(join(folder, 'met-example.json'), 'utf8')) as Record<string, unknown>
const validate = new Ajv2020({ allErrors: true }).compile(schema)

t.test('the example policy satisfies the schema and the portal\'s own checks', async (t) => {
  t.ok(validate(example), JSON.stringify(validate.errors))
  t.doesNotThrow(() => validatePolicy(example))
})

t.test('what the schema refuses, the portal refuses too', async (t) => {
  const broken: [string, (p: Record<string, any>) => void][] = [
    ['no version', (p) => delete p.version],
    ['an unknown field', (p) => (p.colour = 'blue')],
    ['an empty command unit', (p) => (p.commandUnits.CN = [])],
    ['a borough listed twice in one unit', (p) => (p.commandUnits.CN = ['Camden', 'Camden'])],
    ['a rank that is not text', (p) => (p.ranks = ['constable', 7])],
    ['otherForceAlways as text', (p) => (p.otherForceAlways = 'yes')],
    ['an unknown field in units', (p) => (p.units.extra = 'x')],
    ['no misconduct unit', (p) => delete p.units.misconduct],
  ]
  for (const [name, change] of broken) {
    const policy = structuredClone(example) as Record<string, any>
    change(policy)
    t.notOk(validate(policy), `the schema refuses ${name}`)
    t.throws(() => validatePolicy(policy), RoutingInputError, `the portal refuses ${name}`)
  }
})

t.test('the engine bundles for the browser: no Node modules, no eval', async (t) => {
  const { build } = await import('esbuild')
  const result = await build({
    entryPoints: [join(import.meta.dirname, '../../../rules/routing/index.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    write: false,
    logLevel: 'silent',
  })
  const code = result.outputFiles[0]!.text
  t.notMatch(code, /from ["']node:|require\(["']/, 'no Node module imports')
  t.notMatch(code, /new Function\(|\beval\(/, 'nothing the CSP would block')
})
