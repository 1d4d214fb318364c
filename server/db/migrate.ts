import { FileMigrationProvider, Migrator, type Kysely, type MigrationResult } from 'kysely'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { recordAudit } from '../audit/audit.ts'
import { StartupError } from '../errors.ts'

export const MIGRATIONS_FOLDER = path.resolve(import.meta.dirname, '../../migrations')

export function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({ db, provider: new FileMigrationProvider({ fs, path, migrationFolder: MIGRATIONS_FOLDER }) })
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

/** Applies pending migrations and records each in the audit log (run as the schema owner). */
export async function migrateAndRecord(owner: Kysely<any>): Promise<string[]> {
  const applied = await migrateToLatest(owner)
  for (const name of applied) {
    await recordAudit(owner, { actor: { type: 'system' }, action: 'system.migration_applied', object: { type: 'migration', id: name } })
  }
  return applied
}
