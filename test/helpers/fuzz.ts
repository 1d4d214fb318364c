import fc from 'fast-check'
import type { FastifyInstance, HTTPMethods, InjectOptions, LightMyRequestResponse } from 'fastify'
import { randomBytes, randomUUID } from 'node:crypto'
import { connect } from 'node:net'
import type { KeySet, PublicKeySet } from '../../crypto/keys.ts'
import type { Role } from '../../server/db/schema.ts'
import { loadGuidance } from '../../server/features/managers/guidance.ts'
import type { Access } from '../../server/plugins/staff-auth.ts'
import { seedAccount, seedGrant, seedService, seedUnit, type SeededStaff } from '../../scripts/lib/staff-fixtures.ts'
import { disclosureBody, encryptedFile, newReporter, openCase, servicePublic, submit, type Reporter } from './reporter.ts'
import { cookieName, sessionFor } from './staff.ts'

/**
 * Malformed requests to every route the portal serves, for the fuzz test (test/integration/
 * fuzz.test.ts) and `npm run bench:fuzz`: wrong types, huge and empty fields, broken JSON, forms and
 * multipart, bad UTF-8, odd and duplicated headers, wrong lengths and encodings, wrong methods, path
 * parameters that climb, are very long or are not UTF-8, and query strings; as nobody, as a reporter
 * signed in at /return, and as a signed-in member of staff of each role, with and without the right
 * CSRF token. And raw bytes over a socket, for what the HTTP parser itself refuses.
 *
 * Every request carries a marker (in its user agent, and in whatever else was generated): the logs
 * must never hold it, nor the address the request came from.
 */

export interface RouteRef {
  readonly method: string
  readonly url: string
}

export const routeKey = (route: RouteRef): string => `${route.method} ${route.url}`

/**
 * Every route the app serves (HEAD aside: it is tried as another method of its GET), read from its
 * own routing tree, so a route added tomorrow is fuzzed without anyone listing it here.
 */
export function routesOf(app: FastifyInstance): RouteRef[] {
  // Each line is "<indent>├── <segment> (METHODS)"; a route's path is its ancestors' segments joined.
  const segments: string[] = []
  const routes: RouteRef[] = []
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:[│ ] {3})*)[├└]── (.+?)(?: \(([A-Z, ]+)\))?$/.exec(line)
    if (match === null) continue
    segments.length = match[1]!.length / 4
    segments.push(match[2]!)
    for (const method of (match[3] ?? '').split(', ')) {
      if (method !== '' && method !== 'HEAD') routes.push({ method, url: segments.join('') })
    }
  }
  for (const route of routes) {
    if (!app.hasRoute({ method: route.method as HTTPMethods, url: route.url })) throw new Error(`the routing tree was misread: ${routeKey(route)}`)
  }
  return routes
}

/** Counts requests that passed every hook (rate limit, session, access, CSRF, body parsing) and reached a route's handler. */
export function installReachCounter(app: FastifyInstance): () => number {
  let reached = 0
  app.addHook('preHandler', async (request) => {
    if (!request.is404) reached += 1
  })
  return () => reached
}

type Identity = 'none' | 'reporter' | Role | 'half-enrolled' | 'ended'
type CsrfMode = 'right' | 'missing' | 'wrong' | 'in-body'

interface FuzzBody {
  readonly kind: string
  readonly contentType: string | null
  readonly data: string | Buffer
}

export interface FuzzRequest {
  readonly method: string
  readonly url: string
  readonly identity: Identity
  readonly csrf: CsrfMode
  readonly headers: Readonly<Record<string, string | readonly string[]>>
  readonly body: FuzzBody | null
  readonly address: string
  /** Deliver the body in two chunks (light-my-request's simulate.split). */
  readonly split: boolean
}

export interface FuzzWorld {
  readonly app: FastifyInstance
  /** Planted in every request; must appear in no log line. */
  readonly marker: string
  readonly routes: readonly RouteRef[]
  /** Real values for path parameters, so that some requests get past "no such case" into the handler's checks. */
  readonly realParams: Readonly<Record<string, readonly string[]>>
  readonly staffAccess: ReadonlyMap<string, Access>
  readonly members: Readonly<Record<Role, SeededStaff>>
  /** Realistic bodies (a submission, a return sign-in, a message, a sign-in) for the fuzz to break one field of. */
  readonly templates: readonly Record<string, unknown>[]
  readonly service: PublicKeySet
  /** A real encrypted evidence file, for the fuzz to flip, cut or lengthen. */
  readonly evidence: Buffer
  /** The case the reporter's sessions open; replaced when a fuzzed request withdraws it. */
  returning: Reporter
}

const ROLES: readonly Role[] = ['idva_lead', 'idva', 'investigator', 'admin']

/**
 * Seeds what the routes name (the IDVA service, a unit, a member of each role, a case) and returns
 * the world the generators draw from. The members the fuzz signs in as are never the ones its path
 * parameters name: an administrator's route may disable "the account" it is given, and that must
 * not be the account the next request signs in with.
 */
