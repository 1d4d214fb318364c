import { readableDay } from '../../../rules/dates.ts'
import { ACTION_NAMES, NOTE_PROMPTS, STATUS_NAMES, TRACK_NAMES, type ReferralStatus, type StatusAction } from '../../../rules/referral-states.ts'
import { StaffLayout, UnlockKeys, type StaffView } from '../../staff/layout.tsx'
import { Clock, FormErrors, Submit, type ClockView } from './cases.tsx'

/**
 * An investigator unit's inbox and one referral's page. The server shows metadata only (track, the
 * day it came, its state, whether the IOPC must be considered); the package, its files and the
 * unit's notes are opened by the page's script in the investigator's browser and shown as text.
 */

export interface InboxItem {
  readonly id: string
  readonly track: 'criminal' | 'misconduct'
  readonly status: ReferralStatus
  readonly iopcRequired: boolean
  readonly iopcDecision: 'referred' | 'not_referred' | null
  readonly iopcDue: boolean
  readonly receivedOn: string
  readonly clock: ClockView
}

export interface UnitReferralView extends InboxItem {
  readonly caseId: string
  readonly unitGeneration: number
  readonly nextActions: readonly StatusAction[]
}

/** A short reference to read out: the first eight characters of the referral's id. */
export function referralReference(id: string): string {
  return id.slice(0, 8)
}

function Iopc({ item }: { item: InboxItem }): JSX.Element {
  if (!item.iopcRequired) return <span>Not required</span>
  if (item.iopcDecision === 'referred') return <span class="tag">Referred to the IOPC</span>
  if (item.iopcDecision === 'not_referred') return <span class="tag">Not referred to the IOPC</span>
  return <strong class="tag tag--iopc" data-iopc-flag="">Consider referring to the IOPC</strong>
}

/** What the unit sees, in plain words. */
function WhatYouSee({ track }: { track: 'criminal' | 'misconduct' }): JSX.Element {
  return (
    <p data-what-you-see="">
      These are the packages the IDVA service referred to your unit, on the <span safe>{TRACK_NAMES[track].toLowerCase()}</span> track only. Each
      is locked to your unit's key, and your browser opens it. A package holds what the person agreed to share with this track (or,
      where someone's safety required it, what the IDVA service judged necessary). You do not see their case, their conversation
      with the IDVA service, or anything sent to the other track. Do not contact the person through anyone but the IDVA service:
      questions go to the IDVA service in a note on the referral.
    </p>
  )
}

