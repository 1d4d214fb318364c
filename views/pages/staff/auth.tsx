import { readableTime } from '../../../rules/dates.ts'
import { ROLE_NAMES, StaffLayout, type StaffView } from '../../staff/layout.tsx'
import type { Role } from '../../../rules/enums.ts'

/**
 * Sign-in, set-up and enrolment pages. Passphrase fields have no `name`, so even if a script failed
 * and the form were submitted by the browser, the passphrase could not be sent; the submit buttons
 * start disabled and only the page's script (which derives keys in the browser) enables them.
 */

function FormStatus(): JSX.Element {
  return (
    <>
      <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
      <p class="working" role="status" data-working="" hidden>
        Working: this takes a few seconds while your browser protects your keys.
      </p>
    </>
  )
}

function PassphraseFields({ purpose }: { purpose: 'new' | 'current' }): JSX.Element {
  if (purpose === 'current') {
    return (
      <div class="field">
        <label for="passphrase">Passphrase</label>
        <input id="passphrase" type="password" autocomplete="current-password" required data-passphrase="" />
      </div>
    )
  }
  return (
    <>
      <div class="field">
        <label for="passphrase">Choose a passphrase</label>
        <p class="hint" id="passphrase-hint">
          At least 12 characters. A few unrelated words are strong and easy to remember. It protects the keys that let you
          read cases, so use it nowhere else.
        </p>
        <input id="passphrase" type="password" autocomplete="new-password" required aria-describedby="passphrase-hint passphrase-strength" data-passphrase="" data-strength="" />
        <p class="hint" id="passphrase-strength" aria-live="polite" data-strength-message=""></p>
      </div>
      <div class="field">
        <label for="passphrase-again">Type the passphrase again</label>
        <input id="passphrase-again" type="password" autocomplete="new-password" required data-passphrase-again="" />
      </div>
    </>
  )
}

function Authenticator({ totpSecret, safeQrSvg }: { totpSecret: string; safeQrSvg: string }): JSX.Element {
  return (
    <fieldset class="fieldset">
      <legend>Second factor</legend>
      <p>Scan this code with an authenticator app on your phone (for example Microsoft Authenticator or Google Authenticator).</p>
      <div class="qr" aria-hidden="true">
        {safeQrSvg}
      </div>
      <p>
        Or enter this key in the app: <code class="totp-secret" safe>{totpSecret}</code>
      </p>
      <div class="field">
        <label for="code">The 6-digit code the app shows now</label>
        <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required data-code="" />
      </div>
    </fieldset>
  )
}

function RecoveryCodes(): JSX.Element {
  return (
    <section class="panel" data-done="" hidden tabindex="-1">
      <h2>Your recovery codes</h2>
      <p>
        If you lose your phone, each of these codes lets you sign in once instead of a code from the app. Write them down
        and keep them somewhere safe, away from your phone. They are shown only now.
      </p>
      <ul class="recovery-codes" data-recovery-codes=""></ul>
      <div data-fingerprint-section="" hidden>
        <h2>The IDVA service key fingerprint</h2>
        <p>
          Publish this on the posters and the intranet page about the portal, so that people can check that what they
          write is locked to your service's key.
        </p>
        <p class="fingerprint" data-fingerprint=""></p>
        <div data-pin-pinned="" hidden>
          <p>
            The portal has pinned this fingerprint in its own configuration, beside its server secret (not in the database):
            reporters' browsers check the service's key against it before they send anything.
          </p>
        </div>
        <div class="notice notice--warning" data-pin-needed="" hidden>
          <h3 class="notice__title">One more step for the portal's administrator</h3>
          <p>
            Until this line is in the portal's configuration, on every instance, and the portal restarted, nothing can be sent
            from the reporters' pages: they check the service's key against it, and it cannot come from the database.
          </p>
          <pre class="config-line"><code data-pin-line=""></code></pre>
        </div>
      </div>
      <p>
        <a class="button" href="/staff" data-continue="">
          Continue
        </a>
      </p>
    </section>
  )
}

