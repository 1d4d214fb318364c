import { Layout } from '../layout.tsx'
import type { PageContext } from '../context.ts'
import { ServiceKey, type ServiceSummary } from '../components/service.tsx'
import { ConsentException, Helplines, PrivateWindowAdvice, ServiceContactDetails, StayingSafe } from '../components/help.tsx'

/**
 * The front door. Until the IDVA service has set the portal up, it says plainly that the portal is
 * not open yet and where help is available meanwhile. Once it has, it names the service and shows
 * its key fingerprint, to compare with the one on posters and the intranet.
 */
export function LandingPage({ context, service, keyUnchecked = false }: { context: PageContext; service: ServiceSummary | null; keyUnchecked?: boolean }): JSX.Element {
  return (
    <Layout context={context} title="Confidential support if you are experiencing domestic abuse">
      <h1>Confidential support if you are experiencing domestic abuse</h1>
      <p class="lead">
        This is a confidential way for police officers and police staff to get support from an independent domestic abuse
        service: Independent Domestic Violence Advisors (IDVAs), who work for a charity, not for the police. You do not have to
        give your name.
      </p>

      {service === null ? (
        ''
      ) : (
        <PrivateWindowAdvice />
      )}
      {service === null ? (
        ''
      ) : (
        <nav class="actions" aria-label="What you can do here">
          <ul class="actions__list">
            <li>
              <a class="button" href="/report">
                Tell the IDVA service what is happening
              </a>
            </li>
            <li>
              <a class="button button--secondary" href="/return">
                Come back with your case code
              </a>
            </li>
          </ul>
        </nav>
      )}

      <h2>Who you will be talking to</h2>
      <p>
        Independent Domestic Violence Advisors (IDVAs) are specialists who work for a charity, not for the police. They will
        listen, believe you, help you stay safe, and help you decide what, if anything, you want to happen next. Talking to
        them does not start an investigation.
      </p>
      <p>
        Abuse can happen to anyone, including officers and staff who deal with danger every day. Being trained for danger at work does
        not make anyone able to stop someone harming them at home. It is not a failure to be strong enough, and it is not your fault.
      </p>

      <ServiceContactDetails contact={context.contact} />
      <p>
        <a href="/information">Your options, and what it means for your job</a>: asking about a partner's past (Clare's Law),
        protection orders, reporting to the police where you live, refuges, and your career and vetting.
      </p>

      <h2>Who can read what you write</h2>
      <ul class="list">
        <li>
          Only the IDVA service. What you write is locked (encrypted) on your own device before it is sent, with a key that
          only the IDVA service holds.
        </li>
        <li>
          Nobody in the force can read it: not IT, not the people who run the database, and not a colleague who has access
          to police systems.
        </li>
        <li>
          Nothing goes to anyone who investigates unless you agree. If you do agree, it goes to a team outside your area, or
          to another force, and criminal and misconduct matters are kept separate.
        </li>
      </ul>
      <ConsentException />

      {service === null ? (
        ''
      ) : (
        <>
          <h2>Checking that it is the IDVA service's key</h2>
          <ServiceKey service={service} />
        </>
      )}

      {keyUnchecked ? (
        <div class="notice notice--warning" role="alert">
          <h2 class="notice__title">Nothing can be sent from here at the moment</h2>
          <p>
            We could not check the IDVA service's key, so this site is not taking anything for now. This is a problem on our side,
            not something you did. You can still get free, confidential help:
          </p>
          <Helplines />
        </div>
      ) : (
        <div class="notice" role="status">
          {service === null ? (
            <>
              <h2 class="notice__title">The portal is not open yet</h2>
              <p>The IDVA service is still setting it up. Until it opens, you can get free, confidential help at any time from:</p>
            </>
          ) : (
            <>
              <h2 class="notice__title">Other help, at any time</h2>
              <p>You can also get free, confidential help from:</p>
            </>
          )}
          <Helplines />
        </div>
      )}

      <h2>Staying safe while you use this site</h2>
      <StayingSafe />
      <p>
        <a href="/safety">More on staying safe, and other ways to get help</a>
      </p>

      <h2>If you are a line manager</h2>
      <p>
        If someone has told you about domestic abuse, or you are worried about a colleague, read{' '}
        <a href="/managers">the guidance for line managers</a>. You can also ask an IDVA for advice, without naming anyone.
      </p>
    </Layout>
  )
}
