import t from 'tap'
import { readFileSync } from 'node:fs'
import { ReportStep, REPORT_STEPS } from '../../views/pages/report.tsx'
import { AskPage } from '../../views/pages/managers.tsx'
import { ANSWER_LABELS, answerLabel, rankLabel } from '../../rules/answer-labels.ts'
import { readable } from '../../client/answers.ts'

/**
 * Answers are shown back (on /return, on the IDVA's case page) in the words the form showed: every
 * choice on every step of /report and on /managers/ask has the same label in rules/answer-labels.ts,
 * so the two cannot drift apart. Ranks and grades read as people write them.
 */

const policy = JSON.parse(readFileSync(new URL('../../config/routing/met-example.json', import.meta.url), 'utf8')) as { ranks: string[]; staffGrades: string[]; commandUnits: Record<string, string[]> }
const choices = { boroughs: Object.values(policy.commandUnits).flat(), ranks: policy.ranks, staffGrades: policy.staffGrades }

function decode(text: string): string {
  return text.replace(/&#39;/g, "'").replace(/&#x27;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')
}

/** Every (question, value, label) a form offers: radio and checkbox choices, and select options. */
function offered(html: string): [string, string, string][] {
  const found: [string, string, string][] = []
  for (const match of html.matchAll(/<input type="(?:radio|checkbox)" id="([^"]+)" name="([^"]+)" value="([^"]+)"[^>]*\/?><label for="\1">([^<]+)<\/label>/g)) found.push([match[2]!, decode(match[3]!), decode(match[4]!)])
  for (const select of html.matchAll(/<select id="[^"]+" name="([^"]+)"[^>]*>([\s\S]*?)<\/select>/g)) {
    for (const option of select[2]!.matchAll(/<option value="([^"]+)">([^<]+)<\/option>/g)) found.push([select[1]!, decode(option[1]!), decode(option[2]!).trim()])
  }
  return found
}

t.test('every choice the forms offer reads back in the same words', async (t) => {
  const pages = [...(await Promise.all(REPORT_STEPS.map((_, index) => ReportStep({ step: index + 1, choices })))).map(String), String(await AskPage({ context: { quickExitUrl: 'https://www.bbc.co.uk/weather', demo: false, contact: null, timeZone: 'Europe/London', assets: { css: '/a.css', htmx: '/h.js', app: '/a.js', evidenceWorker: '/w.js', puzzleWorker: '/p.js' } }, service: { name: 'IDVA service', fingerprint: 'x' } as never, guides: [], targetDays: 3 }))]
  const choicesSeen = pages.flatMap(offered)
  t.ok(choicesSeen.length > 60, `${choicesSeen.length} choices`)
  const places = new Set(choices.boroughs)
  for (const [name, value, label] of choicesSeen) {
    if (places.has(value)) continue // a borough reads as itself
    t.equal(answerLabel(name, value), label, `${name}=${value}`)
  }
  for (const [name, labels] of Object.entries(ANSWER_LABELS)) {
    for (const value of Object.keys(labels)) t.ok(choicesSeen.some(([n, v]) => n === name && v === value), `${name}=${value} is still offered`)
  }
})

t.test('in sentences, not raw values; free text as written', async (t) => {
  t.equal(readable('wants', ['talk_to_idva', 'support_at_work']), 'To talk to an IDVA; Support at work')
  t.equal(readable('duration', 'over_2_years'), 'More than 2 years')
  t.equal(readable('perpetratorRank', 'chief inspector'), 'Chief Inspector')
  t.equal(readable('perpetratorStaffGrade', 'A'), 'Band A')
  t.equal(readable('contactTimes', 'after_6pm not before'), 'after_6pm not before', 'what the person typed is shown exactly')
  t.equal(rankLabel('deputy assistant commissioner'), 'Deputy Assistant Commissioner')
})
