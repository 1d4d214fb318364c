import { readableTime } from '../../../rules/dates.ts'
import { UNIT_KIND_NAMES } from '../../../rules/referral-states.ts'
import type { Role } from '../../../rules/enums.ts'
import { ROLE_NAMES, StaffLayout, type StaffView } from '../../staff/layout.tsx'

/** The administrator's pages: accounts, units, invitations. Names, roles, dates, counts; no content. */

import type { PolicyUnit } from '../../../rules/routing/units.ts'

function date(value: Date | null, timeZone: string): string {
  return value === null ? '–' : readableTime(value, timeZone)
}

/** A destructive action: a link to the page that says what it does, styled as a secondary action. */
function ConfirmLink({ href, label }: { href: string; label: string }): JSX.Element {
  return (
    <a href={href} class="button button--small button--secondary" safe>
      {label}
    </a>
  )
}

function PostButton({ action, label, csrfToken, warning = false }: { action: string; label: string; csrfToken: string; warning?: boolean }): JSX.Element {
  return (
    <form method="post" action={action} class="inline-form">
      <input type="hidden" name="_csrf" value={csrfToken} />
      <button type="submit" class={warning ? 'button button--small button--warning' : 'button button--small'} safe>
        {label}
      </button>
    </form>
  )
}

export function AdminAccountsPage(props: {
  view: StaffView
  accounts: readonly {
    id: string
    username: string
    role: Role
    group: string | null
    active: boolean
    secondFactorSet: boolean
    createdAt: Date
    lastLoginAt: Date | null
    isViewer: boolean
    /** An IDVA lead or IDVA: managed by the IDVA lead alone, so no action is offered here. */
    idvaService: boolean
  }[]
}): JSX.Element {
  const csrfToken = props.view.staff?.csrfToken ?? ''
  return (
    <StaffLayout view={props.view} title="Accounts" page="staff-admin">
      <h1>Accounts</h1>
      <p>Disabling an account ends its sessions at once. Resetting a second factor makes the member set up a new one when they next sign in.</p>
      <p>The IDVA service's accounts are managed by its IDVA lead: they invite, remove and reset the second factor of IDVAs and IDVA leads. A member the lead removed comes back only through a new invitation from the lead.</p>
      <table class="table">
        <thead>
          <tr>
            <th scope="col">User name</th>
            <th scope="col">Role</th>
            <th scope="col">Team</th>
            <th scope="col">Status</th>
            <th scope="col">Created</th>
            <th scope="col">Last sign-in</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.accounts.map((account) => (
            <tr data-account={account.id}>
              <td safe>{account.username}</td>
              <td safe>{ROLE_NAMES[account.role]}</td>
              <td safe>{account.group ?? '–'}</td>
              <td>{account.active ? (account.secondFactorSet ? 'Active' : 'Active, second factor to set up') : 'Disabled'}</td>
              <td safe>{date(account.createdAt, props.view.page.timeZone)}</td>
              <td safe>{date(account.lastLoginAt, props.view.page.timeZone)}</td>
              <td>
                {account.isViewer ? (
                  'This is you'
                ) : account.idvaService ? (
                  'Managed by the IDVA lead'
                ) : (
                  <>
                    {account.active ? (
                      <ConfirmLink href={`/staff/admin/accounts/${account.id}/disable`} label="Disable" />
                    ) : (
                      <PostButton action={`/staff/admin/accounts/${account.id}/enable`} label="Enable" csrfToken={csrfToken} />
                    )}
                    {account.active ? <ConfirmLink href={`/staff/admin/accounts/${account.id}/reset-second-factor`} label="Reset second factor" /> : ''}
                    {account.active && account.role === 'investigator' ? (
                      <ConfirmLink href={`/staff/admin/accounts/${account.id}/remove-from-unit`} label="Remove from unit" />
                    ) : (
                      ''
                    )}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </StaffLayout>
  )
}

/** A unit as the administrator sees it: where it sits, who is in it, and whether its key can receive packages. */
export interface AdminUnit {
  readonly id: string
  readonly name: string
  readonly track: 'criminal' | 'misconduct'
  readonly force: string
  readonly commandUnit: string | null
  readonly external: boolean
  readonly disabled: boolean
  readonly members: readonly string[]
  /** none: no key yet; waiting: its newest key is not vouched for by the IDVA service; certified; unchecked: the service's own key could not be checked. */
  readonly keys: { readonly generation: number | null; readonly state: 'none' | 'waiting' | 'certified' | 'unchecked' }
}

const KEY_STATES: Readonly<Record<AdminUnit['keys']['state'], string>> = {
  none: 'No key yet: its first member creates it when they enrol.',
  waiting: 'Waiting for the IDVA lead to certify it after comparing fingerprints with the unit. Nothing can be referred to it until then.',
  certified: 'Certified by the IDVA service: it can receive referrals.',
  unchecked: "The IDVA service's key could not be checked, so neither can this one.",
}

export function AdminUnitsPage(props: { view: StaffView; units: readonly AdminUnit[]; available: readonly PolicyUnit[]; forceName: (force: string) => string }): JSX.Element {
  const csrfToken = props.view.staff?.csrfToken ?? ''
  return (
    <StaffLayout view={props.view} title="Investigator units" page="staff-admin">
      <h1>Investigator units</h1>
      <p>
        Units come from the routing policy. Open a unit here, then invite its first member from the invitations page: their browser creates
        the unit's keys, and they give access to the unit's later members. The IDVA lead certifies each unit's key before anything can be
        referred to it. Investigators are removed from their unit on the accounts page.
      </p>
      {props.units.length === 0 ? (
        <p>No unit is open yet.</p>
      ) : (
        <table class="table" data-admin-units="">
          <thead>
            <tr>
              <th scope="col">Unit</th>
              <th scope="col">Kind</th>
              <th scope="col">Force</th>
              <th scope="col">Command unit</th>
              <th scope="col">Members</th>
              <th scope="col">Key</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {props.units.map((unit) => (
              <tr data-unit={unit.id} data-key-state={unit.keys.state}>
                <td safe>{unit.name}</td>
                <td safe>{UNIT_KIND_NAMES[unit.track]}</td>
                <td safe>{props.forceName(unit.force)}</td>
                <td safe>{unit.commandUnit ?? (unit.track === 'misconduct' ? 'Not applicable' : 'Not set')}</td>
                <td safe>{unit.external ? 'Outside this portal (receives files)' : unit.members.length === 0 ? 'None yet' : unit.members.join(', ')}</td>
                <td safe>{unit.keys.generation === null ? KEY_STATES.none : `Generation ${unit.keys.generation}. ${KEY_STATES[unit.keys.state]}`}</td>
                <td>{unit.disabled ? 'Closed' : unit.external ? 'Open' : <PostButton action={`/staff/admin/units/${unit.id}/disable`} label="Close" csrfToken={csrfToken} warning />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.available.length === 0 ? (
        ''
      ) : (
        <form method="post" action="/staff/admin/units" class="form form--inline">
          <input type="hidden" name="_csrf" value={csrfToken} />
          <label for="unit">Open a unit</label>
          <select id="unit" name="unitId">
            {props.available.map((unit) => (
              <option value={unit.id} safe>
                {`${unit.name} (${UNIT_KIND_NAMES[unit.track].toLowerCase()}, ${props.forceName(unit.force)})`}
              </option>
            ))}
          </select>
          <button type="submit" class="button">
            Open
          </button>
        </form>
      )}
    </StaffLayout>
  )
}

export function AdminInvitationsPage(props: {
  view: StaffView
  newLink: string | null
  groups: readonly { id: string; name: string; kind: string }[]
  invitations: readonly { id: string; role: Role; group: string | null; createdAt: Date; idvaService: boolean; state: 'open' | 'used' | 'revoked' | 'expired' }[]
}): JSX.Element {
  const csrfToken = props.view.staff?.csrfToken ?? ''
  const units = props.groups.filter((group) => group.kind === 'investigator_unit')
  return (
    <StaffLayout view={props.view} title="Invitations" page="staff-admin">
      <h1>Invitations</h1>
      {props.newLink === null ? (
        ''
      ) : (
        <div class="panel" role="status">
          <p>Send this link to the person by a channel you trust. It works once, for 72 hours, and is not shown again:</p>
          <p>
            <code class="invitation-link" safe>
              {props.newLink}
            </code>
          </p>
        </div>
      )}
      <p>Invite investigators to a unit, and other administrators. IDVAs are invited by an IDVA lead, so nobody outside the IDVA service can place someone inside it.</p>
      <form method="post" action="/staff/admin/invitations" class="form">
        <input type="hidden" name="_csrf" value={csrfToken} />
        <div class="field">
          <label for="role">Role</label>
          <select id="role" name="role">
            <option value="investigator">Investigator</option>
            <option value="admin">Portal administrator</option>
          </select>
        </div>
        <div class="field">
          <label for="group">Unit (for an investigator)</label>
          <select id="group" name="groupId">
            {units.map((group) => (
              <option value={group.id} safe>
                {group.name}
              </option>
            ))}
          </select>
        </div>
        <button type="submit" class="button">
          Create an invitation link
        </button>
      </form>
      <h2>Recent invitations</h2>
      <table class="table">
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Team</th>
            <th scope="col">Created</th>
            <th scope="col">State</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {props.invitations.map((invitation) => (
            <tr>
              <td safe>{ROLE_NAMES[invitation.role]}</td>
              <td safe>{invitation.group ?? '–'}</td>
              <td safe>{date(invitation.createdAt, props.view.page.timeZone)}</td>
              <td>{invitation.state}</td>
              <td>
                {invitation.state !== 'open' ? (
                  ''
                ) : invitation.idvaService ? (
                  'Managed by the IDVA lead'
                ) : (
                  <PostButton action={`/staff/admin/invitations/${invitation.id}/revoke`} label="Revoke" csrfToken={csrfToken} warning />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </StaffLayout>
  )
}
