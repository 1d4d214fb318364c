/**
 * /return in the browser: the case code is checked here (typos caught before anything is sent),
 * turned into the case's keys, and used to sign the server's challenge. The code and the keys stay
 * in this page's memory only, and are dropped when the reporter closes the case on this device,
 * withdraws, or leaves.
 *
 * Every message is decrypted and its signature checked here: an IDVA reply must be signed by the
 * IDVA service's key (followed from the published one), the reporter's own messages by the case's
 * key. A message that fails is shown as "could not be verified", without its text. Text is only
 * ever set with textContent.
 */
import type { CaseKeys } from '../../crypto/index.ts'
import type { EvidenceReference } from '../../crypto/thread.ts'
import { appendContent, downloadEvidence, gapNotice, isUnverified, messageItem, unreadable, type ThreadMessage } from '../thread-view.ts'
import { messageOf } from '../ui.ts'
import { QUESTION_NAMES } from '../answers.ts'
import { checkFiles, cryptoReady, encryptAndUpload, getJson, KEY_NOT_CHECKED, KeyNotChecked, listFiles, loadCryptoOrNull, postJson, Problem, RequestRefused, required, sealReporterMessage, show, showProblem, showProgress, verifyServiceChain, type ServiceChain } from './common.ts'

type Crypto = NonNullable<Awaited<ReturnType<typeof loadCryptoOrNull>>>


interface Thread {
  readonly caseId: string
  readonly kind: 'disclosure' | 'consultation'
  readonly status: 'received' | 'in_contact' | 'closed'
  readonly createdOn: string
  readonly firstReplyTargetDays: number
  readonly service: ServiceChain | null
  readonly referrals: readonly { readonly track: 'criminal' | 'misconduct'; readonly outsideForce: boolean }[]
  /** What a withdrawal would leave with the IDVA service, and why; null when nothing. */
  readonly keptOnWithdrawal: { readonly highRisk: boolean; readonly marac: boolean; readonly referred: boolean } | null
  readonly messages: readonly ThreadMessage[]
}

/** Why the IDVA service keeps a short record if the person withdraws, in their words. */
function keptReason(kept: NonNullable<Thread['keptOnWithdrawal']>): string {
  const reasons = [
    ...(kept.highRisk ? ['assessed that you may be at high risk of serious harm'] : []),
    ...(kept.marac ? ['referred your case to a MARAC (a meeting of local services that keeps people safe)'] : []),
    ...(kept.referred ? ['sent your case to investigators, as you agreed or because someone was at serious risk'] : []),
  ]
  const listed = reasons.length === 1 ? reasons[0]! : `${reasons.slice(0, -1).join(', ')} and ${reasons.at(-1)!}`
  return `The IDVA service has ${listed}.`
}

/** What the person agreed to, said back to them: the track and where, never the unit. */
function referralLine(referral: Thread['referrals'][number]): string {
  const where = referral.outsideForce ? 'an investigating team in another police force' : 'an investigating team outside your area'
  return referral.track === 'criminal'
    ? `As you agreed, your case has gone to ${where}, to look into it as a possible crime.`
    : `As you agreed, your case has gone to ${where} that deals with police misconduct, separately from any criminal investigation.`
}

const CONSULTATION_STATUS_TEXT = {
  received: ['Received', 'The IDVA service has your question and will reply here with advice.'],
  in_contact: ['Answered', 'An IDVA has replied below. You can ask more here.'],
  closed: ['Closed', 'The IDVA service has closed this consultation. You can still read it here, or withdraw it. You can ask again at any time.'],
} as const

const STATUS_TEXT = {
  received: ['Received', 'The IDVA service has your disclosure and will reply here.'],
  in_contact: ['In contact', 'An IDVA is working with you. Replies appear below.'],
  closed: ['Closed', 'The IDVA service has closed this case. You can still read it here, or withdraw it. You can start a new disclosure at any time.'],
} as const

