import type { ServiceContact } from '../context.ts'

/**
 * Ways to get help that do not depend on this portal: shown on the landing page, the safety page,
 * and wherever the portal cannot take a disclosure (not open yet, or the service's key could not
 * be checked).
 */
export function Helplines(): JSX.Element {
  return (
    <ul class="list">
      <li>
        In an emergency, call <strong>999</strong>. If you cannot speak, call 999 from a mobile and press <strong>55</strong>{' '}
        when asked.
      </li>
      <li>
        National Domestic Abuse Helpline: <strong>0808 2000 247</strong> (free, 24 hours)
      </li>
      <li>
        Men's Advice Line: <strong>0808 801 0327</strong>
      </li>
      <li>
        Galop, for LGBT+ people experiencing abuse: <strong>0800 999 5428</strong>
      </li>
    </ul>
  )
}

/**
 * The one exception to "nothing goes to an investigator unless you agree", said before anything is
 * sent: the same words on the landing page and on the last step of /report.
 */
export function ConsentException(): JSX.Element {
  return (
    <p data-consent-exception="">
      There is one exception. In rare cases, when someone's life is at serious risk or a child is in danger, the IDVA service
      may have to share information without your agreement, to keep people safe. If it is safe to, they will tell you first.
    </p>
  )
}

/** Said before the first button and at the top of /report: a shared device can give a visit away. */
export function PrivateWindowAdvice({ short = false }: { short?: boolean }): JSX.Element {
  return (
    <div class="notice notice--compact" data-private-window="">
      {short ? (
        <p>
          <strong>On a shared phone or computer?</strong> Use a private or incognito window, so this site is not kept in the
          browser's history.
        </p>
      ) : (
        <p>
          <strong>On a shared phone or computer?</strong> Open this site in a private or incognito window, so that it is not kept
          in the browser's history. Most browsers open one with Ctrl+Shift+N (or Ctrl+Shift+P), or from the browser's menu.
        </p>
      )}
    </div>
  )
}

/** How to use the site more safely on a device someone else may see or check. */
export function StayingSafe(): JSX.Element {
  return (
    <ul class="list">
      <li>If you can, use a phone or computer, and an internet connection, that the person harming you cannot see or check.</li>
      <li>Use a private or incognito window, so this site is not kept in your browser history.</li>
      <li>This site asks your browser not to keep copies of its pages.</li>
      <li>
        To leave quickly, use the <strong>Leave this site</strong> button at the top of every page, or press the Shift key
        three times. The page goes blank and an everyday website opens in its place.
      </li>
    </ul>
  )
}

/**
 * Talking to a person instead of writing: the IDVA service's phone line, its hours and its offer to
 * meet face to face, from the configuration (SERVICE_PHONE, SERVICE_HOURS, SERVICE_MEETING).
 * Nothing is shown when none is set.
 */
export function ServiceContactDetails({ contact, who = 'you' }: { contact: ServiceContact | null; who?: 'you' | 'manager' }): JSX.Element {
  if (contact === null) return <></>
  const digits = contact.phone?.replace(/ /g, '') ?? ''
  return (
    <div class="contact-card" data-service-contact="">
      <h2 class="contact-card__title">{who === 'you' ? 'Talk to an IDVA instead' : 'Call or meet the IDVA service'}</h2>
      {contact.phone === null ? null : (
        <p>
          Call the IDVA service on{' '}
          <a href={`tel:${digits}`} class="contact-card__phone" safe>
            {contact.phone}
          </a>
          {contact.hours === null ? '.' : <> (<span safe>{contact.hours}</span>).</>}
          {who === 'you' ? ' You do not have to give your name.' : ' You do not have to name the person you are calling about.'}
        </p>
      )}
      {contact.meeting === null ? null : <p safe>{contact.meeting}</p>}
    </div>
  )
}

/** The reply target, in the same words on every page that gives it. */
export function replyTarget(days: number): string {
  return `The IDVA service aims to reply within ${days} working day${days === 1 ? '' : 's'}.`
}
