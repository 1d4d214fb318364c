import { replyTarget } from './help.tsx'

/**
 * The receipt after sending a new case: the code, shown once, advice on keeping it, when to expect a
 * reply, and a check that it was noted. Filled in by the page's script (client/reporter/new-case.ts).
 */
export function Receipt({ kind, firstReplyTargetDays }: { kind: 'disclosure' | 'consultation'; firstReplyTargetDays: number }): JSX.Element {
  return (
    <section class="receipt" data-receipt="" aria-labelledby="receipt-title" hidden>
      <h2 id="receipt-title" tabindex="-1">
        The IDVA service has received what you wrote
      </h2>
      <div class="notice notice--warning" data-receipt-urgent="" hidden>
        <p>
          You said you are in danger now, so the IDVA service will look at your case first. If you are in danger, call <strong>999</strong>{' '}
          (from a mobile, press <strong>55</strong> if you cannot speak).
        </p>
      </div>
      <p>
        {kind === 'consultation'
          ? 'Thank you for asking. This is your consultation code. It is shown only once, and nobody can find it for you.'
          : 'Thank you for telling us. This is your case code. It is shown only once, and nobody can find it for you.'}
      </p>
      <p class="case-code" data-case-code=""></p>
      <div class="notice" data-receipt-earlier="" hidden>
        <p>
          What you sent first had already arrived, and it is what the IDVA service has. What you changed on this page after that was not sent. You can add it
          with this code on <a href="/return">the return page</a>.
        </p>
      </div>
      <ul class="list">
        {kind === 'consultation' ? (
          <li>Keep it somewhere safe and private. You need it to read the IDVA's advice, ask more, or withdraw what you sent.</li>
        ) : (
          <>
            <li>Memorise it, or keep it somewhere the person harming you cannot find or check.</li>
            <li>You need it to read replies, add more, or withdraw what you sent.</li>
          </>
        )}
        <li>
          <strong safe>{replyTarget(firstReplyTargetDays)}</strong> Come back to{' '}
          <a href="/return">the return page</a> and enter your code to read it.
        </li>
      </ul>
      <div class="panel" data-code-check="">
        <h3>Check that you have your code</h3>
        <p>Type two words of your code, to make sure you have it before you leave this page.</p>
        <div class="field">
          <label for="check-word-a" data-check-label-a="">
            Word
          </label>
          <input type="text" id="check-word-a" autocomplete="off" autocapitalize="none" spellcheck="false" data-check-word-a="" />
        </div>
        <div class="field">
          <label for="check-word-b" data-check-label-b="">
            Word
          </label>
          <input type="text" id="check-word-b" autocomplete="off" autocapitalize="none" spellcheck="false" data-check-word-b="" />
        </div>
        <button type="button" class="button" data-check-code="">
          Check my code
        </button>
        <p class="hint" role="status" data-check-result=""></p>
      </div>
      <div data-receipt-done="" hidden>
        <p>
          You have your code. You can now close this page, or use <strong>Leave this site</strong> at the top. You can come
          back at any time.
        </p>
        <p>
          <a class="button button--secondary" href="/return">
            Go to the return page
          </a>
        </p>
      </div>
    </section>
  )
}
