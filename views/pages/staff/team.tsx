import { readableTime } from '../../../rules/dates.ts'
import type { Role } from '../../../rules/enums.ts'
import { ROLE_NAMES, StaffLayout, UnlockKeys, type StaffView } from '../../staff/layout.tsx'
import { cappedCount } from './cases.tsx'

/** Shapes for display only: names, roles, fingerprints. No key material beyond public keys. */
export interface MemberSummary {
  readonly id: string
  readonly username: string
  readonly role: Role
  readonly active: boolean
  /** The newest key generation this member holds, or null: no access yet. */
  readonly generation: number | null
  readonly isViewer: boolean
  readonly x25519Public: string
  readonly ed25519Public: string
  readonly fingerprint: string
}

export interface GroupSummary {
  readonly id: string
  readonly name: string
  readonly kind: 'idva_service' | 'investigator_unit'
  readonly track: 'criminal' | 'misconduct' | null
  readonly disabled: boolean
  readonly rotationRecommended: boolean
  readonly generation: number | null
  readonly fingerprint: string | null
  /** The first generation's fingerprint: for the IDVA service, the one published on posters. */
  readonly publishedFingerprint: string | null
  /** The current generation's public keys (base64url), for certifying and checking. */
  readonly publicKeys: { readonly x25519: string; readonly ed25519: string } | null
  readonly certified: boolean
  readonly members: readonly MemberSummary[]
}

export interface AdminSummary {
  readonly counts: Readonly<Record<Role, number>>
  readonly healthy: boolean
  readonly sessions: number
  readonly pendingInvitations: number
  readonly examplePolicy: boolean
}

function AccessStatus({ group, viewer }: { group: GroupSummary; viewer: MemberSummary | undefined }): JSX.Element {
  const unit = group.kind === 'investigator_unit'
  if (group.generation === null) return <p class="notice">{unit ? 'This unit has no keys yet: its first member makes them when they enrol.' : 'This team has no keys yet.'}</p>
  if (viewer === undefined || viewer.generation !== group.generation) {
    return (
      <p class="notice" data-access="waiting">
        {unit ? "You cannot open your unit's referrals yet. A colleague in the unit who already holds its key gives it to you from the unit page" : "You do not have access to this team's cases yet. A colleague who already has access gives it to you from the team page"}; they
        will compare your key fingerprint, <span class="fingerprint" safe>{viewer?.fingerprint ?? ''}</span>, with you first.
      </p>
    )
  }
  if (unit) {
    return (
      <p class="notice notice--ok" data-access="granted">
        You hold your unit's key (generation <span safe>{String(group.generation)}</span>): you can open the packages the IDVA service refers to
        your unit, on the {group.track === 'misconduct' ? 'misconduct' : 'criminal'} track. You cannot see the people's cases,
        their conversations with the IDVA service, or the other track.
      </p>
    )
  }
  return (
    <p class="notice notice--ok" data-access="granted">
      You have access to this team's cases (key generation <span safe>{String(group.generation)}</span>).
    </p>
  )
}