export function SetupPage(props: { view: StaffView; ticket: string; accountId: string; groupId: string; totpSecret: string; safeQrSvg: string }): JSX.Element {
  const { view, ticket, accountId, groupId, totpSecret, safeQrSvg } = props
  return (
    <StaffLayout view={view} title="Set up the IDVA service" page="staff-setup">
      <h1>Set up the IDVA service</h1>
      <p class="lead">
        This creates the IDVA service on this portal and your account as its lead. Your browser creates the service's keys
        and your own; the server keeps only their public halves and copies locked with your passphrase.
      </p>
      <form class="form" data-form="setup" data-ticket={ticket} data-account-id={accountId} data-group-id={groupId} novalidate>
        <FormStatus />
        <div class="field">
          <label for="service-name">Name of the IDVA service</label>
          <p class="hint" id="service-name-hint">
            As people will know it, for example the charity's name.
          </p>
          <input id="service-name" name="serviceName" required maxlength="120" aria-describedby="service-name-hint" data-service-name="" />
        </div>
        <div class="field">
          <label for="username">Your user name</label>
          <input id="username" name="username" autocomplete="username" required maxlength="64" data-username="" />
        </div>
        <PassphraseFields purpose="new" />
        <Authenticator totpSecret={totpSecret} safeQrSvg={safeQrSvg} />
        <button type="submit" class="button" disabled data-submit="">
          Create the IDVA service
        </button>
      </form>
      <RecoveryCodes />
    </StaffLayout>
  )
}

export function EnrolPage(props: {
  view: StaffView
  role: Role
  groupName: string | null
  createsGroupKeys: boolean
  groupId: string | null
  ticket: string
  accountId: string
  totpSecret: string
  safeQrSvg: string
}): JSX.Element {
  const { view, role, groupName, groupId, createsGroupKeys, ticket, accountId, totpSecret, safeQrSvg } = props
  return (
    <StaffLayout view={view} title="Create your account" page="staff-enrol">
      <h1>Create your account</h1>
      <p class="lead">
        You have been invited as <strong safe>{ROLE_NAMES[role]}</strong>
        {groupName === null ? '' : <> in <strong safe>{groupName}</strong></>}.
      </p>
      {role === 'admin' ? (
        <p>As a portal administrator you manage accounts, units and invitations. You cannot read any case.</p>
      ) : createsGroupKeys ? (
        <p>You are the first member of this unit: your browser will also create the unit's keys.</p>
      ) : (
        <p>Once your account exists, a colleague already in the team gives you access to its cases from their browser.</p>
      )}
      <form class="form" data-form="enrol" data-ticket={ticket} data-account-id={accountId} data-group-id={groupId ?? ''} data-creates-group-keys={createsGroupKeys ? 'true' : 'false'} novalidate>
        <FormStatus />
        <div class="field">
          <label for="username">Choose a user name</label>
          <input id="username" name="username" autocomplete="username" required maxlength="64" data-username="" />
        </div>
        <PassphraseFields purpose="new" />
        <Authenticator totpSecret={totpSecret} safeQrSvg={safeQrSvg} />
        <button type="submit" class="button" disabled data-submit="">
          Create my account
        </button>
      </form>
      <RecoveryCodes />
    </StaffLayout>
  )
}

export type SignedOut = 'here' | 'everywhere' | 'expired' | null

const SIGNED_OUT_MESSAGES: Record<Exclude<SignedOut, null>, string> = {
  here: 'You are signed out. The keys this browser tab held are gone.',
  everywhere: 'You are signed out of every browser. The keys this browser tab held are gone.',
  expired: 'Your session ended, so you are signed out. Sign in again to continue.',
}

