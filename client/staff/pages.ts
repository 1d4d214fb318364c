import { newGroupKeys, rotateGroupKeys, wrapGroupKeys, issueKeyCertificate, deriveStaffSecrets } from '../../crypto/staff-keys.ts'
import { fingerprint } from '../../crypto/fingerprint.ts'
import { decodePublicKeySet, publicKeysOf, type KeySet, type PublicKeySet } from '../../crypto/keys.ts'
import { postJson, RequestRefused } from './http.ts'
import { b64, fetchKeyMaterial, fingerprintOf, fromWire, publicKeysFrom, unlock, wirePublicKeys, wrapUnderNewPassphrase, type WirePassphrase } from './keys.ts'
import { forgetKeys, saveKeys, type Keystore } from './keystore.ts'
import { estimateStrength } from './strength.ts'
import { FormStatus, Problem, required, showDone, submitButton, valueOf } from '../ui.ts'
import { keysInThisTab } from './unlock.ts'
import { useSumoBuild } from '../../crypto/sodium.ts'

// Staff pages load libsodium's sumo build for Argon2id; every other function comes from it too.
useSumoBuild()

/**
 * The staff pages' behaviour, chosen by <body data-page>. Each form's submit button starts
 * disabled and is enabled here, so without this script nothing can be submitted: passphrases are
 * turned into keys in this browser, never sent.
 */

const USERNAME = /^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$/
const LOGIN_FAILURE = 'The user name, passphrase or code is not right. Check them and try again.'

interface Done {
  readonly recoveryCodes: string[]
  readonly next: string
  /** After set-up: whether the portal pinned the service key's fingerprint, or the line the operator must add. */
  readonly pin?: { readonly pinned: boolean; readonly line: string }
}

function readUsername(form: HTMLFormElement): string {
  const name = valueOf(form, '[data-username]').trim().toLowerCase()
  if (!USERNAME.test(name)) throw new Problem('A user name is 3 to 64 characters: lower-case letters, digits, dots, hyphens or underscores, starting and ending with a letter or digit.')
  return name
}

function readCode(form: HTMLFormElement): string {
  const code = valueOf(form, '[data-code]').replace(/\s+/g, '')
  if (!/^\d{6}$/.test(code)) throw new Problem('Enter the 6-digit code your authenticator app shows now.')
  return code
}

/** Live strength feedback under a new passphrase, and the check on submit. */
function watchStrength(form: HTMLFormElement, userInputs: () => string[]): () => Promise<string> {
  const input = required<HTMLInputElement>(form, '[data-strength]')
  const again = required<HTMLInputElement>(form, '[data-passphrase-again]')
  const message = required<HTMLElement>(form, '[data-strength-message]')
  let timer: ReturnType<typeof setTimeout> | undefined
  input.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      if (input.value === '') {
        message.textContent = ''
        return
      }
      void estimateStrength(input.value, userInputs()).then((strength) => {
        message.textContent = strength.message
        message.dataset.acceptable = String(strength.acceptable)
      })
    }, 250)
  })
  return async () => {
    const strength = await estimateStrength(input.value, userInputs())
    if (!strength.acceptable) throw new Problem(strength.message)
    if (input.value !== again.value) throw new Problem('The two passphrases are not the same. Type them again.')
    return input.value
  }
}

function continueTo(next: string): void {
  const link = document.querySelector<HTMLAnchorElement>('[data-continue]')
  if (link !== null) link.href = next
}

// ---- first run: the IDVA service and its lead -------------------------------------------------

function setupPage(): void {
  const form = required<HTMLFormElement>(document, 'form[data-form="setup"]')
  const status = new FormStatus(form, [submitButton(form)])
  const newPassphrase = watchStrength(form, () => [valueOf(form, '[data-username]'), valueOf(form, '[data-service-name]'), 'safe disclosure', 'idva'])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void status.run(async () => {
      const serviceName = valueOf(form, '[data-service-name]').trim()
      if (serviceName === '') throw new Problem('Enter the name of the IDVA service.')
      const username = readUsername(form)
      const passphrase = await newPassphrase()
      const code = readCode(form)
      const accountId = form.dataset.accountId!
      const groupId = form.dataset.groupId!
      const member = await wrapUnderNewPassphrase(passphrase, accountId)
      const service = await newGroupKeys()
      const grant = await wrapGroupKeys(service, groupId, member.keys.encryption.publicKey)
      const done = await postJson<Done>(window.location.pathname, {
        serviceName,
        username,
        ...member.wire,
        service: wirePublicKeys(publicKeysOf(service)),
        serviceGrant: b64(grant),
        ticket: form.dataset.ticket,
        code,
      })
      await saveKeys({ accountId, member: member.keys, group: { id: groupId, generations: [{ generation: 1, keys: service }] } })
      continueTo(done.next)
      showDone(form, done.recoveryCodes, await fingerprint(publicKeysOf(service)))
      if (done.pin !== undefined) {
        required<HTMLElement>(document, done.pin.pinned ? '[data-pin-pinned]' : '[data-pin-needed]').hidden = false
        required<HTMLElement>(document, '[data-pin-line]').textContent = done.pin.line
      }
    })
  })
}

