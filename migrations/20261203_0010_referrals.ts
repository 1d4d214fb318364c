import { sql, type Kysely } from 'kysely'

/**
 * Referring a case to investigators: one package per track, sealed in the IDVA's browser to the
 * receiving unit's key and the service's, signed by the service.
 *
 *   groups           units carry their command unit (criminal units of this force; null otherwise)
 *                    and whether they are outside this portal: a unit of a force with no accounts
 *                    here, whose key the IDVA lead added by fingerprint, receives exported files
 *   referrals        one per package: the case, the track, the unit and the key generation it was
 *                    sealed to, how it was delivered (in the portal, or exported as a file), its
 *                    state, whether the decision required an IOPC referral, whether the person
 *                    agreed (so /return may tell them it went, never to whom), and the envelope,
 *                    sealed at rest under the case's data key like everything else of the case;
 *                    staff actions, so their times are kept
 *   case_records     gains the kind 'routing': the facts, the decision and any override, sealed to
 *                    the service like every record
 *
 * The server sees which unit receives which package (it must, to deliver it), never why.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('groups')
    .addColumn('command_unit', 'text', (c) => c.check(sql`command_unit ~ '^[A-Za-z0-9._:-]{1,64}$'`))
    .addColumn('external', 'boolean', (c) => c.notNull().defaultTo(false))
    .execute()
  await db.schema.alterTable('groups').addCheckConstraint('groups_external_unit', sql`NOT external OR kind = 'investigator_unit'`).execute()

  await sql`ALTER TABLE case_records DROP CONSTRAINT case_records_kind_check`.execute(db)
  await sql`ALTER TABLE case_records ADD CONSTRAINT case_records_kind_check CHECK (kind IN ('triage', 'note', 'consent', 'identifiers', 'routing'))`.execute(db)

  await db.schema
    .createTable('referrals')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'`))
    .addColumn('case_id', 'text', (c) => c.notNull().references('cases.id').onDelete('cascade'))
    .addColumn('track', 'text', (c) => c.notNull().check(sql`track IN ('criminal', 'misconduct')`))
    .addColumn('unit_id', 'text', (c) => c.notNull().references('groups.id'))
    .addColumn('unit_generation', 'integer', (c) => c.notNull().check(sql`unit_generation >= 1`))
    .addColumn('delivery', 'text', (c) => c.notNull().check(sql`delivery IN ('portal', 'export')`))
    .addColumn('status', 'text', (c) =>
      c.notNull().check(sql`status IN ('sent', 'exported', 'acknowledged', 'investigating', 'no_further_action', 'transferred', 'closed', 'returned')`),
    )
    .addColumn('iopc_required', 'boolean', (c) => c.notNull())
    .addColumn('tell_reporter', 'boolean', (c) => c.notNull())
    .addColumn('envelope', 'bytea', (c) => c.notNull().check(sql`octet_length(envelope) BETWEEN 1 AND 1100100`))
    .addColumn('padded_size', 'integer', (c) => c.notNull())
    .addColumn('sent_by', 'text', (c) => c.references('accounts.id'))
    .addColumn('sent_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('status_changed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('referrals_delivery_status', sql`(delivery = 'export') = (status = 'exported')`)
    .execute()
  await db.schema.createIndex('referrals_case').on('referrals').columns(['case_id', 'sent_at']).execute()
  await db.schema.createIndex('referrals_unit').on('referrals').columns(['unit_id', 'sent_at']).execute()
  await sql`REVOKE ALL ON referrals FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('referrals', 'SELECT, INSERT, UPDATE, DELETE')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  const routing = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM case_records WHERE kind = 'routing'`.execute(db)
  if ((routing.rows[0]?.n ?? 0) > 0) throw new Error('routing records exist and the previous schema cannot hold them; export those cases first if that is really intended')
  await db.schema.dropTable('referrals').execute()
  await sql`ALTER TABLE case_records DROP CONSTRAINT case_records_kind_check`.execute(db)
  await sql`ALTER TABLE case_records ADD CONSTRAINT case_records_kind_check CHECK (kind IN ('triage', 'note', 'consent', 'identifiers'))`.execute(db)
  await db.schema.alterTable('groups').dropConstraint('groups_external_unit').execute()
  await db.schema.alterTable('groups').dropColumn('external').dropColumn('command_unit').execute()
}
