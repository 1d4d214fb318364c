import type { Kysely } from 'kysely'
import { countHit, uncountHit } from '../../db/rate-limit-repository.ts'
import type { Schema } from '../../db/schema.ts'
import { HttpError } from '../../errors.ts'
import { addressNetworks, normaliseAddress } from '../../plugins/rate-limit.ts'
import { CounterNames } from '../../security/counters.ts'

/**
 * Failed sign-ins counted against where they come from, so that failing costs whoever fails.
 *
 * Each sign-in attempt first takes one unit from its address's budget (an IPv6 /64, or an IPv4
 * address) and from each of its networks' (the /56 and /48 around it, or the IPv4 /24). A failure
 * keeps it; a success, or a refusal that was not the person's doing (the portal too busy), gives it
 * back. Taking before trying, in one atomic statement per counter, means that attempts sent all at
 * once are held to the budget as surely as attempts one after another. While any budget is spent,
 * attempts from there are refused (429 with Retry-After) before the account is even looked at, so
 * they cannot count against it, cost no Argon2id check, and learn nothing.
 *
 * The counters are the rate limiter's (server/security/counters.ts): named by an HMAC under a key
 * that changes daily and is never stored, holding neither an address nor a time.
 */

export const SIGN_IN_WINDOW_SECONDS = 15 * 60
/** Failures in a window from one address (IPv6 /64, IPv4 address): enough for a person's typing mistakes. */
export const FAILURES_PER_ADDRESS = 5
/** Failures in a window from one network (IPv6 /56 and /48, IPv4 /24): a whole office shares it. */
export const FAILURES_PER_NETWORK = 10

/** An admitted attempt: `release` gives its units back when it did not fail. */
export interface SignInAttempt {
  release(): Promise<void>
}

export class SignInThrottle {
  readonly #names: CounterNames

  constructor(
    private readonly db: Kysely<Schema>,
    serverSecret: Buffer,
  ) {
    this.#names = new CounterNames(serverSecret)
  }

  /** Takes a unit from each budget of `address`; throws HttpError 429 (taking nothing) when one is spent. */
  async admit(address: string, now = Date.now()): Promise<SignInAttempt> {
    const budgets = [
      { limit: 'staff-login-failures:address', subject: normaliseAddress(address), max: FAILURES_PER_ADDRESS },
      ...addressNetworks(address).map((network) => ({ limit: 'staff-login-failures:network', subject: network, max: FAILURES_PER_NETWORK })),
    ]
    // Narrowest first, stopping at the first that is spent: every attempt passes the budgets in the
    // same order, so attempts refused by one never crowd out attempts at the next.
    const taken: string[] = []
    const release = async () => {
      for (const counter of taken) await uncountHit(this.db, counter)
    }
    for (const budget of budgets) {
      const { counter, secondsLeft } = this.#names.name(budget.limit, budget.subject, SIGN_IN_WINDOW_SECONDS, now)
      taken.push(counter)
      if ((await countHit(this.db, counter)) > budget.max) {
        await release()
        const minutes = Math.ceil(secondsLeft / 60)
        throw new HttpError(
          429,
          `Signing in from your connection is paused for ${minutes === 1 ? 'a minute' : `${minutes} minutes`}, after several attempts that did not succeed. Please wait, then try again.`,
          { 'retry-after': String(secondsLeft) },
        )
      }
    }
    return { release }
  }
}
