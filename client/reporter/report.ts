/**
 * /report in the browser: moves between the steps (fetching steps 2 to 6 as htmx fragments, with no
 * parameters), gathers the answers, encrypts files and the disclosure to the IDVA service, sends
 * only that, and shows the case code once, with a check that it was noted.
 *
 * The questions stay switched off unless the cryptography has loaded: if this browser cannot
 * encrypt, nothing can be typed or sent. There is never a plaintext fallback.
 */
import type { PublicKeySet } from '../../crypto/index.ts'
import { checkFiles, cryptoReady, encryptAndUpload, getJson, listFiles, loadCryptoOrNull, postJson, Problem, RequestRefused, required, sealReporterMessage, show, showProblem, hideProblem, verifyServiceChain, type ServiceChain } from './common.ts'
import { messageOf } from '../ui.ts'

type Crypto = NonNullable<Awaited<ReturnType<typeof loadCryptoOrNull>>>

interface HtmxApi {
  ajax(verb: string, path: string, context: { target: Element; swap: string; source?: Element }): Promise<void>
}

export async function startReport(): Promise<void> {
  const container = document.querySelector<HTMLElement>('[data-report]')
  if (container === null) return // the portal is not open yet
  const crypto = await loadCryptoOrNull()
  if (crypto === null) return
  const errorBox = required<HTMLElement>(document, '[data-error]')
  const working = required<HTMLElement>(document, '[data-working]')
  let service: PublicKeySet
  try {
    service = (await verifyServiceChain(crypto, await getJson<ServiceChain>('/report/keys'))).current
  } catch (error) {
    showProblem(errorBox, messageOf(error))
    return
  }
  cryptoReady()
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
    next.querySelector<HTMLElement>('h2')?.focus()
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
      const uploads = await encryptAndUpload(crypto!, files, (message) => show(working, message))
      show(working, 'Locking what you wrote on this device and sending it…')
      const words = await crypto!.generateCaseCode()
      const caseKeys = await crypto!.deriveCaseKeys(words.join(' '))
      const caseId = globalThis.crypto.randomUUID()
      const messageId = globalThis.crypto.randomUUID()
      const content = {
        v: 1,
        text,
        answers,
        evidence: uploads.map((upload) => upload.reference),
        // So IDVA browsers can refuse a server copy of these keys that an insider swapped.
        caseKeys: { reply: crypto!.base64url.encode(caseKeys.reply.publicKey), auth: crypto!.base64url.encode(caseKeys.auth.publicKey) },
      }
      const send = async (to: PublicKeySet) =>
        postJson('/report', {
          caseId,
          lookupId: crypto!.base64url.encode(caseKeys.lookupId),
          authPublic: crypto!.base64url.encode(caseKeys.auth.publicKey),
          replyPublic: crypto!.base64url.encode(caseKeys.reply.publicKey),
          messageId,
          envelope: await sealReporterMessage(crypto!, { kind: 'disclosure', caseId, seq: 1, messageId, content, caseKeys, service: to }),
          uploads: uploads.map((upload) => ({ id: upload.id, token: upload.token })),
        })
      try {
        await send(service)
      } catch (error) {
        // The service key changed since the page loaded: follow the chain again and re-seal once.
        if (!(error instanceof RequestRefused && error.status === 409 && /changed its key/.test(error.message))) throw error
        service = (await verifyServiceChain(crypto!, await getJson<ServiceChain>('/report/keys'))).current
        await send(service)
      }
      showReceipt(words)
    } catch (error) {
      for (const button of buttons) button.disabled = false
      showProblem(errorBox, messageOf(error))
    } finally {
      working.hidden = true
    }
  }

  function showReceipt(words: readonly string[]): void {
    // What was written has been sent: clear it from the page, so it is not left on screen.
    container!.replaceChildren()
    container!.hidden = true
    document.querySelector<HTMLElement>('[data-report-intro]')!.hidden = true
    const receipt = required<HTMLElement>(document, '[data-receipt]')
    required<HTMLElement>(receipt, '[data-case-code]').textContent = words.join(' ')
    const positions = twoPositions(words.length)
    required<HTMLElement>(receipt, '[data-check-label-a]').textContent = `Word ${positions[0] + 1} of your code`
    required<HTMLElement>(receipt, '[data-check-label-b]').textContent = `Word ${positions[1] + 1} of your code`
    const result = required<HTMLElement>(receipt, '[data-check-result]')
    const check = () => {
      const a = required<HTMLInputElement>(receipt, '[data-check-word-a]').value.trim().toLowerCase()
      const b = required<HTMLInputElement>(receipt, '[data-check-word-b]').value.trim().toLowerCase()
      if (a === words[positions[0]] && b === words[positions[1]]) {
        result.textContent = 'That is right. You have your code.'
        required<HTMLElement>(receipt, '[data-receipt-done]').hidden = false
      } else {
        result.textContent = `That does not match. Look at your code again and type word ${positions[0] + 1} and word ${positions[1] + 1}.`
      }
    }
    required<HTMLButtonElement>(receipt, '[data-check-code]').addEventListener('click', check)
    for (const input of receipt.querySelectorAll<HTMLInputElement>('input')) {
      input.addEventListener('keydown', (event) => {
        if (event.key === 'Enter') check()
      })
    }
    receipt.hidden = false
    required<HTMLElement>(receipt, 'h2').focus()
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

/** Every answered question: checkboxes as lists, everything else as trimmed text. */
function gatherAnswers(container: HTMLElement): Record<string, string | string[]> {
  const answers: Record<string, string | string[]> = {}
  for (const element of container.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('[data-answer]')) {
    const name = element.dataset.answer!
    if (element instanceof HTMLInputElement && element.type === 'checkbox') {
      if (element.checked) answers[name] = [...((answers[name] as string[] | undefined) ?? []), element.value]
    } else if (element instanceof HTMLInputElement && element.type === 'radio') {
      if (element.checked) answers[name] = element.value
    } else {
      const value = element.value.trim()
      if (value !== '') answers[name] = value
    }
  }
  return answers
}

function twoPositions(count: number): [number, number] {
  const random = new Uint32Array(2)
  globalThis.crypto.getRandomValues(random)
  const first = random[0]! % count
  const second = (first + 1 + (random[1]! % (count - 1))) % count
  return first < second ? [first, second] : [second, first]
}

export type { Crypto }
