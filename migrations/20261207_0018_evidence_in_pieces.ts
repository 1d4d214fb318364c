import { sql, type Kysely } from 'kysely'

/**
 * Evidence files are stored as they arrive, in pieces, instead of whole from memory (issue 19).
 *
 *   case_evidence_pieces  one row per piece of an encrypted file (at most 256 KiB of what the
 *                         browser sent, in order from 0), sealed at rest under the file's key and
 *                         bound to the file and its place ("upload:<id>:piece:<n>"), so a piece
 *                         cannot be moved to another place or another file without failing to open.
 *                         Goes with its file (ON DELETE CASCADE), and so with its case.
 *   case_evidence         `encrypted` may now be NULL: the file is in pieces. `pieces_sealed` holds,
 *                         sealed under the file's key, how many pieces and bytes the file has: it is
 *                         written only once every piece has arrived and the whole file checked out,
 *                         and binds the count, so a dropped last piece is found. Until then the row
 *                         is staged, has size 0 and cannot be claimed; one whose upload stopped half
 *                         way is removed with the other unclaimed uploads.
 *
 * Files stored before this keep their one sealed column and are read as before: putting them in
 * pieces would need keys no migration holds (a claimed file's key is sealed under its case's key,
 * itself under SERVER_SECRET; a staged file's key comes from a token only the uploading browser
 * has). They leave as their cases do.
 *
 * case_evidence_pieces names an evidence file of a case: row-level security is enabled and forced
 * on it as on case_evidence (migration 0011), and an investigator unit reaches no row of it.
 */
const role = sql`(SELECT coalesce(current_setting('app.role', true), ''))`

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('case_evidence')
    .alterColumn('encrypted', (c) => c.dropNotNull())
    .addColumn('pieces_sealed', 'bytea', (c) => c.check(sql`octet_length(pieces_sealed) = 41`))
    .execute()
  await db.schema.alterTable('case_evidence').dropConstraint('case_evidence_size_check').execute()
  await db.schema
    .alterTable('case_evidence')
    .addCheckConstraint(
      'case_evidence_stored',
      sql`(encrypted IS NOT NULL AND pieces_sealed IS NULL AND size > 0)
        OR (encrypted IS NULL AND pieces_sealed IS NOT NULL AND size > 0)
        OR (encrypted IS NULL AND pieces_sealed IS NULL AND size = 0 AND case_id IS NULL)`,
    )
    .execute()

  await db.schema
    .createTable('case_evidence_pieces')
    .addColumn('evidence_id', 'text', (c) => c.notNull().references('case_evidence.id').onDelete('cascade'))
    .addColumn('piece', 'integer', (c) => c.notNull().check(sql`piece >= 0 AND piece < 128`))
    .addColumn('sealed', 'bytea', (c) => c.notNull().check(sql`octet_length(sealed) BETWEEN 30 AND 262173`))
    .addPrimaryKeyConstraint('case_evidence_pieces_pkey', ['evidence_id', 'piece'])
    .execute()
  // Sealed bytes do not compress: spare the database the attempt on every piece.
  await sql`ALTER TABLE case_evidence_pieces ALTER COLUMN sealed SET STORAGE EXTERNAL`.execute(db)
  await sql`REVOKE ALL ON case_evidence_pieces FROM PUBLIC`.execute(db)
  await sql`SELECT safe_disclosure_grant('case_evidence_pieces', 'SELECT, INSERT, DELETE')`.execute(db)
  await sql`ALTER TABLE case_evidence_pieces ENABLE ROW LEVEL SECURITY`.execute(db)
  await sql`ALTER TABLE case_evidence_pieces FORCE ROW LEVEL SECURITY`.execute(db)
  await sql`CREATE POLICY case_evidence_pieces_not_units ON case_evidence_pieces USING (${role} <> 'investigator') WITH CHECK (${role} <> 'investigator')`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  // Staged uploads are worth nothing without the new schema (their hour is short); a claimed file
  // in pieces cannot go back into one column without its keys.
  await sql`DELETE FROM case_evidence WHERE case_id IS NULL AND encrypted IS NULL`.execute(db)
  const inPieces = await sql<{ n: number }>`SELECT count(*)::integer AS n FROM case_evidence WHERE encrypted IS NULL`.execute(db)
  if ((inPieces.rows[0]?.n ?? 0) > 0) throw new Error('evidence files are stored in pieces, which the previous schema cannot hold; export those cases first if that is really intended')
  await db.schema.dropTable('case_evidence_pieces').execute()
  await db.schema.alterTable('case_evidence').dropConstraint('case_evidence_stored').execute()
  await sql`ALTER TABLE case_evidence ADD CONSTRAINT case_evidence_size_check CHECK (size > 0)`.execute(db)
  await db.schema
    .alterTable('case_evidence')
    .dropColumn('pieces_sealed')
    .alterColumn('encrypted', (c) => c.setNotNull())
    .execute()
}
