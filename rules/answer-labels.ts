/**
 * What each fixed answer of /report and /managers/ask says, as the person chose it: the same words
 * the form shows, so that /return and the IDVA's case page show answers back in sentences, never as
 * raw values ("talk_to_idva"). test/unit/answer-labels.test.ts renders every step and checks that
 * the form and this list say the same. Places (boroughs) and the policy's ranks and grades are
 * shown by rankLabel and gradeLabel.
 */
export const ANSWER_LABELS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  abuseTypes: {
    physical: 'Physical abuse',
    sexual: 'Sexual abuse',
    violent_or_threatening: 'Violent or threatening behaviour',
    controlling_or_coercive: 'Controlling or coercive behaviour',
    economic: 'Economic abuse',
    psychological_or_emotional: 'Psychological or emotional abuse',
    stalking_or_online: 'Stalking, harassment or online abuse',
  },
  duration: {
    under_1_month: 'Less than a month',
    '1_to_6_months': '1 to 6 months',
    '6_to_12_months': '6 months to a year',
    '1_to_2_years': '1 to 2 years',
    over_2_years: 'More than 2 years',
    not_sure: 'Not sure',
  },
  frequency: {
    once: 'It has happened once',
    a_few_times: 'A few times',
    monthly: 'About every month',
    weekly: 'About every week',
    daily: 'Every day, or almost every day',
    not_sure: 'Not sure',
  },
  relationship: {
    partner: 'My partner',
    ex_partner: 'My ex-partner',
    family_member: 'A family member',
    other: 'Someone else',
  },
  perpetratorPolice: {
    this_force: 'Yes, for this force',
    another_force: 'Yes, for another force',
    no: 'No',
    not_sure: 'Not sure',
  },
  perpetratorRank: {
    staff: 'Police staff, not an officer',
    special_constable: 'Special constable',
    pcso: 'PCSO (police community support officer)',
    not_sure: "I don't know",
  },
  perpetratorBorough: {
    outside_force_area: 'Outside the force area',
    not_sure: "I don't know",
  },
  onDuty: {
    yes: 'Yes, some or all of it',
    no: 'No, none of it',
    not_sure: "I don't know",
  },
  usedPosition: {
    yes: 'Yes',
    no: 'No',
    not_sure: 'Not sure',
  },
  otherForce: {
    yes: 'Yes, another force',
    no: 'No, this force is fine',
    not_sure: "I don't know",
  },
  children: {
    yes: 'Yes',
    no: 'No',
    prefer_not_to_say: 'I would rather not say',
  },
  safeNow: {
    in_danger: 'I am in danger now',
    not_safe: 'I do not feel safe',
    unsure: 'I am not sure',
    safe_for_now: 'I feel safe for now',
  },
  wants: {
    talk_to_idva: 'To talk to an IDVA',
    meet_idva: 'To meet an IDVA face to face',
    safety_planning: 'Help to plan how to stay safe',
    support_at_work: 'Support at work',
    information_about_reporting: 'Information about reporting, so I can decide',
    report_crime: 'To report a crime',
    report_misconduct: 'To report misconduct',
  },
  contactWays: {
    this_site_only: 'Only through this site',
    phone: 'Call me',
    text: 'Text message',
    email: 'Email',
  },
  managerRole: {
    line_manager: 'I am their line manager',
    supervisor: 'I supervise them in another way',
    colleague: 'I am a colleague',
    hr_or_welfare: 'I work in HR, welfare or occupational health',
    other: 'Another way',
  },
  adviceTopics: {
    what_to_say: 'What to say, and what not to say',
    immediate_safety: 'Immediate safety',
    safety_at_work: 'Safety at work',
    abuser_is_colleague: 'The person harming them is a colleague or a supervisor',
    adjustments_and_leave: 'Reasonable adjustments and leave',
    confidentiality: 'Confidentiality and its limits',
    referral: 'What happens after a referral',
    looking_after_myself: 'Looking after myself',
  },
}

/** A rank as people write it: "chief inspector" is "Chief Inspector". */
export function rankLabel(rank: string): string {
  return rank.replace(/(^|[\s-])([a-z])/g, (_match, before: string, letter: string) => `${before}${letter.toUpperCase()}`)
}

/** A police staff grade as people read it: "A" is "Band A"; a longer name stays as it is. */
export function gradeLabel(grade: string): string {
  return /^[A-Z]$/.test(grade) ? `Band ${grade}` : grade
}

const PLACES: Readonly<Record<string, string>> = { outside_force_area: 'Outside the force area', prefer_not_to_say: 'I would rather not say' }

/** One answer in the words the person chose; a value with no label (a place, a rank) as it reads best. */
export function answerLabel(name: string, value: string): string {
  const labels = Object.hasOwn(ANSWER_LABELS, name) ? ANSWER_LABELS[name] : undefined
  if (labels !== undefined && Object.hasOwn(labels, value)) return labels[value]!
  if (name === 'perpetratorRank') return rankLabel(value)
  if (name === 'perpetratorStaffGrade') return value === 'not_sure' ? "I don't know" : gradeLabel(value)
  if (Object.hasOwn(PLACES, value)) return PLACES[value]!
  return value.replace(/_/g, ' ')
}

/**
 * Roles the report offers beside the policy's ranks, and what the routing engine treats them as: a
 * special constable holds the office of constable; a PCSO is police staff (grade not known).
 */
export const RANK_EQUIVALENTS: Readonly<Record<string, string>> = { special_constable: 'constable', pcso: 'staff' }