export function InboxPage({ view, unit, items, targetDays }: { view: StaffView; unit: { name: string; track: 'criminal' | 'misconduct' } | null; items: readonly InboxItem[]; targetDays: number }): JSX.Element {
  if (unit === null) {
    return (
      <StaffLayout view={view} title="Referrals" page="staff-inbox">
        <h1>Referrals</h1>
        <p class="notice">You are not a member of a unit, so there are no referrals to show. The portal administrator adds investigators to units.</p>
      </StaffLayout>
    )
  }
  return (
    <StaffLayout view={view} title="Referrals" page="staff-inbox">
      <h1 safe>{`Referrals to ${unit.name}`}</h1>
      <WhatYouSee track={unit.track} />
      <p class="hint" safe>{`Acknowledge each referral, or return it to the IDVA service, within ${targetDays} working day${targetDays === 1 ? '' : 's'} of receiving it.`}</p>
      {items.length === 0 ? (
        <p class="notice" data-inbox-empty="">
          No referrals have been sent to your unit.
        </p>
      ) : (
        <table class="table queue" data-inbox="">
          <caption class="visually-hidden">Referrals, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Referral</th>
              <th scope="col">Track</th>
              <th scope="col">Received</th>
              <th scope="col">State</th>
              <th scope="col">IOPC</th>
              <th scope="col">First response</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr data-referral-row={item.id} data-status={item.status} class={item.clock.state === 'overdue' ? 'queue__row--overdue' : ''}>
                <td>
                  <a href={`/staff/inbox/${item.id}`} safe>
                    {referralReference(item.id)}
                  </a>
                </td>
                <td safe>{TRACK_NAMES[item.track]}</td>
                <td safe>{readableDay(item.receivedOn)}</td>
                <td safe>{STATUS_NAMES[item.status]}</td>
                <td>
                  <Iopc item={item} />
                </td>
                <td>
                  <Clock clock={item.clock} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </StaffLayout>
  )
}

/** The steps the unit may record now, and the IOPC decision when it is due. */
function RecordForm({ referral }: { referral: UnitReferralView }): JSX.Element {
  const options: [string, string][] = referral.nextActions.map((action) => [action, ACTION_NAMES[action]])
  if (referral.iopcDue) options.push(['iopc_referred', ACTION_NAMES.iopc_referred], ['iopc_not_referred', ACTION_NAMES.iopc_not_referred])
  if (options.length === 0) {
    return (
      <p class="notice" data-no-steps="">
        Nothing more can be recorded on this referral: it is <span safe>{STATUS_NAMES[referral.status].toLowerCase()}</span>. If the IDVA service needs to know
        anything else, contact them directly.
      </p>
    )
  }
  return (
    <section class="panel" aria-labelledby="record-title">
      <h2 id="record-title">Record what your unit has done</h2>
      <form data-form="update" novalidate>
        <FormErrors />
        <fieldset class="fieldset">
          <legend>What happened</legend>
          <div class="choices">
            {options.map(([value, label], index) => (
              <div class="choice">
                <input type="radio" id={`action-${value}`} name="action" value={value} checked={index === 0} data-action="" data-note-prompt={NOTE_PROMPTS[value as StatusAction] ?? ''} />
                <label for={`action-${value}`} safe>
                  {label}
                </label>
              </div>
            ))}
          </div>
        </fieldset>
        <div class="field" data-transferred-field="" hidden>
          <label for="transferred-to">Transferred to</label>
          <input id="transferred-to" type="text" maxlength="200" data-transferred-to="" />
        </div>
        <div class="field" data-iopc-day-field="" hidden>
          <label for="iopc-day">Day it was referred to the IOPC</label>
          <input id="iopc-day" type="date" data-iopc-day="" />
        </div>
        <div class="field">
          <label for="update-note">Note for the IDVA service</label>
          <p class="hint" id="update-note-hint" data-note-hint="">
            Keep it short. It is locked to the IDVA service and your unit, and signed with your unit's key. The IDVA service decides what,
            if anything, to tell the person.
          </p>
          <textarea id="update-note" rows="4" maxlength="5000" aria-describedby="update-note-hint" data-update-note=""></textarea>
        </div>
        <Submit label="Record it" />
      </form>
    </section>
  )
}

export function UnitReferralPage({ view, referral }: { view: StaffView; referral: UnitReferralView }): JSX.Element {
  return (
    <StaffLayout view={view} title={`Referral ${referralReference(referral.id)}`} page="staff-referral">
      <p>
        <a href="/staff/inbox">Back to the referrals</a>
      </p>
      <h1 safe>{`Referral ${referralReference(referral.id)}`}</h1>
      <dl class="summary">
        <dt>Track</dt>
        <dd safe>{TRACK_NAMES[referral.track]}</dd>
        <dt>Received</dt>
        <dd safe>{readableDay(referral.receivedOn)}</dd>
        <dt>State</dt>
        <dd data-referral-status={referral.status} safe>
          {STATUS_NAMES[referral.status]}
        </dd>
        <dt>IOPC</dt>
        <dd>
          <Iopc item={referral} />
        </dd>
        <dt>First response</dt>
        <dd>
          <Clock clock={referral.clock} />
        </dd>
      </dl>

      <UnlockKeys />
      <div data-page-status="">
        <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
        <p class="working" role="status" data-working="" hidden>
          Opening the package in this browser…
        </p>
      </div>

      <div data-referral-view="" data-referral-id={referral.id} hidden>
        <section class="panel panel--warning" data-iopc-criteria="" aria-labelledby="iopc-title" hidden>
          <h2 id="iopc-title">The IOPC must be considered</h2>
          <p>
            The routing decision found that this matter meets the criteria for a referral to the Independent Office for Police Conduct.
            Record below whether it was referred, and on which day, or why not.
          </p>
          <ul class="list" data-iopc-reasons=""></ul>
        </section>

        <section aria-labelledby="from-title">
          <h2 id="from-title">From the IDVA service</h2>
          <p data-package-from=""></p>
          <p class="hint" data-package-signature=""></p>
        </section>

        <section aria-labelledby="why-title">
          <h2 id="why-title">Why it came to your unit</h2>
          <ul class="list" data-package-decision=""></ul>
          <p data-package-override="" hidden></p>
        </section>

        <section aria-labelledby="basis-title">
          <h2 id="basis-title">On what basis it was shared</h2>
          <p data-package-basis=""></p>
        </section>

        <section aria-labelledby="summary-title">
          <h2 id="summary-title">The IDVA's summary</h2>
          <p class="message__text" data-package-summary=""></p>
        </section>

        <section aria-labelledby="shared-title">
          <h2 id="shared-title">What was shared</h2>
          <p class="hint" data-package-items=""></p>
          <dl class="summary" data-package-answers=""></dl>
          <div data-package-words="" hidden>
            <h3>In their own words</h3>
            <p class="message__text" data-package-text=""></p>
          </div>
        </section>

        <section aria-labelledby="files-title">
          <h2 id="files-title">Files</h2>
          <p class="hint">Each file is decrypted in this browser when you save it.</p>
          <ul class="list" data-package-files=""></ul>
        </section>
      </div>

      <section aria-labelledby="history-title">
        <h2 id="history-title">What your unit has recorded</h2>
        <ol class="list" data-updates=""></ol>
      </section>

      <RecordForm referral={referral} />
      <p class="visually-hidden" role="status" data-announcer=""></p>
    </StaffLayout>
  )
}
