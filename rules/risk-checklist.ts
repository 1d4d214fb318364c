import type { Answer, RiskLevel } from '../crypto/records.ts'

/**
 * The risk-indicators checklist, written for this project and modelled on the checklist UK
 * domestic abuse services use: 24 questions, each answered yes, no or not known. The IDVA asks
 * them with the person, in their own words; the questions are phrased so that nothing suggests the
 * person is to blame for what is being done to them.
 *
 * Pure data and pure functions: the case page renders the questions, the IDVA's browser computes
 * the level from the answers (which are then encrypted, never sent in clear), and the tests check
 * the thresholds. The server only ever learns the resulting level.
 *
 * Levels: 14 or more "yes" answers is high risk; 10 to 13 is medium; fewer is standard. Professional
 * judgement may raise the level (with a reason), never lower it. A high level, or three or more
 * incidents in the last twelve months (escalation), qualifies for referral to the multi-agency
 * risk assessment conference (MARAC).
 */

export interface RiskQuestion {
  readonly id: string
  readonly text: string
  /** Shown under the question: what it is about, or why it matters. */
  readonly hint?: string
}

export const RISK_QUESTIONS: readonly RiskQuestion[] = [
  { id: 'injured', text: 'Were you hurt or injured the last time something happened?' },
  { id: 'frightened', text: 'Are you very frightened?', hint: 'Note in the person\'s words what they are afraid of.' },
  { id: 'fear_of_harm', text: 'Are you afraid of what they might do next: to you, to your children or to someone else?', hint: 'Including being killed.' },
  { id: 'isolated', text: 'Do they keep you apart from family, friends or colleagues, or stop you from seeing people?' },
  { id: 'low_mood', text: 'Are you feeling low or hopeless, or having thoughts of ending your life?' },
  { id: 'separation', text: 'Have you separated from them, or tried to, in the past year?' },
  { id: 'child_contact', text: 'Is there conflict over contact with children?' },
  { id: 'stalking', text: 'Do they follow you, watch you, turn up where you are, or keep calling or messaging you?' },
  { id: 'pregnancy', text: 'Are you pregnant, or have you had a baby in the last 18 months?' },
  { id: 'escalating', text: 'Is it happening more often, or getting worse?' },
  { id: 'controlling', text: 'Do they try to control what you do, who you see, what you wear or where you go, or are they extremely jealous?' },
  { id: 'weapon', text: 'Have they used, or threatened to use, a weapon or an object to hurt you?' },
  { id: 'threat_to_kill', text: 'Have they threatened to kill you or someone else, and did you believe them?' },
  { id: 'strangulation', text: 'Have they ever strangled you, choked you, smothered you or held you under water?' },
  { id: 'sexual', text: 'Do they do or say sexual things that make you feel bad, or that hurt you?' },
  { id: 'other_threat', text: 'Is someone else threatening you, or is there someone else you are afraid of?' },
  { id: 'hurt_others', text: 'Do you know of them hurting anyone else: children, other relatives, a previous partner?' },
  { id: 'animals', text: 'Have they ever hurt or threatened an animal or a pet?' },
  { id: 'money', text: 'Do they control your money, or are there money problems that put you at risk?' },
  { id: 'substances', text: 'Have they had problems with alcohol, drugs or their mental health in the past year?' },
  { id: 'suicide_threat', text: 'Have they threatened or attempted to end their own life?' },
  { id: 'breached_orders', text: 'Have they broken bail conditions, a court order or an agreement about contact?' },
  { id: 'violence_history', text: 'Do you know of them having a history of violence, or trouble with the police or courts?' },
  {
    id: 'police_position',
    text: 'Have they used their police role to find you, watch you, threaten you or make others doubt you?',
    hint: 'For example police systems, records, equipment, powers, or colleagues.',
  },
]

export const HIGH_RISK_YES = 14
export const MEDIUM_RISK_YES = 10
export const MARAC_INCIDENTS = 3
const ORDER: readonly RiskLevel[] = ['standard', 'medium', 'high']

export const RISK_LEVEL_NAMES: Readonly<Record<RiskLevel, string>> = { standard: 'Standard', medium: 'Medium', high: 'High' }

export interface RiskAssessment {
  readonly yes: number
  readonly answered: number
  /** What the answers alone give. */
  readonly computedLevel: RiskLevel
  /** The recorded level: the higher of the answers' and the IDVA's judgement. */
  readonly level: RiskLevel
  /** Qualifies for a MARAC referral: high risk, or escalation (three or more incidents in a year). */
  readonly maracEligible: boolean
  readonly maracReasons: readonly string[]
}

export function levelFromYes(yes: number): RiskLevel {
  if (yes >= HIGH_RISK_YES) return 'high'
  if (yes >= MEDIUM_RISK_YES) return 'medium'
  return 'standard'
}

export function higherLevel(a: RiskLevel, b: RiskLevel): RiskLevel {
  return ORDER.indexOf(a) >= ORDER.indexOf(b) ? a : b
}

/** True when `level` is below `floor`: a judgement may raise the level, never lower it. */
export function isLower(level: RiskLevel, floor: RiskLevel): boolean {
  return ORDER.indexOf(level) < ORDER.indexOf(floor)
}

/**
 * The level from the answers (unknown answers count as neither yes nor no), raised by the IDVA's
 * judgement when that is higher; never lowered by it.
 */
export function assessRisk(answers: Readonly<Record<string, Answer>>, incidentsLastYear: number | null, judgement: RiskLevel | null): RiskAssessment {
  const known = RISK_QUESTIONS.map((question) => answers[question.id]).filter((answer) => answer !== undefined)
  const yes = known.filter((answer) => answer === 'yes').length
  const computedLevel = levelFromYes(yes)
  const level = judgement === null ? computedLevel : higherLevel(judgement, computedLevel)
  const maracReasons: string[] = []
  if (level === 'high') maracReasons.push(computedLevel === 'high' ? `${yes} of ${RISK_QUESTIONS.length} indicators answered yes (${HIGH_RISK_YES} or more is high risk)` : 'high risk by professional judgement')
  if (incidentsLastYear !== null && incidentsLastYear >= MARAC_INCIDENTS) maracReasons.push(`${incidentsLastYear} incidents in the last twelve months (escalation)`)
  return { yes, answered: known.filter((answer) => answer !== 'unknown').length, computedLevel, level, maracEligible: maracReasons.length > 0, maracReasons }
}
