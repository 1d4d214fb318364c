import { StaffLayout, type StaffView } from '../../staff/layout.tsx'

/** What a destructive staff action does, said before it is done. */
export interface ConfirmAction {
  readonly title: string
  /** What happens, and what does not, in plain sentences. */
  readonly consequences: readonly string[]
  /** Where the form posts (the action's own route, with its own checks). */
  readonly action: string
  readonly confirmLabel: string
  readonly cancelHref: string
}

/**
 * The second step of a destructive action (disable, remove, reset a second factor): a page that
 * says what will happen, with the action as a warning button beside a way back. It works without
 * JavaScript; the POST it sends is the same one, checked in full again.
 */
export function ConfirmActionPage({ view, confirm }: { view: StaffView; confirm: ConfirmAction }): JSX.Element {
  return (
    <StaffLayout view={view} title={confirm.title} page="staff-confirm">
      <h1 safe>{confirm.title}</h1>
      <div class="notice notice--warning" data-confirm-action="">
        <ul class="list">
          {confirm.consequences.map((line) => (
            <li safe>{line}</li>
          ))}
        </ul>
      </div>
      <form method="post" action={confirm.action} class="actions">
        <input type="hidden" name="_csrf" value={view.staff?.csrfToken ?? ''} />
        <button type="submit" class="button button--warning" data-confirm-submit="" safe>
          {confirm.confirmLabel}
        </button>{' '}
        <a href={confirm.cancelHref} class="button button--secondary">
          Go back without changing anything
        </a>
      </form>
    </StaffLayout>
  )
}
