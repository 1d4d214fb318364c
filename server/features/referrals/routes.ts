import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { certifiedUnitKey, isCryptoError, referralContext, verifyKeyCertificate, type PublicKeySet } from '../../../crypto/index.ts'
import { UUID } from '../../../crypto/thread.ts'
import { policyUnits } from '../../../rules/routing/units.ts'
import { recordAudit } from '../../audit/audit.ts'
import { HttpError } from '../../errors.ts'
import { body, bytes, list, text } from '../../http/input.ts'
import { IDVA_ROLES } from '../../plugins/staff-auth.ts'
import { trustedServiceKeys } from '../cases/intake.ts'
import { evidenceFile, findCase, serviceKeyChain } from '../cases/repository.ts'
import { lockCase, today } from '../idva/repository.ts'
import { checkServiceEnvelope } from '../idva/incoming.ts'
import { staffActor, withActor, type Actor } from '../../db/actor.ts'
import { ACTIVE_STATUSES, caseReferrals, insertReferral, referralPackage, referralUnits, referralUpdates } from './repository.ts'

/**
 * Referring a case to investigators, the IDVA service's side. The routing engine runs in the
 * IDVA's browser (rules/routing/, bundled), on facts only the browser sees, with the policy served
 * here; the browser then seals one package per track to the receiving unit's key and to the
 * service's, signed by the service. The server sees which unit receives which package, never why,
 * and checks, without reading anything:
 *   - the unit exists, is open, and is of the package's track (422 otherwise: a criminal package
 *     never goes to professional standards, nor the reverse);
 *   - the two tracks never go to one unit, in one request or across the case's active referrals
 *     (R10; 422);
 *   - the unit's newest key is vouched for by the IDVA service (a service certificate, checked
 *     against the service's keys followed from the pinned fingerprint; or a rotation chain from
 *     such a generation), and the package is sealed to exactly that key and the service's current
 *     key, signed by the service over this case, track and referral (400 otherwise);
 *   - its size (413).
 * A unit of a force with no accounts here (external: its key added by the IDVA lead after
 * comparing fingerprints) gets the package as an exported file, which the IDVA's browser builds.
 * The evidence files a package names are copied, still encrypted by the reporter's browser, to the
 * referral (the unit never reads the case's own tables); the package holds their keys.
 *
 * Everything that touches the referral tables runs as the acting IDVA (server/db/actor.ts), so the
 * row-level policies apply to these routes as they do to the units'.
 */

const ACCESS = { access: { roles: IDVA_ROLES } }
const NO_SUCH_CASE = 'There is no such case. It may have been withdrawn by the person who sent it, which deletes it.'
const MAX_PACKAGE_BYTES = 1_100_000
const MAX_FILES_PER_PACKAGE = 100

function idvaActor(request: FastifyRequest): Actor {
  const actor = staffActor(request.staff!)
  if (actor === null || actor.role === 'investigator' || actor.role === 'reporter') throw new HttpError(403, 'Only the IDVA service refers cases.')
  return actor
}

function caseIdOf(request: FastifyRequest): string {
  const caseId = (request.params as { caseId: string }).caseId
  if (!UUID.test(caseId)) throw new HttpError(404, NO_SUCH_CASE)
  return caseId
}

/** The IDVA service's signing keys by generation, from the chain checked against the pin. */
async function serviceSigningKeys(app: FastifyInstance): Promise<Map<number, Uint8Array>> {
  const keys = await trustedServiceKeys(app)
  return new Map(keys.signing.map((key, index) => [index + 1, key]))
}

function keySet(row: { x25519_public: Buffer; ed25519_public: Buffer }): PublicKeySet {
  return { encryption: row.x25519_public, signing: row.ed25519_public }
}

