import t from 'tap'
import { ConfigError, loadConfig } from '../../server/config.ts'

const cwd = '/srv/portal'

t.test('defaults give a working local portal on the embedded database', async (t) => {
  const config = loadConfig({}, cwd)
  t.equal(config.host, '127.0.0.1')
  t.equal(config.port, 3000)
  t.equal(config.publicOrigin, 'http://127.0.0.1:3000')
  t.equal(config.secureCookies, false)
  t.equal(config.databaseUrl, null)
  t.equal(config.databaseMigrationUrl, null)
  t.equal(config.dataDir, '/srv/portal/data')
  t.equal(config.trustProxy, false)
  t.equal(config.logLevel, 'info')
  t.equal(config.serverSecretGenerated, true)
  t.equal(config.serverSecret.length, 32)
  t.equal(config.quickExitUrl, 'https://www.bbc.co.uk/weather')
  t.match(config.routingPolicyPath, /config\/routing\/met-example\.json$/, 'the shipped example policy')
  t.ok(Object.isFrozen(config), 'the config object is frozen')
})

t.test('valid values are parsed into typed settings', async (t) => {
  const config = loadConfig(
    {
      HOST: '0.0.0.0',
      PORT: '8080',
      DATABASE_URL: 'postgres://portal@db.internal:5432/portal',
      DATABASE_MIGRATION_URL: 'postgresql://owner:secret@db.internal/portal',
      DATA_DIR: '/var/lib/portal',
      PUBLIC_ORIGIN: 'https://portal.example.org/',
      TRUST_PROXY: '10.0.0.0/8, 192.168.1.4',
      LOG_LEVEL: 'WARN',
      SERVER_SECRET: 'ab'.repeat(32),
      DATABASE_POOL_SIZE: '20',
      RATE_LIMIT_PER_MINUTE: '30',
      QUICK_EXIT_URL: 'https://www.google.co.uk/',
      ROUTING_POLICY: 'policy/met.json',
    },
    cwd,
  )
  t.equal(config.host, '0.0.0.0')
  t.equal(config.port, 8080)
  t.equal(config.databaseUrl, 'postgres://portal@db.internal:5432/portal')
  t.equal(config.databaseMigrationUrl, 'postgresql://owner:secret@db.internal/portal')
  t.equal(config.dataDir, '/var/lib/portal')
  t.equal(config.publicOrigin, 'https://portal.example.org')
  t.equal(config.secureCookies, true)
  t.same(config.trustProxy, ['10.0.0.0/8', '192.168.1.4'])
  t.equal(config.logLevel, 'warn')
  t.equal(config.serverSecretGenerated, false)
  t.equal(config.serverSecret.toString('hex'), 'ab'.repeat(32))
  t.equal(config.databasePoolSize, 20)
  t.equal(config.rateLimitPerMinute, 30)
  t.equal(config.quickExitUrl, 'https://www.google.co.uk/')
  t.equal(config.routingPolicyPath, '/srv/portal/policy/met.json', 'relative to the working folder')
})

t.test('the migration role defaults to the application role', async (t) => {
  const config = loadConfig({ DATABASE_URL: 'postgres://portal@localhost/portal', SERVER_SECRET: 'ab'.repeat(32) }, cwd)
  t.equal(config.databaseMigrationUrl, 'postgres://portal@localhost/portal')
})

t.test('TRUST_PROXY accepts a hop count', async (t) => {
  t.equal(loadConfig({ TRUST_PROXY: '2', PUBLIC_ORIGIN: 'https://portal.example.org' }, cwd).trustProxy, 2)
  t.equal(loadConfig({ TRUST_PROXY: 'false' }, cwd).trustProxy, false)
})

const ONION = 'http://vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion'

