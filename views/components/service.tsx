import type { ServiceContact } from '../context.ts'

/** The IDVA service, once it has set the portal up: its name and key fingerprint. */
export interface ServiceSummary {
  readonly name: string
  readonly fingerprint: string
}

/**
 * The IDVA service's name and key fingerprint, to compare with the posters and the intranet. The
 * landing page explains it in full; elsewhere it is one optional step, folded away.
 */
export function ServiceKey({ service, folded = false }: { service: ServiceSummary; folded?: boolean }): JSX.Element {
  if (folded) {
    return (
      <details class="service-key service-key--folded">
        <summary>Optional: check that this site is really the IDVA service's</summary>
        <p>
          You do not have to do this. If you want to, compare these numbers with the ones on the posters or the intranet page about
          the service:
        </p>
        <p class="fingerprint" data-service-fingerprint="" safe>
          {service.fingerprint}
        </p>
        <p>If they differ, do not use this site, and call a helpline instead.</p>
      </details>
    )
  }
  return (
    <div class="service-key">
      <p>
        What you write here is locked to the key of <strong safe>{service.name}</strong>. Its fingerprint is:
      </p>
      <p class="fingerprint" data-service-fingerprint="" safe>
        {service.fingerprint}
      </p>
      <p>
        Checking is optional. The same numbers are on the posters and the intranet page about this service. If they differ, do not use
        this site, and call a helpline instead.
      </p>
    </div>
  )
}

/** Before the IDVA service has set the portal up: nothing can be sent, and help is elsewhere. */
export function NotOpenNotice(): JSX.Element {
  return (
    <div class="notice" role="status">
      <h2 class="notice__title">The portal is not open yet</h2>
      <p>
        The IDVA service is still setting it up, so nothing can be sent from here yet. Until it opens, you can get free,
        confidential help at any time from the National Domestic Abuse Helpline on <strong>0808 2000 247</strong>.
      </p>
    </div>
  )
}

/**
 * Shown until the page's script has loaded the cryptography (then hidden): without it nothing can
 * be typed or sent, and the page says why, as exactly as it can (issue 21). With JavaScript off
 * (Tor Browser's Safest level) only the <noscript> reason shows; where the script runs but cannot
 * encrypt, it writes its reason into `data-crypto-reason` (client/reporter/common.ts). WebAssembly
 * being off is not a reason: the same cryptography then runs in plain JavaScript. Then the ways to
 * reach a person that need nothing from this browser: the IDVA service's phone and the helplines.
 */
export function CryptoMissing({ contact, what, who = 'you' }: { contact: ServiceContact | null; what: 'send' | 'open'; who?: 'you' | 'manager' }): JSX.Element {
  return (
    <div class="notice notice--warning" data-crypto-missing="" role="status">
      <h2 class="notice__title">{what === 'send' ? 'Nothing can be sent from this browser as it is set up now' : 'Cases cannot be opened in this browser as it is set up now'}</h2>
      <noscript>
        <p data-no-javascript="">
          JavaScript is switched off in this browser (Tor Browser's "Safest" security level switches it off).{' '}
          {what === 'send'
            ? 'This page uses it to lock what you write on your device before anything leaves it, so that only the IDVA service can read it. Without it nothing can be locked, so nothing is sent: the questions are switched off.'
            : 'Your case is locked, and this page uses it to unlock your case on your device with your code. Without it nothing can be unlocked here.'}{' '}
          To use this page, allow JavaScript for this site (in Tor Browser, the "Safer" level is enough), or talk to a person instead.
        </p>
      </noscript>
      <p data-crypto-reason="" hidden></p>
      {contact?.phone == null ? (
        ''
      ) : (
        <p>
          Call the IDVA service on <strong safe>{contact.phone}</strong>
          {contact.hours === null ? '' : <> (<span safe>{contact.hours}</span>)</>}.{' '}
          {who === 'you' ? 'You do not have to give your name.' : 'You do not have to name the person you are calling about.'}
        </p>
      )}
      <p>
        You can also call the National Domestic Abuse Helpline free, at any time, on <strong>0808 2000 247</strong>. In an
        emergency, call <strong>999</strong>.
      </p>
    </div>
  )
}

/**
 * Shown by the page's script, instead of the questions, when the IDVA service's key the database
 * hands out does not match the fingerprint pinned in the portal's configuration: nothing is sealed
 * or sent, and replies are shown as not verified.
 */
export function KeyProblemNotice(): JSX.Element {
  return (
    <div class="notice notice--warning" role="alert" tabindex="-1" data-key-problem="" hidden>
      <h2 class="notice__title">We could not check the IDVA service's key</h2>
      <p>
        Do not send anything now. See <a href="/safety">the safety page</a> for other ways to get help. This is a problem on our
        side, not something you did.
      </p>
    </div>
  )
}

/** Locking files without WebAssembly, measured: README "Locked-down browsers" (test/browser/locked-down.test.ts). */
const SLOW_SECONDS_PER_10_MB = 8

/**
 * Beside a file input (steps arrive by htmx, so the stylesheet shows it, under <html
 * data-crypto-build="javascript">): where WebAssembly is off and files are locked by the plain
 * JavaScript build, more slowly (timed in Chromium without a JIT: README, "Locked-down
 * browsers").
 */
export function SlowCryptoNotice(): JSX.Element {
  return (
    <p class="hint" data-slow-crypto="">
      This browser has WebAssembly switched off (Lockdown Mode on an iPhone and Tor Browser's Safer level do this), so files
      are locked more slowly here: about {SLOW_SECONDS_PER_10_MB} seconds for every 10 MB on a computer, and longer on a
      phone. The page shows how far it has got while it works.
    </p>
  )
}