export function StaffHomePage({ view, group, admin, cases = null, inbox = null }: { view: StaffView; group: GroupSummary | null; admin: AdminSummary | null; cases?: { new: number; overdue: number } | null; inbox?: { waiting: number; overdue: number } | null }): JSX.Element {
  const viewer = group?.members.find((member) => member.isViewer)
  return (
    <StaffLayout view={view} title="Staff home" page="staff-home">
      <h1>Welcome</h1>
      {group === null ? '' : (
        <>
          <h2 safe>{group.name}</h2>
          <AccessStatus group={group} viewer={viewer} />
          {viewer !== undefined && viewer.generation !== null ? <UnlockKeys /> : ''}
          {group.rotationRecommended ? <p class="notice notice--warning">A member has left this team: its key should be rotated.</p> : ''}
        </>
      )}
      {cases === null ? '' : (
        <p class={cases.overdue > 0 ? 'notice notice--warning' : 'notice'} data-home-cases="">
          <a href="/staff/cases">Cases</a>: <span safe>{`${cappedCount(cases.new)} new, ${cappedCount(cases.overdue)} past the first-response target.`}</span>
        </p>
      )}
      {inbox === null ? '' : (
        <p class={inbox.overdue > 0 ? 'notice notice--warning' : 'notice'} data-home-inbox="">
          <a href="/staff/inbox">Referrals</a>: <span safe>{`${inbox.waiting} waiting for your unit's acknowledgement, ${inbox.overdue} past the first-response target.`}</span>
        </p>
      )}
      {admin === null ? '' : (
        <>
          <p>You manage units, investigators and administrators: their accounts and invitations. The IDVA service's people are managed by its IDVA lead. You cannot read any case: administrators hold no keys to them.</p>
          {admin.examplePolicy ? <p class="notice notice--warning">The routing policy in use is the shipped example. The force must check it and set its own.</p> : ''}
          <h2>At a glance</h2>
          <dl class="summary">
            <dt>Database</dt>
            <dd>{admin.healthy ? 'answering' : 'not answering'}</dd>
            {(Object.keys(ROLE_NAMES) as Role[]).map((role) => (
              <>
                <dt safe>{`Active accounts: ${ROLE_NAMES[role]}`}</dt>
                <dd safe>{String(admin.counts[role])}</dd>
              </>
            ))}
            <dt>Signed-in sessions</dt>
            <dd safe>{String(admin.sessions)}</dd>
            <dt>Open invitations</dt>
            <dd safe>{String(admin.pendingInvitations)}</dd>
          </dl>
        </>
      )}
    </StaffLayout>
  )
}

/** An invitation into the IDVA service that can still be used (shown to its IDVA leads). */
export interface OpenInvitation {
  readonly id: string
  readonly role: Role
  readonly createdAt: Date
  readonly expiresAt: Date
}


function MemberRow({ group, member, canGrant, canRemove, csrfToken }: { group: GroupSummary; member: MemberSummary; canGrant: boolean; canRemove: boolean; csrfToken: string }): JSX.Element {
  const hasAccess = member.generation !== null && member.generation === group.generation
  return (
    <tr data-member={member.id} data-x25519={member.x25519Public} data-ed25519={member.ed25519Public} data-generation={member.generation === null ? '' : String(member.generation)} data-active={member.active ? 'true' : 'false'}>
      <td safe>{member.username}</td>
      <td safe>{ROLE_NAMES[member.role]}</td>
      <td>{member.active ? (hasAccess ? 'Has access' : 'Waiting for access') : 'Removed or disabled'}</td>
      <td>
        <span class="fingerprint" safe>
          {member.fingerprint}
        </span>
      </td>
      <td>
        {canGrant && member.active && !hasAccess && !member.isViewer && group.generation !== null ? (
          <button
            type="button"
            class="button button--small"
            disabled
            data-grant=""
            data-group={group.id}
            data-generation={String(group.generation)}
            data-account={member.id}
            data-username={member.username}
            data-x25519={member.x25519Public}
            data-ed25519={member.ed25519Public}
            data-fingerprint={member.fingerprint}
          >
            Give access
          </button>
        ) : (
          ''
        )}
        {canRemove && member.active && !member.isViewer ? (
          <>
            <a href={`/staff/team/members/${member.id}/reset-second-factor`} class="button button--small button--secondary">
              Reset second factor
            </a>{' '}
            <a href={`/staff/team/members/${member.id}/remove`} class="button button--small button--secondary">
              Remove from the service
            </a>
          </>
        ) : (
          ''
        )}
      </td>
    </tr>
  )
}

