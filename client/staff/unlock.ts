import { refreshGroup, unlockWithPassphrase } from './keys.ts'
import { loadKeys, type Keystore } from './keystore.ts'
import { FormStatus, Problem, required, submitButton, valueOf } from '../ui.ts'

/**
 * Pages that use the group's keys show whether this tab holds them and, if not (a new tab, or after
 * a second-factor reset), a form to unlock them with the passphrase.
 */
export async function keysInThisTab(onUnlocked: (store: Keystore) => void): Promise<Keystore | null> {
  const accountId = document.body.dataset.accountId ?? ''
  const unlockForm = document.querySelector<HTMLFormElement>('form[data-form="unlock"]')
  const state = document.querySelector<HTMLElement>('[data-keys-status]')
  const stored = await loadKeys(accountId)
  // Access given, or a key rotated, since this tab unlocked: catch up with the member's own key.
  const store = stored === null ? null : await refreshGroup(stored).catch(() => stored)
  const show = (held: Keystore | null) => {
    if (state !== null) {
      state.hidden = false
      state.textContent = held === null ? 'Your keys are locked in this browser tab.' : 'Your keys are unlocked in this browser tab. They are forgotten when you sign out or close the tab.'
    }
    if (unlockForm !== null) unlockForm.hidden = held !== null
  }
  show(store)
  if (unlockForm !== null && store === null) {
    const status = new FormStatus(unlockForm, [submitButton(unlockForm)])
    unlockForm.addEventListener('submit', (event) => {
      event.preventDefault()
      void status.run(async () => {
        const passphrase = valueOf(unlockForm, '[data-passphrase]')
        if ([...passphrase.normalize('NFKC')].length < 12) throw new Problem('That passphrase is not right. Check it and try again.')
        const unlocked = await unlockWithPassphrase(passphrase)
        required<HTMLInputElement>(unlockForm, '[data-passphrase]').value = ''
        show(unlocked)
        onUnlocked(unlocked)
      })
    })
  }
  return store
}

