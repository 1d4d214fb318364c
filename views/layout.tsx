import type { PropsWithChildren } from '@kitajs/html'
import { QuickExit } from './components/quick-exit.tsx'
import { HTMX_CONFIG, type PageContext } from './context.ts'

export interface LayoutProps {
  readonly context: PageContext
  /**
   * The page's own title; the service name is added. Public pages (those with the quick exit) do
   * not show it in the tab or the browser's history: there the title is NEUTRAL_TITLE, so that a
   * person sharing a device is not given away by a tab, a bookmark or a history entry.
   */
  readonly title: string
  /** A public page's words for its tab, neutral (for example "Come back"); NEUTRAL_TITLE is added. */
  readonly tabTitle?: string
  /** Public pages carry the quick exit; staff pages do not. */
  readonly quickExit?: boolean
  /** data-page on <body>: which browser behaviour the page needs (client/main.ts). */
  readonly page?: string
  /** Staff pages: the session's CSRF token, for forms, htmx and scripts. */
  readonly csrfToken?: string
  /** Staff pages: whose keys this tab may hold (data-account-id, for the page's script). */
  readonly accountId?: string
  /** Under the service name in the header. */
  readonly tagline?: string
  /** Staff pages: navigation in the header. */
  readonly nav?: JSX.Element
  /**
   * The IDVA service key's fingerprint pinned in the configuration (never read from the database):
   * the page's script checks the key chain it fetches against it, and seals nothing if it differs.
   */
  readonly servicePin?: string | undefined
}

export const SERVICE_NAME = 'Safe Disclosure'
/** What a public page's tab and history entry say: nothing about abuse, reports or the service. */
export const NEUTRAL_TITLE = 'Staff support'

export function Layout({
  context,
  title,
  tabTitle,
  quickExit = true,
  page,
  csrfToken,
  accountId,
  tagline = 'Confidential support from an independent domestic abuse service',
  nav,
  servicePin,
  children,
}: PropsWithChildren<LayoutProps>): JSX.Element {
  return (
    <>
      {'<!doctype html>'}
      <html lang="en-GB">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="referrer" content="no-referrer" />
          <meta name="robots" content="noindex, nofollow" />
          <meta name="htmx-config" content={HTMX_CONFIG} />
          <title safe>{quickExit ? (tabTitle === undefined ? NEUTRAL_TITLE : `${tabTitle} – ${NEUTRAL_TITLE}`) : `${title} – ${SERVICE_NAME}`}</title>
          <meta name="sd-evidence-worker" content={context.assets.evidenceWorker} />
          <meta name="sd-puzzle-worker" content={context.assets.puzzleWorker} />
          {csrfToken === undefined ? '' : <meta name="csrf-token" content={csrfToken} />}
          {servicePin === undefined ? '' : <meta name="sd-service-pin" content={servicePin} />}
          <link rel="stylesheet" href={context.assets.css} />
          <script src={context.assets.htmx} defer></script>
          <script type="module" src={context.assets.app}></script>
        </head>
        <body data-page={page} data-account-id={accountId} hx-headers={csrfToken === undefined ? undefined : JSON.stringify({ 'X-CSRF-Token': csrfToken })}>
          <a class="skip-link" href="#main">
            Skip to main content
          </a>
          {context.demo ? (
            <p class="demo-banner" role="note">
              DEMO: this portal holds made-up data for trying it out. Do not use it for a real disclosure.
            </p>
          ) : (
            ''
          )}
          {quickExit ? <QuickExit href={context.quickExitUrl} /> : ''}
          <header class="site-header">
            <a class="site-header__name" href="/">
              {SERVICE_NAME}
            </a>
            <p class="site-header__tagline" safe>
              {tagline}
            </p>
            {nav === undefined ? '' : (nav as 'safe')}
          </header>
          <main id="main" class="main" tabindex="-1">
            {children}
          </main>
          <footer class="site-footer">
            <p>
              If you are in immediate danger, call <strong>999</strong>. If you cannot speak, call 999 from a mobile and
              press <strong>55</strong> when asked.
            </p>
          </footer>
        </body>
      </html>
    </>
  )
}