export async function prepareFuzzWorld(app: FastifyInstance, serviceKeys: KeySet): Promise<FuzzWorld> {
  const db = app.database.db
  const secret = app.config.serverSecret
  const service = await seedService(db, { keys: serviceKeys })
  const unit = (await seedUnit(db, { id: 'fuzz-dps', track: 'misconduct', force: 'Metropolitan Police Service', name: 'Directorate of Professional Standards' }))!
  const targetUnit = (await seedUnit(db, { id: 'fuzz-target', track: 'criminal', force: 'Metropolitan Police Service', name: 'North Area safeguarding' }))!
  const members = {
    idva_lead: await seedAccount(db, secret, { username: 'fuzz.lead', role: 'idva_lead', groupId: service.id }),
    idva: await seedAccount(db, secret, { username: 'fuzz.idva', role: 'idva', groupId: service.id }),
    investigator: await seedAccount(db, secret, { username: 'fuzz.investigator', role: 'investigator', groupId: unit.id }),
    admin: await seedAccount(db, secret, { username: 'fuzz.admin', role: 'admin' }),
  }
  await seedGrant(db, members.idva_lead, service)
  await seedGrant(db, members.idva, service)
  await seedGrant(db, members.investigator, unit)
  const target = await seedAccount(db, secret, { username: 'fuzz.target', role: 'investigator', groupId: targetUnit.id })
  const reporter = await newReporter()
  const submitted = await submit(app, await disclosureBody(reporter, servicePublic(service.keys)))
  if (submitted.statusCode !== 201) throw new Error(`could not seed a case: ${submitted.statusCode} ${submitted.body}`)
  const reportTemplate = await disclosureBody(await newReporter(), servicePublic(service.keys))
  const marker = `fuzzmark${randomBytes(6).toString('hex')}`
  const staffAccess = new Map(app.staffRoutes.map((route) => [routeKey(route), route.access]))
  return {
    app,
    marker,
    routes: routesOf(app),
    staffAccess,
    service: servicePublic(service.keys),
    evidence: Buffer.from((await encryptedFile(Buffer.from(`evidence ${marker}`))).encrypted),
    returning: reporter,
    members,
    realParams: {
      caseId: [reporter.caseId],
      accountId: [target.id],
      unitId: [targetUnit.id],
      groupId: [service.id, unit.id],
      slug: loadGuidance().map((guide) => guide.slug),
      step: ['1', '2', '3'],
      token: [randomBytes(32).toString('base64url')],
      invitationId: [randomUUID()],
      referralId: [randomUUID()],
      evidenceId: [randomUUID()],
      fileId: [randomUUID()],
      id: [randomUUID()],
    },
    templates: [
      reportTemplate,
      { challenge: randomBytes(48).toString('base64url'), lookupId: randomBytes(16).toString('base64url'), signature: randomBytes(64).toString('base64url') },
      { messageId: randomUUID(), envelope: reportTemplate.envelope, seq: 2, uploads: [{ id: randomUUID(), token: randomBytes(32).toString('base64url') }] },
      { username: 'fuzz.idva', verifier: randomBytes(32).toString('base64url'), code: '123456' },
      { status: 'in_contact', owner: members.idva.id, opened: 1, failed: 0, confirmed: false },
    ],
  }
}

// ---- generators ------------------------------------------------------------------------------

/** Names the portal's routes read from a body or a query, so that some wrong values land where a handler looks. */
const FIELDS = [
  'caseId', 'lookupId', 'authPublic', 'replyPublic', 'messageId', 'envelope', 'uploads', 'urgency', 'puzzle', 'challenge', 'nonce', 'signature',
  'seq', 'confirmed', 'username', 'verifier', 'currentVerifier', 'code', 'passphrase', 'salt', 'opsLimit', 'memLimit', 'member', 'wrappedKeys',
  'wrapped', 'ticket', 'token', 'id', 'kind', 'role', 'track', 'unitId', 'groupId', 'accountId', 'referralId', 'recordId', 'updateId', 'generation',
  'grants', 'groupGrant', 'serviceGrant', 'certificate', 'serviceCertificate', 'previousKeysSealed', 'packages', 'routing', 'serviceName',
  'riskLevel', 'status', 'owner', 'opened', 'failed', 'action', 'after', 'groupKeys', 'maracReferred', 'overdue', 'risk', 'serviceGeneration',
  'set', 'ts', '_csrf', 'signed-out', 'filter', 'page', 'q', 'name', 'email', 'reason', 'text',
] as const

const OBJECT_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''] as const

/** One character a header may carry: visible ASCII, space, tab, or a byte above 0x7F (which is not UTF-8 on its own). */
const headerChar = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) },
  { weight: 1, arbitrary: fc.constant(0x09) },
).map((code) => String.fromCharCode(code))