export function LoginPage({ view, serviceOpen, signedOut }: { view: StaffView; serviceOpen: boolean; signedOut: SignedOut }): JSX.Element {
  return (
    <StaffLayout view={view} title="Sign in" page="staff-login">
      <h1>Sign in</h1>
      {signedOut === null ? '' : (
        <p class="notice notice--ok" role="status" data-signed-out="" safe>
          {SIGNED_OUT_MESSAGES[signedOut]}
        </p>
      )}
      {serviceOpen ? '' : <p class="notice">The portal has not been set up yet: the IDVA service's lead sets it up first.</p>}
      <form class="form" data-form="login" novalidate>
        <FormStatus />
        <div class="field">
          <label for="username">User name</label>
          <input id="username" name="username" autocomplete="username" required maxlength="64" data-username="" />
        </div>
        <PassphraseFields purpose="current" />
        <div class="field">
          <label for="code">Code</label>
          <p class="hint" id="code-hint">
            The 6-digit code from your authenticator app, or one of your recovery codes.
          </p>
          <input id="code" name="code" autocomplete="one-time-code" aria-describedby="code-hint" maxlength="20" data-code="" />
        </div>
        <button type="submit" class="button" disabled data-submit="">
          Sign in
        </button>
      </form>
    </StaffLayout>
  )
}

export function SecondFactorPage({ view, ticket, totpSecret, safeQrSvg }: { view: StaffView; ticket: string; totpSecret: string; safeQrSvg: string }): JSX.Element {
  return (
    <StaffLayout view={view} title="Set up your second factor" page="staff-second-factor">
      <h1>Set up your second factor again</h1>
      <p class="lead">An administrator reset your second factor. Set it up with your authenticator app to continue.</p>
      <form class="form" data-form="second-factor" data-ticket={ticket} novalidate>
        <FormStatus />
        <Authenticator totpSecret={totpSecret} safeQrSvg={safeQrSvg} />
        <button type="submit" class="button" disabled data-submit="">
          Continue
        </button>
      </form>
      <RecoveryCodes />
    </StaffLayout>
  )
}

function formatDate(date: Date | null, timeZone: string): string {
  return date === null ? 'never' : readableTime(date, timeZone)
}

export function AccountPage(props: {
  view: StaffView
  createdAt: Date
  lastLoginAt: Date | null
  recoveryCodesLeft: number
  sessions: number
  passphraseChanged: boolean
}): JSX.Element {
  const { view, createdAt, lastLoginAt, recoveryCodesLeft, sessions, passphraseChanged } = props
  return (
    <StaffLayout view={view} title="Your account" page="staff-account">
      <h1>Your account</h1>
      {passphraseChanged ? (
        <p class="notice notice--ok" role="status">
          Your passphrase is changed. Your other browsers have been signed out.
        </p>
      ) : (
        ''
      )}
      {recoveryCodesLeft <= 3 ? (
        <p class="notice notice--warning">
          You have few recovery codes left. If you lose your phone, ask a portal administrator to reset your second factor.
        </p>
      ) : (
        ''
      )}
      <dl class="summary">
        <dt>Created</dt>
        <dd safe>{formatDate(createdAt, view.page.timeZone)}</dd>
        <dt>Last sign-in</dt>
        <dd safe>{formatDate(lastLoginAt, view.page.timeZone)}</dd>
        <dt>Recovery codes left</dt>
        <dd safe>{String(recoveryCodesLeft)}</dd>
        <dt>Signed in on</dt>
        <dd safe>{`${sessions} ${sessions === 1 ? 'browser' : 'browsers'}`}</dd>
      </dl>

      <h2>Change your passphrase</h2>
      <form class="form" data-form="change-passphrase" data-username={view.staff?.username ?? ''} novalidate>
        <FormStatus />
        <div class="field">
          <label for="current-passphrase">Current passphrase</label>
          <input id="current-passphrase" type="password" autocomplete="current-password" required data-current-passphrase="" />
        </div>
        <PassphraseFields purpose="new" />
        <p class="hint">Your other browsers will be signed out.</p>
        <button type="submit" class="button" disabled data-submit="">
          Change passphrase
        </button>
      </form>

      <h2>Sign out everywhere</h2>
      <p>If you think someone else has used your account, sign out of every browser at once.</p>
      <form method="post" action="/staff/logout-everywhere" data-logout="">
        <input type="hidden" name="_csrf" value={view.staff?.csrfToken ?? ''} />
        <button type="submit" class="button button--warning">
          Sign out everywhere
        </button>
      </form>
    </StaffLayout>
  )
}
