import type { PageContext } from '../context.ts'
import { Layout } from '../layout.tsx'
import { Receipt } from '../components/receipt.tsx'
import { CryptoMissing, KeyProblemNotice, NotOpenNotice, ServiceKey, type ServiceSummary } from '../components/service.tsx'
import { Choices } from './report.tsx'
import { replyTarget, ServiceContactDetails } from '../components/help.tsx'

/**
 * The line managers' side: guidance pages (rendered from the Markdown the IDVA service keeps in
 * views/guidance/managers/), and an anonymous consultation with an IDVA, encrypted in the browser
 * exactly like a disclosure. Every page has the quick exit.
 */

export interface GuideSummary {
  readonly slug: string
  readonly title: string
  readonly summary: string
}

export interface Guide extends GuideSummary {
  /** Rendered from Markdown with raw HTML disabled and every link checked (server/features/managers/guidance.ts). */
  readonly html: string
}

function GuideNav({ guides, current }: { guides: readonly GuideSummary[]; current?: string }): JSX.Element {
  return (
    <nav class="guide-nav" aria-label="Guidance for line managers">
      <h2 class="guide-nav__title">Guidance for line managers</h2>
      <ol class="guide-nav__list">
        {guides.map((guide) => (
          <li>
            {guide.slug === current ? (
              <strong aria-current="page" safe>
                {guide.title}
              </strong>
            ) : (
              <a href={`/managers/${guide.slug}`} safe>
                {guide.title}
              </a>
            )}
          </li>
        ))}
        <li>
          {current === 'ask' ? <strong aria-current="page">Ask an IDVA for advice</strong> : <a href="/managers/ask">Ask an IDVA for advice</a>}
        </li>
      </ol>
    </nav>
  )
}

function PrintButton(): JSX.Element {
  return (
    <p class="print-hide">
      <button type="button" class="button button--secondary button--small" data-print="" hidden>
        Print this page
      </button>
    </p>
  )
}

export function ManagersIndexPage({ context, guides, targetDays }: { context: PageContext; guides: readonly GuideSummary[]; targetDays: number }): JSX.Element {
  return (
    <Layout context={context} title="Guidance for line managers" tabTitle="For managers" page="managers">
      <h1>When someone tells you about domestic abuse</h1>
      <p class="lead">
        Guidance for line managers and supervisors in the force, from the independent IDVA service. Each page takes a minute or
        two to read, and can be printed.
      </p>
      <p>
        If anyone is in immediate danger, call <strong>999</strong>.
      </p>
      <ol class="guide-index">
        {guides.map((guide) => (
          <li>
            <h2 class="guide-index__title">
              <a href={`/managers/${guide.slug}`} safe>
                {guide.title}
              </a>
            </h2>
            <p safe>{guide.summary}</p>
          </li>
        ))}
      </ol>
      <div class="panel">
        <h2>Ask an IDVA for advice</h2>
        <p>
          Describe the situation without naming anyone, and an IDVA will reply with advice. What you write is locked on your
          device so that only the IDVA service can read it. You get a code to read the answer.
        </p>
        <p data-reply-target="" safe>
          {replyTarget(targetDays)}
        </p>
        <p>
          <a class="button" href="/managers/ask">
            Ask an IDVA
          </a>
        </p>
      </div>
      <ServiceContactDetails contact={context.contact} who="manager" />
      <p>
        <a href="/managers/card">A card to print or share</a>: how anyone in the force can contact the IDVA service, and the
        fingerprint to check.
      </p>
    </Layout>
  )
}

export function GuidePage({ context, guides, guide }: { context: PageContext; guides: readonly GuideSummary[]; guide: Guide }): JSX.Element {
  return (
    <Layout context={context} title={guide.title} tabTitle="For managers" page="managers">
      <p class="print-hide">
        <a href="/managers">All guidance for line managers</a>
      </p>
      <article class="guide">
        <h1 safe>{guide.title}</h1>
        {guide.html as 'safe'}
      </article>
      <PrintButton />
      <GuideNav guides={guides} current={guide.slug} />
    </Layout>
  )
}

