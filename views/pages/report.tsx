import { Layout } from '../layout.tsx'
import type { PageContext } from '../context.ts'
import { CryptoMissing, KeyProblemNotice, NotOpenNotice, ServiceKey, SlowCryptoNotice, type ServiceSummary } from '../components/service.tsx'
import { Receipt } from '../components/receipt.tsx'
import { ConsentException, PrivateWindowAdvice } from '../components/help.tsx'
import { gradeLabel, rankLabel } from '../../rules/answer-labels.ts'

/**
 * /report: what is happening, in six short steps. Every question can be skipped except one: an
 * IDVA needs at least a little about what is happening (a box ticked in step 1 or a few words in
 * step 6) to be able to help.
 *
 * There is no <form> here on purpose: a browser can only submit a form as it is, in readable text,
 * so the page's script gathers the answers, encrypts them to the IDVA service and sends only that.
 * Without the script (no JavaScript, an old browser) the questions stay switched off and the page
 * says plainly that it cannot send anything. Steps 2 to 6 are htmx fragments from
 * /report/steps/<n>, fetched with no parameters (they carry no answers).
 */

export interface ReportChoices {
  readonly boroughs: readonly string[]
  readonly ranks: readonly string[]
  /** Police staff grades, when the force's routing policy lists them. */
  readonly staffGrades: readonly string[]
}

export const REPORT_STEPS = [
  'What is happening',
  'The person harming you',
  'Where you live and work',
  'Your safety',
  'What you would like',
  'In your own words',
] as const

interface Option {
  readonly value: string
  readonly label: string
  readonly hint?: string
}

export function Choices({ name, legend, hint, type, options }: { name: string; legend: string; hint?: string; type: 'checkbox' | 'radio'; options: readonly Option[] }): JSX.Element {
  const hintId = `${name}-hint`
  return (
    <fieldset class="fieldset" aria-describedby={hint === undefined ? undefined : hintId}>
      <legend safe>{legend}</legend>
      {hint === undefined ? '' : <p class="hint" id={hintId} safe>{hint}</p>}
      <div class={type === 'radio' ? 'choices choices--radio' : 'choices'}>
        {options.map((option) => {
          const id = `${name}-${option.value}`
          return (
            <div class="choice">
              <input type={type} id={id} name={name} value={option.value} data-answer={name} />
              <label for={id} safe>
                {option.label}
              </label>
              {option.hint === undefined ? '' : <p class="hint choice__hint" safe>{option.hint}</p>}
            </div>
          )
        })}
      </div>
    </fieldset>
  )
}

function TextAnswer({ name, label, hint, long = false, autocomplete = 'off' }: { name: string; label: string; hint?: string; long?: boolean; autocomplete?: string }): JSX.Element {
  const hintId = `${name}-hint`
  return (
    <div class="field">
      <label for={name} safe>
        {label}
      </label>
      {hint === undefined ? '' : <p class="hint" id={hintId} safe>{hint}</p>}
      {long ? (
        <textarea id={name} name={name} rows="5" maxlength="2000" aria-describedby={hint === undefined ? undefined : hintId} data-answer={name}></textarea>
      ) : (
        <input type="text" id={name} name={name} maxlength="200" autocomplete={autocomplete} aria-describedby={hint === undefined ? undefined : hintId} data-answer={name} />
      )}
    </div>
  )
}

