/**
 * npm run migrate           apply every pending migration (as DATABASE_MIGRATION_URL's role)
 * npm run migrate -- --down revert the most recent migration (for a rollback; read it first)
 *
 * The server also migrates when it starts; this is for deployments that migrate as a separate step.
 */
import { parseArgs } from 'node:util'
import { migrateDown, migrateToLatest } from '../server/db/migrate.ts'
import { fail, withDatabase } from './cli.ts'

let down = false
try {
  down = parseArgs({ options: { down: { type: 'boolean' } } }).values.down === true
} catch (error) {
  fail(`migrate: ${(error as Error).message}`, 2)
}

await withDatabase(async (database) =>
  database.asOwner(async (owner) => {
    if (down) {
      const reverted = await migrateDown(owner)
      process.stdout.write(reverted === null ? 'No migration to revert.\n' : `Reverted ${reverted}\n`)
      return 0
    }
    const applied = await migrateToLatest(owner)
    process.stdout.write(applied.length === 0 ? 'The database is up to date.\n' : `Applied ${applied.join(', ')}\n`)
    return 0
  }),
)
