import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { RoutingInputError, type Policy } from '../../rules/routing/types.ts'
import { validatePolicy } from '../../rules/routing/validate.ts'

/** The example policy for the Metropolitan Police that ships with the portal. */
export const EXAMPLE_POLICY_PATH = resolve(import.meta.dirname, '../../config/routing/met-example.json')

export class PolicyFileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PolicyFileError'
  }
}

/** Reads and validates a policy file. Throws PolicyFileError with one line naming the problem. */
export function loadPolicyFile(path: string): Policy & { readonly example: boolean } {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new PolicyFileError(`cannot read the routing policy ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new PolicyFileError(`the routing policy ${path} is not valid JSON`)
  }
  try {
    return validatePolicy(json)
  } catch (error) {
    if (error instanceof RoutingInputError) throw new PolicyFileError(`the routing policy ${path} is not valid: ${error.message}`)
    throw error
  }
}
