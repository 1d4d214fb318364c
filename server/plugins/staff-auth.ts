import cookie from '@fastify/cookie'
import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { randomBytes } from 'node:crypto'
import { recordAudit } from '../audit/audit.ts'
import type { Role } from '../db/schema.ts'
import { HttpError } from '../errors.ts'
import { CROSS_SITE_REFUSED, isCrossSite } from '../http/cross-site.ts'
import { sameToken, sha256 } from '../security/tokens.ts'

/**
 * Staff sessions, CSRF protection and access control.
 *
 * Sessions live in the database (every instance sees them): the cookie carries a random token, the
 * database only its SHA-256. The cookie is HttpOnly, SameSite=Strict, and Secure with the __Host-
 * prefix when the portal is served over https; it has no expiry, so it goes when the browser closes.
 * A session ends after 15 minutes idle or 8 hours in all, at log out, when the account is disabled,
 * and everywhere at once on "log out everywhere" or a passphrase change. A new token is issued at
 * every login, so a token planted before login (session fixation) is worth nothing.
 *
 * Every route under /staff declares who may use it (`config.access`); the server refuses to start if
 * one does not. State-changing requests must come from the portal's own pages (Sec-Fetch-Site and
 * Origin) and, once signed in, carry the session's synchronizer token (X-CSRF-Token or _csrf).
 */

export type Access = 'public' | { readonly roles: readonly Role[]; readonly secondFactorEnrolment?: boolean }

export interface StaffSession {
  readonly tokenHash: Buffer
  readonly accountId: string
  readonly username: string
  readonly role: Role
  readonly groupId: string | null
  readonly stage: 'full' | 'second_factor_enrolment'
  readonly csrfToken: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access
  }
  interface FastifyRequest {
    staff: StaffSession | null
    /** The browser sent a session cookie that is no longer valid (expired, ended, disabled). */
    staffSessionEnded: boolean
  }
  interface FastifyInstance {
    /** Every /staff route and who may use it: for review, and for the authorisation tests. */
    readonly staffRoutes: readonly StaffRoute[]
    startSession(reply: FastifyReply, accountId: string, stage: StaffSession['stage']): Promise<void>
    endSession(request: FastifyRequest, reply: FastifyReply): Promise<void>
    endAllSessions(accountId: string): Promise<number>
  }
}

export interface StaffRoute {
  readonly method: string
  readonly url: string
  readonly access: Access
}

export const ALL_STAFF: readonly Role[] = ['idva_lead', 'idva', 'investigator', 'admin']
export const IDVA_ROLES: readonly Role[] = ['idva_lead', 'idva']
const IDLE_MS = 15 * 60 * 1000
const ABSOLUTE_MS = 8 * 60 * 60 * 1000
/** last_seen_at is written at most this often, not on every request. */
const TOUCH_EVERY_MS = 60 * 1000
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html') && request.headers['hx-request'] !== 'true'
}

