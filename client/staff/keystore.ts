import { decodeSecretKeySet, encodeSecretKeySet, type KeySet } from '../../crypto/keys.ts'

/**
 * Where the unlocked keys live: this tab's sessionStorage, never localStorage. sessionStorage
 * belongs to one tab (another tab, or this one after it is closed, does not see it), so a new tab
 * asks for the passphrase again. It is cleared at sign-in and sign-out by the page, and by the
 * server's Clear-Site-Data header at sign-out; the quick exit clears it too.
 *
 * sessionStorage rather than a variable, so the keys survive moving from page to page within the
 * tab (the staff side is ordinary pages, not one long-lived script). SECURITY.md says what this
 * costs: a script running in this origin could read them, which the CSP is there to prevent.
 */

const KEY = 'sd-staff-keys'
const VERSION = 1

export interface GroupKeyRing {
  readonly id: string
  /** Newest first. */
  readonly generations: readonly { readonly generation: number; readonly keys: KeySet }[]
}

export interface Keystore {
  readonly accountId: string
  readonly member: KeySet
  readonly group: GroupKeyRing | null
}

interface Stored {
  v: number
  accountId: string
  member: string
  group: { id: string; generations: { generation: number; keys: string }[] } | null
}

export async function saveKeys(store: Keystore): Promise<void> {
  const stored: Stored = {
    v: VERSION,
    accountId: store.accountId,
    member: await encodeSecretKeySet(store.member),
    group:
      store.group === null
        ? null
        : { id: store.group.id, generations: await Promise.all(store.group.generations.map(async (entry) => ({ generation: entry.generation, keys: await encodeSecretKeySet(entry.keys) }))) },
  }
  sessionStorage.setItem(KEY, JSON.stringify(stored))
}

/** The keys unlocked in this tab for `accountId`, or null (none, another account's, or unreadable). */
export async function loadKeys(accountId: string): Promise<Keystore | null> {
  const text = sessionStorage.getItem(KEY)
  if (text === null) return null
  try {
    const stored = JSON.parse(text) as Stored
    if (stored.v !== VERSION || stored.accountId !== accountId) {
      forgetKeys()
      return null
    }
    return {
      accountId: stored.accountId,
      member: await decodeSecretKeySet(stored.member),
      group:
        stored.group === null
          ? null
          : { id: stored.group.id, generations: await Promise.all(stored.group.generations.map(async (entry) => ({ generation: entry.generation, keys: await decodeSecretKeySet(entry.keys) }))) },
    }
  } catch {
    forgetKeys()
    return null
  }
}

export function forgetKeys(): void {
  try {
    sessionStorage.removeItem(KEY)
  } catch {
    // Storage may be unavailable; then nothing was kept either.
  }
}