// ---- enrolment by invitation -------------------------------------------------------------------

function enrolPage(): void {
  const form = required<HTMLFormElement>(document, 'form[data-form="enrol"]')
  const status = new FormStatus(form, [submitButton(form)])
  const newPassphrase = watchStrength(form, () => [valueOf(form, '[data-username]'), 'safe disclosure'])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void status.run(async () => {
      const username = readUsername(form)
      const passphrase = await newPassphrase()
      const code = readCode(form)
      const accountId = form.dataset.accountId!
      const member = await wrapUnderNewPassphrase(passphrase, accountId)
      let group: Keystore['group'] = null
      let groupFields = {}
      // The first member of a unit makes the unit's keys, here.
      if (form.dataset.createsGroupKeys === 'true') {
        const groupId = form.dataset.groupId!
        const unit = await newGroupKeys()
        groupFields = { groupKeys: wirePublicKeys(publicKeysOf(unit)), groupGrant: b64(await wrapGroupKeys(unit, groupId, member.keys.encryption.publicKey)) }
        group = { id: groupId, generations: [{ generation: 1, keys: unit }] }
      }
      const done = await postJson<Done>(window.location.pathname, { username, ...member.wire, ...groupFields, ticket: form.dataset.ticket, code })
      await saveKeys({ accountId, member: member.keys, group })
      continueTo(done.next)
      showDone(form, done.recoveryCodes, null)
    })
  })
}

// ---- signing in --------------------------------------------------------------------------------

function loginPage(): void {
  // A new sign-in starts with no keys from before in this tab.
  forgetKeys()
  const form = required<HTMLFormElement>(document, 'form[data-form="login"]')
  const status = new FormStatus(form, [submitButton(form)])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void status.run(async () => {
      const username = readUsername(form)
      const passphrase = valueOf(form, '[data-passphrase]')
      const code = valueOf(form, '[data-code]').trim()
      if (code === '') throw new Problem('Enter the code from your authenticator app, or a recovery code.')
      // A passphrase shorter than any the portal accepts cannot be right; say so as for any mistake.
      if ([...passphrase.normalize('NFKC')].length < 12) throw new Problem(LOGIN_FAILURE)
      const params = await postJson<WirePassphrase>('/staff/login/params', { username })
      const secrets = await deriveStaffSecrets(passphrase, fromWire(params))
      const { next } = await postJson<{ next: string }>('/staff/login', { username, verifier: b64(secrets.authVerifier), code })
      // Fully signed in: unlock the keys now, with the secrets already derived.
      if (next === '/staff') await unlock(await fetchKeyMaterial(), secrets)
      window.location.assign(next)
    })
  })
}

function secondFactorPage(): void {
  const form = required<HTMLFormElement>(document, 'form[data-form="second-factor"]')
  const status = new FormStatus(form, [submitButton(form)])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void status.run(async () => {
      const done = await postJson<Done>('/staff/second-factor', { ticket: form.dataset.ticket, code: readCode(form) })
      continueTo(done.next)
      showDone(form, done.recoveryCodes, null)
    })
  })
}

// ---- a member's own account --------------------------------------------------------------------

function accountPage(): void {
  const form = required<HTMLFormElement>(document, 'form[data-form="change-passphrase"]')
  const status = new FormStatus(form, [submitButton(form)])
  const newPassphrase = watchStrength(form, () => [form.dataset.username ?? '', 'safe disclosure'])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void status.run(async () => {
      const current = valueOf(form, '[data-current-passphrase]')
      if (current === '') throw new Problem('Enter your current passphrase.')
      const passphrase = await newPassphrase()
      const material = await fetchKeyMaterial()
      if ([...current.normalize('NFKC')].length < 12) throw new Problem('Your current passphrase is not right, so nothing was changed.')
      const currentSecrets = await deriveStaffSecrets(current, fromWire(material.passphrase))
      // Unlocking proves the current passphrase here, and gives the keys to wrap again.
      const store = await unlock(material, currentSecrets).catch((error: unknown) => {
        throw error instanceof Problem ? new Problem('Your current passphrase is not right, so nothing was changed.') : error
      })
      const member = await wrapUnderNewPassphrase(passphrase, material.accountId, store.member)
      const { next } = await postJson<{ next: string }>('/staff/account/passphrase', { currentVerifier: b64(currentSecrets.authVerifier), ...member.wire })
      window.location.assign(next)
    })
  })
}