export default fp(
  async function staffAuth(app) {
    const cookieName = app.config.secureCookies ? '__Host-sd_session' : 'sd_session'
    const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, secure: app.config.secureCookies, path: '/' }
    await app.register(cookie)
    app.decorateRequest('staff', null)
    app.decorateRequest('staffSessionEnded', false)

    const staffRoutes: StaffRoute[] = []
    app.decorate('staffRoutes', staffRoutes)
    app.addHook('onRoute', (route) => {
      if (!route.url.startsWith('/staff')) return
      const access = route.config?.access
      if (access === undefined) throw new Error(`${route.method} ${route.url} must declare config.access`)
      for (const method of [route.method].flat()) if (method !== 'HEAD') staffRoutes.push({ method, url: route.url, access })
    })

    app.decorate('startSession', async (reply: FastifyReply, accountId: string, stage: StaffSession['stage']) => {
      const token = randomBytes(32).toString('base64url')
      await app.database.db
        .insertInto('sessions')
        .values({
          token_hash: sha256(token),
          account_id: accountId,
          stage,
          csrf_token: randomBytes(32).toString('base64url'),
          expires_at: new Date(Date.now() + ABSOLUTE_MS),
        })
        .execute()
      reply.setCookie(cookieName, token, cookieOptions)
    })

    app.decorate('endSession', async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.staff !== null) await app.database.db.deleteFrom('sessions').where('token_hash', '=', request.staff.tokenHash).execute()
      reply.clearCookie(cookieName, cookieOptions)
    })

    app.decorate('endAllSessions', async (accountId: string) => {
      const result = await app.database.db.deleteFrom('sessions').where('account_id', '=', accountId).executeTakeFirst()
      return Number(result.numDeletedRows)
    })

    app.addHook('onRequest', async (request, reply) => {
      const token = request.cookies[cookieName]
      if (token === undefined || token === '') return
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) {
        reply.clearCookie(cookieName, cookieOptions)
        request.staffSessionEnded = true
        return
      }
      const tokenHash = sha256(token)
      const row = await app.database.db
        .selectFrom('sessions')
        .innerJoin('accounts', 'accounts.id', 'sessions.account_id')
        .select(['sessions.stage', 'sessions.csrf_token', 'sessions.last_seen_at', 'sessions.expires_at', 'accounts.id', 'accounts.username', 'accounts.role', 'accounts.group_id', 'accounts.status'])
        .where('sessions.token_hash', '=', tokenHash)
        .executeTakeFirst()
      const now = Date.now()
      if (row === undefined || row.status !== 'active' || row.expires_at.getTime() <= now || row.last_seen_at.getTime() + IDLE_MS <= now) {
        if (row !== undefined) await app.database.db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute()
        reply.clearCookie(cookieName, cookieOptions)
        request.staffSessionEnded = true
        return
      }
      if (now - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
        await app.database.db.updateTable('sessions').set({ last_seen_at: new Date(now) }).where('token_hash', '=', tokenHash).execute()
      }
      request.staff = {
        tokenHash,
        accountId: row.id,
        username: row.username,
        role: row.role,
        groupId: row.group_id,
        stage: row.stage,
        csrfToken: row.csrf_token,
      }
    })

    app.addHook('preHandler', async (request, reply) => {
      const access = request.routeOptions.config.access
      if (access === undefined) return
      const changing = STATE_CHANGING.has(request.method)

      if (changing) {
        if (isCrossSite(request, app.config.publicOrigin)) {
          await recordAudit(app.database.db, { actor: request.staff === null ? { type: 'system' } : { type: 'staff', id: request.staff.accountId }, action: 'security.cross_site_refused' })
          throw new HttpError(403, CROSS_SITE_REFUSED)
        }
      }
      if (access === 'public') return

      const staff = request.staff
      if (staff === null) {
        if (wantsHtml(request) && !changing) return reply.redirect(request.staffSessionEnded ? '/staff/login?signed-out=expired' : '/staff/login', 303)
        throw new HttpError(401, request.staffSessionEnded ? 'Your session has ended. Please sign in again.' : 'Please sign in to use this page.')
      }
      if (staff.stage === 'second_factor_enrolment' && access.secondFactorEnrolment !== true) {
        if (wantsHtml(request) && !changing) return reply.redirect('/staff/second-factor', 303)
        throw new HttpError(403, 'Set up your second factor before using the portal.')
      }
      if (!access.roles.includes(staff.role)) {
        await recordAudit(app.database.db, { actor: { type: 'staff', id: staff.accountId }, action: 'security.access_denied', object: { type: 'route', id: request.routeOptions.url ?? 'unknown' } })
        throw new HttpError(403, 'Your account cannot use this page.')
      }
      if (changing) {
        const body = request.body as { _csrf?: unknown } | undefined
        const supplied = request.headers['x-csrf-token'] ?? (typeof body?._csrf === 'string' ? body._csrf : undefined)
        if (typeof supplied !== 'string' || !sameToken(supplied, staff.csrfToken)) {
          await recordAudit(app.database.db, { actor: { type: 'staff', id: staff.accountId }, action: 'security.csrf_refused', object: { type: 'route', id: request.routeOptions.url ?? 'unknown' } })
          throw new HttpError(403, 'This form has expired or did not come from the portal. Please reload the page and try again.')
        }
      }
    })

    // Sessions past their absolute or idle lifetime are removed, whichever instance notices.
    const timer = setInterval(() => {
      const now = Date.now()
      app.database.db
        .deleteFrom('sessions')
        .where((eb) => eb.or([eb('expires_at', '<', new Date(now)), eb('last_seen_at', '<', new Date(now - IDLE_MS))]))
        .execute()
        .catch((error: unknown) => app.log.warn({ err: error }, 'could not delete expired sessions'))
    }, 5 * 60 * 1000)
    timer.unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'staff-auth', dependencies: ['app-context'] },
)