/** Byte sequences that are not UTF-8: stray continuations, overlong forms, surrogates, bytes that never occur. */
const BAD_UTF8 = [[0xc3, 0x28], [0xa0, 0xa1], [0xe2, 0x28, 0xa1], [0xf0, 0x28, 0x8c, 0xbc], [0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]

/** Lone surrogates replaced, for what has to be percent-encoded as UTF-8. */
const wellFormed = (s: string) => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')

const STANDARD_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
const ODD_METHODS = ['TRACE', 'PROPFIND', 'SEARCH', 'LOCK', 'M-SEARCH', 'PURGE', 'MKCOL'] as const

function generators(world: FuzzWorld) {
  const { marker } = world
  const filler = (length: number) => marker.repeat(Math.ceil(length / marker.length)).slice(0, Math.max(length, marker.length))

  /** Text with the marker in it: short, unicode (lone surrogates and direction overrides too), long, or base64url-like. */
  const text = fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength: 20 }).map((s) => `${s}${marker}`) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((s) => `${marker}${s}`) },
    { weight: 1, arbitrary: fc.constantFrom('\u202e', '\u0000', '\ud800', '\udfff', '\ufeff', '\u200b', 'é', '\r\n', '%00', '../../').map((s) => `${s}${marker}${s}`) },
    { weight: 1, arbitrary: fc.integer({ min: 200, max: 5000 }).map(filler) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 80 }).map((bytes) => `${marker}${Buffer.from(bytes).toString('base64url')}`) },
  )
  const key = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...FIELDS) }, { weight: 1, arbitrary: fc.constantFrom(...OBJECT_KEYS) }, { weight: 1, arbitrary: text })

  /** Any JSON value, each string marked: wrong types wherever a field is expected. */
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      text,
      fc.constantFrom('', ' ', 'true', '1', 'null', '[]', '{}'),
      fc.integer(),
      fc.constantFrom(0, -1, 1.5, 2 ** 53 + 1, -(2 ** 31), 1e308, -1e-308, Number.MAX_SAFE_INTEGER),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => ({ entries })),
    ),
  }))

  /** JSON text by hand, so that objects can carry duplicate keys and an own "__proto__". */
  const json = (input: unknown): string => {
    if (input !== null && typeof input === 'object' && 'entries' in input && Array.isArray((input as { entries: unknown }).entries)) {
      return `{${((input as { entries: [string, unknown][] }).entries).map(([name, item]) => `${JSON.stringify(name)}:${json(item)}`).join(',')}}`
    }
    if (Array.isArray(input)) return `[${input.map(json).join(',')}]`
    return JSON.stringify(input) ?? 'null'
  }

  const jsonObject = fc.array(fc.tuple(key, value), { maxLength: 8 }).map((entries) => json({ entries }))

  /** A realistic body with one field replaced by a wrong value, or removed. */
  const brokenTemplate = fc.tuple(fc.constantFrom(...world.templates), fc.nat(), fc.option(value, { freq: 4 })).map(([template, pick, replacement]) => {
    const entries = Object.entries(template)
    const index = pick % entries.length
    const kept = replacement === null ? entries.filter((_, i) => i !== index) : entries.map((entry, i): [string, unknown] => (i === index ? [entry[0], replacement] : entry))
    return json({ entries: [...kept, ['note', marker]] })
  })

  const jsonType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json; charset=utf-16le', 'application/json;;', 'application/vnd.api+json', 'application/json, text/plain')
  const oddType = fc.oneof(
    fc.constantFrom('', ';', 'text/plain', 'text/html', 'application/xml', '*/*', 'application/octet-stream', 'multipart/form-data', 'multipart/mixed; boundary=x', 'application/x-www-form-urlencoded; charset=latin1', 'image/png', 'application/json; boundary=x; charset=x'),
    fc.string({ unit: headerChar, maxLength: 30 }).map((s) => `${s}/${marker}`),
  )

  const mutations = ['truncate', 'insert', 'bom', 'trailing', 'quote', 'nest', 'number', 'comment'] as const
  const brokenJson = fc.tuple(fc.oneof(jsonObject, brokenTemplate), fc.constantFrom(...mutations), fc.nat(), fc.string({ maxLength: 8 }), fc.integer({ min: 1, max: 200_000 })).map(([source, mutation, at, junk, depth]) => {
    const position = source.length === 0 ? 0 : at % source.length
    switch (mutation) {
      case 'truncate':
        return source.slice(0, position)
      case 'insert':
        return `${source.slice(0, position)}${junk}${marker}${source.slice(position)}`
      case 'bom':
        return `\ufeff${source}`
      case 'trailing':
        return `${source},${marker}`
      case 'quote':
        return source.replace(/"/g, "'")
      case 'nest':
        return `${'['.repeat(depth)}"${marker}"${']'.repeat(depth % 3 === 0 ? 0 : depth)}`
      case 'number':
        return `{"seq":1e999999,"${marker}":-}`
      case 'comment':
        return `/* ${marker} */${source}`
    }
  })

  const badUtf8 = fc.tuple(fc.oneof(jsonObject, brokenTemplate), fc.nat(), fc.constantFrom(...BAD_UTF8), fc.uint8Array({ maxLength: 16 })).map(([source, at, bad, random]) => {
    // Inside a string value where one can be found, so the parser has to decode it.
    const quote = source.indexOf('"', at % Math.max(1, source.length))
    const position = quote < 0 ? source.length : quote + 1
    return Buffer.concat([Buffer.from(source.slice(0, position)), Buffer.from(bad), Buffer.from(random), Buffer.from(marker), Buffer.from(source.slice(position))])
  })

  const formPart = fc.oneof(
    { weight: 4, arbitrary: text.map((s) => encodeURIComponent(wellFormed(s))) },
    { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%c3%28', '%ed%a0%80', '+', '', '=', '&', '%00', `${marker}[0]`, `a[${marker}]`) },
  )
  const form = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), formPart), formPart), { maxLength: 8 }).map((pairs) => [...pairs, ['note', marker]].map(([name, item]) => `${name}=${item}`).join('&'))

  const multipart = fc.tuple(fc.constantFrom(marker, '', 'x'.repeat(80)), fc.array(fc.tuple(key, text), { maxLength: 4 }), fc.constantFrom('whole', 'no-end', 'wrong-boundary', 'no-crlf', 'headers-only')).map(([boundary, parts, broken]) => {
    const used = broken === 'wrong-boundary' ? `${boundary}x` : boundary
    const body = parts.map(([name, item]) => `--${used}\r\nContent-Disposition: form-data; name="${name}"${broken === 'no-crlf' ? '' : '\r\n\r\n'}${item}\r\n`).join('')
    return {
      contentType: boundary === '' ? 'multipart/form-data' : `multipart/form-data; boundary=${boundary}`,
      data: broken === 'headers-only' ? `--${used}\r\nContent-Disposition: form-data; name="${marker}"\r\n` : `${body}${broken === 'no-end' ? '' : `--${used}--\r\n`}`,
    }
  })

  /** The real encrypted file with a byte flipped, cut short or run on: it passes the checks made on the headers. */
  const evidence = fc.tuple(fc.constantFrom('flip', 'cut', 'extend', 'as-is'), fc.nat(), fc.integer({ min: 1, max: 255 })).map(([change, at, by]) => {
    const bytes = Buffer.from(world.evidence)
    const position = at % bytes.length
    if (change === 'flip') bytes[position] = bytes[position]! ^ by
    return change === 'cut' ? bytes.subarray(0, position) : change === 'extend' ? Buffer.concat([bytes, Buffer.from(marker)]) : bytes
  })

  const body: fc.Arbitrary<FuzzBody> = fc.oneof(
    { weight: 1, arbitrary: evidence.map((data) => ({ kind: 'evidence', contentType: 'application/octet-stream', data })) },
    { weight: 5, arbitrary: fc.tuple(jsonObject, jsonType).map(([data, contentType]) => ({ kind: 'json', contentType, data })) },
    { weight: 4, arbitrary: fc.tuple(brokenTemplate, jsonType).map(([data, contentType]) => ({ kind: 'template', contentType, data })) },
    { weight: 2, arbitrary: value.map((data) => ({ kind: 'json-not-object', contentType: 'application/json', data: json(Array.isArray(data) || typeof data !== 'object' || data === null ? data : [data]) })) },
    { weight: 3, arbitrary: fc.tuple(brokenJson, jsonType).map(([data, contentType]) => ({ kind: 'broken-json', contentType, data })) },
    { weight: 2, arbitrary: fc.tuple(badUtf8, fc.oneof(jsonType, fc.constant('application/x-www-form-urlencoded'))).map(([data, contentType]) => ({ kind: 'bad-utf8', contentType, data })) },
    { weight: 2, arbitrary: form.map((data) => ({ kind: 'form', contentType: 'application/x-www-form-urlencoded', data })) },
    { weight: 1, arbitrary: multipart.map((part) => ({ kind: 'multipart', ...part })) },
    { weight: 1, arbitrary: fc.tuple(fc.uint8Array({ maxLength: 4096 }), fc.oneof(fc.constant('application/octet-stream'), oddType)).map(([bytes, contentType]) => ({ kind: 'bytes', contentType, data: Buffer.concat([Buffer.from(bytes), Buffer.from(marker)]) })) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 100_000, max: 1_800_000 }), fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'application/octet-stream')).map(([size, contentType]) => ({ kind: 'huge', contentType, data: contentType === 'application/json' ? `{"envelope":"${filler(size)}"}` : contentType.endsWith('urlencoded') ? `envelope=${filler(size)}` : filler(size) })) },
    { weight: 1, arbitrary: fc.tuple(fc.oneof(jsonType, oddType), fc.constantFrom('', ' ', '\r\n')).map(([contentType, data]) => ({ kind: 'empty', contentType, data })) },
    { weight: 1, arbitrary: fc.tuple(jsonObject, oddType).map(([data, contentType]) => ({ kind: 'odd-type', contentType, data })) },
    { weight: 1, arbitrary: jsonObject.map((data) => ({ kind: 'no-type', contentType: null, data })) },
  )

  const headerText = fc.oneof(
    { weight: 5, arbitrary: fc.string({ unit: headerChar, maxLength: 40 }).map((s) => `${s}${marker}`) },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 60_000 }).map(filler) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', ',', ';', '"', '\t') },
  )

  /** One header line; several of the same name are duplicates (light-my-request joins them as Node does). */
  const header: fc.Arbitrary<[string, string]> = fc.oneof(
    fc.tuple(fc.constant('accept'), fc.oneof(fc.constantFrom('text/html', 'application/json', '*/*', 'text/html;q=0, */*;q=0.1', 'image/*'), headerText)),
    fc.tuple(fc.constant('hx-request'), fc.oneof(fc.constantFrom('true', 'false'), headerText)),
    fc.tuple(fc.constant('origin'), fc.oneof(fc.constantFrom(world.app.config.publicOrigin, 'null', 'https://elsewhere.example', `${world.app.config.publicOrigin}/`), headerText)),
    fc.tuple(fc.constant('sec-fetch-site'), fc.oneof(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none', ''), headerText)),
    fc.tuple(fc.constant('cookie'), fc.oneof(headerText, fc.constantFrom(`sd_session=${marker}`, `sd_case=${marker}`, `sd_session=%E0%A4%A; sd_case=${'%'.repeat(9)}`, `=${marker}`, `${marker}`, `sd_session=${'A'.repeat(43)}`))),
    fc.tuple(fc.constant('x-csrf-token'), headerText),
    fc.tuple(fc.constant('x-forwarded-for'), fc.constantFrom(`${marker}, 10.99.99.99`, '10.99.99.98', 'unknown', '::1')),
    fc.tuple(fc.constant('host'), fc.oneof(headerText, fc.constantFrom('', 'localhost:0', '[::1', 'a:b:c', `${marker}:99999`))),
    fc.tuple(fc.constant('content-length'), fc.constantFrom('abc', '-1', '0', '1', '99999999999999999999', '1.5', ' 5', '0x10', '')),
    fc.tuple(fc.constant('transfer-encoding'), fc.constantFrom('chunked', 'gzip, chunked', 'identity', 'chunked, chunked', marker)),
    fc.tuple(fc.constant('content-encoding'), fc.constantFrom('gzip', 'br', 'deflate', 'identity', marker)),
    fc.tuple(fc.constant('content-type'), oddType),
    fc.tuple(fc.constantFrom('referer', 'authorization', 'x-requested-with', 'if-none-match', 'forwarded', 'user-agent'), headerText),
    fc.tuple(fc.constant('range'), fc.constantFrom('bytes=0-10', 'bytes=-1', 'bytes=abc', 'bytes=0-0,1-1,2-2', `bytes=${marker}`)),
    fc.tuple(fc.constant('expect'), fc.constantFrom('100-continue', marker)),
    fc.tuple(fc.constant(`x-${marker}`), headerText),
  )

  const segment = (name: string) => {
    const real = world.realParams[name] ?? [randomUUID()]
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...real) },
      { weight: 1, arbitrary: fc.uuid() },
      { weight: 1, arbitrary: fc.constantFrom('..', '.', '%2e%2e', '..%2f..%2fetc%2fpasswd', '%00', '%ZZ', '%', '%C3%28', '%ED%A0%80', '%F0%9F%92%A9', '-1', '0', '1e3', 'NaN', 'Infinity', '0x10', '1.5', '%20', '__proto__').map((s) => `${s}${marker}`) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }).map((s) => encodeURIComponent(`${wellFormed(s)}${marker}`)) },
      { weight: 1, arbitrary: fc.integer({ min: 150, max: 5000 }).map(filler) },
    )
  }

  const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), formPart), formPart), { minLength: 1, maxLength: 5 }).map((pairs) => `?${pairs.map(([name, item]) => `${name}=${item}`).join('&')}&m=${marker}`)

  const address = fc.oneof(
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 })).map(([a, b, c]) => `10.${a}.${b}.${c}`),
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 7, maxLength: 7 }).map((groups) => `fd5a:${groups.map((group) => group.toString(16)).join(':')}`),
    fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 })).map(([a, b]) => `::ffff:10.${a}.77.${b}`),
  )

  return { body, header, segment, query, address }
}