t.test('reachable from other machines or behind a proxy, PUBLIC_ORIGIN must be https (or .onion)', async (t) => {
  const refused: Array<[Record<string, string>, RegExp]> = [
    [{ HOST: '0.0.0.0' }, /reached from other machines \(HOST 0\.0\.0\.0\)/],
    [{ HOST: '::' }, /reached from other machines \(HOST ::\)/],
    [{ HOST: '10.0.1.20', PUBLIC_ORIGIN: 'http://10.0.1.20:3000' }, /HOST 10\.0\.1\.20/],
    [{ HOST: 'portal.internal', PUBLIC_ORIGIN: 'http://portal.internal:3000' }, /HOST portal\.internal/],
    [{ HOST: '0.0.0.0', PUBLIC_ORIGIN: 'http://disclose.example.org' }, /reached from other machines/],
    [{ HOST: '0.0.0.0', PUBLIC_ORIGIN: 'http://onion.example.org' }, /reached from other machines/],
    [{ HOST: '0.0.0.0', PUBLIC_ORIGIN: 'http://example.onion.example.org' }, /reached from other machines/],
    [{ TRUST_PROXY: '1' }, /behind a proxy \(TRUST_PROXY is set\)/],
    [{ TRUST_PROXY: '127.0.0.1', PUBLIC_ORIGIN: 'http://127.0.0.1:3000' }, /behind a proxy/],
    [{ HOST: '0.0.0.0', TRUST_PROXY: '10.0.1.5', PUBLIC_ORIGIN: 'http://disclose.example.org' }, /behind a proxy/],
  ]
  for (const [env, why] of refused) {
    const error = t.throws(() => loadConfig(env, cwd), `${JSON.stringify(env)}: refused`) as ConfigError
    if (!(error instanceof ConfigError)) continue
    t.equal(error.variable, 'PUBLIC_ORIGIN', `${JSON.stringify(env)}: names PUBLIC_ORIGIN`)
    t.ok(error.message.startsWith('PUBLIC_ORIGIN must be an https:// address'), 'says what is wrong')
    t.match(error.message, why, 'says why')
    t.match(error.message, /set PUBLIC_ORIGIN to the address people use, such as https:\/\/disclose\.example\.org/, 'says what to set')
    t.notMatch(error.message, /\n/, 'one line')
  }

  const allowed: Array<[Record<string, string>, boolean]> = [
    [{}, false],
    [{ HOST: '127.0.0.1' }, false],
    [{ HOST: '127.0.0.2', PUBLIC_ORIGIN: 'http://127.0.0.2:3000' }, false],
    [{ HOST: '::1' }, false],
    [{ HOST: '0:0:0:0:0:0:0:1' }, false],
    [{ HOST: 'localhost' }, false],
    [{ HOST: 'LocalHost', PUBLIC_ORIGIN: 'http://localhost:3000' }, false],
    [{ HOST: '0.0.0.0', PUBLIC_ORIGIN: 'https://disclose.example.org' }, true],
    [{ HOST: '::', PUBLIC_ORIGIN: 'https://disclose.example.org' }, true],
    [{ TRUST_PROXY: '10.0.1.5', PUBLIC_ORIGIN: 'https://disclose.example.org' }, true],
    [{ HOST: '0.0.0.0', PUBLIC_ORIGIN: ONION }, false],
    [{ HOST: '0.0.0.0', TRUST_PROXY: '1', PUBLIC_ORIGIN: `${ONION}:8080` }, false],
  ]
  for (const [env, secure] of allowed) {
    const config = loadConfig(env, cwd)
    t.equal(config.secureCookies, secure, `${JSON.stringify(env)}: starts, ${secure ? 'with' : 'without'} Secure cookies`)
  }
})

