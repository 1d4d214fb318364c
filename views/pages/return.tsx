import { Layout } from '../layout.tsx'
import type { PageContext } from '../context.ts'
import { replyTarget, ServiceContactDetails } from '../components/help.tsx'
import { CryptoMissing, KeyProblemNotice, NotOpenNotice, ServiceKey, SlowCryptoNotice, type ServiceSummary } from '../components/service.tsx'

/**
 * /return: enter the case code, then the case itself. The code never leaves this page: the
 * browser derives the case's keys from it and signs the server's challenge. Everything below the
 * code box is filled in by the page's script, with decrypted text set only as text.
 */
export function ReturnPage({ context, service, firstReplyTargetDays }: { context: PageContext; service: ServiceSummary | null; firstReplyTargetDays: number }): JSX.Element {
  return (
    <Layout context={context} title="Come back to your case" tabTitle="Come back" page="return" servicePin={service?.fingerprint}>
      <h1>Come back to your case</h1>
      {service === null ? <NotOpenNotice /> : ''}
      <CryptoMissing contact={context.contact} what="open" />

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
            Nine words, with spaces between them (a code made before December 2026 has eight).
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
        {service === null ? '' : <ServiceKey service={service} folded />}

        <div class="panel" data-referrals="" hidden>
          <h3>Investigation</h3>
          <ul class="list" data-referral-list=""></ul>
        </div>

        <h3>Messages</h3>
        <p class="hint" data-download-warning="">
          A file you download from here is saved on this device, usually in its Downloads folder, where someone else using it could
          find it. On a shared device, delete it when you have finished, and empty the bin.
        </p>
        <ol class="thread" data-thread=""></ol>
        <p class="hint" data-reply-target="" hidden safe>
          {replyTarget(firstReplyTargetDays)}
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
            <SlowCryptoNotice />
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
            Sign out on this device
          </button>
        </p>

        <div class="panel panel--warning">
          <h3>Withdraw and delete what you sent</h3>
          <p>
            You can withdraw at any time. What you sent and every reply are deleted from the portal at once, and your code stops working. If
            you want support again later, you can start a new disclosure.
          </p>
          <button type="button" class="button button--secondary" data-withdraw="" aria-expanded="false" aria-controls="withdraw-confirm">
            Withdraw…
          </button>
          <div id="withdraw-confirm" class="withdraw-confirm" data-withdraw-confirm="" tabindex="-1" hidden>
            <h4>What withdrawing deletes</h4>
            <ul>
              <li>everything you wrote, and every reply to you</li>
              <li>every file you added</li>
              <li>your case code: it will not open anything again, here or on any other device</li>
            </ul>
            <p>This cannot be undone.</p>
            <div data-withdraw-kept="" hidden>
              <h4>What the IDVA service keeps</h4>
              <p data-withdraw-kept-why=""></p>
              <p>
                They keep a short record: that your case existed, their risk assessment, their MARAC and referral decisions and what
                happened to them, and their own notes. Not your words and not your files. They keep it because they may have to act to keep you
                or others safe, and may need to show what they did. You can ask them about it at any time.
              </p>
            </div>
            <p class="actions">
              <button type="button" class="button button--warning" data-withdraw-now="">
                Withdraw now
              </button>
              <button type="button" class="button button--secondary" data-withdraw-cancel="">
                Keep my case
              </button>
            </p>
          </div>
        </div>
      </section>

      <section class="notice notice--ok" data-withdrawn="" tabindex="-1" hidden>
        <h2 class="notice__title">What you sent has been deleted</h2>
        <p>
          What you sent and every reply have been deleted from the portal, and your code no longer works.
          <span data-withdrawn-kept="" hidden> The IDVA service keeps only its short record of the case, as explained before you withdrew.</span>
        </p>
        <p>
          If you want support again, you can <a href="/report">start a new disclosure</a> at any time, or call the National Domestic Abuse
          Helpline free on <strong>0808 2000 247</strong>.
        </p>
      </section>
      <ServiceContactDetails contact={context.contact} />
    </Layout>
  )
}