/** Who a request is sent as, weighted towards those the route lets in, so most requests get past the door. */
function identities(world: FuzzWorld, route: RouteRef): fc.Arbitrary<Identity> {
  const access = world.staffAccess.get(routeKey(route))
  const everyone: Identity[] = ['none', 'reporter', ...ROLES, 'half-enrolled', 'ended']
  const welcome: Identity[] = route.url.startsWith('/return') ? ['reporter'] : access === undefined || access === 'public' ? ['none'] : [...access.roles]
  return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...welcome) }, { weight: 1, arbitrary: fc.constantFrom(...everyone) })
}

function concretePath(world: FuzzWorld, url: string, pick: (name: string) => string): string {
  return url.replace(/:([A-Za-z]+)/g, (_, name: string) => pick(name))
}

/** The malformed requests for one route. */
export function requestsFor(world: FuzzWorld, route: RouteRef): fc.Arbitrary<FuzzRequest> {
  const g = generators(world)
  const names = [...route.url.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1]!)
  const params = fc.tuple(...names.map((name) => g.segment(name)))
  const method = fc.oneof({ weight: 17, arbitrary: fc.constant(route.method) }, { weight: 2, arbitrary: fc.constantFrom(...STANDARD_METHODS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_METHODS) })
  const pathShape = fc.constantFrom('as-is', 'as-is', 'as-is', 'as-is', 'as-is', 'as-is', 'trailing-slash', 'double-slash', 'upper-case', 'dot-segment', 'encoded-slash', 'extra-segment')
  return fc
    .record({
      method,
      values: params,
      shape: pathShape,
      query: fc.option(g.query, { freq: 3 }),
      identity: identities(world, route),
      csrf: fc.constantFrom<CsrfMode>('right', 'right', 'right', 'right', 'right', 'missing', 'wrong', 'in-body'),
      headers: fc.array(g.header, { maxLength: 4 }),
      body: fc.option(g.body, { freq: route.method === 'GET' ? 6 : 12, nil: null }),
      address: g.address,
      split: fc.boolean(),
    })
    .map(({ method, values, shape, query, identity, csrf, headers, body, address, split }) => {
      let index = 0
      let path = concretePath(world, route.url, () => values[index++]!)
      if (shape === 'trailing-slash') path = `${path}/`
      else if (shape === 'double-slash') path = path.replace('/', '//')
      else if (shape === 'upper-case') path = path.toUpperCase()
      else if (shape === 'dot-segment') path = `${path}/../${world.marker}`
      else if (shape === 'encoded-slash') path = path.replace(/\/(?=[^/]*$)/, '%2F')
      else if (shape === 'extra-segment') path = `${path}/${world.marker}`
      const grouped: Record<string, string[]> = {}
      for (const [name, item] of headers) (grouped[name] ??= []).push(item)
      return {
        method,
        url: `${path}${query ?? ''}`,
        identity,
        csrf,
        headers: Object.fromEntries(Object.entries(grouped).map(([name, items]) => [name, items.length === 1 ? items[0]! : items])),
        body,
        address,
        split,
      }
    })
}