// ---- keys in this tab: unlocking, and what needs them ------------------------------------------

function groupKeysAt(store: Keystore | null, groupId: string, generation: number) {
  if (store === null || store.group === null || store.group.id !== groupId) return null
  return store.group.generations.find((entry) => entry.generation === generation)?.keys ?? null
}

async function teamPage(): Promise<void> {
  const status = new FormStatus(required<HTMLElement>(document, '[data-page-status]'), [])
  let store = await keysInThisTab((unlocked) => {
    store = unlocked
  })
  const needKeys = (groupId: string, generation: number) => {
    const keys = groupKeysAt(store, groupId, generation)
    if (keys === null) throw new Problem('Unlock your keys in this tab first (above), then try again.')
    return keys
  }

  // Fingerprints are computed here, from the very keys this browser would use; a page whose
  // fingerprint does not match them is refused, so the server cannot show one and use another.
  const checks = Array.from(document.querySelectorAll<HTMLElement>('[data-grant], [data-certify]')).map(async (button) => {
    const ed25519 = button.dataset.ed25519 ?? ''
    const computed = await fingerprintOf(button.dataset.x25519 ?? '', ed25519)
    if (computed !== button.dataset.fingerprint) {
      button.dataset.mismatch = 'true'
      status.error('A fingerprint on this page does not match its key, so that action is turned off. Tell the portal administrator and the IDVA lead.')
    }
  })
  await Promise.all(checks)

  const act = (selector: string, action: (button: HTMLElement) => Promise<void>) => {
    for (const button of document.querySelectorAll<HTMLButtonElement>(selector)) {
      // The buttons start disabled: they work only once this script has checked them.
      if (button.dataset.mismatch === 'true') continue
      button.disabled = false
      button.addEventListener('click', () => {
        void status.run(async () => {
          await action(button)
          window.location.reload()
        })
      })
    }
  }

  act('[data-grant]', async (button) => {
    const groupId = button.dataset.group!
    const generation = Number(button.dataset.generation)
    const keys = needKeys(groupId, generation)
    const wrapped = await wrapGroupKeys(keys, groupId, publicKeysFrom({ x25519Public: button.dataset.x25519!, ed25519Public: button.dataset.ed25519! }).encryption)
    await postJson(`/staff/groups/${encodeURIComponent(groupId)}/grants`, { accountId: button.dataset.account, generation, wrapped: b64(wrapped) })
  })

  // Rotating is the second step: the first says what it does.
  const rotatePanel = document.querySelector<HTMLElement>('[data-rotate-confirm]')
  for (const ask of document.querySelectorAll<HTMLButtonElement>('[data-rotate-ask]')) {
    ask.disabled = false
    ask.addEventListener('click', () => {
      if (rotatePanel === null) return
      rotatePanel.hidden = false
      ask.hidden = true
      rotatePanel.focus()
    })
    document.querySelector<HTMLButtonElement>('[data-rotate-cancel]')?.addEventListener('click', () => {
      if (rotatePanel !== null) rotatePanel.hidden = true
      ask.hidden = false
      ask.focus()
    })
  }

  act('[data-rotate]', async (button) => {
    const groupId = button.dataset.group!
    const generation = Number(button.dataset.generation)
    const current = needKeys(groupId, generation)
    const { next, previous, certificate } = await rotateGroupKeys(current, groupId, generation)
    // The new key goes to every member who holds the current one (you included).
    const holders = Array.from(document.querySelectorAll<HTMLElement>('tr[data-member]')).filter((row) => row.dataset.active === 'true' && Number(row.dataset.generation) === generation)
    const grants = await Promise.all(
      holders.map(async (row) => ({ accountId: row.dataset.member!, wrapped: b64(await wrapGroupKeys(next, groupId, publicKeysFrom({ x25519Public: row.dataset.x25519!, ed25519Public: row.dataset.ed25519! }).encryption)) })),
    )
    await postJson(`/staff/groups/${encodeURIComponent(groupId)}/rotate`, {
      generation: generation + 1,
      ...wirePublicKeys(publicKeysOf(next)),
      certificate: b64(certificate),
      previousKeysSealed: b64(previous),
      grants,
    })
    const held = store!.group!
    store = { ...store!, group: { id: held.id, generations: [{ generation: generation + 1, keys: next }, ...held.generations] } }
    await saveKeys(store)
  })

  wireOutsideUnit(needKeys)
  for (const button of document.querySelectorAll<HTMLButtonElement>('form[data-form="outside-unit"] [data-submit]')) button.disabled = false

  act('[data-certify]', async (button) => {
    const serviceId = button.dataset.service!
    const serviceGeneration = Number(button.dataset.serviceGeneration)
    const service = needKeys(serviceId, serviceGeneration)
    const unitId = button.dataset.unit!
    const generation = Number(button.dataset.generation)
    const certificate = await issueKeyCertificate(service.signing, {
      id: unitId,
      generation,
      publicKeys: publicKeysFrom({ x25519Public: button.dataset.x25519!, ed25519Public: button.dataset.ed25519! }),
    })
    await postJson(`/staff/units/${encodeURIComponent(unitId)}/certify`, { generation, certificate: b64(certificate) })
  })
}

