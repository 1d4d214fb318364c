/**
 * The report's questions, named for people reading the answers: the reporter on /return, the IDVA
 * on the case page. Answers are the values the report's choices carry (words joined by
 * underscores), shown with spaces, as text only.
 */

/** Plain names for the report's questions, to show a reporter their own answers. */
export const QUESTION_NAMES: Record<string, string> = {
  abuseTypes: 'What is happening',
  duration: 'How long',
  frequency: 'How often',
  relationship: 'The person harming you',
  perpetratorPolice: 'Works for the police',
  perpetratorName: 'Their name',
  perpetratorNumber: 'Collar or staff number',
  perpetratorRole: 'Their role',
  perpetratorRank: 'Rank or grade',
  perpetratorWorkplace: 'Where they work',
  usedPosition: 'Used their position',
  usedPositionDetail: 'How',
  liveBorough: 'Where you live',
  workBorough: 'Where you work',
  incidentBorough: 'Where it happened',
  children: 'Children in the household',
  safeNow: 'How safe you feel',
  wants: 'What you would like',
  contactWays: 'Safe ways to contact you',
  contactDetails: 'Contact details',
  contactTimes: 'Safe times',
  contactAvoid: 'Things to avoid',
}

export function readable(value: string | readonly string[]): string {
  const words = (text: string) => text.replace(/_/g, ' ')
  return typeof value === 'string' ? words(value) : value.map(words).join(', ')
}

/** The same questions as an IDVA reads them: about the person who wrote. */
export const IDVA_QUESTION_NAMES: Record<string, string> = {
  abuseTypes: 'Types of abuse',
  duration: 'How long',
  frequency: 'How often',
  relationship: 'Relationship to the person harming them',
  perpetratorPolice: 'Person harming them works for the police',
  perpetratorName: 'Their name',
  perpetratorNumber: 'Collar or staff number',
  perpetratorRole: 'Their role',
  perpetratorRank: 'Rank or grade',
  perpetratorWorkplace: 'Where they work',
  usedPosition: 'Used their position',
  usedPositionDetail: 'How they used it',
  liveBorough: 'Lives in',
  workBorough: 'Works in',
  incidentBorough: 'Where it happened',
  children: 'Children in the household',
  safeNow: 'How safe they feel now',
  wants: 'What they would like',
  contactWays: 'Safe ways to contact them',
  contactDetails: 'Contact details',
  contactTimes: 'Safe times',
  contactAvoid: 'Things to avoid',
}

/** What the case page shows first, in this order: the answers an IDVA needs before replying. */
export const AT_A_GLANCE: readonly string[] = [
  'abuseTypes',
  'duration',
  'frequency',
  'relationship',
  'perpetratorPolice',
  'perpetratorRank',
  'usedPosition',
  'safeNow',
  'children',
  'wants',
  'contactWays',
  'contactDetails',
  'contactTimes',
  'contactAvoid',
]
