import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { route } from '../../../server/routing/index.ts'
import { facts, policy, policyWith } from './fixtures.ts'

/**
 * config/routing/README.md shows a worked example for each rule. Every example's decision must be
 * what the engine decides with the example policy, so the policy owners' documentation cannot drift.
 */

const readme = readFileSync(join(import.meta.dirname, '../../../config/routing/README.md'), 'utf8')
const blocks = [...readme.matchAll(/```json (facts|decision)\n([\s\S]*?)\n```/g)].map((match) => ({ kind: match[1], json: JSON.parse(match[2]!) as unknown }))

/** Every field shown must be in the actual value with the same content (arrays exactly). */
function shownIn(shown: unknown, actual: unknown, path: string, problems: string[]): void {
  if (shown !== null && typeof shown === 'object' && !Array.isArray(shown)) {
    if (actual === null || typeof actual !== 'object') {
      problems.push(`${path} is ${JSON.stringify(actual)}`)
      return
    }
    for (const [field, value] of Object.entries(shown)) shownIn(value, (actual as Record<string, unknown>)[field], `${path}.${field}`, problems)
    return
  }
  if (JSON.stringify(shown) !== JSON.stringify(actual)) problems.push(`${path}: the docs show ${JSON.stringify(shown)}, the engine gives ${JSON.stringify(actual)}`)
}

t.test('the docs hold a worked example for every rule but R10 (shown as a policy error)', async (t) => {
  const examples = blocks.filter((block) => block.kind === 'facts').length
  t.equal(blocks.filter((block) => block.kind === 'decision').length, examples)
  t.ok(examples >= 11)
  const rulesShown = new Set(blocks.filter((block) => block.kind === 'decision').flatMap((block) => JSON.stringify(block.json).match(/R\d+/g) ?? []))
  for (const rule of ['R1', 'R2', 'R3', 'R4', 'R5', 'R6', 'R7', 'R8', 'R9', 'R11', 'R12']) t.ok(rulesShown.has(rule), `${rule} appears in an example decision`)
})

t.test('every example decision is what the engine decides', async (t) => {
  for (let i = 0; i < blocks.length; i += 2) {
    const [factsBlock, decisionBlock] = [blocks[i]!, blocks[i + 1]!]
    t.equal(factsBlock.kind, 'facts')
    t.equal(decisionBlock.kind, 'decision')
    const problems: string[] = []
    const actual = route(factsBlock.json, policy)
    shownIn(decisionBlock.json, actual, 'decision', problems)
    // What the docs leave out must be empty in the engine's decision.
    for (const [field, value] of Object.entries(actual)) {
      if (field === 'policyVersion' || field in (decisionBlock.json as object)) continue
      const empty = value === null || (Array.isArray(value) && value.length === 0) || (field === 'iopcReferral' && (value as { required: boolean }).required === false)
      if (!empty) problems.push(`decision.${field} is left out of the docs but is not empty`)
    }
    t.same(problems, [], `example ${i / 2 + 1}`)
  }
})

t.test('the policy errors quoted in the docs are the engine\'s words', async (t) => {
  const r10 = (() => {
    try {
      route(facts(), policyWith((p) => (p.units.misconduct = 'met-na-safeguarding')))
    } catch (error) {
      return (error as Error).message
    }
    return ''
  })()
  t.ok(readme.includes(r10), r10)
  const alternates = (() => {
    try {
      route(facts(), policyWith((p) => (p.alternates.CN = ['NA', 'XX'])))
    } catch (error) {
      return (error as Error).message
    }
    return ''
  })()
  t.ok(readme.includes(alternates), alternates)
})
