import { sql, type Kysely } from 'kysely'

/**
 * The application's restricted role.
 *
 * On PostgreSQL the portal can run as two roles: the owner of the schema, which runs migrations
 * (DATABASE_MIGRATION_URL), and a login role that is a member of `safe_disclosure_app` and gets only
 * the privileges each migration grants (DATABASE_URL). That is what lets the database itself refuse,
 * for example, an UPDATE of the audit log by the application.
 *
 * The group role is created when the migrating role may create roles; otherwise an administrator
 * creates it beforehand (README, "Running on PostgreSQL"). Roles belong to the whole cluster, so
 * `down` revokes this schema's grant but leaves the role for other databases that use it.
 *
 * `safe_disclosure_grant` lets later migrations grant to the role only when it exists, so the
 * embedded database and single-role installations migrate the same way.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    DO $$
    BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN
        BEGIN
          CREATE ROLE safe_disclosure_app NOLOGIN;
        EXCEPTION
          WHEN duplicate_object OR unique_violation THEN NULL; -- created by a concurrent migration
          WHEN insufficient_privilege THEN
            RAISE NOTICE 'role safe_disclosure_app not created (no CREATEROLE): the application runs as the owner';
        END;
      END IF;
    END $$`.execute(db)

  await sql`
    CREATE FUNCTION safe_disclosure_grant(target regclass, privileges text) RETURNS void
    LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN
        EXECUTE format('GRANT %s ON %s TO safe_disclosure_app', privileges, target);
      END IF;
    END $$`.execute(db)
  await sql`REVOKE ALL ON FUNCTION safe_disclosure_grant(regclass, text) FROM PUBLIC`.execute(db)

  await sql`
    DO $$
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO safe_disclosure_app', current_schema());
      END IF;
    END $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DO $$
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN
        EXECUTE format('REVOKE USAGE ON SCHEMA %I FROM safe_disclosure_app', current_schema());
      END IF;
    END $$`.execute(db)
  await sql`DROP FUNCTION safe_disclosure_grant(regclass, text)`.execute(db)
}
