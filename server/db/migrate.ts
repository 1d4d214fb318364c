import { FileMigrationProvider, Migrator, sql, type Kysely, type Migration, type MigrationProvider, type MigrationResult } from 'kysely'
import { promises as fs, readdirSync } from 'node:fs'
import path from 'node:path'
import { COMPILED, compiledFolder } from '../compiled.ts'
import { StartupError } from '../errors.ts'

/** migrations/, or in the compiled server its compiled copies (dist/server/migrations, the same names). */
export const MIGRATIONS_FOLDER = COMPILED ? path.join(compiledFolder(), 'migrations') : path.resolve(import.meta.dirname, '../../migrations')

/**
 * Records each migration in the audit log inside the migration's own transaction, so a schema
 * change and its record commit together. (The migrations that run before the audit log exists,
 * and the one that removes it, cannot be recorded there; kysely_migration still lists them.)
 */
async function recordInAuditLog(db: Kysely<any>, action: string, name: string): Promise<void> {
  const exists = await sql<{ exists: boolean }>`SELECT to_regclass('audit_log') IS NOT NULL AS exists`.execute(db)
  if (exists.rows[0]?.exists !== true) return
  await sql`INSERT INTO audit_log (actor_type, action, object_type, object_id)
            VALUES ('system', ${action}, 'migration', ${name})`.execute(db)
}

class RecordedMigrationProvider implements MigrationProvider {
  readonly #files = new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_FOLDER })

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations = await this.#files.getMigrations()
    return Object.fromEntries(
      Object.entries(migrations).map(([name, migration]) => [
        name,
        {
          async up(db: Kysely<any>) {
            await migration.up(db)
            await recordInAuditLog(db, 'system.migration_applied', name)
          },
          async down(db: Kysely<any>) {
            await migration.down?.(db)
            await recordInAuditLog(db, 'system.migration_reverted', name)
          },
        },
      ]),
    )
  }
}

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new RecordedMigrationProvider() })
}

function failure(results: MigrationResult[] | undefined, error: unknown, verb: string): StartupError {
  const failed = results?.find((result) => result.status === 'Error')?.migrationName
  const reason = error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error)
  const hint = /permission denied|must be owner/i.test(reason)
    ? ' (the role in use cannot change the schema: set DATABASE_MIGRATION_URL to the schema owner; see README)'
    : ''
  return new StartupError(`Database migration ${failed ?? ''} could not be ${verb}: ${reason}${hint}`.replace('  ', ' '), {
    cause: error,
  })
}

/**
 * Brings the schema up to date. Kysely applies all pending migrations in one transaction on
 * PostgreSQL (nothing half-migrated) and holds a lock, so several instances starting at once are safe.
 * Returns the names of the migrations applied.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const { error, results } = await createMigrator(db).migrateToLatest()
  if (error !== undefined) throw failure(results, error, 'applied')
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName)
}

/** Reverts the most recent migration. Returns its name, or null when none was applied. */
export async function migrateDown(db: Kysely<any>): Promise<string | null> {
  const { error, results } = await createMigrator(db).migrateDown()
  if (error !== undefined) throw failure(results, error, 'reverted')
  return results?.find((result) => result.status === 'Success')?.migrationName ?? null
}

/** The migrations this version of the portal has, in order (for checking a backup was taken at the same version). */
export function migrationNames(): string[] {
  return readdirSync(MIGRATIONS_FOLDER)
    .filter((name) => /\.(ts|m?js)$/.test(name) && !name.endsWith('.d.ts'))
    .map((name) => name.replace(/\.(ts|m?js)$/, ''))
    .sort()
}