export async function startReturn(): Promise<void> {
  const crypto = await loadCryptoOrNull()
  if (crypto === null) return
  cryptoReady()
  const login = required<HTMLElement>(document, '[data-return-login]')
  const codeInput = required<HTMLInputElement>(login, '[data-code]')
  const openButton = required<HTMLButtonElement>(login, '[data-open]')
  const loginError = required<HTMLElement>(login, '[data-error]')
  const loginWorking = required<HTMLElement>(login, '[data-working]')
  const caseView = required<HTMLElement>(document, '[data-case]')
  const withdrawn = required<HTMLElement>(document, '[data-withdrawn]')
  const sendError = required<HTMLElement>(caseView, '[data-send-error]')
  const sendWorking = required<HTMLElement>(caseView, '[data-send-working]')
  const newText = required<HTMLTextAreaElement>(caseView, '[data-new-text]')
  const newFiles = required<HTMLInputElement>(caseView, '[data-new-evidence]')
  const fileList = required<HTMLElement>(caseView, '[data-file-list]')
  codeInput.disabled = false
  openButton.disabled = false

  let session: { keys: CaseKeys; csrfToken: string; caseId: string; lastSeq: number; signingKeys: readonly Uint8Array[]; service: ServiceChain | null; keyChecked: boolean } | null = null

  openButton.addEventListener('click', () => void open())
  codeInput.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') void open()
  })
  newFiles.addEventListener('change', () => listFiles(newFiles, fileList))
  required<HTMLButtonElement>(caseView, '[data-send]').addEventListener('click', () => void send())
  required<HTMLButtonElement>(caseView, '[data-end]').addEventListener('click', () => void end())
  const withdrawButton = required<HTMLButtonElement>(caseView, '[data-withdraw]')
  const withdrawConfirm = required<HTMLElement>(caseView, '[data-withdraw-confirm]')
  // Two steps: the first says what will be lost (and what the IDVA service keeps); the second does it.
  withdrawButton.addEventListener('click', () => {
    withdrawConfirm.hidden = false
    withdrawButton.setAttribute('aria-expanded', 'true')
    withdrawConfirm.focus()
  })
  required<HTMLButtonElement>(withdrawConfirm, '[data-withdraw-cancel]').addEventListener('click', () => {
    withdrawConfirm.hidden = true
    withdrawButton.setAttribute('aria-expanded', 'false')
    withdrawButton.focus()
  })
  required<HTMLButtonElement>(withdrawConfirm, '[data-withdraw-now]').addEventListener('click', () => void withdraw())

  async function open(): Promise<void> {
    hide(loginError)
    const checked = await crypto!.checkCaseCode(codeInput.value)
    if (!checked.ok) {
      showProblem(loginError, codeProblem(checked))
      codeInput.setAttribute('aria-invalid', 'true')
      return
    }
    codeInput.removeAttribute('aria-invalid')
    openButton.disabled = true
    show(loginWorking, 'Unlocking your case on this device…')
    try {
      const keys = await crypto!.deriveCaseKeys(checked.code)
      const { challenge } = await postJson<{ challenge: string }>('/return/challenge', {})
      const signature = await crypto!.signCaseLogin(keys, crypto!.base64url.decode(challenge, 'challenge'))
      const { csrfToken } = await postJson<{ csrfToken: string }>('/return/session', {
        challenge,
        lookupId: crypto!.base64url.encode(keys.lookupId),
        signature: crypto!.base64url.encode(signature),
      })
      codeInput.value = ''
      session = { keys, csrfToken, caseId: '', lastSeq: 0, signingKeys: [], service: null, keyChecked: false }
      await loadThread()
      login.hidden = true
      caseView.hidden = false
      required<HTMLElement>(caseView, 'h2').focus()
    } catch (error) {
      session = null
      showProblem(loginError, messageOf(error))
    } finally {
      openButton.disabled = false
      loginWorking.hidden = true
    }
  }

  async function loadThread(): Promise<void> {
    const current = session!
    const thread = await getJson<Thread>('/return/thread')
    // Replies are trusted only when signed by a key on the chain from the pinned one. If the chain
    // does not check out, every reply is shown as not verified and nothing can be sent.
    let service: Awaited<ReturnType<typeof verifyServiceChain>> | null = null
    try {
      service = await verifyServiceChain(crypto!, thread.service)
    } catch (error) {
      if (!(error instanceof KeyNotChecked)) throw error
    }
    current.caseId = thread.caseId
    current.service = service === null ? null : thread.service
    current.keyChecked = service !== null
    current.signingKeys = service?.signingKeys ?? []
    const consultation = thread.kind === 'consultation'
    const [statusName, statusHint] = (consultation ? CONSULTATION_STATUS_TEXT : STATUS_TEXT)[thread.status]
    required<HTMLElement>(caseView, 'h2').textContent = consultation ? 'Your consultation' : 'Your case'
    required<HTMLElement>(caseView, '[data-status]').textContent = statusName
    required<HTMLElement>(caseView, '[data-status-hint]').textContent = statusHint
    required<HTMLElement>(caseView, '[data-created]').textContent = thread.createdOn
    required<HTMLElement>(caseView, '[data-write]').hidden = thread.status === 'closed' || service === null
    required<HTMLElement>(caseView, '[data-key-problem]').hidden = service !== null
    const target = required<HTMLElement>(caseView, '[data-reply-target]')
    target.textContent = `The IDVA service aims to reply within ${thread.firstReplyTargetDays} working day${thread.firstReplyTargetDays === 1 ? '' : 's'}.`
    target.hidden = thread.messages.some((message) => message.author === 'idva') || thread.status === 'closed'
    // A consultation names nobody and carries no files.
    required<HTMLElement>(caseView, '[data-new-evidence-field]').hidden = consultation
    if (consultation) newFiles.value = ''
    const kept = required<HTMLElement>(withdrawConfirm, '[data-withdraw-kept]')
    kept.hidden = thread.keptOnWithdrawal === null
    required<HTMLElement>(kept, '[data-withdraw-kept-why]').textContent = thread.keptOnWithdrawal === null ? '' : keptReason(thread.keptOnWithdrawal)
    const referrals = required<HTMLElement>(caseView, '[data-referrals]')
    referrals.hidden = thread.referrals.length === 0
    required<HTMLElement>(referrals, '[data-referral-list]').replaceChildren(
      ...thread.referrals.map((referral) => {
        const item = document.createElement('li')
        item.textContent = referralLine(referral)
        return item
      }),
    )
    const list = required<HTMLElement>(caseView, '[data-thread]')
    const items: HTMLElement[] = []
    let expected = 1
    for (const message of thread.messages) {
      if (message.seq !== expected) items.push(gapNotice('A message is missing here. It may have been removed without the IDVA service knowing. You can tell them in a new message.'))
      expected = message.seq + 1
      items.push(await renderMessage(message))
    }
    current.lastSeq = thread.messages.at(-1)?.seq ?? 0
    list.replaceChildren(...items)
  }

  async function renderMessage(message: ThreadMessage): Promise<HTMLElement> {
    const current = session!
    const who = message.author === 'idva' ? 'The IDVA service replied' : message.kind === 'reporter_message' ? 'You wrote' : message.kind === 'consultation' ? 'What you asked' : 'What you first sent'
    const item = messageItem(message, who)
    const expectedSigners = message.author === 'idva' ? current.signingKeys : [current.keys.auth.publicKey]
    let content
    try {
      const opened = await crypto!.openEnvelope(crypto!.base64url.decode(message.envelope, 'envelope'), {
        caseId: current.caseId,
        keys: [current.keys.reply],
        expectKind: message.kind,
        trustedSigners: expectedSigners,
        requireSignature: true,
        context: crypto!.messageContext(message.seq, message.id),
      })
      content = crypto!.readMessageContent(crypto!.fromUtf8(opened.plaintext))
    } catch (error) {
      const why = current.keyChecked
        ? 'This message could not be verified, so it is not shown. It may not have come from the IDVA service. You can tell the IDVA service about it in a new message.'
        : `This message could not be verified, so it is not shown. ${KEY_NOT_CHECKED}`
      return unreadable(item, isUnverified(error) || !current.keyChecked, why)
    }
    appendContent(item, content, { stored: message.evidence, answersTitle: 'Your answers to the questions', names: QUESTION_NAMES, download: (file, button) => void download(file, button) })
    return item
  }

  async function download(file: EvidenceReference, button: HTMLButtonElement): Promise<void> {
    button.disabled = true
    try {
      await downloadEvidence(`/return/evidence/${encodeURIComponent(file.id)}`, file)
    } catch (error) {
      showProblem(sendError, messageOf(error))
    } finally {
      button.disabled = false
    }
  }

  async function send(): Promise<void> {
    hide(sendError)
    const current = session
    if (current === null) return
    const buttons = [...caseView.querySelectorAll<HTMLButtonElement>('button')]
    try {
      const text = newText.value.trim()
      const files = [...(newFiles.files ?? [])]
      if (text === '' && files.length === 0) throw new Problem('Write a message or add a file before sending.')
      checkFiles(files)
      for (const button of buttons) button.disabled = true
      sendWorking.hidden = false
      const uploads = await encryptAndUpload(crypto!, files, (message, fraction) => showProgress(sendWorking, message, fraction))
      show(sendWorking, 'Locking your message on this device and sending it…')
      const content = { v: 1, text, evidence: uploads.map((upload) => upload.reference) }
      const attempt = async () => {
        const messageId = globalThis.crypto.randomUUID()
        const seq = current.lastSeq + 1
        if (!current.keyChecked) throw new KeyNotChecked()
        const service = await verifyServiceChain(crypto!, current.service ?? (await getJson<ServiceChain>('/report/keys')))
        const envelope = await sealReporterMessage(crypto!, { kind: 'reporter_message', caseId: current.caseId, seq, messageId, content, caseKeys: current.keys, service: service.current })
        await postJson('/return/messages', { messageId, seq, envelope, uploads: uploads.map((upload) => ({ id: upload.id, token: upload.token })) }, current.csrfToken)
      }
      try {
        await attempt()
      } catch (error) {
        // Another message arrived, or the service key changed: reload, then seal again once.
        if (!(error instanceof RequestRefused && error.status === 409)) throw error
        await loadThread()
        await attempt()
      }
      newText.value = ''
      newFiles.value = ''
      fileList.replaceChildren()
      await loadThread()
      show(sendWorking, 'Sent. Your message is below.')
    } catch (error) {
      sendWorking.hidden = true
      if (error instanceof RequestRefused && error.status === 401) return signedOut(error.message)
      showProblem(sendError, messageOf(error))
    } finally {
      for (const button of buttons) button.disabled = false
    }
  }

  async function withdraw(): Promise<void> {
    const current = session
    if (current === null) return
    try {
      const result = await postJson<{ recordKept: boolean }>('/return/withdraw', { confirmed: true }, current.csrfToken)
      forget()
      required<HTMLElement>(withdrawn, '[data-withdrawn-kept]').hidden = !result.recordKept
      caseView.hidden = true
      withdrawn.hidden = false
      withdrawn.focus()
    } catch (error) {
      if (error instanceof RequestRefused && error.status === 401) return signedOut(error.message)
      showProblem(sendError, messageOf(error))
    }
  }

  async function end(): Promise<void> {
    await postJson('/return/end', {}).catch(() => undefined)
    forget()
    caseView.hidden = true
    login.hidden = false
    codeInput.focus()
  }

  function signedOut(message: string): void {
    forget()
    caseView.hidden = true
    login.hidden = false
    showProblem(loginError, message)
  }

  /** Drops the keys and everything decrypted from the page. */
  function forget(): void {
    session = null
    required<HTMLElement>(caseView, '[data-thread]').replaceChildren()
    newText.value = ''
    newFiles.value = ''
    fileList.replaceChildren()
  }
}

function codeProblem(checked: { problem: string; found?: number; position?: number; word?: string; suggestions?: readonly string[] }): string {
  switch (checked.problem) {
    case 'empty':
      return 'Enter your case code.'
    case 'word_count':
      return `A case code has 9 words (codes made before December 2026 have 8). You entered ${checked.found ?? 0}. Check that no word is missing or doubled.`
    case 'unknown_word': {
      const suggestions = checked.suggestions ?? []
      return `Word ${checked.position ?? ''}, "${checked.word ?? ''}", is not a word used in case codes.${suggestions.length > 0 ? ` Did you mean ${suggestions.map((word) => `"${word}"`).join(' or ')}?` : ''}`
    }
    default:
      return 'One of the words is not right, or two are in the wrong order. Check each word against where you noted the code.'
  }
}


function hide(element: HTMLElement): void {
  element.hidden = true
}