/**
 * The IDVA lead adds a key for a unit outside this portal: the key file the unit sent, and the
 * fingerprint it read out by another channel. The browser computes the fingerprint of the key
 * itself and goes on only if the two match; then it vouches for the key with the service's key.
 */
function wireOutsideUnit(needKeys: (groupId: string, generation: number) => KeySet): void {
  const form = document.querySelector<HTMLFormElement>('form[data-form="outside-unit"]')
  if (form === null) return
  const status = new FormStatus(form, [submitButton(form)])
  form.addEventListener('submit', (event) => {
    event.preventDefault()
    void status.run(async () => {
      const unitId = required<HTMLSelectElement>(form, '[data-outside-unit]').value
      let publicKeys: PublicKeySet
      try {
        publicKeys = decodePublicKeySet(valueOf(form, '[data-outside-key]'))
      } catch {
        throw new Problem('That is not a public.key file: paste its one line of text exactly as the unit sent it.')
      }
      const typed = valueOf(form, '[data-outside-fingerprint]').replace(/\D/g, '')
      if (typed.length !== 30) throw new Problem('Enter the fingerprint the unit read to you: six groups of five digits.')
      const computed = await fingerprint(publicKeys)
      if (computed.replace(/\D/g, '') !== typed) throw new Problem(`The fingerprint of this key is ${computed}, not the one the unit read to you. Do not add it: check with the unit by phone or in person.`)
      const serviceGeneration = Number(form.dataset.serviceGeneration)
      const service = needKeys(form.dataset.service!, serviceGeneration)
      const certificate = await issueKeyCertificate(service.signing, { id: unitId, generation: 1, publicKeys })
      await postJson('/staff/referrals/outside-units', { unitId, ...wirePublicKeys(publicKeys), serviceCertificate: b64(certificate), serviceGeneration })
      window.location.reload()
    })
  })
}

async function homePage(): Promise<void> {
  await keysInThisTab(() => undefined)
}

const PAGES: Record<string, () => void | Promise<void>> = {
  'staff-setup': setupPage,
  'staff-enrol': enrolPage,
  'staff-login': loginPage,
  'staff-second-factor': secondFactorPage,
  'staff-account': accountPage,
  'staff-team': teamPage,
  'staff-home': homePage,
  'staff-case': () => import('./cases.ts').then((cases) => cases.casePage()),
  'staff-referral': () => import('./inbox.ts').then((inbox) => inbox.referralPage()),
}

/**
 * After htmx swaps a region (the queue's results, a case's status), focus moves to the new region,
 * which replaced the control that was focused, and a live region outside it says what changed.
 */
function announceSwaps(): void {
  document.body.addEventListener('htmx:afterSettle', (event) => {
    const id = (event as CustomEvent<{ target?: Element }>).detail.target?.id
    if (id !== 'queue-results' && id !== 'case-status') return
    const region = document.getElementById(id)
    if (region === null) return
    region.focus()
    const announcer = document.querySelector<HTMLElement>('[data-announcer]')
    if (announcer !== null) announcer.textContent = region.dataset.announce ?? ''
  })
}

export async function startStaffPage(page: string): Promise<void> {
  announceSwaps()
  // Signing out forgets this tab's keys at once (the server's Clear-Site-Data does it too).
  for (const form of document.querySelectorAll<HTMLFormElement>('form[data-logout]')) form.addEventListener('submit', forgetKeys)
  try {
    await PAGES[page]?.()
  } catch (error) {
    if (error instanceof RequestRefused && error.status === 401) window.location.assign('/staff/login?signed-out=expired')
    else throw error
  }
}
