import type { PropsWithChildren } from '@kitajs/html'
import type { PageContext } from '../context.ts'
import { Layout } from '../layout.tsx'
import type { Role } from '../../rules/enums.ts'
import { COUNT_CAP } from '../../rules/queue.ts'

/** Who is signed in, as the staff pages see it: a name, a role, the CSRF token. Never a key. */
export interface StaffView {
  readonly page: PageContext
  /** The IDVA service key's fingerprint pinned in the configuration (null until pinned). */
  readonly servicePin: string | null
  readonly staff: {
    readonly accountId: string
    readonly username: string
    readonly role: Role
    readonly csrfToken: string
    readonly stage: 'full' | 'second_factor_enrolment'
  } | null
}

export const ROLE_NAMES: Record<Role, string> = {
  idva_lead: 'IDVA lead',
  idva: 'IDVA',
  investigator: 'Investigator',
  admin: 'Portal administrator',
}

function Nav({ view }: { view: StaffView }): JSX.Element {
  const staff = view.staff
  if (staff === null || staff.stage !== 'full') return ''
  const links: [string, string][] = [['/staff', 'Home']]
  if (staff.role === 'idva_lead' || staff.role === 'idva') links.push(['/staff/cases', 'Cases'], ['/staff/team', 'Team and keys'])
  if (staff.role === 'idva_lead') links.push(['/staff/figures', 'Figures'])
  if (staff.role === 'investigator') links.push(['/staff/inbox', 'Referrals'], ['/staff/unit', 'Unit and keys'])
  if (staff.role === 'admin') links.push(['/staff/admin/accounts', 'Accounts'], ['/staff/admin/units', 'Units'], ['/staff/admin/invitations', 'Invitations'], ['/staff/figures', 'Figures'])
  links.push(['/staff/account', 'Your account'])
  return (
    <nav class="staff-nav" aria-label="Staff">
      <ul>
        {links.map(([href, label]) => (
          <li>
            <a href={href} safe>
              {label}
            </a>
          </li>
        ))}
      </ul>
      {staff.role === 'idva_lead' || staff.role === 'idva' ? (
        // Cases waiting for the service: fetched now and every minute, so a new case or message shows on every page.
        <p class="staff-nav__alerts" hx-get="/staff/alerts" hx-trigger="load, every 60s, sd-replied from:body" hx-swap="innerHTML" data-alerts="" aria-live="polite"></p>
      ) : (
        ''
      )}
      <p class="staff-nav__who">
        Signed in as <strong safe>{staff.username}</strong> (<span safe>{ROLE_NAMES[staff.role]}</span>)
      </p>
      <form method="post" action="/staff/logout" class="staff-nav__logout" data-logout="">
        <input type="hidden" name="_csrf" value={staff.csrfToken} />
        <button type="submit" class="button button--secondary">
          Sign out
        </button>
      </form>
    </nav>
  )
}

/** The alert on every IDVA page: how many cases wait for the service. */
export function WaitingBadge({ waiting }: { waiting: number }): JSX.Element {
  if (waiting === 0) return <span data-waiting="0">Nothing is waiting for a reply.</span>
  return (
    <a href="/staff/cases" class="badge" data-waiting={String(waiting)} safe>
      {`${waiting > COUNT_CAP ? `${COUNT_CAP} or more` : waiting} case${waiting === 1 ? '' : 's'} waiting for a reply`}
    </a>
  )
}

export interface StaffLayoutProps {
  readonly view: StaffView
  readonly title: string
  readonly page?: string
}

export function StaffLayout({ view, title, page, children }: PropsWithChildren<StaffLayoutProps>): JSX.Element {
  return (
    <Layout
      context={view.page}
      title={title}
      quickExit={false}
      tagline="Staff area"
      {...(page === undefined ? {} : { page })}
      {...(view.staff === null ? {} : { csrfToken: view.staff.csrfToken, accountId: view.staff.accountId })}
      nav={<Nav view={view} />}
      servicePin={view.servicePin ?? undefined}
    >
      <noscript>
        <p class="notice notice--warning">
          The staff pages need JavaScript: your passphrase and keys are handled only in this browser, never sent to the
          server.
        </p>
      </noscript>
      <div class="notice notice--warning" role="alert" data-needs-webassembly="" hidden>
        <h2 class="notice__title">The staff pages need WebAssembly, which is switched off in this browser</h2>
        <p>
          Your passphrase and keys are handled only in this browser, never sent, and the part that does it (libsodium, with
          Argon2id) needs WebAssembly. It is off here: Lockdown Mode on an iPhone, some browsers' strictest security settings
          and some device policies switch it off. Use the device you were given for this work, or ask IT support to allow
          WebAssembly for this site. Nothing has been sent.
        </p>
      </div>
      {children}
    </Layout>
  )
}

/**
 * Unlocking this tab's keys with the passphrase: shown by the page's script only when the tab does
 * not hold them (a new tab, or after setting up a new second factor).
 */
export function UnlockKeys(): JSX.Element {
  return (
    <>
      <p class="keys-status" data-keys-status="" hidden></p>
      <form class="form panel" data-form="unlock" hidden novalidate>
        <h2>Unlock your keys in this tab</h2>
        <p>Your keys are locked with your passphrase. Your browser unlocks them; the passphrase is not sent.</p>
        <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
        <p class="working" role="status" data-working="" hidden>
          Unlocking: this takes a few seconds.
        </p>
        <div class="field">
          <label for="unlock-passphrase">Passphrase</label>
          <input id="unlock-passphrase" type="password" autocomplete="current-password" required data-passphrase="" />
        </div>
        <button type="submit" class="button" disabled data-submit="">
          Unlock
        </button>
      </form>
    </>
  )
}
