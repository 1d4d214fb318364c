/**
 * The routing step on the IDVA's case page: the facts the routing engine needs (filled in by the
 * page's script from the decrypted disclosure and the assessment; the IDVA completes or corrects
 * them), the decision the engine gives in the browser, any override with its reason, and one
 * package per track, sealed in the browser. Everything decrypted is set by the script as text; the
 * server renders only the empty structure and the policy's own lists (boroughs, ranks, forces).
 */

export interface RoutingChoices {
  /** The IDVA service's name, as packages say who they come from. */
  readonly serviceName: string
  /** Every borough in the policy, A to Z. */
  readonly boroughs: readonly string[]
  readonly ranks: readonly string[]
  readonly staffGrades: readonly string[]
  /** This force first, then the partner forces: [id, name]. */
  readonly forces: readonly (readonly [string, string])[]
  /** The policy's conflicted departments: [id, name]. */
  readonly departments: readonly (readonly [string, string])[]
}

const UNKNOWN = ['', 'Not known'] as const

function Select({ id, label, fact, options, hint }: { id: string; label: string; fact: string; options: readonly (readonly [string, string])[]; hint?: string }): JSX.Element {
  return (
    <div class="field">
      <label for={id} safe>
        {label}
      </label>
      {hint === undefined ? '' : (
        <p class="hint" id={`${id}-hint`} safe>
          {hint}
        </p>
      )}
      <select id={id} data-fact={fact} aria-describedby={hint === undefined ? undefined : `${id}-hint`}>
        {[UNKNOWN, ...options].map(([value, text]) => (
          <option value={value} safe>
            {text}
          </option>
        ))}
      </select>
    </div>
  )
}

/** Yes, no or not known: unknown is never read as no. */
function Tristate({ name, legend, fact, unknown = true }: { name: string; legend: string; fact: string; unknown?: boolean }): JSX.Element {
  const options: (readonly [string, string])[] = [
    ['yes', 'Yes'],
    ['no', 'No'],
  ]
  if (unknown) options.push(['unknown', 'Not known'])
  return (
    <fieldset class="fieldset">
      <legend safe>{legend}</legend>
      <div class="choices choices--inline">
        {options.map(([value, text]) => (
          <div class="choice">
            <input type="radio" id={`${name}-${value}`} name={name} value={value} data-fact={fact} />
            <label for={`${name}-${value}`} safe>
              {text}
            </label>
          </div>
        ))}
      </div>
    </fieldset>
  )
}