/**
 * Requests each route's handler should be reached by: its own method, from someone it lets in, with
 * a JSON object, and (for the upload route) an encrypted file with one byte changed.
 */
export function welcomeRequests(world: FuzzWorld, route: RouteRef, index: number): FuzzRequest[] {
  const access = world.staffAccess.get(routeKey(route))
  const identity: Identity = route.url.startsWith('/return') ? 'reporter' : access === undefined || access === 'public' ? 'none' : access.roles[0]!
  const welcome = (body: FuzzBody | null, n: number): FuzzRequest => ({
    method: route.method,
    url: concretePath(world, route.url, (name) => world.realParams[name]?.[0] ?? randomUUID()),
    identity,
    csrf: 'right',
    headers: {},
    body,
    address: `10.250.${index % 250}.${n + 1}`,
    split: false,
  })
  if (route.method === 'GET') return [welcome(null, 0)]
  const flipped = Buffer.from(world.evidence)
  flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1
  return [
    welcome({ kind: 'json', contentType: 'application/json', data: JSON.stringify({ [world.marker]: world.marker }) }, 0),
    welcome({ kind: 'evidence', contentType: 'application/octet-stream', data: flipped }, 1),
  ]
}

// ---- sending and judging ---------------------------------------------------------------------

/** A session of the identity, made now (a request may end it: sign out, withdraw, the quick exit). */
async function credentials(world: FuzzWorld, identity: Identity): Promise<{ cookie: string; token: string } | null> {
  const { app } = world
  if (identity === 'none') return null
  if (identity === 'ended') return { cookie: `${cookieName(app)}=${randomBytes(32).toString('base64url')}`, token: randomBytes(32).toString('base64url') }
  if (identity === 'reporter') return reporterSession(world)
  const client = identity === 'half-enrolled' ? await sessionFor(app, world.members.idva, 'second_factor_enrolment') : await sessionFor(app, world.members[identity])
  return { cookie: client.cookie, token: client.csrf }
}

