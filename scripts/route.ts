/**
 * npm run --silent route -- [--policy FILE] < facts.json
 *
 * Prints the routing decision for the case facts on standard input, as JSON, and exits 0. Without
 * --policy it uses the configured policy (ROUTING_POLICY, or the shipped example). Invalid facts,
 * an invalid policy, or a policy that would break R10: exit 2 with one line on standard error.
 * The same function is importable from server/routing/.
 */
import { parseArgs } from 'node:util'
import { routingPolicyPath } from '../server/config.ts'
import { route, RoutingInputError, RoutingSeparationError } from '../server/routing/index.ts'
import { loadPolicyFile, PolicyFileError } from '../server/routing/policy-file.ts'
import { exitQuietlyOnClosedPipe } from './stdout.ts'

exitQuietlyOnClosedPipe()

const MAX_INPUT_BYTES = 1 << 20

function refuse(message: string): never {
  process.stderr.write(`route: ${message}\n`)
  process.exit(2)
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  let length = 0
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    length += chunk.length
    if (length > MAX_INPUT_BYTES) refuse(`the facts on standard input are larger than ${MAX_INPUT_BYTES} bytes`)
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

let policyPath: string
try {
  const { values } = parseArgs({ options: { policy: { type: 'string' } }, strict: true })
  // Only the policy setting is read: routing needs no database.
  policyPath = values.policy ?? routingPolicyPath(process.env)
} catch (error) {
  refuse(`${(error as Error).message}; usage: npm run --silent route -- [--policy FILE] < facts.json`)
}

try {
  const policy = loadPolicyFile(policyPath)
  const text = await readStdin()
  let facts: unknown
  try {
    facts = JSON.parse(text)
  } catch {
    refuse('the facts on standard input are not valid JSON')
  }
  process.stdout.write(`${JSON.stringify(route(facts, policy), null, 2)}\n`)
} catch (error) {
  if (error instanceof PolicyFileError || error instanceof RoutingInputError || error instanceof RoutingSeparationError) refuse(error.message)
  refuse(`failed: ${(error as Error).message.split('\n')[0]}`)
}
