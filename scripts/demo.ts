/**
 * npm run demo: the staff side in a minute. Prepares an embedded database under data-demo/ with a
 * made-up IDVA service (a lead and an IDVA), one investigator unit per track (a member each, keys
 * given and certified), a portal administrator and three made-up disclosures in the IDVA queue;
 * prints the logins, how to get their current second-factor code, and the disclosures' case codes;
 * then starts the portal with a DEMO banner on every page.
 *
 * It never touches a real database: it refuses to run with DATABASE_URL set, and keeps its own
 * data folder (data-demo/, git-ignored, or --dir <folder>), whatever DATA_DIR says. Delete the
 * folder to start afresh.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { recordAudit } from '../server/audit/audit.ts'
import { openDatabase } from '../server/db/database.ts'
import { policyUnits } from '../rules/routing/units.ts'
import { serviceExists } from '../server/features/staff/repository.ts'
import { base32 } from '../server/features/staff/totp.ts'
import { createLogger } from '../server/logger.ts'
import { loadPolicyFile } from '../server/routing/policy-file.ts'
import { withPersistentSecret } from '../server/server-secret.ts'
import { configFromEnvironment, prepareDatabase, serve } from '../server/server.ts'
import { seedAccount, seedGrant, seedService, seedUnit, seedUnitCertificate, type SeededStaff } from './lib/staff-fixtures.ts'
import { currentDemoCode, DEFAULT_DIR, demoArguments, LOGINS_FILE, type DemoLogin } from './lib/demo-logins.ts'
import { seedDemoCases } from './lib/demo-cases.ts'
import { fail } from './cli.ts'
import { CaseVault } from '../server/security/case-vault.ts'
import { writePinFile } from '../server/security/service-anchor.ts'
import { fingerprint } from '../crypto/fingerprint.ts'
import { encodeSecretKeySet, publicKeysOf } from '../crypto/keys.ts'

// Checked before the configuration is read: with DATABASE_URL set, the demo stops, full stop.
if ((process.env.DATABASE_URL ?? '') !== '') {
  fail('npm run demo uses its own embedded database and never a real one: unset DATABASE_URL to run it.', 2)
}

const { dir } = demoArguments()
// Its own server secret too (kept in its folder), so no real secret is used for made-up accounts.
// The demo's phone line is one of Ofcom's numbers kept for drama (01632 960xxx): it rings nobody.
const SAMPLE_CONTACT = {
  SERVICE_PHONE: '01632 960 123',
  SERVICE_HOURS: 'Monday to Friday, 9am to 5pm; Thursdays until 8pm',
  SERVICE_MEETING: 'An IDVA can meet you face to face, somewhere away from your workplace that feels safe to you.',
}
const environment = configFromEnvironment({ ...SAMPLE_CONTACT, ...process.env, DATA_DIR: resolve(dir), DEMO: 'true', SERVER_SECRET: '' })
const logger = createLogger('warn', process.stderr)
const database = await openDatabase(environment, logger)
const config = withPersistentSecret(environment)
const loginsPath = join(config.dataDir, LOGINS_FILE)
const casesPath = join(config.dataDir, 'demo-cases.json')
try {
  await prepareDatabase(database, logger, config)
  const db = database.db
  if (!(await serviceExists(db))) {
    const policy = loadPolicyFile(config.routingPolicyPath)
    // The units ROUTING.md's worked example routes to: North Area safeguarding (a command unit that
    // is not conflicted), this force's professional standards, and a partner force's professional
    // standards outside this portal (its key added by the IDVA lead; it receives exported files).
    const units = policyUnits(policy)
    const criminalUnit = units.find((unit) => unit.id === 'met-na-safeguarding') ?? units.find((unit) => unit.track === 'criminal' && unit.force === policy.force)!
    const misconductUnit = units.find((unit) => unit.track === 'misconduct' && unit.force === policy.force)!
    const outsideUnit = units.find((unit) => unit.track === 'misconduct' && unit.force !== policy.force)
    const service = await seedService(db, { name: 'Demo IDVA Service (made-up)', force: policy.force })
    const people: [SeededStaff, string][] = []
    const add = async (username: string, role: SeededStaff['role'], groupId: string | null, team: string) => {
      const member = await seedAccount(db, config.serverSecret, { username, role, groupId, passphrase: `${username} demo passphrase` })
      people.push([member, team])
      return member
    }
    await seedGrant(db, await add('demo.lead', 'idva_lead', service.id, 'IDVA service'), service)
    await seedGrant(db, await add('demo.idva', 'idva', service.id, 'IDVA service'), service)
    for (const [unitInfo, username] of [[criminalUnit, 'demo.criminal'], [misconductUnit, 'demo.misconduct']] as const) {
      const unit = (await seedUnit(db, { id: unitInfo.id, track: unitInfo.track, force: unitInfo.force, name: unitInfo.name }))!
      await db.updateTable('groups').set({ command_unit: unitInfo.commandUnit }).where('id', '=', unit.id).execute()
      await seedGrant(db, await add(username, 'investigator', unit.id, unitInfo.name), unit)
      await seedUnitCertificate(db, unit, service)
    }
    if (outsideUnit !== undefined) {
      const unit = (await seedUnit(db, { id: outsideUnit.id, track: outsideUnit.track, force: outsideUnit.force, name: outsideUnit.name }))!
      await db.updateTable('groups').set({ external: true }).where('id', '=', unit.id).execute()
      await seedUnitCertificate(db, unit, service)
      // Its secret key, for trying `npm run envelope -- open-package` on an exported file.
      writeFileSync(join(config.dataDir, `${outsideUnit.id}.secret.key`), `${await encodeSecretKeySet(unit.keys)}\n`, { mode: 0o600 })
    }
    await add('demo.admin', 'admin', null, 'Portal administration')
    const caseCodes = await seedDemoCases(db, new CaseVault(config.serverSecret), service.keys)
    // The demo pins what it seeds, as set-up does: beside the server secret, never in the database.
    writePinFile(config.dataDir, await fingerprint(publicKeysOf(service.keys)))
    await recordAudit(db, { actor: { type: 'system' }, action: 'demo.seeded' })
    const logins: DemoLogin[] = people.map(([member, team]) => ({ username: member.username, role: member.role, team, passphrase: member.passphrase, totpKey: base32(member.totpSecret) }))
    writeFileSync(loginsPath, `${JSON.stringify(logins, null, 2)}\n`, { mode: 0o600 })
    writeFileSync(casesPath, `${JSON.stringify(caseCodes, null, 2)}\n`, { mode: 0o600 })
    chmodSync(loginsPath, 0o600)
  }
} finally {
  await database.close()
}

if (!existsSync(loginsPath)) fail(`${loginsPath} is missing: delete ${dir}/ and run npm run demo again.`, 1)
const logins = JSON.parse(readFileSync(loginsPath, 'utf8')) as DemoLogin[]
const caseCodes = existsSync(casesPath) ? (JSON.parse(readFileSync(casesPath, 'utf8')) as string[]) : []
const rows = logins.map((login) => `  ${login.username.padEnd(17)} ${login.role.padEnd(13)} ${login.passphrase.padEnd(36)} ${currentDemoCode(login).code}  ${login.team}`)
process.stdout.write(
  [
    '',
    'DEMO portal: made-up people and teams, for trying the staff side. Not for real disclosures.',
    '',
    `Sign in at ${config.publicOrigin}/staff/login as:`,
    '',
    `  ${'user name'.padEnd(17)} ${'role'.padEnd(13)} ${'passphrase'.padEnd(36)} code    team`,
    ...rows,
    '',
    'A code changes every 30 seconds and works once. For the current one:',
    '',
    `  npm run demo:code -- demo.lead${dir === DEFAULT_DIR ? '' : ` --dir ${dir}`}`,
    '',
    `Or add a TOTP key from ${loginsPath} to an authenticator app.`,
    '',
    `${caseCodes.length} made-up disclosures wait in the IDVA queue (sign in as demo.idva). The oldest can be referred`,
    'to investigators on both tracks (consent is recorded); once it is, demo.criminal and demo.misconduct find',
    'their packages at /staff/inbox. A partner force\'s professional standards is outside the portal: open a',
    `package exported to it with its key, ${join(config.dataDir, 'city-psd.secret.key')}:`,
    '',
    `  npm run --silent envelope -- open-package --key ${join(config.dataDir, 'city-psd.secret.key')} --service-fingerprint "$(cat ${join(config.dataDir, 'service-key-fingerprint')})" < FILE.sdpkg.json`,
    '',
    `To read a reply as the person who sent one would, open ${config.publicOrigin}/return with its case code:`,
    '',
    ...caseCodes.map((code) => `  ${code}`),
    '',
  ].join('\n'),
)

await serve(config)
