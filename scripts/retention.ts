/**
 * npm run retention
 *
 * Runs the retention job once, now, with the same configuration as the server (RETENTION_*), and
 * prints what it destroyed: counts only, never a case. The server runs the same job by itself every
 * RETENTION_EVERY_HOURS unless RETENTION_JOB=false (then run this from cron). Safe beside running
 * servers: one run at a time holds the job's lease, and a run that finds it held does nothing.
 *
 * Exit codes: 0 done (or another instance was running it), 1 the job could not run or an item could not
 * be destroyed (the log says why; the next run tries again), 2 bad usage.
 */
import { sql } from 'kysely'
import { RetentionJob } from '../server/retention/job.ts'
import { CaseVault } from '../server/security/case-vault.ts'
import { withPersistentSecret } from '../server/server-secret.ts'
import { RETENTION_RULE_NAMES } from '../rules/retention.ts'
import { withDatabase } from './cli.ts'

await withDatabase(async (database, loaded, logger) => {
  const ready = await sql<{ exists: boolean }>`SELECT to_regclass('job_leases') IS NOT NULL AS exists`.execute(database.db)
  if (ready.rows[0]?.exists !== true) {
    process.stderr.write('This database is not at this version of the portal yet: run npm run migrate (or start the portal once) first.\n')
    return 1
  }
  const config = loaded.databaseUrl === null ? withPersistentSecret(loaded) : loaded
  const job = new RetentionJob(database, new CaseVault(config.serverSecret), config.retention, logger, null)
  const report = await job.runOnce()
  if (!report.ran) {
    process.stdout.write('Another instance is running the retention job now: nothing was done here.\n')
    return 0
  }
  const lines = [
    ...Object.entries(report.destroyed).map(([rule, count]) => `${RETENTION_RULE_NAMES[rule as keyof typeof RETENTION_RULE_NAMES]}: ${count} destroyed`),
    `referral packages at units: ${report.referralPackages} removed`,
    `past their day but held by the IDVA lead: ${report.held}`,
    ...(report.failed > 0 ? [`could not be destroyed this time (see the log): ${report.failed}`] : []),
  ]
  process.stdout.write(`Retention job ran.\n${lines.map((line) => `  ${line}\n`).join('')}`)
  return report.failed > 0 ? 1 : 0
})