const bad: Array<[Record<string, string>, string, RegExp]> = [
  [{ PORT: 'abc' }, 'PORT', /whole number from 0 to 65535/],
  [{ PORT: '70000' }, 'PORT', /whole number/],
  [{ PORT: '-1' }, 'PORT', /whole number/],
  [{ HOST: 'not a host!' }, 'HOST', /IP address or host name/],
  [{ DATABASE_URL: 'mysql://x@y/z' }, 'DATABASE_URL', /postgres:\/\//],
  [{ DATABASE_URL: 'not a url' }, 'DATABASE_URL', /must be a URL/],
  [{ DATABASE_URL: 'postgres://user@host' }, 'DATABASE_URL', /must name a database/],
  [{ DATABASE_MIGRATION_URL: 'postgres://o@h/d' }, 'DATABASE_MIGRATION_URL', /together with DATABASE_URL/],
  [{ PUBLIC_ORIGIN: 'portal.example.org' }, 'PUBLIC_ORIGIN', /origin/],
  [{ PUBLIC_ORIGIN: 'https://portal.example.org/app' }, 'PUBLIC_ORIGIN', /no path/],
  [{ PUBLIC_ORIGIN: 'ftp://portal.example.org' }, 'PUBLIC_ORIGIN', /https/],
  [{ TRUST_PROXY: 'maybe' }, 'TRUST_PROXY', /false, a number/],
  [{ TRUST_PROXY: 'true' }, 'TRUST_PROXY', /cannot be true \(any client could then choose its own address\)/],
  [{ TRUST_PROXY: '10.0.0.0/99' }, 'TRUST_PROXY', /CIDR/],
  [{ TRUST_PROXY: '0' }, 'TRUST_PROXY', /hops from 1 to 10/],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of fatal, error, warn, info, debug, trace, silent/],
  [{ SERVER_SECRET: 'short' }, 'SERVER_SECRET', /at least 32 random bytes/],
  [{ DATABASE_URL: 'postgres://portal@db/portal' }, 'SERVER_SECRET', /is required with DATABASE_URL/],
  [{ DEMO: 'yes' }, 'DEMO', /true or false/],
  [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE', /from 1 to 200/],
  [{ RATE_LIMIT_PER_MINUTE: 'lots' }, 'RATE_LIMIT_PER_MINUTE', /whole number/],
  [{ QUICK_EXIT_URL: 'javascript:alert(1)' }, 'QUICK_EXIT_URL', /http/],
  [{ BANK_HOLIDAYS: 'wales' }, 'BANK_HOLIDAYS', /england-and-wales, scotland/],
  [{ SERVICE_PHONE: 'call us' }, 'SERVICE_PHONE', /digits and spaces/],
  [{ TIME_ZONE: 'London' }, 'TIME_ZONE', /time zone name such as Europe\/London/],
  [{ RETENTION_CLOSED_DISCLOSURE_DAYS: '0' }, 'RETENTION_CLOSED_DISCLOSURE_DAYS', /from 1 to 3650/],
  [{ RETENTION_JOB: 'sometimes' }, 'RETENTION_JOB', /true or false/],
  [{ ALERT_EMAIL_TO: 'team@example.org' }, 'ALERT_SMTP_URL', /is needed for ALERT_EMAIL_FROM and ALERT_EMAIL_TO/],
  [{ ALERT_SMTP_URL: 'https://mail.example.org', ALERT_EMAIL_FROM: 'a@example.org', ALERT_EMAIL_TO: 'b@example.org' }, 'ALERT_SMTP_URL', /smtp:\/\/ or smtps:\/\//],
  [{ ALERT_SMTP_URL: 'smtps://mail.example.org', ALERT_EMAIL_TO: 'b@example.org' }, 'ALERT_EMAIL_FROM', /one address/],
  [{ ALERT_SMTP_URL: 'smtps://mail.example.org', ALERT_EMAIL_FROM: 'a@example.org', ALERT_EMAIL_TO: 'team, b@example.org' }, 'ALERT_EMAIL_TO', /team address/],
  [{ ALERT_SMTP_URL: 'smtps://mail.example.org', ALERT_EMAIL_FROM: 'a@example.org', ALERT_EMAIL_TO: 'b@example.org', ALERT_EMAIL_MINUTES: '1' }, 'ALERT_EMAIL_MINUTES', /from 5 to 1440/],
  [{ SERVICE_PHONE: '0300 123 4567', SERVICE_HOURS: '<b>always</b>' }, 'SERVICE_HOURS', /without < or >/],
  [{ SERVICE_HOURS: '9 to 5' }, 'SERVICE_HOURS', /needs SERVICE_PHONE/],
  [{ SERVICE_MEETING: 'x'.repeat(241) }, 'SERVICE_MEETING', /at most 240/],
]

t.test('alert emails: off by default; on, the team addresses and the interval', async (t) => {
  t.equal(loadConfig({}, cwd).alertEmail, null)
  const alert = loadConfig({ ALERT_SMTP_URL: 'smtps://user:secret@mail.example.org:465', ALERT_EMAIL_FROM: 'portal@example.org', ALERT_EMAIL_TO: 'team@example.org, duty@example.org' }, cwd).alertEmail
  t.same(alert, { smtpUrl: 'smtps://user:secret@mail.example.org:465', from: 'portal@example.org', to: ['team@example.org', 'duty@example.org'], everyMinutes: 30 })
  const error = t.throws(() => loadConfig({ ALERT_SMTP_URL: 'smtps://user:secret@mail.example.org:465', ALERT_EMAIL_FROM: 'portal@example.org' }, cwd)) as ConfigError
  t.notMatch(error.message, /secret/, 'the mail server\'s password is never repeated')
})

t.test('the IDVA service\'s phone line, hours and offer to meet: optional, checked, kept as written', async (t) => {
  t.equal(loadConfig({}, cwd).serviceContact, null, 'none by default: the pages show no phone line')
  const contact = loadConfig({ SERVICE_PHONE: ' 0300 123 4567 ', SERVICE_HOURS: 'Monday to Friday, 9am to 5pm', SERVICE_MEETING: 'An IDVA can meet you away from work.' }, cwd).serviceContact
  t.same(contact, { phone: '0300 123 4567', hours: 'Monday to Friday, 9am to 5pm', meeting: 'An IDVA can meet you away from work.' })
  t.same(loadConfig({ SERVICE_MEETING: 'We can meet you.' }, cwd).serviceContact, { phone: null, hours: null, meeting: 'We can meet you.' })
})

for (const [env, variable, message] of bad) {
  t.test(`${variable}=${Object.values(env)[0]} is refused with one line naming it`, async (t) => {
    const error = t.throws(() => loadConfig(env, cwd)) as ConfigError
    t.type(error, ConfigError)
    t.equal(error.variable, variable)
    t.ok(error.message.startsWith(`${variable} `), 'the message starts with the variable name')
    t.match(error.message, message)
    t.notMatch(error.message, /\n/, 'one line')
  })
}

t.test('secrets and passwords are never repeated in error messages', async (t) => {
  const secret = 'tooShortButSecret'
  const error = t.throws(() => loadConfig({ SERVER_SECRET: secret }, cwd)) as Error
  t.notMatch(error.message, secret)
  const url = 'postgres://user:hunter2@host/db?sslmode=bad'
  const schemeError = t.throws(() => loadConfig({ DATABASE_URL: url.replace('postgres', 'mysql') }, cwd)) as Error
  t.notMatch(schemeError.message, 'hunter2')
})

t.test('empty values count as unset', async (t) => {
  const config = loadConfig({ PORT: '', DATABASE_URL: '  ', LOG_LEVEL: '' }, cwd)
  t.equal(config.port, 3000)
  t.equal(config.databaseUrl, null)
  t.equal(config.logLevel, 'info')
})