function SelectAnswer({ name, label, hint, options }: { name: string; label: string; hint?: string; options: readonly Option[] }): JSX.Element {
  const hintId = `${name}-hint`
  return (
    <div class="field">
      <label for={name} safe>
        {label}
      </label>
      {hint === undefined ? '' : <p class="hint" id={hintId} safe>{hint}</p>}
      <select id={name} name={name} aria-describedby={hint === undefined ? undefined : hintId} data-answer={name}>
        <option value="">Not answered</option>
        {options.map((option) => (
          <option value={option.value} safe>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  )
}

const NOT_SURE: Option = { value: 'not_sure', label: 'Not sure' }
const DONT_KNOW: Option = { value: 'not_sure', label: "I don't know" }


function placeOptions(boroughs: readonly string[]): Option[] {
  return [...boroughs.map((borough) => ({ value: borough, label: borough })), { value: 'outside_force_area', label: 'Outside the force area' }, { value: 'prefer_not_to_say', label: 'I would rather not say' }]
}

function StepQuestions({ step, choices }: { step: number; choices: ReportChoices }): JSX.Element {
  switch (step) {
    case 1:
      return (
        <>
          <Choices
            name="abuseTypes"
            type="checkbox"
            legend="What is happening to you?"
            hint="Choose all that apply. Abuse is not only physical, and what you are going through matters whatever it is."
            options={[
              { value: 'physical', label: 'Physical abuse' },
              { value: 'sexual', label: 'Sexual abuse' },
              { value: 'violent_or_threatening', label: 'Violent or threatening behaviour' },
              { value: 'controlling_or_coercive', label: 'Controlling or coercive behaviour', hint: 'For example: checking your phone, controlling who you see, where you go or what you wear, or making you afraid of what will happen.' },
              { value: 'economic', label: 'Economic abuse', hint: 'For example: controlling your money, your pay or your access to a car or phone.' },
              { value: 'psychological_or_emotional', label: 'Psychological or emotional abuse' },
              { value: 'stalking_or_online', label: 'Stalking, harassment or online abuse' },
            ]}
          />
          <Choices
            name="duration"
            type="radio"
            legend="How long has it been going on?"
            options={[
              { value: 'under_1_month', label: 'Less than a month' },
              { value: '1_to_6_months', label: '1 to 6 months' },
              { value: '6_to_12_months', label: '6 months to a year' },
              { value: '1_to_2_years', label: '1 to 2 years' },
              { value: 'over_2_years', label: 'More than 2 years' },
              NOT_SURE,
            ]}
          />
          <Choices
            name="frequency"
            type="radio"
            legend="How often does it happen?"
            options={[
              { value: 'once', label: 'It has happened once' },
              { value: 'a_few_times', label: 'A few times' },
              { value: 'monthly', label: 'About every month' },
              { value: 'weekly', label: 'About every week' },
              { value: 'daily', label: 'Every day, or almost every day' },
              NOT_SURE,
            ]}
          />
        </>
      )
    case 2:
      return (
        <>
          <Choices
            name="relationship"
            type="radio"
            legend="Who is the person harming you?"
            options={[
              { value: 'partner', label: 'My partner' },
              { value: 'ex_partner', label: 'My ex-partner' },
              { value: 'family_member', label: 'A family member' },
              { value: 'other', label: 'Someone else' },
            ]}
          />
          <Choices
            name="perpetratorPolice"
            type="radio"
            legend="Do they work for the police?"
            options={[{ value: 'this_force', label: 'Yes, for this force' }, { value: 'another_force', label: 'Yes, for another force' }, { value: 'no', label: 'No' }, NOT_SURE]}
          />
          <p class="hint">If they work for the police, you can tell us more below, only if you want to. It helps the IDVA service make sure nobody close to them deals with your case.</p>
          <TextAnswer name="perpetratorName" label="Their name (optional)" />
          <TextAnswer name="perpetratorNumber" label="Their collar or staff number (optional)" />
          <TextAnswer name="perpetratorRole" label="Their role (optional)" hint="For example: response officer, detective, call handler." />
          <SelectAnswer
            name="perpetratorRank"
            label="Their rank (optional)"
            options={[
              ...choices.ranks.map((rank) => ({ value: rank, label: rankLabel(rank) })),
              { value: 'special_constable', label: 'Special constable' },
              { value: 'pcso', label: 'PCSO (police community support officer)' },
              { value: 'staff', label: 'Police staff, not an officer' },
              DONT_KNOW,
            ]}
          />
          {choices.staffGrades.length === 0 ? (
            ''
          ) : (
            <SelectAnswer name="perpetratorStaffGrade" label="If they are police staff, their grade (optional)" options={[...choices.staffGrades.map((grade) => ({ value: grade, label: gradeLabel(grade) })), DONT_KNOW]} />
          )}
          <TextAnswer name="perpetratorWorkplace" label="Where they work (optional)" hint="A station, team or department." />
          <SelectAnswer
            name="perpetratorBorough"
            label="Which borough do they work in? (optional)"
            hint="If they do not work for the police, which borough they live in. It helps make sure nobody who works near them deals with your case."
            options={[...placeOptions(choices.boroughs).filter((option) => option.value !== 'prefer_not_to_say'), DONT_KNOW]}
          />
          <Choices
            name="onDuty"
            type="radio"
            legend="Did any of it happen while they were at work, on duty?"
            options={[{ value: 'yes', label: 'Yes, some or all of it' }, { value: 'no', label: 'No, none of it' }, DONT_KNOW]}
          />
          <Choices
            name="usedPosition"
            type="radio"
            legend="Have they used their job or position against you?"
            hint="For example: threatening that nobody would believe you, looking you up on police systems, or turning colleagues against you."
            options={[{ value: 'yes', label: 'Yes' }, { value: 'no', label: 'No' }, NOT_SURE]}
          />
          <TextAnswer name="usedPositionDetail" label="If you want to, tell us how (optional)" long />
        </>
      )
    case 3:
      return (
        <>
          <p class="hint" id="places-hint">
            These help the IDVA service make sure that, if you ever want something investigated, it goes to people who do not work
            where you live or work. They are used only with your agreement.
          </p>
          <SelectAnswer name="liveBorough" label="Where do you live?" options={placeOptions(choices.boroughs)} />
          <SelectAnswer name="workBorough" label="Where do you work?" options={placeOptions(choices.boroughs)} />
          <SelectAnswer name="incidentBorough" label="Where did it happen?" hint="If it happened in several places, choose the main one and tell us more in step 6." options={placeOptions(choices.boroughs)} />
          <Choices
            name="otherForce"
            type="radio"
            legend="If it is ever investigated, would you want another police force to do it?"
            hint="You do not have to decide now. Nothing is investigated unless you agree."
            options={[{ value: 'yes', label: 'Yes, another force' }, { value: 'no', label: 'No, this force is fine' }, DONT_KNOW]}
          />
        </>
      )
    case 4:
      return (
        <>
          <Choices name="children" type="radio" legend="Are there children in your household?" options={[{ value: 'yes', label: 'Yes' }, { value: 'no', label: 'No' }, { value: 'prefer_not_to_say', label: 'I would rather not say' }]} />
          <Choices
            name="safeNow"
            type="radio"
            legend="How safe do you feel right now?"
            options={[
              { value: 'in_danger', label: 'I am in danger now' },
              { value: 'not_safe', label: 'I do not feel safe' },
              { value: 'unsure', label: 'I am not sure' },
              { value: 'safe_for_now', label: 'I feel safe for now' },
            ]}
          />
          <div class="notice notice--warning" role="alert" data-danger-now="" hidden>
            <h3 class="notice__title">If you are in danger now</h3>
            <ul class="list">
              <li>
                Call <strong>999</strong> now. If you cannot speak, call 999 from a mobile, listen, then press <strong>55</strong> when asked:
                the call is put through to the police without you saying anything.
              </li>
              <li>If you can, go somewhere safer: a room with a lock and a phone, or a place with other people.</li>
              <li>
                You can still finish and send this when it is safe to. The IDVA service will see that you said you are in danger, and will
                look at your case first.
              </li>
            </ul>
          </div>
          <div class="notice notice--warning">
            <p>
              If you are in danger now, call <strong>999</strong>. If you cannot speak, call 999 from a mobile and press <strong>55</strong> when asked.
            </p>
          </div>
        </>
      )
    case 5:
      return (
        <>
          <Choices
            name="wants"
            type="checkbox"
            legend="What would you like from the IDVA service?"
            hint="Choose any that you would like. None of these commits you to anything, and you can change your mind at any time."
            options={[
              { value: 'talk_to_idva', label: 'To talk to an IDVA' },
              { value: 'meet_idva', label: 'To meet an IDVA face to face', hint: 'Somewhere away from work that feels safe to you.' },
              { value: 'safety_planning', label: 'Help to plan how to stay safe' },
              { value: 'support_at_work', label: 'Support at work', hint: 'For example: changes to shifts or where you work, or time off.' },
              { value: 'information_about_reporting', label: 'Information about reporting, so I can decide' },
              { value: 'report_crime', label: 'To report a crime' },
              { value: 'report_misconduct', label: 'To report misconduct' },
            ]}
          />
          <Choices
            name="contactWays"
            type="checkbox"
            legend="How can the IDVA service contact you safely?"
            hint="You can always read replies here, with your case code. Only choose another way if it is safe."
            options={[
              { value: 'this_site_only', label: 'Only through this site' },
              { value: 'phone', label: 'Call me' },
              { value: 'text', label: 'Text message' },
              { value: 'email', label: 'Email' },
            ]}
          />
          <TextAnswer name="contactDetails" label="Phone number or email address to use (optional)" />
          <TextAnswer name="contactTimes" label="Safe times to contact you (optional)" hint="For example: weekdays between 9am and 3pm." />
          <TextAnswer name="contactAvoid" label="Anything the IDVA service should avoid (optional)" hint="For example: do not leave a voicemail, or do not say where you are calling from." />
        </>
      )
    default:
      return (
        <>
          <div class="field">
            <label for="text">Tell us what is happening, in your own words</label>
            <p class="hint" id="text-hint">
              Write as much or as little as you like. You do not need dates or details if you do not have them.
            </p>
            <textarea id="text" name="text" rows="10" maxlength="50000" aria-describedby="text-hint" data-answer="text"></textarea>
          </div>
          <div class="field">
            <label for="evidence">Add files (optional)</label>
            <p class="hint" id="evidence-hint">
              Photos, screenshots, recordings or documents. Up to 10 files, each up to 25 MB. They are locked on your device
              before they are sent, like everything else.
            </p>
            <SlowCryptoNotice />
            <input type="file" id="evidence" name="evidence" multiple aria-describedby="evidence-hint" data-evidence="" />
            <ul class="list file-list" data-file-list="" aria-live="polite"></ul>
          </div>
        </>
      )
  }
}

/** One step: a heading to move focus to, its questions, and the buttons to move on or back. */
export function ReportStep({ step, choices }: { step: number; choices: ReportChoices }): JSX.Element {
  const last = step === REPORT_STEPS.length
  return (
    <section class="report-step" data-step={String(step)} aria-labelledby={`step-${step}-title`}>
      <h2 id={`step-${step}-title`} tabindex="-1" safe>
        {`Step ${step} of ${REPORT_STEPS.length}: ${REPORT_STEPS[step - 1]}`}
      </h2>
      <fieldset class="report-step__fields" data-step-fields="" disabled>
        <legend class="visually-hidden">{REPORT_STEPS[step - 1] as 'safe'}</legend>
        <StepQuestions step={step} choices={choices} />
      </fieldset>
      {last ? (
        <div class="report-step__before-send" data-before-send="">
          <p>Nothing goes to anyone who investigates unless you agree.</p>
          <ConsentException />
        </div>
      ) : (
        ''
      )}
      <div class="step-nav">
        {step === 1 ? '' : (
          <button type="button" class="button button--secondary" data-step-back="" disabled>
            Back
          </button>
        )}
        {last ? (
          <button type="button" class="button" data-submit="" disabled>
            Lock and send to the IDVA service
          </button>
        ) : (
          <button type="button" class="button" data-step-next="" disabled>
            Continue
          </button>
        )}
      </div>
    </section>
  )
}

export function ReportPage({ context, service, firstReplyTargetDays, choices }: { context: PageContext; service: ServiceSummary | null; firstReplyTargetDays: number; choices: ReportChoices }): JSX.Element {
  return (
    <Layout context={context} title="Tell the IDVA service what is happening" tabTitle="Get in touch" page="report" servicePin={service?.fingerprint}>
      <h1 data-page-title="">Tell the IDVA service what is happening</h1>
      {service === null ? (
        <NotOpenNotice />
      ) : (
        <>
          {/* Shown once, before step 1: from step 2 on, each step's question is at the top of the screen. */}
          <div data-report-intro="">
            <PrivateWindowAdvice short />
            <p>
              Six short steps. You can skip any question, and you do not have to give your name. What you write is locked on this
              device so that only the IDVA service can read it.
            </p>
            <ServiceKey service={service} folded />
          </div>
          <CryptoMissing contact={context.contact} what="send" />
          <KeyProblemNotice />
          <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
          <div id="report" class="report" data-report="" data-steps={String(REPORT_STEPS.length)}>
            <ReportStep step={1} choices={choices} />
          </div>
          <p class="working" role="status" data-working="" hidden></p>
          <Receipt kind="disclosure" firstReplyTargetDays={firstReplyTargetDays} />
        </>
      )}
    </Layout>
  )
}
