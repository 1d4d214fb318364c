import t from 'tap'
import type { Answer } from '../../../crypto/records.ts'
import { assessRisk, HIGH_RISK_YES, higherLevel, isLower, levelFromYes, RISK_QUESTIONS } from '../../../rules/risk-checklist.ts'

/** The risk checklist: 24 questions; 14 "yes" is high; judgement raises, never lowers; MARAC. */

function answers(yes: number, rest: Answer = 'no'): Record<string, Answer> {
  return Object.fromEntries(RISK_QUESTIONS.map((question, index) => [question.id, index < yes ? 'yes' : rest]))
}

t.test('24 questions, each with a unique id', async (t) => {
  t.equal(RISK_QUESTIONS.length, 24)
  t.equal(new Set(RISK_QUESTIONS.map((question) => question.id)).size, 24)
  for (const question of RISK_QUESTIONS) t.match(question.id, /^[a-z][a-z0-9_]{0,40}$/)
})

t.test('the level follows the number of "yes" answers', async (t) => {
  t.equal(HIGH_RISK_YES, 14)
  for (let yes = 0; yes <= 24; yes++) {
    const expected = yes >= 14 ? 'high' : yes >= 10 ? 'medium' : 'standard'
    t.equal(levelFromYes(yes), expected, `${yes} yes`)
    t.equal(assessRisk(answers(yes), null, null).level, expected)
  }
  t.equal(assessRisk(answers(13, 'unknown'), null, null).computedLevel, 'medium', 'not known is not yes')
  t.equal(assessRisk(answers(13, 'unknown'), null, null).answered, 13, 'not known is not an answer either')
  t.equal(assessRisk({ ...answers(14), not_a_question: 'yes' }, null, null).yes, 14, 'only the checklist\'s own questions count')
})

t.test('professional judgement raises the level, never lowers it', async (t) => {
  t.equal(assessRisk(answers(2), null, 'high').level, 'high')
  t.equal(assessRisk(answers(2), null, 'high').computedLevel, 'standard')
  t.equal(assessRisk(answers(11), null, 'standard').level, 'medium', 'a lower judgement is ignored')
  t.equal(assessRisk(answers(20), null, 'medium').level, 'high')
  t.equal(higherLevel('standard', 'high'), 'high')
  t.ok(isLower('medium', 'high'))
  t.notOk(isLower('high', 'high'))
})

t.test('MARAC: high risk, or three or more incidents in twelve months', async (t) => {
  t.equal(assessRisk(answers(14), null, null).maracEligible, true)
  t.match(assessRisk(answers(14), null, null).maracReasons[0], /14 of 24 indicators answered yes/)
  t.equal(assessRisk(answers(3), 3, null).maracEligible, true, 'escalation')
  t.match(assessRisk(answers(3), 3, null).maracReasons[0], /3 incidents in the last twelve months/)
  t.equal(assessRisk(answers(3), 2, null).maracEligible, false)
  t.equal(assessRisk(answers(3), null, null).maracEligible, false)
  t.equal(assessRisk(answers(3), null, 'high').maracEligible, true, 'high by judgement qualifies too')
})
