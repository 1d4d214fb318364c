import type { PublicKeySet } from '../crypto/keys.ts'

type ChainCrypto = Pick<typeof import('../crypto/index.ts'), 'base64url' | 'fingerprint' | 'verifyKeyChain'>

/**
 * The IDVA service key's fingerprint pinned in the portal's configuration (SERVICE_KEY_FINGERPRINT),
 * as the server wrote it into the page: the anchor every key chain is checked against. It never
 * comes from a database row, so an insider who replaces the service's keys in the database cannot
 * make a browser trust theirs. Null when the page carries none: callers then refuse.
 */
export function servicePin(): string | null {
  const pin = document.querySelector<HTMLMetaElement>('meta[name="sd-service-pin"]')?.content.trim() ?? ''
  return /^\d{5}( \d{5}){5}$/.test(pin) ? pin : null
}

/** The IDVA service's public key chain as the server hands it out (base64url). */
export interface ServiceChain {
  readonly serviceId: string
  readonly generations: readonly { generation: number; x25519: string; ed25519: string; certificate: string | null }[]
}

export interface ServiceKeys {
  /** The current generation: what new messages are sealed to. */
  readonly current: PublicKeySet
  /** Every generation's signing key, each certified by the one before: what any of them signed is the service's. */
  readonly signingKeys: readonly Uint8Array[]
}

/** The service's keys could not be followed from the pin: nothing may be sealed to them, nothing they signed trusted. */
export class ServiceKeyUnchecked extends Error {
  constructor() {
    super('the IDVA service key could not be checked against the pinned fingerprint')
    this.name = 'ServiceKeyUnchecked'
  }
}

/**
 * Follows the chain from generation 1 and refuses it (ServiceKeyUnchecked) unless generation 1 is
 * the key pinned in the portal's configuration (the page's sd-service-pin, the same fingerprint as
 * on the posters) and every later generation is certified by the one before. Fails closed: no pin
 * on the page, no chain, or anything malformed is a refusal too. The reporter's pages and the
 * investigators' both use it.
 */
export async function checkServiceChain(crypto: ChainCrypto, chain: ServiceChain | null): Promise<ServiceKeys> {
  const pin = servicePin()
  if (pin === null || chain === null || chain.generations.length === 0) throw new ServiceKeyUnchecked()
  try {
    const keys = chain.generations.map((generation) => ({
      publicKeys: { encryption: crypto.base64url.decode(generation.x25519, 'service key', 32), signing: crypto.base64url.decode(generation.ed25519, 'service key', 32) },
      certificate: generation.certificate === null ? null : crypto.base64url.decode(generation.certificate, 'key certificate', 64),
    }))
    const first = keys[0]!
    if ((await crypto.fingerprint(first.publicKeys)) !== pin) throw new ServiceKeyUnchecked()
    const current = await crypto.verifyKeyChain(
      chain.serviceId,
      first.publicKeys,
      keys.slice(1).map((key) => ({ publicKeys: key.publicKeys, certificate: key.certificate ?? new Uint8Array(0) })),
    )
    return { current, signingKeys: keys.map((key) => key.publicKeys.signing) }
  } catch {
    throw new ServiceKeyUnchecked()
  }
}
