/**
 * Small helpers for the pages' forms. Everything shown comes in as text (textContent), never
 * as HTML.
 */

export function required<T extends Element>(root: ParentNode, selector: string): T {
  const element = root.querySelector<T>(selector)
  if (element === null) throw new Error(`the page has no ${selector}`)
  return element
}

/** A form's submit button: it starts disabled in the page, and works only once the script runs. */
export function submitButton(form: HTMLFormElement): HTMLButtonElement {
  const button = required<HTMLButtonElement>(form, '[data-submit]')
  button.disabled = false
  return button
}

export function valueOf(root: ParentNode, selector: string): string {
  return required<HTMLInputElement>(root, selector).value
}

/** A form's status area: errors (announced and focused) and the "working" line. */
export class FormStatus {
  readonly #error: HTMLElement
  readonly #working: HTMLElement | null
  readonly #buttons: HTMLButtonElement[]

  constructor(root: ParentNode, buttons: HTMLButtonElement[]) {
    this.#error = required<HTMLElement>(root, '[data-error]')
    this.#working = root.querySelector<HTMLElement>('[data-working]')
    this.#buttons = buttons
  }

  error(message: string): void {
    this.#error.replaceChildren()
    const heading = document.createElement('h2')
    heading.className = 'error-summary__title'
    heading.textContent = 'There is a problem'
    const text = document.createElement('p')
    text.textContent = message
    this.#error.append(heading, text)
    this.#error.hidden = false
    this.#error.focus()
  }

  clear(): void {
    this.#error.hidden = true
    this.#error.replaceChildren()
  }

  /** Runs `task` with the buttons disabled and "working" shown; an error is shown, not thrown. */
  async run(task: () => Promise<void>): Promise<void> {
    this.clear()
    for (const button of this.#buttons) button.disabled = true
    if (this.#working !== null) this.#working.hidden = false
    try {
      await task()
    } catch (error) {
      this.error(messageOf(error))
    } finally {
      for (const button of this.#buttons) button.disabled = false
      if (this.#working !== null) this.#working.hidden = true
    }
  }
}

export function messageOf(error: unknown): string {
  if (error instanceof Error && (error.name === 'RequestRefused' || error.name === 'Problem')) return error.message
  if (error instanceof Error && error.name === 'CryptoError') return 'Your browser could not complete the cryptography for this step, so nothing was sent. Please reload the page and try again.'
  if (error instanceof TypeError) return 'The portal could not be reached. Check your connection and try again.'
  return 'Something went wrong, so nothing was sent. Please reload the page and try again.'
}

/** An error the page explains itself (a field to correct), shown as it is. */
export class Problem extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'Problem'
  }
}

/** Shows one-time recovery codes and the "done" panel in place of the form. */
export function showDone(form: HTMLFormElement, recoveryCodes: readonly string[], fingerprint: string | null): void {
  const done = required<HTMLElement>(document, '[data-done]')
  const list = required<HTMLElement>(done, '[data-recovery-codes]')
  list.replaceChildren(
    ...recoveryCodes.map((code) => {
      const item = document.createElement('li')
      item.textContent = code
      return item
    }),
  )
  if (fingerprint !== null) {
    required<HTMLElement>(done, '[data-fingerprint]').textContent = fingerprint
    required<HTMLElement>(done, '[data-fingerprint-section]').hidden = false
  }
  form.hidden = true
  done.hidden = false
  done.focus()
}
