import { Layout } from '../layout.tsx'
import type { PageContext } from '../context.ts'
import { KeyProblemNotice, NotOpenNotice, ServiceKey, type ServiceSummary } from '../components/service.tsx'

/**
 * /return: enter the case code, then the case itself. The code never leaves this page: the
 * browser derives the case's keys from it and signs the server's challenge. Everything below the
 * code box is filled in by the page's script, with decrypted text set only as text.
 */
export function ReturnPage({ context, service, firstReplyTargetDays }: { context: PageContext; service: ServiceSummary | null; firstReplyTargetDays: number }): JSX.Element {
  return (
    <Layout context={context} title="Come back to your case" page="return" servicePin={service?.fingerprint}>
      <h1>Come back to your case</h1>
      {service === null ? <NotOpenNotice /> : ''}
      <div class="notice notice--warning" data-crypto-missing="" role="status">
        <h2 class="notice__title">This page cannot open cases in this browser</h2>
        <p>
          Your case is locked, and only your browser can unlock it with your code. This browser cannot do that at the moment
          (JavaScript may be switched off, or the browser may be out of date). Try an up-to-date browser, or call the National
          Domestic Abuse Helpline free on <strong>0808 2000 247</strong>.
        </p>
      </div>

      <section data-return-login="" aria-labelledby="code-title">
        <h2 id="code-title" class="visually-hidden">
          Enter your case code
        </h2>
        <p>
          Enter the code you were given when you sent your disclosure, or your question as a line manager. It is never sent to
          the portal: your browser uses it to unlock your case.
        </p>
        <div class="error-summary" role="alert" tabindex="-1" data-error="" hidden></div>
        <div class="field">
          <label for="case-code">Your case code</label>
          <p class="hint" id="case-code-hint">
            Eight words, with spaces between them.
          </p>
          <input type="text" id="case-code" autocomplete="off" autocapitalize="none" spellcheck="false" aria-describedby="case-code-hint" data-code="" disabled />
        </div>
        <button type="button" class="button" data-open="" disabled>
          Open my case
        </button>
        <p class="working" role="status" data-working="" hidden></p>
      </section>

      <section class="case" data-case="" aria-labelledby="case-title" hidden>
        <h2 id="case-title" tabindex="-1">
          Your case
        </h2>
        <dl class="summary">
          <dt>Status</dt>
          <dd data-status=""></dd>
          <dt>Sent</dt>
          <dd data-created=""></dd>
        </dl>
        <p class="hint" data-status-hint=""></p>
        <KeyProblemNotice />
        {service === null ? '' : <ServiceKey service={service} />}

        <div class="panel" data-referrals="" hidden>
          <h3>Investigation</h3>
          <ul class="list" data-referral-list=""></ul>
        </div>

        <h3>Messages</h3>
        <ol class="thread" data-thread=""></ol>
        <p class="hint" data-reply-target="" hidden safe>
          {`The IDVA service aims to reply within ${firstReplyTargetDays} working day${firstReplyTargetDays === 1 ? '' : 's'}.`}
        </p>

        <div class="panel" data-write="">
          <h3>Write to the IDVA service</h3>
          <div class="error-summary" role="alert" tabindex="-1" data-send-error="" hidden></div>
          <div class="field">
            <label for="new-message">Your message</label>
            <textarea id="new-message" rows="6" maxlength="50000" data-new-text=""></textarea>
          </div>
          <div class="field" data-new-evidence-field="">
            <label for="new-evidence">Add files (optional)</label>
            <p class="hint" id="new-evidence-hint">
              Up to 10 files, each up to 25 MB. They are locked on your device before they are sent.
            </p>
            <input type="file" id="new-evidence" multiple aria-describedby="new-evidence-hint" data-new-evidence="" />
            <ul class="list file-list" data-file-list="" aria-live="polite"></ul>
          </div>
          <button type="button" class="button" data-send="">
            Lock and send
          </button>
          <p class="working" role="status" data-send-working="" hidden></p>
        </div>

        <p>
          <button type="button" class="button button--secondary" data-end="">
            Close my case on this device
          </button>
        </p>

        <div class="panel panel--warning">
          <h3>Withdraw and delete everything</h3>
          <p>
            You can withdraw at any time. Everything you sent and every reply is deleted from the portal at once, and your code
            stops working. If you want support again later, you can start a new disclosure.
          </p>
          <button type="button" class="button button--warning" data-withdraw="">
            Withdraw and delete everything
          </button>
        </div>
      </section>

      <section class="notice notice--ok" data-withdrawn="" tabindex="-1" hidden>
        <h2 class="notice__title">Everything has been deleted</h2>
        <p>
          What you sent and every reply have been deleted from the portal, and your code no longer works. If you want support
          again, you can <a href="/report">start a new disclosure</a> at any time, or call the National Domestic Abuse Helpline
          free on <strong>0808 2000 247</strong>.
        </p>
      </section>
    </Layout>
  )
}