export function AskPage({ context, service, guides, targetDays }: { context: PageContext; service: ServiceSummary | null; guides: readonly GuideSummary[]; targetDays: number }): JSX.Element {
  return (
    <Layout context={context} title="Ask an IDVA for advice" tabTitle="Ask for advice" page="managers-ask" servicePin={service?.fingerprint}>
      <h1 data-page-title="">Ask an IDVA for advice</h1>
      {service === null ? (
        <NotOpenNotice />
      ) : (
        <>
          <div data-report-intro="">
            <p class="lead">
              Someone has told you about domestic abuse, or you are worried about a colleague. An IDVA can advise you on what to
              do next.
            </p>
            <div class="panel panel--warning" id="no-names">
              <h2>Do not name anyone</h2>
              <p>
                Describe the situation in general terms. Do not write names, collar or staff numbers, addresses, or anything else
                that would identify the person who confided in you or anyone else involved. The person can contact the IDVA
                service themselves, anonymously, if they choose to.
              </p>
            </div>
            <p>
              What you write is locked on this device before it is sent, so that only the IDVA service can read it. You do not
              give your own name. At the end you get a code: with it you can read the IDVA's advice and ask more.
            </p>
            <p data-reply-target="" safe>
              {replyTarget(targetDays)}
            </p>
            <ServiceContactDetails contact={context.contact} who="manager" />
            <p>
              If anyone is in immediate danger, call <strong>999</strong> now.
            </p>
            <ServiceKey service={service} folded />
          </div>
          <CryptoMissing contact={context.contact} what="send" who="manager" />
          <KeyProblemNotice />
          <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
          <div class="report" data-ask="">
            <fieldset class="report-step__fields" data-step-fields="" disabled>
              <legend class="visually-hidden">Your question</legend>
              <Choices
                name="managerRole"
                type="radio"
                legend="How do you know the person? (optional)"
                options={[
                  { value: 'line_manager', label: 'I am their line manager' },
                  { value: 'supervisor', label: 'I supervise them in another way' },
                  { value: 'colleague', label: 'I am a colleague' },
                  { value: 'hr_or_welfare', label: 'I work in HR, welfare or occupational health' },
                  { value: 'other', label: 'Another way' },
                ]}
              />
              <Choices
                name="adviceTopics"
                type="checkbox"
                legend="What would you like advice on? (optional)"
                hint="Choose any that apply."
                options={[
                  { value: 'what_to_say', label: 'What to say, and what not to say' },
                  { value: 'immediate_safety', label: 'Immediate safety' },
                  { value: 'safety_at_work', label: 'Safety at work' },
                  { value: 'abuser_is_colleague', label: 'The person harming them is a colleague or a supervisor' },
                  { value: 'adjustments_and_leave', label: 'Reasonable adjustments and leave' },
                  { value: 'confidentiality', label: 'Confidentiality and its limits' },
                  { value: 'referral', label: 'What happens after a referral' },
                  { value: 'looking_after_myself', label: 'Looking after myself' },
                ]}
              />
              <div class="field">
                <label for="text">Describe the situation</label>
                <p class="hint" id="text-hint">
                  What has happened, what you have been told, and what you are unsure about. Without names or anything that
                  identifies anyone.
                </p>
                <textarea id="text" name="text" rows="10" maxlength="50000" aria-describedby="text-hint no-names" data-answer="text"></textarea>
              </div>
            </fieldset>
            <div class="step-nav">
              <button type="button" class="button" data-submit="" disabled>
                Lock and send to the IDVA service
              </button>
            </div>
          </div>
          <p class="working" role="status" data-working="" hidden></p>
          <Receipt kind="consultation" firstReplyTargetDays={targetDays} />
        </>
      )}
      <GuideNav guides={guides} current="ask" />
    </Layout>
  )
}

/**
 * /managers/card: a card a manager prints or shares, telling anyone in the force how to reach the
 * IDVA service on their own: the portal's address, the phone line when there is one, what stays
 * private, and the fingerprint to compare (the pinned one, or none while it cannot be checked).
 */
export function CardPage({ context, service, address }: { context: PageContext; service: ServiceSummary | null; address: string }): JSX.Element {
  return (
    <Layout context={context} title="A card about the IDVA service" tabTitle="For managers" page="managers">
      <p class="print-hide">
        <a href="/managers">Back to the guidance for line managers</a>
      </p>
      <h1 class="print-hide">A card to print or share</h1>
      <p class="print-hide">
        Print it, or copy its words into an email or the intranet. It names no one and says nothing about anyone who might use
        the service.
      </p>
      <PrintButton />
      <article class="info-card" data-card="">
        <h2 class="info-card__title">Confidential support if someone is harming you at home</h2>
        <p>
          For police officers, PCSOs, special constables and police staff. An independent IDVA service, from a charity and not
          from the police, gives confidential support to anyone experiencing domestic abuse. You do not have to give your name.
        </p>
        <p>
          Go to{' '}
          <strong class="info-card__address" safe>
            {address}
          </strong>
          , on a device the person harming you cannot check. What you write is locked on your device so that only the IDVA service can
          read it. Nobody in the force can. Nothing goes to anyone who investigates unless you agree.
        </p>
        {context.contact?.phone == null ? null : (
          <p>
            Or call{' '}
            <strong safe>{context.contact.phone}</strong>
            {context.contact.hours === null ? '.' : <> (<span safe>{context.contact.hours}</span>).</>}
          </p>
        )}
        {service === null ? (
          <p data-card-fingerprint="none">The service's key fingerprint will be on this card once the portal is open.</p>
        ) : (
          <p data-card-fingerprint="">
            The site shows this fingerprint; if it shows different numbers, do not use it:{' '}
            <span class="fingerprint" safe>
              {service.fingerprint}
            </span>
          </p>
        )}
        <p>
          In an emergency, call <strong>999</strong> (if you cannot speak, press <strong>55</strong> when asked). National Domestic
          Abuse Helpline: <strong>0808 2000 247</strong>, free, 24 hours.
        </p>
      </article>
    </Layout>
  )
}