/** Signs in at /return as a reporter would; when a fuzzed request withdrew the case, a new one is submitted first. */
async function reporterSession(world: FuzzWorld): Promise<{ cookie: string; token: string }> {
  let opened = await openCase(world.app, world.returning.keys)
  if (opened.status !== 200) {
    const reporter = await newReporter()
    const submitted = await submit(world.app, await disclosureBody(reporter, world.service))
    if (submitted.statusCode !== 201) throw new Error(`could not make a case to return to: ${submitted.statusCode} ${submitted.body}`)
    world.returning = reporter
    opened = await openCase(world.app, reporter.keys)
    if (opened.status !== 200) throw new Error(`could not return to a new case: ${opened.status} ${opened.body}`)
  }
  return { cookie: opened.cookie, token: opened.csrfToken }
}

export async function sendFuzz(world: FuzzWorld, request: FuzzRequest, tag: string): Promise<LightMyRequestResponse> {
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(request.headers)) headers[name] = typeof value === 'string' ? value : [...value]
  // Every request carries the marker, even one with nothing else generated in it.
  if (headers['user-agent'] === undefined) headers['user-agent'] = `FuzzBrowser/1.0 (${tag})`
  const session = await credentials(world, request.identity)
  let data = request.body?.data ?? null
  if (session !== null) {
    headers.cookie = headers.cookie === undefined ? session.cookie : [headers.cookie, session.cookie].flat()
    if (request.csrf === 'right' && headers['x-csrf-token'] === undefined) headers['x-csrf-token'] = session.token
    if (request.csrf === 'wrong') headers['x-csrf-token'] = randomBytes(32).toString('base64url')
    if (request.csrf === 'in-body' && typeof data === 'string') {
      if (request.body?.contentType === 'application/x-www-form-urlencoded') data = `_csrf=${session.token}&${data}`
      else if (data.startsWith('{')) data = `{"_csrf":${JSON.stringify(session.token)}${data.length > 2 ? ',' : ''}${data.slice(1)}`
    }
  }
  if (request.body !== null && request.body.contentType !== null && headers['content-type'] === undefined) headers['content-type'] = request.body.contentType
  const options: InjectOptions = { method: request.method as HTTPMethods, url: request.url, headers, remoteAddress: request.address }
  if (data !== null) options.payload = data
  if (request.split) options.simulate = { split: true, end: true, error: false, close: false }
  return world.app.inject(options)
}

/**
 * A 503 is allowed only as the designed answer to a limit or an outage, and then it says so: the
 * outage and time-out pages (server/plugins/errors.ts), or a limit's refusal with Retry-After (the
 * global caps, uploads arriving at once, a full worker queue) that says when to try again.
 */
