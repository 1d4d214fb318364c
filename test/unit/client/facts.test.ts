import t from 'tap'
import { readFileSync } from 'node:fs'
import { installFakeDocument } from './fake-dom.ts'
import type { Policy } from '../../../rules/routing/types.ts'

/**
 * The routing step's facts, filled in the IDVA's browser from the decrypted answers: a special
 * constable counts as a constable and a PCSO as police staff, so the engine applies the same rules.
 */
installFakeDocument({})
const { factsFromDisclosure } = await import('../../../client/staff/referrals.ts')
const policy = JSON.parse(readFileSync(new URL('../../../config/routing/met-example.json', import.meta.url), 'utf8')) as Policy
const both = { criminal: true, misconduct: true }

t.test('ranks the report offers beside the policy\'s', async (t) => {
  t.equal(factsFromDisclosure({ perpetratorPolice: 'this_force', perpetratorRank: 'special_constable' }, policy, both).suspect.rank, 'constable', 'a special constable holds the office of constable')
  const pcso = factsFromDisclosure({ perpetratorPolice: 'this_force', perpetratorRank: 'pcso', perpetratorStaffGrade: 'A' }, policy, both).suspect
  t.equal(pcso.rank, 'staff', 'a PCSO is police staff')
  t.equal(pcso.staffGrade, 'A')
  t.equal(factsFromDisclosure({ perpetratorRank: 'sergeant' }, policy, both).suspect.rank, 'sergeant')
  t.equal(factsFromDisclosure({ perpetratorRank: 'not_sure' }, policy, both).suspect.rank, null, 'unknown stays unknown')
  t.equal(factsFromDisclosure({ perpetratorRank: 'constructor' }, policy, both).suspect.rank, null, 'never an inherited name')
})
