import type { Kysely } from 'kysely'
import { fingerprint } from '../../../crypto/fingerprint.ts'
import type { Schema } from '../../db/schema.ts'
import type { ServiceSummary } from '../../../views/components/service.tsx'
import { findGroup, firstGeneration, IDVA_SERVICE_ID } from '../staff/repository.ts'

/**
 * The IDVA service and its published fingerprint, or null while the portal is not open. The
 * published key is the first generation: later ones are certified by the one before, so the
 * posters stay right when the key is rotated (the reporter's browser follows the chain).
 */
export async function openService(db: Kysely<Schema>): Promise<ServiceSummary | null> {
  const group = await findGroup(db, IDVA_SERVICE_ID)
  const first = await firstGeneration(db, IDVA_SERVICE_ID)
  if (group === undefined || first === undefined) return null
  return { name: group.name, fingerprint: await fingerprint({ encryption: first.x25519_public, signing: first.ed25519_public }) }
}
