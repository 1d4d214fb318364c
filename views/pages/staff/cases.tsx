import { HOLD_REASON_NAMES, HOLD_REASONS, RETENTION_RULE_NAMES, type HoldReason, type RetentionRule } from '../../../rules/retention.ts'
import { readableDay } from '../../../rules/dates.ts'
import { URGENCY_NAMES, type CaseKind, type CaseStatus, type RiskLevel, type Urgency } from '../../../rules/enums.ts'
import { RISK_LEVEL_NAMES, RISK_QUESTIONS, HIGH_RISK_YES, MEDIUM_RISK_YES, MARAC_INCIDENTS } from '../../../rules/risk-checklist.ts'
import { COUNT_CAP } from '../../../rules/queue.ts'
import { SHAREABLE_ITEM_NAMES, SHAREABLE_ITEMS } from '../../../crypto/referrals.ts'
import { StaffLayout, UnlockKeys, type StaffView } from '../../staff/layout.tsx'
import { RoutingSection, type RoutingChoices } from './referrals.tsx'

/**
 * The IDVA workspace: the queue (metadata only: kind, status, risk band, days and counts) and the
 * case page, whose content is decrypted by the page's script in the IDVA's browser and shown as
 * text. Nothing here renders decrypted content: the server never has any.
 */

export const STATUS_NAMES: Readonly<Record<CaseStatus, string>> = {
  new: 'New',
  in_contact: 'In contact',
  support_ongoing: 'Support ongoing',
  referred: 'Referred',
  closed: 'Closed',
}

export const KIND_NAMES: Readonly<Record<CaseKind, string>> = { disclosure: 'Self-referral', consultation: 'Manager consultation' }

/** The order of the workflow: every status but "new" can be chosen; a closed case can be reopened. */
export const STATUS_ORDER: readonly CaseStatus[] = ['new', 'in_contact', 'support_ongoing', 'referred', 'closed']

export interface ClockView {
  readonly state: 'replied' | 'due' | 'overdue' | 'closed'
  readonly text: string
}

export interface QueueItem {
  readonly id: string
  readonly reference: string
  readonly kind: CaseKind
  readonly status: CaseStatus
  readonly riskLevel: RiskLevel | null
  readonly createdOn: string
  readonly lastActivityOn: string
  readonly messageCount: number
  readonly evidenceCount: number
  /** The person withdrew on this day; the service kept a minimal record. */
  readonly withdrawnOn: string | null
  /** The band the reporter's browser put in clear (danger now, children, police abuser). */
  readonly urgency: Urgency | null
  /** The owning IDVA's user name, or null when nobody owns it yet. */
  readonly owner: string | null
  readonly ownedByMe: boolean
  /** The service has answered or assessed it: it is a case, not junk, and has no box to mark it so. */
  readonly actedOn: boolean
  readonly clock: ClockView
  /** Marked as junk on this day, and destroyed on that one unless someone puts it back; null when it is not junk. */
  readonly junk: { readonly markedOn: string; readonly destroyedOn: string } | null
}

export interface QueueFilters {
  readonly status: string
  readonly risk: string
  readonly kind: string
  readonly overdue: boolean
  readonly owner: 'any' | 'me' | 'nobody'
}

/** What the queue says after junk was marked or put back (the ids are checked against the database first). */
export type JunkNotice = { readonly kind: 'marked'; readonly ids: readonly string[] } | { readonly kind: 'restored'; readonly count: number }

export interface QueueView {
  readonly items: readonly QueueItem[]
  readonly filters: QueueFilters
  /** The query string of the next page, or null on the last page. */
  readonly nextPage: string | null
  readonly isFirstPage: boolean
  readonly counts: { readonly new: number; readonly overdue: number }
  readonly targets: Readonly<Record<CaseKind, number>>
  /** Urgent cases waiting for the service, most urgent first (shown above the queue). */
  readonly urgent: readonly QueueItem[]
  /** Open cases per IDVA of the service. */
  readonly caseloads: readonly { readonly username: string; readonly open: number; readonly me: boolean }[]
  /** Cases due for destruction within the warning window, soonest first (retention). */
  readonly dueSoon: { readonly rows: readonly DueItem[]; readonly more: boolean; readonly withinDays: number }
  /** Junk is destroyed this many days after it was marked (RETENTION_JUNK_DAYS). */
  readonly junkDays: number
  /** At most this many cases are marked or put back at once (a page). */
  readonly batchSize: number
  readonly notice: JunkNotice | null
}

/** A case the retention job will destroy soon (rules/retention.ts). */
export interface DueItem {
  readonly id: string
  readonly kind: CaseKind
  readonly rule: RetentionRule
  readonly on: string
  readonly held: boolean
}

/** A short reference to read out or compare: the first eight characters of the case id. */
export function caseReference(id: string): string {
  return id.slice(0, 8)
}

function Option({ value, label, selected }: { value: string; label: string; selected: boolean }): JSX.Element {
  return (
    <option value={value} selected={selected} safe>
      {label}
    </option>
  )
}

function RiskBand({ level }: { level: RiskLevel | null }): JSX.Element {
  if (level === null) return <span class="tag">Not assessed</span>
  return <span class={`tag tag--risk-${level}`} safe>{`${RISK_LEVEL_NAMES[level]} risk`}</span>
}

