import { sql, type Kysely } from 'kysely'

/**
 * Staff accounts, the groups they belong to (the IDVA service, investigator units), and the keys.
 *
 * The server holds public keys, and private keys only wrapped: a member's own keys under a key
 * derived from their passphrase in their browser; a group's keys sealed to each member's public key.
 * Nothing here lets the server, or anyone reading this database, decrypt content.
 *
 *   groups            the IDVA service (exactly one) and investigator units
 *   group_keys        each generation of a group's public keys; from generation 2, a certificate
 *                     signed by the generation before and the previous private keys sealed to it;
 *                     for a unit, the IDVA service's certificate once its lead has vouched for it
 *   accounts          staff, with their passphrase parameters, an Argon2id hash of the verifier
 *                     derived from the passphrase, their public keys and wrapped private keys, and
 *                     their TOTP secret sealed under a key derived from SERVER_SECRET
 *   group_key_grants  a group generation's private keys sealed to one member
 *   invitations       one-time enrolment links (only a hash of the token is kept)
 *   setup_tokens      the first-run link (only a hash)
 *   sessions          server-side sessions (only a hash of the cookie's token)
 *   recovery_codes    second-factor recovery codes (only hashes)
 */
const ID = sql`'^[A-Za-z0-9._:-]{1,128}$'`

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('groups')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ ${ID}`))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind IN ('idva_service', 'investigator_unit')`))
    .addColumn('track', 'text', (c) => c.check(sql`track IN ('criminal', 'misconduct')`))
    .addColumn('force', 'text', (c) => c.notNull().check(sql`char_length(force) BETWEEN 1 AND 100`))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`char_length(name) BETWEEN 1 AND 200`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('disabled_at', 'timestamptz')
    .addColumn('rotation_recommended_at', 'timestamptz')
    .addCheckConstraint('groups_track_matches_kind', sql`(kind = 'idva_service') = (track IS NULL)`)
    .execute()
  await sql`CREATE UNIQUE INDEX groups_one_idva_service ON groups (kind) WHERE kind = 'idva_service'`.execute(db)

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ ${ID}`))
    .addColumn('username', 'text', (c) => c.notNull().unique().check(sql`username ~ '^[a-z0-9][a-z0-9._-]{1,62}[a-z0-9]$'`))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('idva_lead', 'idva', 'investigator', 'admin')`))
    .addColumn('group_id', 'text', (c) => c.references('groups.id'))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('active').check(sql`status IN ('active', 'disabled')`))
    .addColumn('passphrase_salt', 'bytea', (c) => c.notNull().check(sql`octet_length(passphrase_salt) = 16`))
    .addColumn('passphrase_ops', 'integer', (c) => c.notNull())
    .addColumn('passphrase_mem', 'integer', (c) => c.notNull())
    .addColumn('verifier_hash', 'text', (c) => c.notNull().check(sql`verifier_hash LIKE '$argon2id$%'`))
    .addColumn('x25519_public', 'bytea', (c) => c.notNull().check(sql`octet_length(x25519_public) = 32`))
    .addColumn('ed25519_public', 'bytea', (c) => c.notNull().check(sql`octet_length(ed25519_public) = 32`))
    .addColumn('member_keys_wrapped', 'bytea', (c) => c.notNull().check(sql`octet_length(member_keys_wrapped) < 256`))
    .addColumn('totp_secret_sealed', 'bytea')
    .addColumn('totp_last_step', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('failed_logins', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('locked_until', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_login_at', 'timestamptz')
    .addCheckConstraint('accounts_group_matches_role', sql`(role = 'admin') = (group_id IS NULL)`)
    .execute()
  await db.schema.createIndex('accounts_group_id').on('accounts').column('group_id').execute()

  await db.schema
    .createTable('group_keys')
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id'))
    .addColumn('generation', 'integer', (c) => c.notNull().check(sql`generation >= 1`))
    .addColumn('x25519_public', 'bytea', (c) => c.notNull().check(sql`octet_length(x25519_public) = 32`))
    .addColumn('ed25519_public', 'bytea', (c) => c.notNull().check(sql`octet_length(ed25519_public) = 32`))
    // Generation 2 on: signed by the previous generation, and holding it sealed to the new key.
    .addColumn('rotation_certificate', 'bytea', (c) => c.check(sql`octet_length(rotation_certificate) = 64`))
    .addColumn('previous_keys_sealed', 'bytea', (c) => c.check(sql`octet_length(previous_keys_sealed) < 512`))
    // A unit's keys, vouched for by the IDVA service (its generation `service_generation`).
    .addColumn('service_certificate', 'bytea', (c) => c.check(sql`octet_length(service_certificate) = 64`))
    .addColumn('service_generation', 'integer')
    .addColumn('created_by', 'text', (c) => c.references('accounts.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('group_keys_pkey', ['group_id', 'generation'])
    .addCheckConstraint('group_keys_history', sql`(generation = 1) = (previous_keys_sealed IS NULL) AND (generation = 1) = (rotation_certificate IS NULL)`)
    .addCheckConstraint('group_keys_service_certificate', sql`(service_certificate IS NULL) = (service_generation IS NULL)`)
    .execute()

  await db.schema
    .createTable('group_key_grants')
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('group_id', 'text', (c) => c.notNull())
    .addColumn('generation', 'integer', (c) => c.notNull())
    .addColumn('wrapped', 'bytea', (c) => c.notNull().check(sql`octet_length(wrapped) < 512`))
    .addColumn('granted_by', 'text', (c) => c.references('accounts.id'))
    .addColumn('granted_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('group_key_grants_pkey', ['account_id', 'group_id', 'generation'])
    .addForeignKeyConstraint('group_key_grants_generation', ['group_id', 'generation'], 'group_keys', ['group_id', 'generation'])
    .execute()

  await db.schema
    .createTable('invitations')
    .addColumn('id', 'text', (c) => c.primaryKey().check(sql`id ~ ${ID}`))
    .addColumn('token_hash', 'bytea', (c) => c.notNull().unique().check(sql`octet_length(token_hash) = 32`))
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role IN ('idva_lead', 'idva', 'investigator', 'admin')`))
    .addColumn('group_id', 'text', (c) => c.references('groups.id'))
    .addColumn('created_by', 'text', (c) => c.references('accounts.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('used_by', 'text', (c) => c.references('accounts.id'))
    .addColumn('revoked_at', 'timestamptz')
    .addCheckConstraint('invitations_group_matches_role', sql`(role = 'admin') = (group_id IS NULL)`)
    .execute()

  await db.schema
    .createTable('setup_tokens')
    .addColumn('token_hash', 'bytea', (c) => c.primaryKey().check(sql`octet_length(token_hash) = 32`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .execute()

  await db.schema
    .createTable('sessions')
    .addColumn('token_hash', 'bytea', (c) => c.primaryKey().check(sql`octet_length(token_hash) = 32`))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('stage', 'text', (c) => c.notNull().check(sql`stage IN ('full', 'second_factor_enrolment')`))
    .addColumn('csrf_token', 'text', (c) => c.notNull().check(sql`char_length(csrf_token) = 43`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute()
  await db.schema.createIndex('sessions_account_id').on('sessions').column('account_id').execute()
  await db.schema.createIndex('sessions_expires_at').on('sessions').column('expires_at').execute()

  await db.schema
    .createTable('recovery_codes')
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('code_hash', 'bytea', (c) => c.notNull().check(sql`octet_length(code_hash) = 32`))
    .addColumn('used_at', 'timestamptz')
    .addPrimaryKeyConstraint('recovery_codes_pkey', ['account_id', 'code_hash'])
    .execute()

  for (const table of ['groups', 'accounts', 'group_keys', 'group_key_grants', 'invitations', 'setup_tokens', 'sessions', 'recovery_codes']) {
    await sql`REVOKE ALL ON ${sql.table(table)} FROM PUBLIC`.execute(db)
    await sql`SELECT safe_disclosure_grant(${table}, 'SELECT, INSERT, UPDATE, DELETE')`.execute(db)
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of ['recovery_codes', 'sessions', 'setup_tokens', 'invitations', 'group_key_grants', 'group_keys', 'accounts', 'groups']) {
    await db.schema.dropTable(table).execute()
  }
}