function designed503(response: LightMyRequestResponse): boolean {
  if (/not available at the moment|taking too long/i.test(response.body)) return true
  return response.headers['retry-after'] !== undefined && /try again/i.test(response.body)
}

/** What is wrong with a response to a malformed request; empty when nothing is. */
export function problemsWith(response: LightMyRequestResponse, marker: string, method: string): string[] {
  const problems: string[] = []
  const status = response.statusCode
  if (status >= 500 && !(status === 503 && (method === 'HEAD' || designed503(response)))) problems.push(`answered ${status}`)
  // A HEAD response has the headers of the GET and no body.
  if (method === 'HEAD') return problems
  if (status >= 400 && response.body.includes(marker)) problems.push('the error response repeats what was sent')
  if (/\n\s+at \S|node_modules|\.tsx?:\d+:\d+/.test(response.body)) problems.push('the response holds a stack trace')
  if (status >= 400 && String(response.headers['content-type'] ?? '').startsWith('application/json')) {
    const parsed = (() => {
      try {
        return JSON.parse(response.body) as { message?: unknown }
      } catch {
        return null
      }
    })()
    if (parsed === null || typeof parsed.message !== 'string' || parsed.message === '') problems.push('a JSON error without a message for the person')
  }
  return problems
}

/** A short, printable account of a request (bodies and long values cut). */
export function describe(request: FuzzRequest): string {
  const cut = (value: string, most = 160) => (value.length > most ? `${value.slice(0, most)}… (${value.length} characters)` : value)
  const body = request.body === null ? 'none' : `${request.body.kind} ${JSON.stringify(request.body.contentType)} ${cut(JSON.stringify(Buffer.isBuffer(request.body.data) ? request.body.data.toString('latin1') : request.body.data))}`
  const headers = Object.entries(request.headers).map(([name, value]) => `${name}: ${cut(JSON.stringify(value), 80)}`).join('; ')
  return `${request.method} ${cut(request.url)} as ${request.identity} (csrf ${request.csrf}) from ${request.address}; headers {${headers}}; body ${body}${request.split ? '; in two chunks' : ''}`
}

export interface RouteTally {
  runs: number
  reached: number
  readonly statuses: Map<number, number>
}

export interface FuzzFailure {
  readonly route: string
  readonly request: string
  readonly status: number
  readonly problems: readonly string[]
  readonly response: string
  readonly seed: number
}

export interface FuzzReport {
  readonly routes: Map<string, RouteTally>
  readonly failures: FuzzFailure[]
  total: number
  reached: number
}

/**
 * Runs the property on each route: `runs(route)` requests, the first of which is the route's
 * welcome request. Failures are collected (fast-check shrinks each to a smaller request that fails
 * too); the run goes on with the next route.
 */
export async function fuzzRoutes(
  world: FuzzWorld,
  reachedSoFar: () => number,
  options: { runs: (route: RouteRef) => number; seed?: number; endOnFailure?: boolean; onProgress?: (done: number) => void },
): Promise<FuzzReport> {
  const report: FuzzReport = { routes: new Map(), failures: [], total: 0, reached: 0 }
  const seen = new WeakMap<FuzzRequest, { status: number; problems: string[]; body: string }>()
  let sequence = 0
  for (const [index, route] of world.routes.entries()) {
    const tally: RouteTally = { runs: 0, reached: 0, statuses: new Map() }
    report.routes.set(routeKey(route), tally)
    const property = fc.asyncProperty(requestsFor(world, route), async (request) => {
      const before = reachedSoFar()
      const response = await sendFuzz(world, request, `${world.marker}-${(sequence += 1)}`)
      const reached = reachedSoFar() > before
      tally.runs += 1
      tally.reached += reached ? 1 : 0
      tally.statuses.set(response.statusCode, (tally.statuses.get(response.statusCode) ?? 0) + 1)
      report.total += 1
      report.reached += reached ? 1 : 0
      options.onProgress?.(report.total)
      const problems = problemsWith(response, world.marker, request.method)
      seen.set(request, { status: response.statusCode, problems, body: response.body })
      return problems.length === 0
    })
    const details = await fc.check(property, {
      numRuns: options.runs(route),
      examples: welcomeRequests(world, route, index).map((request) => [request]),
      endOnFailure: options.endOnFailure ?? false,
      ...(options.seed === undefined ? {} : { seed: options.seed + index }),
    })
    if (details.failed) {
      const request = details.counterexample?.[0]
      const outcome = request === undefined ? undefined : seen.get(request)
      report.failures.push({
        route: routeKey(route),
        request: request === undefined ? `(no counterexample: ${String(details.errorInstance)})` : describe(request),
        status: outcome?.status ?? 0,
        problems: outcome?.problems ?? [String(details.errorInstance)],
        response: (outcome?.body ?? '').slice(0, 400),
        seed: details.seed,
      })
    }
  }
  return report
}

// ---- the HTTP parser: raw bytes over a socket --------------------------------------------------

export interface RawRequest {
  readonly bytes: Buffer
  /** The made-up client address (127.x.y.z: every loopback address reaches the server). */
  readonly localAddress: string
}