export function Clock({ clock }: { clock: ClockView }): JSX.Element {
  return (
    <span class={`clock clock--${clock.state}`} data-clock={clock.state}>
      {clock.state === 'overdue' ? <strong class="tag tag--overdue">Overdue</strong> : ''} <span safe>{clock.text}</span>
    </span>
  )
}

export function UrgencyTag({ urgency }: { urgency: Urgency | null }): JSX.Element {
  if (urgency === null) return <></>
  return (
    <span class={`tag tag--urgent tag--urgent-${urgency}`} data-urgency={urgency} safe>
      {URGENCY_NAMES[urgency]}
    </span>
  )
}

function OwnerText({ item }: { item: QueueItem }): JSX.Element {
  if (item.owner === null) return <span class="hint">Nobody yet</span>
  return <span safe>{item.ownedByMe ? `${item.owner} (you)` : item.owner}</span>
}

function query(filters: QueueFilters, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams({ status: filters.status, risk: filters.risk, kind: filters.kind, owner: filters.owner, ...(filters.overdue ? { overdue: '1' } : {}), ...extra })
  return params.toString()
}

/** The current filters as hidden fields, so that marking or putting back junk comes back to the same view. */
function FilterFields({ filters }: { filters: QueueFilters }): JSX.Element {
  return (
    <>
      <input type="hidden" name="status" value={filters.status} />
      <input type="hidden" name="risk" value={filters.risk} />
      <input type="hidden" name="kind" value={filters.kind} />
      <input type="hidden" name="owner" value={filters.owner} />
      {filters.overdue ? <input type="hidden" name="overdue" value="1" /> : ''}
    </>
  )
}

const plural = (n: number, one: string, many: string) => (n === 1 ? one : many)

/**
 * The rows and the pager: what the filters and the pager swap with htmx. The rows are one plain
 * form (it works without the page's script): tick cases and mark them as junk, or in the junk
 * view, put them back.
 */