export function RoutingSection({ choices }: { choices: RoutingChoices }): JSX.Element {
  const boroughs = choices.boroughs.map((borough) => [borough, borough] as const)
  return (
    <section class="panel" aria-labelledby="routing-title" data-routing="" data-service-name={choices.serviceName}>
      <h2 id="routing-title">Refer to investigators</h2>
      <p>
        With the person's consent for a track (or a recorded safeguarding override), their case can go to investigators outside
        their area or their force, with the criminal and misconduct tracks kept apart. The routing policy decides where; you can
        choose another unit with a reason. Each package is locked in this browser to the receiving unit's key.
      </p>
      <div data-referral-states=""></div>

      <form data-form="routing" novalidate>
        <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
        <h3>1. The facts</h3>
        <p class="hint">
          Filled in from what they wrote and your assessment. Correct anything that is wrong. Leave what is not known as "Not known":
          it is never read as "no".
        </p>
        <fieldset class="fieldset">
          <legend>The person disclosing</legend>
          <Select id="fact-home" label="Lives in" fact="reporter.homeBorough" options={boroughs} />
          <Select id="fact-work" label="Works in" fact="reporter.workBorough" options={boroughs} />
          <Select id="fact-incident" label="Where it happened" fact="incidentBoroughs.0" options={boroughs} />
          <Select id="fact-incident-2" label="And also (if it happened in another borough too)" fact="incidentBoroughs.1" options={boroughs} />
          <Tristate name="fact-other-force" legend="They asked for another force" fact="requestOtherForce" />
        </fieldset>
        <fieldset class="fieldset">
          <legend>The person harming them</legend>
          <Tristate name="fact-police" legend="Works for the police" fact="suspect.policeEmployee" />
          <Select id="fact-suspect-force" label="Their force" fact="suspect.force" options={choices.forces} />
          <Select id="fact-suspect-work" label="The borough they work in" fact="suspect.workBorough" options={boroughs} />
          <Select id="fact-rank" label="Rank" fact="suspect.rank" options={[...choices.ranks.map((rank) => [rank, rank] as const), ['staff', 'Police staff']]} />
          <Select id="fact-grade" label="Police staff grade" fact="suspect.staffGrade" options={choices.staffGrades.map((grade) => [grade, grade] as const)} />
          <Select
            id="fact-department"
            label="Department"
            fact="suspect.department"
            hint="Only the departments the routing policy treats as conflicted are listed; choose Another department for any other."
            options={[...choices.departments, ['another', 'Another department']]}
          />
          <Tristate name="fact-on-duty" legend="Any of it happened on duty" fact="suspect.onDuty" />
          <Tristate name="fact-position" legend="Used their police status, systems or powers to abuse, deter or discredit" fact="suspect.abuseOfPosition" />
          <Tristate name="fact-position-sexual" legend="... for a sexual purpose or an improper emotional relationship" fact="suspect.abuseOfPositionSexual" />
        </fieldset>
        <fieldset class="fieldset">
          <legend>The allegation</legend>
          <Tristate name="fact-criminal" legend="A criminal offence is alleged" fact="allegation.criminal" unknown={false} />
          <Tristate name="fact-serious-assault" legend="Serious assault" fact="allegation.seriousAssault" />
          <Tristate name="fact-sexual" legend="Serious sexual offence" fact="allegation.seriousSexualOffence" />
          <Tristate name="fact-discriminatory" legend="Aggravated by discrimination" fact="allegation.discriminatory" />
          <Tristate name="fact-relevant" legend="A relevant offence (7 years or more, or a sentence fixed by law)" fact="allegation.relevantOffence" />
        </fieldset>
        <fieldset class="fieldset">
          <legend>Consent and safeguarding</legend>
          <p data-routing-consent="" class="hint"></p>
          <div class="choice">
            <input type="checkbox" id="fact-safeguarding" data-fact="safeguardingOverride" />
            <label for="fact-safeguarding">A safeguarding override: risk to life or to children requires a referral without consent</label>
          </div>
          <div class="field">
            <label for="fact-safeguarding-reason">The reason for the override</label>
            <textarea id="fact-safeguarding-reason" rows="3" maxlength="5000" data-fact="safeguardingOverride.reason"></textarea>
          </div>
        </fieldset>
        <button type="submit" class="button" disabled data-submit="">
          Work out the route
        </button>
      </form>

      <div data-decision="" hidden tabindex="-1">
        <h3>2. Where it goes, and why</h3>
        <p class="hint" data-decision-policy=""></p>
        <div data-decision-tracks=""></div>
        <div data-decision-iopc=""></div>
        <ul class="list" data-decision-warnings=""></ul>
        <div class="error-summary" role="alert" tabindex="-1" data-routing-error="" hidden></div>
        <button type="button" class="button" data-save-routing="">
          Save this routing
        </button>
        <p class="notice notice--ok" role="status" data-routing-saved="" hidden></p>
      </div>

      <div data-packages="" hidden tabindex="-1">
        <h3>3. The packages</h3>
        <p class="hint">
          One package per track, with only what the person agreed to share with that track. What they first wrote is never sent as
          it is. Each is locked in this browser to the receiving unit's key and the IDVA service's key.
        </p>
        <div data-package-tracks=""></div>
        <div class="error-summary" role="alert" tabindex="-1" data-package-error="" hidden></div>
        <p class="working" role="status" data-package-working="" hidden></p>
        <button type="button" class="button" data-send-packages="">
          Lock and send the packages
        </button>
        <p class="notice notice--ok" role="status" data-packages-sent="" hidden></p>
      </div>
    </section>
  )
}