export function TeamPage({
  view,
  group,
  units,
  invitationLink,
  invitations = [],
  outsideUnits = [],
}: {
  view: StaffView
  group: GroupSummary
  units: readonly GroupSummary[]
  invitationLink: string | null
  /** Open invitations into the service, for its IDVA leads. */
  invitations?: readonly OpenInvitation[]
  /** Units of other forces in the routing policy whose key is not known yet: [id, name]. For the IDVA lead. */
  outsideUnits?: readonly (readonly [string, string])[]
}): JSX.Element {
  const role = view.staff?.role
  const csrfToken = view.staff?.csrfToken ?? ''
  const viewer = group.members.find((member) => member.isViewer)
  const holdsKey = viewer !== undefined && viewer.generation !== null && viewer.generation === group.generation
  const lead = role === 'idva_lead'
  const canRotate = holdsKey && (group.kind === 'idva_service' ? lead : role === 'investigator')
  return (
    <StaffLayout view={view} title={group.kind === 'idva_service' ? 'Team and keys' : 'Unit and keys'} page="staff-team">
      <h1 safe>{group.name}</h1>
      <AccessStatus group={group} viewer={viewer} />
      <div data-page-status="">
        <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
        <p class="working" role="status" data-working="" hidden>
          Working: your browser is handling the keys.
        </p>
      </div>
      {viewer !== undefined && viewer.generation !== null ? <UnlockKeys /> : ''}
      <h2>Key</h2>
      {group.fingerprint === null ? (
        <p>No key yet.</p>
      ) : (
        <p>
          Generation <span safe>{String(group.generation)}</span>, fingerprint <span class="fingerprint" data-group-fingerprint="" safe>{group.fingerprint}</span>
          {group.kind === 'idva_service' ? '.' : group.certified ? '. Certified by the IDVA service.' : '. Not yet certified by the IDVA service.'}
        </p>
      )}
      {group.kind === 'idva_service' && group.publishedFingerprint !== null ? (
        <p>
          The fingerprint to publish on posters and the intranet is the first key's:{' '}
          <span class="fingerprint" data-published-fingerprint="" safe>
            {group.publishedFingerprint}
          </span>
          . It stays the same when the key is rotated: each new key is certified by the one before it.
        </p>
      ) : (
        ''
      )}
      {group.rotationRecommended ? <p class="notice notice--warning">A member has left: rotate the key so that what they may have kept stops working for new cases.</p> : ''}
      {canRotate ? (
        <>
          <button type="button" class="button button--secondary" disabled data-rotate-ask="">
            Rotate the key
          </button>
          <div class="panel" data-rotate-confirm="" tabindex="-1" hidden>
            <h3>Rotate the team's key</h3>
            <ul class="list">
              <li>A new key is made for the team now, and passed to every member who holds the current one.</li>
              <li>Anyone removed from the team does not get it: what they kept cannot open anything sent from now on.</li>
              <li>Everything received before stays readable to the team. A rotation cannot be undone.</li>
            </ul>
            <button type="button" class="button button--warning" disabled data-rotate="" data-group={group.id} data-generation={String(group.generation)}>
              Rotate the key now
            </button>{' '}
            <button type="button" class="button button--secondary" data-rotate-cancel="">
              Go back without rotating
            </button>
          </div>
        </>
      ) : (
        ''
      )}

      <h2>Members</h2>
      <p>Before giving a colleague access, ask them to read you the fingerprint on their home page, and check it matches the one here.</p>
      {lead && group.kind === 'idva_service' ? (
        <p>
          You manage the service's people; the portal administrator cannot. If a colleague loses their phone, reset their second factor: they sign in with their passphrase and set up a new
          authenticator. Someone removed from the service can come back only through a new invitation, with new keys.
        </p>
      ) : (
        ''
      )}
      <table class="table">
        <thead>
          <tr>
            <th scope="col">User name</th>
            <th scope="col">Role</th>
            <th scope="col">Access</th>
            <th scope="col">Fingerprint</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {group.members.map((member) => (
            <MemberRow group={group} member={member} canGrant={holdsKey} canRemove={lead && group.kind === 'idva_service'} csrfToken={csrfToken} />
          ))}
        </tbody>
      </table>

      {lead && group.kind === 'idva_service' ? (
        <>
          <h2>Invite a colleague</h2>
          {invitationLink === null ? (
            ''
          ) : (
            <div class="panel" role="status">
              <p>Send this link to your colleague by a channel you trust. It works once, for 72 hours:</p>
              <p>
                <code class="invitation-link" safe>
                  {invitationLink}
                </code>
              </p>
            </div>
          )}
          <form method="post" action="/staff/team/invitations" class="form form--inline">
            <input type="hidden" name="_csrf" value={csrfToken} />
            <label for="invite-role">Role</label>
            <select id="invite-role" name="role">
              <option value="idva">IDVA</option>
              <option value="idva_lead">IDVA lead</option>
            </select>
            <button type="submit" class="button">
              Create an invitation link
            </button>
          </form>
          {invitations.length === 0 ? (
            ''
          ) : (
            <>
              <h3>Invitations not used yet</h3>
              <table class="table">
                <thead>
                  <tr>
                    <th scope="col">Role</th>
                    <th scope="col">Created</th>
                    <th scope="col">Works until</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {invitations.map((invitation) => (
                    <tr>
                      <td safe>{ROLE_NAMES[invitation.role]}</td>
                      <td safe>{readableTime(invitation.createdAt, view.page.timeZone)}</td>
                      <td safe>{readableTime(invitation.expiresAt, view.page.timeZone)}</td>
                      <td>
                        <form method="post" action={`/staff/team/invitations/${invitation.id}/revoke`} class="inline-form">
                          <input type="hidden" name="_csrf" value={csrfToken} />
                          <button type="submit" class="button button--small button--warning">
                            Revoke
                          </button>
                        </form>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      ) : (
        ''
      )}

      {units.length === 0 ? (
        ''
      ) : (
        <>
          <h2>Investigator units</h2>
          <p>Cases are routed only to units whose key the IDVA service has certified. Certify a unit's key after checking its fingerprint with a member of the unit.</p>
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Unit</th>
                <th scope="col">Track</th>
                <th scope="col">Fingerprint</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {units.map((unit) => (
                <tr>
                  <td safe>{unit.name}</td>
                  <td>{unit.track ?? ''}</td>
                  <td>
                    <span class="fingerprint" safe>
                      {unit.fingerprint ?? 'no key yet'}
                    </span>
                  </td>
                  <td>
                    {unit.generation === null ? (
                      'Waiting for its first member'
                    ) : unit.certified ? (
                      'Certified'
                    ) : lead && holdsKey ? (
                      <button
                        type="button"
                        class="button button--small"
                        disabled
                        data-certify=""
                        data-unit={unit.id}
                        data-generation={String(unit.generation)}
                        data-fingerprint={unit.fingerprint ?? ''}
                        data-x25519={unit.publicKeys?.x25519 ?? ''}
                        data-ed25519={unit.publicKeys?.ed25519 ?? ''}
                        data-service={group.id}
                        data-service-generation={String(group.generation)}
                      >
                        Certify
                      </button>
                    ) : (
                      'Not certified'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      {outsideUnits.length === 0 || view.staff?.role !== 'idva_lead' ? (
        ''
      ) : (
        <section class="panel" aria-labelledby="outside-title">
          <h2 id="outside-title">Units outside this portal</h2>
          <p>
            A partner force's unit with no accounts here can still receive a referral, as a file it opens with its own key. Ask the
            unit to make a key (<code>npm run envelope -- keygen</code>) and send you its <code>public.key</code>, then read its
            fingerprint to you by phone or in person. Add it here only if the two fingerprints match.
          </p>
          <form data-form="outside-unit" novalidate data-service={group.id} data-service-generation={String(group.generation ?? '')}>
            <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
            <div class="field">
              <label for="outside-unit">Unit</label>
              <select id="outside-unit" data-outside-unit="">
                {outsideUnits.map(([id, name]) => (
                  <option value={id} safe>
                    {name}
                  </option>
                ))}
              </select>
            </div>
            <div class="field">
              <label for="outside-key">The unit's public.key file, as it is</label>
              <textarea id="outside-key" rows="3" maxlength="200" spellcheck="false" data-outside-key=""></textarea>
            </div>
            <div class="field">
              <label for="outside-fingerprint">The fingerprint the unit read to you</label>
              <p class="hint" id="outside-fingerprint-hint">
                Six groups of five digits.
              </p>
              <input type="text" id="outside-fingerprint" inputmode="numeric" autocomplete="off" aria-describedby="outside-fingerprint-hint" data-outside-fingerprint="" />
            </div>
            <button type="submit" class="button" disabled data-submit="">
              Check the fingerprint and add the unit
            </button>
            <p class="notice notice--ok" role="status" data-done="" hidden></p>
          </form>
        </section>
      )}
    </StaffLayout>
  )
}