export function QueueResults({ queue, csrfToken }: { queue: QueueView; csrfToken: string }): JSX.Element {
  const first = `/staff/cases?${query(queue.filters)}`
  const junkView = queue.filters.status === 'junk'
  return (
    <div id="queue-results" class="queue-results" tabindex="-1" data-announce={queue.items.length === 0 ? 'No cases match these filters.' : `Showing ${queue.items.length} case${queue.items.length === 1 ? '' : 's'}, oldest first${queue.nextPage === null ? '' : '. There are more on the next page'}.`}>
      {queue.items.length === 0 ? (
        <p class="notice" data-queue-empty="">
          {junkView ? 'No case is marked as junk.' : 'No cases match these filters.'}
        </p>
      ) : (
        <form method="post" action={junkView ? '/staff/cases/not-junk' : '/staff/cases/junk'} data-junk-form={junkView ? 'not-junk' : 'junk'}>
          <input type="hidden" name="_csrf" value={csrfToken} />
          <FilterFields filters={queue.filters} />
          <div class="form--inline">
            {junkView ? (
              <button type="submit" class="button button--secondary button--small" data-not-junk-selected="">
                Not junk: put the selected back in the queue
              </button>
            ) : (
              <button type="submit" class="button button--secondary button--small" data-mark-junk="">
                Mark selected as junk
              </button>
            )}
            <p class="hint" safe>
              {junkView
                ? `Junk is destroyed ${queue.junkDays} days after it was marked, unless someone puts it back here or the IDVA lead holds it. If the person writes again, their case comes back to the queue by itself.`
                : `Tick up to ${queue.batchSize} cases. Junk leaves the queue and its counts, and is destroyed after ${queue.junkDays} days unless someone puts it back (choose "Marked as junk" above). If the person writes again, their case comes back by itself.`}
            </p>
          </div>
          <table class="table queue">
            <caption class="visually-hidden">
              {junkView ? 'Cases marked as junk, oldest first' : 'Cases, oldest first'}
            </caption>
            <thead>
              <tr>
                <th scope="col">
                  <span class="visually-hidden">Select</span>
                </th>
                <th scope="col">Case</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Risk</th>
                <th scope="col">Owner</th>
                <th scope="col">Received</th>
                <th scope="col">
                  {junkView ? 'Marked as junk' : 'First response'}
                </th>
                <th scope="col">Messages</th>
                <th scope="col">Files</th>
                <th scope="col">Last activity</th>
                {junkView ? (
                  <th scope="col">
                    <span class="visually-hidden">Put back</span>
                  </th>
                ) : (
                  ''
                )}
              </tr>
            </thead>
            <tbody>
              {queue.items.map((item) => (
                <tr data-case-row={item.id} class={item.junk === null && item.clock.state === 'overdue' ? 'queue__row--overdue' : ''}>
                  <td>
                    {item.withdrawnOn === null && (item.junk !== null || !item.actedOn) ? (
                      <>
                        <input type="checkbox" name="case" value={item.id} id={`select-${item.id}`} data-select-case="" />
                        <label for={`select-${item.id}`} class="visually-hidden" safe>
                          {`Select case ${item.reference}`}
                        </label>
                      </>
                    ) : (
                      ''
                    )}
                  </td>
                  <td>
                    <a href={`/staff/cases/${item.id}`} safe>
                      {`Case ${item.reference}`}
                    </a>
                  </td>
                  <td safe>{KIND_NAMES[item.kind]}</td>
                  <td>
                    <span safe>{STATUS_NAMES[item.status]}</span>
                    {item.withdrawnOn === null ? '' : <span class="tag tag--withdrawn" data-withdrawn-tag="">Withdrawn</span>}
                    <UrgencyTag urgency={item.urgency} />
                  </td>
                  <td>
                    <RiskBand level={item.riskLevel} />
                  </td>
                  <td>
                    <OwnerText item={item} />
                  </td>
                  <td safe>{readableDay(item.createdOn)}</td>
                  <td>
                    {item.junk === null ? (
                      <Clock clock={item.clock} />
                    ) : (
                      <span data-junk-on={item.junk.markedOn} safe>{`${readableDay(item.junk.markedOn)}; destroyed ${readableDay(item.junk.destroyedOn)} unless put back`}</span>
                    )}
                  </td>
                  <td safe>{String(item.messageCount)}</td>
                  <td safe>{String(item.evidenceCount)}</td>
                  <td safe>{readableDay(item.lastActivityOn)}</td>
                  {junkView ? (
                    <td>
                      <button type="submit" name="only" value={item.id} class="button button--secondary button--small" data-not-junk={item.id} aria-label={`Not junk: put case ${item.reference} back in the queue`}>
                        Not junk
                      </button>
                    </td>
                  ) : (
                    ''
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </form>
      )}
      <nav class="pager" aria-label="Pages of cases">
        {queue.isFirstPage ? '' : (
          <a href={first} hx-get={first} hx-target="#queue-results" hx-swap="outerHTML" class="button button--secondary button--small">
            First page
          </a>
        )}
        {queue.nextPage === null ? '' : (
          <a href={`/staff/cases?${queue.nextPage}`} hx-get={`/staff/cases?${queue.nextPage}`} hx-target="#queue-results" hx-swap="outerHTML" class="button button--secondary button--small" data-next-page="">
            Next page
          </a>
        )}
      </nav>
    </div>
  )
}

/** After a bulk mark: how many, and a way to undo it at once; after putting back: how many. */
function JunkNoticePanel({ notice, queue, csrfToken }: { notice: JunkNotice; queue: QueueView; csrfToken: string }): JSX.Element {
  if (notice.kind === 'restored') {
    return (
      <p class="notice notice--ok" role="status" data-junk-notice="restored" safe>
        {`${notice.count} ${plural(notice.count, 'case was', 'cases were')} put back in the queue.`}
      </p>
    )
  }
  const n = notice.ids.length
  return (
    <div class="notice notice--ok" role="status" data-junk-notice="marked">
      <p safe>
        {`${n} ${plural(n, 'case was', 'cases were')} marked as junk. ${plural(n, 'It has', 'They have')} left the queue and will be destroyed after ${queue.junkDays} days unless someone puts ${plural(n, 'it', 'them')} back.`}
      </p>
      <form method="post" action="/staff/cases/not-junk" class="form--inline">
        <input type="hidden" name="_csrf" value={csrfToken} />
        <FilterFields filters={queue.filters} />
        {notice.ids.map((id) => (
          <input type="hidden" name="case" value={id} />
        ))}
        <button type="submit" class="button button--secondary button--small" data-undo-junk="" safe>
          {`Undo: put ${plural(n, 'it', 'them')} back in the queue`}
        </button>
      </form>
    </div>
  )
}

/** Counts are capped by the server (it stops counting there): say so rather than show the cap. */
export function cappedCount(n: number): string {
  return n > COUNT_CAP ? `${COUNT_CAP} or more` : String(n)
}

export function QueuePage({ view, queue }: { view: StaffView; queue: QueueView }): JSX.Element {
  const f = queue.filters
  const csrfToken = view.staff?.csrfToken ?? ''
  const days = (n: number) => `${n} working day${n === 1 ? '' : 's'}`
  return (
    <StaffLayout view={view} title="Cases" page="staff-queue">
      <h1>Cases</h1>
      <p>
        Oldest first. The aim is a first response within <span safe>{days(queue.targets.disclosure)}</span> for a self-referral and{' '}
        <span safe>{days(queue.targets.consultation)}</span> for a manager's consultation. Only the kind, status, risk level, days
        and counts are shown here; what people wrote is decrypted only when you open a case.
      </p>
      {queue.notice === null ? '' : <JunkNoticePanel notice={queue.notice} queue={queue} csrfToken={csrfToken} />}
      <dl class="summary">
        <dt>New</dt>
        <dd data-count-new="" safe>{cappedCount(queue.counts.new)}</dd>
        <dt>Past the first-response target</dt>
        <dd data-count-overdue="" safe>{cappedCount(queue.counts.overdue)}</dd>
      </dl>
      <section class="panel panel--warning" aria-labelledby="urgent-title" data-urgent-list="">
        <h2 id="urgent-title">Urgent and waiting for the service</h2>
        {queue.urgent.length === 0 ? (
          <p data-urgent-none="">No urgent case is waiting.</p>
        ) : (
          <>
            <p class="hint">
              What the person chose when they wrote: in danger now first, then children involved, then a police abuser; oldest first within
              each.
            </p>
            <ul class="list">
              {queue.urgent.map((item) => (
                <li data-urgent-case={item.id}>
                  <a href={`/staff/cases/${item.id}`} safe>
                    {`Case ${item.reference}`}
                  </a>{' '}
                  <UrgencyTag urgency={item.urgency} /> <span safe>{`received ${readableDay(item.createdOn)}; `}</span>
                  <OwnerText item={item} />
                </li>
              ))}
            </ul>
          </>
        )}
      </section>
      <DueSoonList due={queue.dueSoon} />
      {queue.caseloads.length === 0 ? (
        ''
      ) : (
        <details class="caseloads" data-caseloads="">
          <summary>Caseloads: open cases each IDVA owns</summary>
          <ul class="list">
            {queue.caseloads.map((row) => (
              <li safe>{`${row.username}${row.me ? ' (you)' : ''}: ${row.open} open case${row.open === 1 ? '' : 's'}`}</li>
            ))}
          </ul>
        </details>
      )}
      <form class="form form--inline queue-filters" method="get" action="/staff/cases" hx-get="/staff/cases" hx-target="#queue-results" hx-swap="outerHTML" hx-trigger="change, submit">
        <div>
          <label for="filter-status">Status</label>
          <select id="filter-status" name="status">
            <Option value="open" label="All open cases" selected={f.status === 'open'} />
            {STATUS_ORDER.map((status) => (
              <Option value={status} label={STATUS_NAMES[status]} selected={f.status === status} />
            ))}
            <Option value="all" label="All, including closed" selected={f.status === 'all'} />
            <Option value="junk" label="Marked as junk" selected={f.status === 'junk'} />
          </select>
        </div>
        <div>
          <label for="filter-risk">Risk level</label>
          <select id="filter-risk" name="risk">
            <Option value="any" label="Any" selected={f.risk === 'any'} />
            <Option value="high" label="High" selected={f.risk === 'high'} />
            <Option value="medium" label="Medium" selected={f.risk === 'medium'} />
            <Option value="standard" label="Standard" selected={f.risk === 'standard'} />
            <Option value="none" label="Not yet assessed" selected={f.risk === 'none'} />
          </select>
        </div>
        <div>
          <label for="filter-kind">Kind</label>
          <select id="filter-kind" name="kind">
            <Option value="any" label="Any" selected={f.kind === 'any'} />
            <Option value="disclosure" label={KIND_NAMES.disclosure} selected={f.kind === 'disclosure'} />
            <Option value="consultation" label={KIND_NAMES.consultation} selected={f.kind === 'consultation'} />
          </select>
        </div>
        <div>
          <label for="filter-owner">Owner</label>
          <select id="filter-owner" name="owner">
            <Option value="any" label="Anyone" selected={f.owner === 'any'} />
            <Option value="me" label="My cases" selected={f.owner === 'me'} />
            <Option value="nobody" label="Nobody yet" selected={f.owner === 'nobody'} />
          </select>
        </div>
        <div class="choice choice--inline">
          <input type="checkbox" id="filter-overdue" name="overdue" value="1" checked={f.overdue} />
          <label for="filter-overdue">Only past the target</label>
        </div>
        <button type="submit" class="button button--secondary">
          Show
        </button>
      </form>
      <p class="visually-hidden" role="status" data-announcer=""></p>
      <QueueResults queue={queue} csrfToken={csrfToken} />
    </StaffLayout>
  )
}

export interface CaseSummary extends QueueItem {
  readonly firstReplyOn: string | null
  readonly triagedOn: string | null
  readonly statusChangedOn: string | null
  /** When retention destroys it, whether that is within the warning window, and any hold. */
  readonly retention: {
    readonly due: { readonly rule: RetentionRule; readonly on: string } | null
    readonly soon: boolean
    readonly hold: { readonly reason: HoldReason; readonly placedOn: string; readonly placedBy: string } | null
    /** RETENTION_JUNK_DAYS, for the hint beside "Mark as junk". */
    readonly junkDays: number
  }
}

/** The status and its change form: swapped in place by htmx after a change. */
export function StatusPanel({ summary, csrfToken, message }: { summary: CaseSummary; csrfToken: string; message?: string }): JSX.Element {
  const choices = STATUS_ORDER.filter((status) => status !== 'new' && status !== summary.status)
  const action = `/staff/cases/${summary.id}/status`
  return (
    <section
      id="case-status"
      class="panel"
      aria-labelledby="status-title"
      tabindex="-1"
      data-announce={message}
      hx-get={`/staff/cases/${summary.id}/status`}
      hx-trigger="sd-replied from:body"
      hx-swap="outerHTML"
    >
      <h2 id="status-title">Status</h2>
      <p>
        Now: <strong data-status="" safe>{STATUS_NAMES[summary.status]}</strong>
        {summary.statusChangedOn === null ? '' : <span safe>{` (since ${readableDay(summary.statusChangedOn)})`}</span>}. The person sees "received" while the case is new,
        "in contact" until it is closed, then "closed".
      </p>
      <form method="post" action={action} hx-post={action} hx-target="#case-status" hx-swap="outerHTML" class="form form--inline">
        <input type="hidden" name="_csrf" value={csrfToken} />
        <label for="new-status">Change to</label>
        <select id="new-status" name="status">
          {choices.map((status) => (
            <Option value={status} label={STATUS_NAMES[status]} selected={false} />
          ))}
        </select>
        <button type="submit" class="button button--secondary" data-change-status="">
          Change status
        </button>
      </form>
      {message === undefined ? '' : (
        <p class="notice notice--ok" role="status" safe>
          {message}
        </p>
      )}
    </section>
  )
}

export function FormErrors(): JSX.Element {
  return (
    <>
      <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
      <p class="working" role="status" data-working="" hidden>
        Working: your browser is encrypting and signing this.
      </p>
    </>
  )
}

/** A question answered with radio buttons in a row; the script finds them by their data attribute. */
function InlineRadios(props: { name: string; legend: string; hint?: string; options: readonly (readonly [string, string])[]; marker: string; markerValue?: string; questionId?: string }): JSX.Element {
  const hintId = `${props.name}-hint`
  const marker = { [`data-${props.marker}`]: props.markerValue ?? '' }
  return (
    <fieldset class={props.questionId === undefined ? 'fieldset' : 'fieldset risk-question'} data-risk-question={props.questionId} aria-describedby={props.hint === undefined ? undefined : hintId}>
      <legend safe>{props.legend}</legend>
      {props.hint === undefined ? '' : (
        <p class="hint" id={hintId} safe>
          {props.hint}
        </p>
      )}
      <div class="choices choices--inline">
        {props.options.map(([value, label]) => (
          <div class="choice">
            <input type="radio" id={`${props.name}-${value}`} name={props.name} value={value} {...marker} />
            <label for={`${props.name}-${value}`} safe>
              {label}
            </label>
          </div>
        ))}
      </div>
    </fieldset>
  )
}

/** A labelled text box (or a textarea, when long) with the data attribute the script reads. */
function TextField({ id, label, long = false, maxlength, marker }: { id: string; label: string; long?: boolean; maxlength: number; marker: string }): JSX.Element {
  const data = { [`data-${marker}`]: '' }
  return (
    <div class="field">
      <label for={id} safe>
        {label}
      </label>
      {long ? <textarea id={id} rows="3" maxlength={String(maxlength)} {...data}></textarea> : <input type="text" id={id} maxlength={String(maxlength)} {...data} />}
    </div>
  )
}

/** The submit button (disabled until the page's script has loaded) and the "done" line. */
export function Submit({ label, secondary = false }: { label: string; secondary?: boolean }): JSX.Element {
  return (
    <>
      <button type="submit" class={secondary ? 'button button--secondary' : 'button'} disabled data-submit="" safe>
        {label}
      </button>
      <p class="notice notice--ok" role="status" data-done="" hidden></p>
    </>
  )
}

/** Earlier versions, folded away; the script fills the list. */
function History({ summary, marker }: { summary: string; marker: string }): JSX.Element {
  const data = { [`data-${marker}`]: '' }
  return (
    <details>
      <summary safe>{summary}</summary>
      <ol class="list" {...data}></ol>
    </details>
  )
}

const ANSWERS = [
  ['yes', 'Yes'],
  ['no', 'No'],
  ['unknown', 'Not known'],
] as const

/** Who owns the case: take it, give it to a colleague, or leave it with nobody. */
function OwnerPanel({ summary, owners, csrfToken }: { summary: CaseSummary; owners: readonly { readonly accountId: string; readonly username: string; readonly open: number }[]; csrfToken: string }): JSX.Element {
  const action = `/staff/cases/${summary.id}/owner`
  return (
    <section class="panel" aria-labelledby="owner-title" data-owner-panel="">
      <h2 id="owner-title">Owner</h2>
      <p data-owner="">
        {summary.owner === null ? 'Nobody owns this case yet.' : <span safe>{summary.ownedByMe ? 'You own this case.' : `${summary.owner} owns this case.`}</span>}
      </p>
      {summary.ownedByMe ? (
        ''
      ) : (
        <form method="post" action={action} class="form form--inline">
          <input type="hidden" name="_csrf" value={csrfToken} />
          <input type="hidden" name="owner" value="me" />
          <button type="submit" class="button" data-assign-me="">
            Assign to me
          </button>
        </form>
      )}
      <form method="post" action={action} class="form form--inline">
        <input type="hidden" name="_csrf" value={csrfToken} />
        <label for="case-owner">Give it to</label>
        <select id="case-owner" name="owner">
          {owners.map((owner) => (
            <option value={owner.accountId} safe>{`${owner.username} (${owner.open} open)`}</option>
          ))}
          <option value="nobody">Nobody</option>
        </select>
        <button type="submit" class="button button--secondary" data-assign="">
          Change owner
        </button>
      </form>
    </section>
  )
}

export function CasePage({ view, summary, routing, owners }: { view: StaffView; summary: CaseSummary; routing: RoutingChoices; owners: readonly { readonly accountId: string; readonly username: string; readonly open: number }[] }): JSX.Element {
  const csrfToken = view.staff?.csrfToken ?? ''
  return (
    <StaffLayout view={view} title={`Case ${summary.reference}`} page="staff-case">
      <p>
        <a href="/staff/cases">Back to the cases</a>
      </p>
      <h1 safe>{`Case ${summary.reference}`}</h1>
      {summary.withdrawnOn === null ? (
        ''
      ) : (
        <div class="notice" data-case-withdrawn="">
          <h2 class="notice__title" safe>{`The person withdrew on ${readableDay(summary.withdrawnOn)}`}</h2>
          <p>
            Their disclosure, their messages, your replies and their files were deleted from the portal, and their code no longer works: nothing
            you write can reach them here. The service's own record stays, because the case was assessed as high risk, referred to a MARAC or
            referred to investigators: the risk checklist, MARAC decision, consent, routing decision, your notes, and each referral's state.
          </p>
        </div>
      )}
      <dl class="summary">
        <dt>Kind</dt>
        <dd safe>{KIND_NAMES[summary.kind]}</dd>
        <dt>Received</dt>
        <dd safe>{readableDay(summary.createdOn)}</dd>
        <dt>First response</dt>
        <dd>
          <Clock clock={summary.clock} />
        </dd>
        {summary.urgency === null ? (
          ''
        ) : (
          <>
            <dt>Urgency</dt>
            <dd>
              <UrgencyTag urgency={summary.urgency} /> <span class="hint">as the person chose when they wrote</span>
            </dd>
          </>
        )}
        <dt>Owner</dt>
        <dd safe>{summary.owner === null ? 'Nobody yet' : summary.ownedByMe ? `${summary.owner} (you)` : summary.owner}</dd>
        <dt>Risk level</dt>
        <dd data-risk-level="" data-level={summary.riskLevel ?? ''}>
          <RiskBand level={summary.riskLevel} />
          {summary.triagedOn === null ? '' : <span safe>{` (assessed ${readableDay(summary.triagedOn)})`}</span>}
        </dd>
        <dt>Messages and files</dt>
        <dd safe>{`${summary.messageCount} message${summary.messageCount === 1 ? '' : 's'}, ${summary.evidenceCount} file${summary.evidenceCount === 1 ? '' : 's'}`}</dd>
        <dt>Last activity</dt>
        <dd safe>{readableDay(summary.lastActivityOn)}</dd>
      </dl>
      {summary.junk === null ? '' : <JunkPanel summary={summary} csrfToken={csrfToken} />}

      <UnlockKeys />
      <div data-page-status="">
        <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
        <p class="working" role="status" data-working="" hidden>
          Decrypting in this browser…
        </p>
      </div>

      <div data-case-view="" data-case-id={summary.id} data-case-kind={summary.kind} hidden>
        <section aria-labelledby="glance-title">
          <h2 id="glance-title">At a glance</h2>
          <p class="hint">
            {summary.kind === 'consultation'
              ? 'A line manager asking for advice, without naming anyone. Anything they did not answer is left out.'
              : 'From what the person chose to tell us. Anything they did not answer is left out.'}
          </p>
          <dl class="summary" data-glance=""></dl>
        </section>

        <section class="panel panel--warning" data-repeat="" aria-labelledby="repeat-title" hidden>
          <h2 id="repeat-title">Named in other cases</h2>
          <p data-repeat-text=""></p>
          <ul data-repeat-links=""></ul>
          <p class="hint">Compared in this browser by name and collar or staff number; nothing about a match is stored.</p>
        </section>

        <section aria-labelledby="thread-title">
          <h2 id="thread-title">What they sent, and the conversation</h2>
          <ol class="thread" data-thread=""></ol>
        </section>

        <section class="panel" aria-labelledby="reply-title">
          <h2 id="reply-title">Reply</h2>
          <form data-form="reply" novalidate>
            <FormErrors />
            <p class="hint" id="reply-hint">
              The person reads this at /return with their case code. It is encrypted to them and to the IDVA service, and signed
              with the service's key so they know it is from you.
            </p>
            <div class="field">
              <label for="reply-text">Your reply</label>
              <textarea id="reply-text" rows="6" maxlength="50000" aria-describedby="reply-hint" data-reply-text=""></textarea>
            </div>
            <Submit label="Send the reply" />
          </form>
        </section>
      </div>

      <p class="visually-hidden" role="status" data-announcer=""></p>
      <StatusPanel summary={summary} csrfToken={csrfToken} />
      <OwnerPanel summary={summary} owners={owners} csrfToken={csrfToken} />
      <RetentionPanel summary={summary} csrfToken={csrfToken} isLead={view.staff?.role === 'idva_lead'} />
      {summary.junk === null && !summary.actedOn ? <JunkPanel summary={summary} csrfToken={csrfToken} /> : ''}

      <div data-case-records="" hidden>
        {summary.kind === 'consultation' ? (
          <p class="notice">
            This is a line manager's consultation: it names nobody, so it has no risk checklist or consent. If the person it is
            about refers themselves, their case is separate.
          </p>
        ) : (
          <>
        <section class="panel" aria-labelledby="triage-title">
          <h2 id="triage-title">Risk indicators checklist</h2>
          <p>
            Ask these with the person, at their pace. <span>{`${HIGH_RISK_YES} or more "yes" answers is high risk; ${MEDIUM_RISK_YES} to ${HIGH_RISK_YES - 1} is medium.`}</span>{' '}
            Your professional judgement can raise the level, never lower it. High risk, or{' '}
            <span>{`${MARAC_INCIDENTS} or more incidents in twelve months,`}</span> qualifies for referral to the MARAC. The answers are
            encrypted; only the level is stored in clear.
          </p>
          <div data-triage-latest=""></div>
          <form data-form="triage" novalidate>
            <FormErrors />
            {RISK_QUESTIONS.map((question, index) => (
              <InlineRadios
                name={`risk-${question.id}`}
                legend={`${index + 1}. ${question.text}`}
                options={ANSWERS}
                marker="risk-answer"
                markerValue={question.id}
                questionId={question.id}
                {...(question.hint === undefined ? {} : { hint: question.hint })}
              />
            ))}
            <div class="field">
              <label for="risk-incidents">Incidents in the last twelve months (leave empty if not known)</label>
              <input type="number" id="risk-incidents" min="0" max="10000" inputmode="numeric" data-risk-incidents="" />
            </div>
            <div class="risk-summary" role="status" aria-live="polite" data-risk-summary=""></div>
            <div class="field">
              <label for="risk-judgement">Professional judgement</label>
              <p class="hint" id="risk-judgement-hint">
                Raise the level if what you know of the case calls for it. It cannot be set below what the answers give.
              </p>
              <select id="risk-judgement" aria-describedby="risk-judgement-hint" data-risk-judgement="">
                <option value="">No change</option>
                <option value="medium">Raise to medium</option>
                <option value="high">Raise to high</option>
              </select>
            </div>
            <div class="field">
              <label for="risk-reason">Why (needed when you raise the level)</label>
              <textarea id="risk-reason" rows="3" maxlength="5000" data-risk-reason=""></textarea>
            </div>
            <div class="choice">
              <input type="checkbox" id="marac-refer" data-marac-refer="" />
              <label for="marac-refer">Refer to the MARAC</label>
            </div>
            <TextField id="marac-reason" label="Reason for the MARAC decision" long maxlength={5000} marker="marac-reason" />
            <Submit label="Save the assessment" />
          </form>
          <History summary="Earlier assessments" marker="triage-history" />
        </section>

        <section class="panel" aria-labelledby="consent-title">
          <h2 id="consent-title">Consent</h2>
          <p>
            What the person agrees to share with investigators, for each track, in their words. Nothing goes to an investigator
            without it. A change is a new version; earlier versions stay.
          </p>
          <div data-consent-current=""></div>
          <form data-form="consent" novalidate>
            <FormErrors />
            <InlineRadios name="consent-track" legend="Track" options={[['criminal', 'Criminal'], ['misconduct', 'Misconduct']]} marker="consent-track" />
            <InlineRadios name="consent-agreed" legend="Does the person agree to anything going to this track?" options={[['yes', 'Yes'], ['no', 'No']]} marker="consent-agreed" />
            <fieldset class="fieldset">
              <legend>What may go to this track</legend>
              <p class="hint">Only what is ticked here can be put in this track's package.</p>
              <div class="choices">
                {SHAREABLE_ITEMS.map((item) => (
                  <div class="choice">
                    <input type="checkbox" id={`consent-item-${item}`} value={item} data-consent-item="" />
                    <label for={`consent-item-${item}`} safe>
                      {SHAREABLE_ITEM_NAMES[item]}
                    </label>
                  </div>
                ))}
              </div>
            </fieldset>
            <fieldset class="fieldset" data-consent-evidence-field="" hidden>
              <legend>Which of their files</legend>
              <div class="choices" data-consent-evidence=""></div>
            </fieldset>
            <TextField id="consent-share" label="What they agree to share, in your words" long maxlength={5000} marker="consent-share" />
            <TextField id="consent-with" label="With whom" maxlength={1000} marker="consent-with" />
            <TextField id="consent-words" label="In their words" long maxlength={20000} marker="consent-words" />
            <div class="field">
              <label for="consent-date">The day they said so</label>
              <input type="date" id="consent-date" data-consent-date="" />
            </div>
            <Submit label="Record this consent" />
          </form>
          <History summary="Every version" marker="consent-history" />
        </section>

        <RoutingSection choices={routing} />

          </>
        )}
        <section class="panel" aria-labelledby="notes-title">
          <h2 id="notes-title">Notes</h2>
          <p>For IDVAs only: the person never sees these.</p>
          <ol class="list" data-notes=""></ol>
          <form data-form="note" novalidate>
            <FormErrors />
            <div class="field">
              <label for="note-text">New note</label>
              <textarea id="note-text" rows="4" maxlength="20000" data-note-text=""></textarea>
            </div>
            <Submit label="Add the note" secondary />
          </form>
        </section>
      </div>
    </StaffLayout>
  )
}

/** Above the queue: what the retention job will destroy within the warning window, so a hold can be asked for in time. */
function DueSoonList({ due }: { due: QueueView['dueSoon'] }): JSX.Element {
  if (due.rows.length === 0) return <></>
  return (
    <section class="panel" aria-labelledby="due-title" data-due-list="">
      <h2 id="due-title" safe>{`Due to be destroyed within ${due.withinDays} days`}</h2>
      <p class="hint">
        Under the retention policy. The IDVA lead can hold a case (an investigation, a court order) from its page.
      </p>
      <ul class="list">
        {due.rows.map((item) => (
          <li data-due-case={item.id}>
            <a href={`/staff/cases/${item.id}`} safe>
              {`Case ${caseReference(item.id)}`}
            </a>{' '}
            <span safe>{`${RETENTION_RULE_NAMES[item.rule]}, due ${readableDay(item.on)}`}</span>
            {item.held ? (
              <>
                {' '}
                <strong class="tag" data-held="">
                  Held
                </strong>
              </>
            ) : (
              ''
            )}
          </li>
        ))}
      </ul>
      {due.more ? <p class="hint">More are due: the soonest are listed.</p> : ''}
    </section>
  )
}

/** The case's retention: when it is due, whether it is held, and for the IDVA lead, hold or lift. */
export function RetentionPanel({ summary, csrfToken, isLead }: { summary: CaseSummary; csrfToken: string; isLead: boolean }): JSX.Element {
  const retention = summary.retention
  if (retention.due === null && retention.hold === null) return <></>
  return (
    <section class={retention.soon && retention.hold === null ? 'panel panel--warning' : 'panel'} aria-labelledby="retention-title" data-retention-panel="">
      <h2 id="retention-title">Retention</h2>
      {retention.due === null ? (
        ''
      ) : (
        <p data-due-on={retention.due.on} safe>
          {`Due to be destroyed on ${readableDay(retention.due.on)} (${RETENTION_RULE_NAMES[retention.due.rule]}): everything in it goes, and only the audit log keeps that it existed.`}
        </p>
      )}
      {retention.hold === null ? (
        isLead ? (
          <form method="post" action={`/staff/cases/${summary.id}/hold`} class="form form--inline">
            <input type="hidden" name="_csrf" value={csrfToken} />
            <label for="hold-reason">Hold it, because</label>
            <select id="hold-reason" name="reason">
              {HOLD_REASONS.map((reason) => (
                <option value={reason} safe>
                  {HOLD_REASON_NAMES[reason]}
                </option>
              ))}
            </select>
            <button type="submit" class="button button--secondary" data-hold="">
              Hold this case
            </button>
          </form>
        ) : (
          <p class="hint">The IDVA lead can hold it past this day, for example during an investigation or a court order.</p>
        )
      ) : (
        <>
          <p data-held="" safe>
            {`Held since ${readableDay(retention.hold.placedOn)} by ${retention.hold.placedBy}: ${HOLD_REASON_NAMES[retention.hold.reason]}. It is not destroyed while held.`}
          </p>
          {isLead ? (
            <form method="post" action={`/staff/cases/${summary.id}/hold/lift`} class="form form--inline">
              <input type="hidden" name="_csrf" value={csrfToken} />
              <button type="submit" class="button button--secondary" data-lift-hold="">
                Lift the hold
              </button>
            </form>
          ) : (
            ''
          )}
        </>
      )}
    </section>
  )
}

/**
 * Junk, on the case page: mark it (it leaves the queue), or, once marked, put it back. The words are
 * neutral on purpose: a real person's case can be marked by mistake, and writing again brings it back.
 */
function JunkPanel({ summary, csrfToken }: { summary: CaseSummary; csrfToken: string }): JSX.Element {
  const junk = summary.junk
  if (junk === null) {
    return (
      <section class="panel" aria-labelledby="junk-title" data-junk-panel="">
        <h2 id="junk-title">Junk</h2>
        <p safe>
          {`If this case is not from someone seeking support (for example, one of many sent to flood the portal), mark it as junk. It leaves the queue and its counts, and is destroyed after ${summary.retention.junkDays} days unless someone puts it back. If the person writes again, it comes back to the queue by itself.`}
        </p>
        <form method="post" action={`/staff/cases/${summary.id}/junk`} class="form--inline">
          <input type="hidden" name="_csrf" value={csrfToken} />
          <button type="submit" class="button button--secondary" data-mark-junk="">
            Mark as junk
          </button>
        </form>
      </section>
    )
  }
  return (
    <section class="panel panel--warning" aria-labelledby="junk-title" data-junk-panel="" data-case-junk={junk.markedOn}>
      <h2 id="junk-title">Marked as junk</h2>
      <p safe>
        {`Marked as junk on ${readableDay(junk.markedOn)}. It is out of the queue and will be destroyed on ${readableDay(junk.destroyedOn)} unless someone puts it back (or the IDVA lead holds it). If the person writes again, it comes back by itself.`}
      </p>
      <form method="post" action={`/staff/cases/${summary.id}/not-junk`} class="form--inline">
        <input type="hidden" name="_csrf" value={csrfToken} />
        <button type="submit" class="button" data-not-junk="">
          Not junk: put it back in the queue
        </button>
      </form>
    </section>
  )
}
