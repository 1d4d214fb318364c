/**
 * /report in the browser: moves between the steps (fetching steps 2 to 6 as htmx fragments, with no
 * parameters), gathers the answers, encrypts files and the disclosure to the IDVA service, sends
 * only that, and shows the case code once, with a check that it was noted.
 *
 * The questions stay switched off unless the cryptography has loaded: if this browser cannot
 * encrypt, nothing can be typed or sent. There is never a plaintext fallback.
 */
import { checkFiles, encryptAndUpload, listFiles, loadCryptoOrNull, Problem, required, show, showProblem, showProgress, hideProblem } from './common.ts'
import { gatherAnswers, readyToSeal, sendNewCase, showReceipt } from './new-case.ts'
import { urgencyOf } from '../../rules/enums.ts'
import { messageOf } from '../ui.ts'

type Crypto = NonNullable<Awaited<ReturnType<typeof loadCryptoOrNull>>>

interface HtmxApi {
  ajax(verb: string, path: string, context: { target: Element; swap: string; source?: Element }): Promise<void>
}

export async function startReport(): Promise<void> {
  const container = document.querySelector<HTMLElement>('[data-report]')
  if (container === null) return // the portal is not open yet
  const page = await readyToSeal()
  if (page === null) return
  const { crypto, errorBox, working, draft } = page
  let service = page.service
  const totalSteps = Number(container.dataset.steps)
  let current = 1
  enable(stepElement(container, 1)!)

  container.addEventListener('click', (event) => {
    const button = (event.target as Element).closest('button')
    if (button === null) return
    if (button.hasAttribute('data-step-next')) void goTo(current + 1)
    else if (button.hasAttribute('data-step-back')) void goTo(current - 1)
    else if (button.hasAttribute('data-submit')) void submit()
  })
  container.addEventListener('change', (event) => {
    const input = event.target as HTMLInputElement
    if (input.matches('[data-evidence]')) listFiles(input, required<HTMLElement>(container, '[data-file-list]'))
    // "I am in danger now": what to do at once, said as soon as it is chosen.
    if (input.name === 'safeNow') {
      const now = container.querySelector<HTMLElement>('[data-danger-now]')
      if (now !== null) now.hidden = input.value !== 'in_danger' || !input.checked
    }
  })

  async function goTo(step: number): Promise<void> {
    if (step < 1 || step > totalSteps) return
    hideProblem(errorBox)
    let next = stepElement(container!, step)
    if (next === null) {
      try {
        await loadStep(container!, step)
      } catch {
        showProblem(errorBox, 'The next step could not be loaded. Check your connection and press Continue again. Nothing has been sent.')
        return
      }
      next = stepElement(container!, step)
      if (next === null) return
      enable(next)
    }
    stepElement(container!, current)!.hidden = true
    next.hidden = false
    current = step
    // The introduction is read once: from step 2 on, each step starts at the top of the screen.
    if (step > 1) for (const intro of document.querySelectorAll<HTMLElement>('[data-report-intro]')) intro.hidden = true
    next.querySelector<HTMLElement>('h2')?.focus()
    window.scrollTo({ top: 0 })
  }

  async function submit(): Promise<void> {
    hideProblem(errorBox)
    const buttons = [...container!.querySelectorAll<HTMLButtonElement>('button')]
    try {
      const answers = gatherAnswers(container!)
      const text = typeof answers.text === 'string' ? answers.text : ''
      delete answers.text
      const abuse = answers.abuseTypes
      if (text === '' && (abuse === undefined || abuse.length === 0)) {
        throw new Problem('So that an IDVA can help, please tell us at least a little about what is happening: choose something in step 1, or write a few words in this step.')
      }
      const fileInput = container!.querySelector<HTMLInputElement>('[data-evidence]')
      const files = [...(fileInput?.files ?? [])]
      checkFiles(files)
      for (const button of buttons) button.disabled = true
      working.hidden = false
      const uploads = await encryptAndUpload(crypto!, files, (message, fraction) => showProgress(working, message, fraction))
      show(working, 'Locking what you wrote on this device and sending it…')
      const urgency = urgencyOf(answers)
      const sent = await sendNewCase(
        crypto!,
        draft,
        { url: '/report', kind: 'disclosure', text, answers, evidence: uploads.map((upload) => upload.reference), uploads, service, urgency },
        (current) => {
          service = current
        },
        (message) => show(working, message),
      )
      showReceipt(container!, sent)
      const urgent = document.querySelector<HTMLElement>('[data-receipt-urgent]')
      if (urgent !== null) urgent.hidden = urgency !== 'danger_now'
    } catch (error) {
      for (const button of buttons) button.disabled = false
      showProblem(errorBox, messageOf(error))
    } finally {
      working.hidden = true
    }
  }

}

function stepElement(container: HTMLElement, step: number): HTMLElement | null {
  return container.querySelector<HTMLElement>(`[data-step="${step}"]`)
}

/** A step's questions and buttons are switched on only here, once encryption is known to work. */
function enable(step: HTMLElement): void {
  for (const element of step.querySelectorAll<HTMLFieldSetElement | HTMLButtonElement>('[data-step-fields], button')) element.disabled = false
}

/** Fetches a step fragment with htmx (no parameters: it carries no answers) and appends it hidden. */
async function loadStep(container: HTMLElement, step: number): Promise<void> {
  const htmx = (globalThis as { htmx?: HtmxApi }).htmx
  const before = container.children.length
  // htmx is served by the portal with every page; without it the step cannot be fetched safely.
  if (htmx === undefined) throw new Error('htmx is not loaded')
  await htmx.ajax('GET', `/report/steps/${step}`, { target: container, swap: 'beforeend' })
  for (const added of [...container.children].slice(before)) (added as HTMLElement).hidden = true
}

export type { Crypto }
