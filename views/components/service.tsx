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
 * be typed or sent, and the page says so. `instead` is what the person can do meanwhile.
 */
export function CryptoMissing({ instead }: { instead: string }): JSX.Element {
  return (
    <div class="notice notice--warning" data-crypto-missing="" role="status">
      <h2 class="notice__title">This page cannot send anything from this browser</h2>
      <p>
        To keep what you write private, this page locks it on your device before sending it. Your browser cannot do that at
        the moment (JavaScript may be switched off, or the browser may be out of date), so the questions are switched off and
        nothing is sent. <span safe>{instead}</span>
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
