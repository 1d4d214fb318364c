import { answerLabel } from '../rules/answer-labels.ts'

/**
 * The report's questions, named for people reading the answers: the reporter on /return, the IDVA
 * on the case page. Answers are shown in the words the form showed (rules/answer-labels.ts), as
 * text only.
 */

/** Each question's name: as the reporter reads their own answers, and as an IDVA reads them. */
const QUESTIONS: Record<string, readonly [string, string]> = {
  abuseTypes: ['What is happening', 'Types of abuse'],
  duration: ['How long', 'How long'],
  frequency: ['How often', 'How often'],
  relationship: ['The person harming you', 'Relationship to the person harming them'],
  perpetratorPolice: ['Works for the police', 'Person harming them works for the police'],
  perpetratorName: ['Their name', 'Their name'],
  perpetratorNumber: ['Collar or staff number', 'Collar or staff number'],
  perpetratorRole: ['Their role', 'Their role'],
  perpetratorRank: ['Rank', 'Rank'],
  perpetratorStaffGrade: ['Police staff grade', 'Police staff grade'],
  perpetratorWorkplace: ['Where they work', 'Where they work'],
  perpetratorBorough: ['Borough they work or live in', 'Borough they work or live in'],
  onDuty: ['Happened while they were on duty', 'Happened while they were on duty'],
  usedPosition: ['Used their position', 'Used their position'],
  usedPositionDetail: ['How', 'How they used it'],
  liveBorough: ['Where you live', 'Lives in'],
  workBorough: ['Where you work', 'Works in'],
  incidentBorough: ['Where it happened', 'Where it happened'],
  otherForce: ['Another force to investigate', 'Wants another force to investigate'],
  children: ['Children in the household', 'Children in the household'],
  safeNow: ['How safe you feel', 'How safe they feel now'],
  wants: ['What you would like', 'What they would like'],
  contactWays: ['Safe ways to contact you', 'Safe ways to contact them'],
  contactDetails: ['Contact details', 'Contact details'],
  contactTimes: ['Safe times', 'Safe times'],
  contactAvoid: ['Things to avoid', 'Things to avoid'],
  managerRole: ['How you know the person', 'How they know the person'],
  adviceTopics: ['What you would like advice on', 'Advice wanted on'],
}

export const QUESTION_NAMES: Record<string, string> = Object.fromEntries(Object.entries(QUESTIONS).map(([name, [reporter]]) => [name, reporter]))

/** The same questions as an IDVA reads them: about the person who wrote. */
export const IDVA_QUESTION_NAMES: Record<string, string> = Object.fromEntries(Object.entries(QUESTIONS).map(([name, [, idva]]) => [name, idva]))

/** An answer in the words the form showed ("To talk to an IDVA", "More than 2 years"); free text as written. */
export function readable(name: string, value: string | readonly string[]): string {
  if (typeof value === 'string') return FREE_TEXT.has(name) ? value : answerLabel(name, value)
  return value.map((one) => answerLabel(name, one)).join('; ')
}

/** Answers the person typed: shown exactly as written. */
const FREE_TEXT = new Set(['perpetratorName', 'perpetratorNumber', 'perpetratorRole', 'perpetratorWorkplace', 'usedPositionDetail', 'contactDetails', 'contactTimes', 'contactAvoid'])

/** What the case page shows first for a manager's consultation. */
export const CONSULTATION_AT_A_GLANCE: readonly string[] = ['managerRole', 'adviceTopics']

/** What the case page shows first, in this order: the answers an IDVA needs before replying. */
export const AT_A_GLANCE: readonly string[] = [
  'abuseTypes',
  'duration',
  'frequency',
  'relationship',
  // Where: the places routing keeps apart, at a glance.
  'liveBorough',
  'workBorough',
  'incidentBorough',
  'perpetratorBorough',
  'perpetratorPolice',
  'perpetratorRank',
  'perpetratorStaffGrade',
  'onDuty',
  'usedPosition',
  'safeNow',
  'children',
  'wants',
  'otherForce',
  'contactWays',
  'contactDetails',
  'contactTimes',
  'contactAvoid',
]
