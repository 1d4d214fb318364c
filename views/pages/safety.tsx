import { Layout } from '../layout.tsx'
import type { PageContext } from '../context.ts'
import { Helplines, ServiceContactDetails, StayingSafe } from '../components/help.tsx'

/** /safety: staying safe while using the site, and ways to get help that do not need it. */
export function SafetyPage({ context }: { context: PageContext }): JSX.Element {
  return (
    <Layout context={context} title="Staying safe and other ways to get help" tabTitle="Staying safe online">
      <h1>Staying safe and other ways to get help</h1>
      <h2>Other ways to get help, at any time</h2>
      <p>You can get free, confidential help without using this site:</p>
      <Helplines />
      <ServiceContactDetails contact={context.contact} />
      <p>
        <a href="/information">Your options, and what it means for your job</a>
      </p>
      <h2>Staying safe while you use this site</h2>
      <StayingSafe />
      <p>
        <a href="/">Go to the start page</a>
      </p>
    </Layout>
  )
}

/**
 * When the IDVA service's key cannot be checked against the one pinned in the portal's
 * configuration (it is not set, or the database holds a different one), nothing may be sent: it
 * could reach someone other than the IDVA service. Said plainly, with other ways to get help.
 */
export function KeyUncheckedPage({ context, title }: { context: PageContext; title: string }): JSX.Element {
  return (
    <Layout context={context} title={title}>
      <h1 safe>{title}</h1>
      <div class="notice notice--warning" role="alert">
        <h2 class="notice__title">We could not check the IDVA service's key</h2>
        <p>
          Do not send anything now. This page only works when it can check that what you write is locked to the IDVA service's
          own key, and at the moment it cannot. This is a problem on our side, not something you did. The IDVA service has been
          told.
        </p>
      </div>
      <h2>Other ways to get help, at any time</h2>
      <Helplines />
      <p>
        <a href="/safety">Staying safe and other ways to get help</a>
      </p>
    </Layout>
  )
}
