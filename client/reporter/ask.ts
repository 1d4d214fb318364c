/**
 * /managers/ask in the browser: a line manager's consultation, encrypted here to the IDVA service
 * exactly like a disclosure (client/reporter/new-case.ts), with its own code. The questions stay
 * switched off unless the cryptography has loaded; nothing is ever sent in plain text.
 */
import { messageOf } from '../ui.ts'
import { hideProblem, Problem, required, show, showProblem } from './common.ts'
import { gatherAnswers, readyToSeal, sendNewCase, showReceipt } from './new-case.ts'

export async function startAsk(): Promise<void> {
  const form = document.querySelector<HTMLElement>('[data-ask]')
  if (form === null) return // the portal is not open yet
  const page = await readyToSeal()
  if (page === null) return
  const { crypto, errorBox, working, draft } = page
  let service = page.service
  for (const element of form.querySelectorAll<HTMLFieldSetElement | HTMLButtonElement>('[data-step-fields], button')) element.disabled = false
  const button = required<HTMLButtonElement>(form, '[data-submit]')

  button.addEventListener('click', () => {
    void (async () => {
      hideProblem(errorBox)
      try {
        const answers = gatherAnswers(form)
        const text = typeof answers.text === 'string' ? answers.text : ''
        delete answers.text
        if (text === '') throw new Problem('Describe the situation, so that an IDVA can advise you. Leave out names and anything that identifies anyone.')
        button.disabled = true
        show(working, 'Locking what you wrote on this device and sending it…')
        const sent = await sendNewCase(
          crypto,
          draft,
          { url: '/managers/ask', kind: 'consultation', text, answers, evidence: [], uploads: [], service },
          (current) => {
            service = current
          },
          (message) => show(working, message),
        )
        showReceipt(form, sent)
      } catch (error) {
        button.disabled = false
        showProblem(errorBox, messageOf(error))
      } finally {
        working.hidden = true
      }
    })()
  })
}
