import type { Kysely } from 'kysely'
import { randomBytes } from 'node:crypto'
import { recordAudit } from '../../audit/audit.ts'
import type { Schema } from '../../db/schema.ts'
import { sha256 } from '../../security/tokens.ts'
import { serviceExists } from './repository.ts'
import { createInvitation } from './team-routes.ts'

/**
 * The two links a new portal needs, issued at start (never logged): one for the IDVA service's
 * lead, while no IDVA service exists, and one for the first portal administrator, while no
 * administrator exists. Each works once, for an hour; a restart issues a new one and the older
 * unused one stops working. Only whoever runs the server sees them: first-run-file.ts writes them
 * to a file only the portal's user can read, and shows them on a terminal.
 */

export const FIRST_RUN_LINK_LIFETIME_MS = 60 * 60 * 1000

export async function issueSetupLink(db: Kysely<Schema>, publicOrigin: string): Promise<string | null> {
  if (await serviceExists(db)) return null
  const token = randomBytes(32).toString('base64url')
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('setup_tokens').where('used_at', 'is', null).execute()
    await trx.insertInto('setup_tokens').values({ token_hash: sha256(token), expires_at: new Date(Date.now() + FIRST_RUN_LINK_LIFETIME_MS), used_at: null }).execute()
    await recordAudit(trx, { actor: { type: 'system' }, action: 'staff.setup_link_issued' })
  })
  return `${publicOrigin}/staff/setup/${token}`
}

export async function issueFirstAdminLink(db: Kysely<Schema>, publicOrigin: string): Promise<string | null> {
  const admin = await db.selectFrom('accounts').select('id').where('role', '=', 'admin').executeTakeFirst()
  if (admin !== undefined) return null
  return db.transaction().execute(async (trx) => {
    await trx
      .updateTable('invitations')
      .set({ revoked_at: new Date() })
      .where('role', '=', 'admin')
      .where('created_by', 'is', null)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .execute()
    const invitation = await createInvitation(trx, publicOrigin, null, 'admin', null, FIRST_RUN_LINK_LIFETIME_MS)
    return invitation.link
  })
}