/** Requests the HTTP parser must refuse or read safely: bad framing, smuggling shapes, bytes that are not text. */
export function rawRequests(world: FuzzWorld): fc.Arbitrary<RawRequest> {
  const { marker } = world
  const paths = world.routes.map((route) => concretePath(world, route.url, (name) => world.realParams[name]?.[0] ?? marker))
  const target = fc.oneof(
    fc.constantFrom(...paths),
    fc.constantFrom('*', '//staff', `/../../${marker}`, `/report/..%2f..%2f${marker}`, `http://elsewhere.example/${marker}`, `/${marker}#frag`, `/report?${marker}=%`, '/%', ''),
    fc.tuple(fc.constantFrom(...paths), fc.constantFrom(...BAD_UTF8)).map(([path, bad]) => `${path}/${Buffer.from(bad).toString('latin1')}${marker}`),
    fc.integer({ min: 2000, max: 40_000 }).map((length) => `/report/steps/${marker.repeat(Math.ceil(length / marker.length))}`),
  )
  const method = fc.constantFrom('GET', 'POST', 'get', 'P OST', 'FOO', 'CONNECT', '', 'GET\u0000')
  const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1 extra', 'http/1.1', '')
  const headerLine = fc.oneof(
    fc.constantFrom(
      'Content-Length: 5', 'Content-Length: -1', 'Content-Length: 1, 2', 'Content-Length: abc', 'Content-Length: 99999999999999999999',
      'Transfer-Encoding: chunked', 'Transfer-Encoding: xchunked', 'Transfer-Encoding: chunked, identity', 'Transfer-Encoding:\tchunked',
      'Content-Type: application/json', 'Content-Type: multipart/form-data', 'Expect: 100-continue', 'Connection: close', 'Connection: keep-alive, Upgrade',
      'Upgrade: websocket', 'Host: ', 'Host: a, b', `X-${marker}:`, `: ${marker}`, `No-Colon-${marker}`, ` Folded: ${marker}`, `Bad Name: ${marker}`, `X-Null: a\u0000${marker}`,
      `Cookie: sd_session=${marker}`, `Origin: ${marker}`,
    ),
    fc.integer({ min: 1000, max: 40_000 }).map((length) => `X-Long: ${marker.repeat(Math.ceil(length / marker.length))}`),
    fc.tuple(fc.constantFrom(...BAD_UTF8), fc.constantFrom('User-Agent', 'Cookie', 'X-Csrf-Token', 'Origin')).map(([bad, name]) => `${name}: ${Buffer.from(bad).toString('latin1')}${marker}`),
  )
  const body = fc.oneof(
    fc.constant(''),
    fc.constant(`{"caseId":"${marker}"}`),
    fc.constant(`5\r\n${marker.slice(0, 5)}\r\n0\r\n\r\n`),
    fc.constant(`zz\r\n${marker}\r\n0\r\n\r\n`),
    fc.constant(`ffffffffffffffff\r\n${marker}\r\n`),
    fc.constant(`5;ext=${marker}\r\nhello\r\n0\r\n${marker}: trailer\r\n\r\n`),
    fc.constant(`0\r\n\r\nGET /${marker} HTTP/1.1\r\nHost: x\r\n\r\n`),
    fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.concat([Buffer.from(bytes), Buffer.from(marker)]).toString('latin1')),
  )
  const ending = fc.constantFrom('\r\n\r\n', '\r\n\r\n', '\n\n', '\r\n', '', '\r\r\n\r\n')
  const address = fc.tuple(fc.integer({ min: 1, max: 254 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 })).map(([a, b, c]) => `127.${a}.${b}.${c}`)
  return fc
    .record({ method, target, version, headers: fc.array(headerLine, { maxLength: 5 }), ending, body, address })
    .map(({ method, target, version, headers, ending, body, address }) => ({
      bytes: Buffer.from(`${method} ${target} ${version}\r\nHost: 127.0.0.1\r\nUser-Agent: raw-${marker}\r\n${headers.join('\r\n')}${ending}${body}`, 'latin1'),
      localAddress: address,
    }))
}

/** Sends raw bytes and reads what comes back until the server closes, or `waitMs` passes. */
export function sendRaw(port: number, request: RawRequest, waitMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect({ host: '127.0.0.1', port, localAddress: request.localAddress })
    const timer = setTimeout(() => socket.destroy(), waitMs)
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // A server may reset a connection it will not read: that is an answer too.
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error)
    })
    socket.on('close', () => {
      clearTimeout(timer)
      resolve(Buffer.concat(chunks).toString('latin1'))
    })
    socket.end(request.bytes)
  })
}

/** Every status the server wrote on a raw connection. */
export function rawStatuses(answer: string): number[] {
  return [...answer.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((match) => Number(match[1]))
}

/** The log must never hold the marker, nor any address a request came from (all made up: 10.x, fd5a:, 127.x but not the server's own). */
export function logProblems(logText: string, marker: string): string[] {
  const problems: string[] = []
  const lines = logText.split('\n')
  const withMarker = lines.filter((line) => line.includes(marker))
  if (withMarker.length > 0) problems.push(`${withMarker.length} log lines hold request content, such as: ${withMarker[0]!.slice(0, 600)}`)
  const withAddress = lines.filter((line) => /\b10\.\d{1,3}\.\d{1,3}\.\d{1,3}\b|fd5a:|\b127\.(?!0\.0\.1\b)\d{1,3}\.\d{1,3}\.\d{1,3}\b/i.test(line))
  if (withAddress.length > 0) problems.push(`${withAddress.length} log lines hold a client address, such as: ${withAddress[0]!.slice(0, 600)}`)
  return problems
}