const referralRoutes: FastifyPluginAsync = async (app) => {
  const db = app.database.db
  const units = policyUnits(app.routingPolicy)

  /**
   * What the routing step needs: the policy (the engine runs in the browser), and every unit it
   * names, with whether it is on this portal, outside it (exported files) or not reachable yet,
   * and its keys with their certificates for the browser to check itself.
   */
  app.get('/staff/referrals/policy', { config: ACCESS }, async (_request, reply) => {
    const known = await referralUnits(db)
    return reply.send({
      policy: app.routingPolicy,
      service: await serviceKeyChain(db),
      units: units.map((unit) => {
        const group = known.find((candidate) => candidate.id === unit.id)
        const generations = group?.generations ?? []
        return {
          ...unit,
          delivery: group === undefined || generations.length === 0 ? null : group.external ? 'export' : 'portal',
          generations: generations.map((row) => ({
            generation: row.generation,
            x25519: row.x25519_public.toString('base64url'),
            ed25519: row.ed25519_public.toString('base64url'),
            rotationCertificate: row.rotation_certificate?.toString('base64url') ?? null,
            serviceCertificate: row.service_certificate?.toString('base64url') ?? null,
            serviceGeneration: row.service_generation,
          })),
        }
      }),
    })
  })

  /** The case's referrals and their states (metadata only). */
  app.get('/staff/cases/:caseId/referrals', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    if ((await findCase(db, app.vault, caseId)) === undefined) throw new HttpError(404, NO_SUCH_CASE)
    const { rows, updates } = await withActor(db, idvaActor(request), async (trx) => {
      const rows = await caseReferrals(trx, caseId)
      return { rows, updates: await referralUpdates(trx, app.vault, rows.map((row) => row.id)) }
    })
    return reply.send({
      referrals: rows.map((row) => ({
        id: row.id,
        track: row.track,
        unit: row.unit_id,
        unitName: row.unitName,
        force: row.force,
        delivery: row.delivery,
        status: row.status,
        iopcRequired: row.iopc_required,
        iopcDecision: row.iopc_decision,
        sentAt: row.sent_at.toISOString(),
        statusChangedAt: row.status_changed_at.toISOString(),
        // What the unit recorded, each with its note sealed to the service and signed by the unit:
        // the IDVA's browser opens them and checks the unit's signature against its certified key.
        updates: (updates.get(row.id) ?? []).map((update) => ({
          seq: update.seq,
          action: update.action,
          envelope: update.envelope.toString('base64url'),
          recordedAt: update.createdAt.toISOString(),
        })),
      })),
    })
  })

  /** A package the IDVA's browser sealed earlier (to export it again, or to check what went). */
  app.get('/staff/cases/:caseId/referrals/:referralId/package', { config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const referralId = (request.params as { referralId: string }).referralId
    const envelope = !UUID.test(referralId)
      ? null
      : await withActor(db, idvaActor(request), async (trx) => {
          const found = await referralPackage(trx, app.vault, referralId, caseId)
          if (found !== null) await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'referral.package_fetched_by_idva', object: { type: 'referral', id: referralId } })
          return found
        })
    if (envelope === null) throw new HttpError(404, 'There is no such referral in this case.')
    if (envelope.envelope === null) throw new HttpError(410, `The person withdrew on ${envelope.removedOn}, so what this package held was removed from the portal. Its state and the unit's updates are kept.`)
    return reply.send({ envelope: envelope.envelope.toString('base64url') })
  })

  app.post('/staff/cases/:caseId/referrals', { bodyLimit: 6 * MAX_PACKAGE_BYTES, config: ACCESS }, async (request, reply) => {
    const caseId = caseIdOf(request)
    const staff = request.staff!
    const input = body(request.body)
    const packages = list(input, 'packages', 2).map((entry) => {
      const track = text(entry, 'track', { max: 10 })
      if (track !== 'criminal' && track !== 'misconduct') throw new HttpError(400, 'track must be criminal or misconduct.')
      const envelope = bytes(entry, 'envelope', { max: 3 * MAX_PACKAGE_BYTES })
      if (envelope.length > MAX_PACKAGE_BYTES) throw new HttpError(413, 'This package is larger than a referral can be. Leave out some of the shared text, or send files separately.')
      if (typeof entry.iopcRequired !== 'boolean' || typeof entry.tellReporter !== 'boolean') throw new HttpError(400, 'iopcRequired and tellReporter must be true or false.')
      const evidence = entry.evidence === undefined ? [] : entry.evidence
      if (!Array.isArray(evidence) || evidence.length > MAX_FILES_PER_PACKAGE || !evidence.every((id): id is string => typeof id === 'string' && UUID.test(id))) {
        throw new HttpError(400, `evidence must be a list of up to ${MAX_FILES_PER_PACKAGE} file ids of this case.`)
      }
      if (new Set(evidence).size !== evidence.length) throw new HttpError(400, 'A file is named twice in one package.')
      return {
        evidence,
        referralId: text(entry, 'referralId', { min: 36, max: 36, pattern: UUID }),
        track: track as 'criminal' | 'misconduct',
        unitId: text(entry, 'unitId', { max: 128, pattern: /^[A-Za-z0-9._:-]{1,128}$/ }),
        unitGeneration: typeof entry.unitGeneration === 'number' && Number.isInteger(entry.unitGeneration) ? entry.unitGeneration : 0,
        envelope,
        iopcRequired: entry.iopcRequired,
        tellReporter: entry.tellReporter,
      }
    })
    if (packages.length === 0) throw new HttpError(400, 'Send at least one package.')
    if (packages.length === 2 && packages[0]!.track === packages[1]!.track) throw new HttpError(422, 'One package per track: these are both for the same track.')
    if (packages.length === 2 && packages[0]!.unitId === packages[1]!.unitId) {
      throw new HttpError(422, 'The criminal and misconduct packages are addressed to the same unit. The two tracks must always go to different units (R10), so nothing was sent.')
    }
    const found = await findCase(db, app.vault, caseId)
    if (found === undefined) throw new HttpError(404, NO_SUCH_CASE)
    if (found.withdrawn_on !== null) throw new HttpError(409, 'The person withdrew from the portal, so nothing more can be sent for them. The referrals already made keep their state.')
    if (found.kind !== 'disclosure') throw new HttpError(400, 'A line manager\'s consultation names nobody, so it is never referred to investigators.')

    const known = await referralUnits(db)
    const service = await trustedServiceKeys(app)
    const signingKeys = await serviceSigningKeys(app)
    const checked: ((typeof packages)[number] & { delivery: 'portal' | 'export'; paddedSize: number })[] = []
    for (const pkg of packages) {
      const unit = known.find((candidate) => candidate.id === pkg.unitId)
      if (unit === undefined || unit.generations.length === 0) throw new HttpError(422, 'That unit is not open on this portal, and its key has not been added, so nothing can be sealed to it.')
      if (unit.track !== pkg.track) {
        throw new HttpError(422, `That unit works on the ${unit.track} track, so it cannot receive the ${pkg.track} package. Nothing was sent.`)
      }
      let certified: { generation: number; publicKeys: PublicKeySet }
      try {
        certified = await certifiedUnitKey(
          unit.id,
          unit.generations.map((row) => ({ generation: row.generation, publicKeys: keySet(row), rotationCertificate: row.rotation_certificate, serviceCertificate: row.service_certificate, serviceGeneration: row.service_generation })),
          signingKeys,
        )
      } catch (error) {
        if (isCryptoError(error)) throw new HttpError(422, 'The IDVA service has not vouched for this unit\'s key (the IDVA lead certifies it after comparing fingerprints), so nothing was sent.')
        throw error
      }
      if (pkg.unitGeneration !== certified.generation) throw new HttpError(409, 'The unit\'s key has changed since this page was loaded, so nothing was sent. Reload the case and seal the package again.')
      const paddedSize = await checkServiceEnvelope(pkg.envelope, {
        kind: 'referral_package',
        caseId,
        context: referralContext(pkg.track, pkg.referralId),
        service: { x25519: service.current.encryption, ed25519: service.current.signing, previousEd25519: service.signing.slice(0, -1) },
        alsoTo: [certified.publicKeys.encryption],
      })
      checked.push({ ...pkg, delivery: unit.external ? ('export' as const) : ('portal' as const), paddedSize })
    }

    await withActor(db, idvaActor(request), async (trx) => {
      const locked = await lockCase(trx, caseId)
      if (locked === undefined) throw new HttpError(404, NO_SUCH_CASE)
      // R10 across time too: the other track's package, still with a unit, must not be at this one.
      const active = await trx.selectFrom('referrals').select(['track', 'unit_id']).where('case_id', '=', caseId).where('status', 'in', ACTIVE_STATUSES).execute()
      for (const pkg of checked) {
        if (active.some((row) => row.track !== pkg.track && row.unit_id === pkg.unitId)) {
          throw new HttpError(422, 'The other track of this case is already with that unit. The two tracks must always go to different units (R10), so nothing was sent.')
        }
        if ((await trx.selectFrom('referrals').select('id').where('id', '=', pkg.referralId).executeTakeFirst()) !== undefined) throw new HttpError(409, 'This package has already been sent.')
      }
      const actor = { type: 'staff' as const, id: staff.accountId }
      for (const pkg of checked) {
        // The files the package names, as the reporter's browser encrypted them, copied to the referral.
        const files: { evidenceId: string; encrypted: Buffer }[] = []
        for (const evidenceId of pkg.evidence) {
          const encrypted = await evidenceFile(trx, found.dataKey, caseId, evidenceId)
          if (encrypted === null) throw new HttpError(422, 'A file chosen for the package is not part of this case, so nothing was sent. Reload the case and try again.')
          if (encrypted.length === 0) throw new HttpError(422, 'A file chosen for the package could not be opened on the server (it may have been changed), so nothing was sent. Leave it out, and tell the portal\'s administrator.')
          files.push({ evidenceId, encrypted })
        }
        await insertReferral(trx, app.vault, {
          id: pkg.referralId,
          caseId,
          track: pkg.track,
          unitId: pkg.unitId,
          unitGeneration: pkg.unitGeneration,
          delivery: pkg.delivery,
          iopcRequired: pkg.iopcRequired,
          tellReporter: pkg.tellReporter,
          envelope: pkg.envelope,
          paddedSize: pkg.paddedSize,
          sentBy: staff.accountId,
          files,
        })
        await recordAudit(trx, { actor, action: 'referral.package_sealed', object: { type: 'referral', id: pkg.referralId } })
        await recordAudit(trx, { actor, action: pkg.delivery === 'export' ? 'referral.exported' : 'referral.sent', object: { type: 'referral', id: pkg.referralId } })
      }
      if (locked.status !== 'closed' && locked.status !== 'referred') {
        await trx.updateTable('cases').set({ status: 'referred', status_changed_on: await today(trx) }).where('id', '=', caseId).execute()
        await recordAudit(trx, { actor, action: 'case.status_changed', object: { type: 'case', id: caseId } })
      }
    })
    return reply.code(201).send({ referrals: checked.map((pkg) => ({ id: pkg.referralId, track: pkg.track, delivery: pkg.delivery })) })
  })

  /**
   * A unit of a force with no accounts here: the IDVA lead adds its public key (the public.key file
   * `npm run envelope -- keygen` writes, sent by the unit), after comparing its fingerprint with the
   * unit by a separate channel; the lead's browser vouches for it with the service's key. Packages
   * for it are then exported as files the unit opens with `npm run envelope -- open-package`.
   */
  app.post('/staff/referrals/outside-units', { config: { access: { roles: ['idva_lead'] } } }, async (request, reply) => {
    const input = body(request.body)
    const unit = units.find((candidate) => candidate.id === text(input, 'unitId', { max: 128 }))
    if (unit === undefined) throw new HttpError(400, 'That unit is not in the routing policy.')
    if (unit.force === app.routingPolicy.force) throw new HttpError(400, 'Units of this force are opened on the portal by its administrator, with members who make their own keys.')
    const publicKeys = { encryption: bytes(input, 'x25519Public', { length: 32 }), signing: bytes(input, 'ed25519Public', { length: 32 }) }
    const certificate = bytes(input, 'serviceCertificate', { length: 64 })
    const serviceGeneration = typeof input.serviceGeneration === 'number' ? input.serviceGeneration : 0
    const signer = (await serviceSigningKeys(app)).get(serviceGeneration)
    if (signer === undefined || !(await verifyKeyCertificate(signer, { id: unit.id, generation: 1, publicKeys }, certificate))) {
      throw new HttpError(400, 'The IDVA service\'s certificate for this key does not check out, so it was not added. Reload the page and try again.')
    }
    await db.transaction().execute(async (trx) => {
      if ((await trx.selectFrom('groups').select('id').where('id', '=', unit.id).executeTakeFirst()) !== undefined) {
        throw new HttpError(409, 'This unit is already known to the portal. Its key cannot be replaced here.')
      }
      await trx.insertInto('groups').values({ id: unit.id, kind: 'investigator_unit', track: unit.track, force: unit.force, command_unit: null, external: true, name: unit.name, disabled_at: null, rotation_recommended_at: null }).execute()
      await trx
        .insertInto('group_keys')
        .values({ group_id: unit.id, generation: 1, x25519_public: Buffer.from(publicKeys.encryption), ed25519_public: Buffer.from(publicKeys.signing), rotation_certificate: null, previous_keys_sealed: null, service_certificate: certificate, service_generation: serviceGeneration, created_by: request.staff!.accountId })
        .execute()
      await recordAudit(trx, { actor: { type: 'staff', id: request.staff!.accountId }, action: 'keys.outside_unit_added', object: { type: 'group', id: unit.id } })
    })
    return reply.code(201).send({ added: unit.id })
  })
}

export default referralRoutes
