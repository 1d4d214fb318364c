import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { randomBytes } from 'node:crypto'
import { HttpError } from '../errors.ts'
import { sameToken, sha256 } from '../security/tokens.ts'
import { refuseCrossSite } from '../http/cross-site.ts'

/**
 * A reporter's session at /return, after their browser has signed the server's challenge with the
 * key derived from their case code.
 *
 * Like staff sessions: the cookie holds a random token and the database only its SHA-256; HttpOnly,
 * SameSite=Strict, Secure and __Host- over https, no expiry (it goes when the browser closes, and at
 * the quick exit, which clears the site's cookies). It ends after 15 minutes idle or 2 hours in all,
 * when the reporter leaves, and when the case is withdrawn (the row goes with the case).
 *
 * Routes under /return declare `config.caseAccess`: 'public' (the page, the challenge) or 'case'
 * (everything about the case). Changes must come from the portal's own pages and carry the
 * session's token in X-CSRF-Token.
 */

export interface CaseSession {
  readonly tokenHash: Buffer
  readonly caseId: string
  readonly csrfToken: string
}

declare module 'fastify' {
  interface FastifyContextConfig {
    caseAccess?: 'public' | 'case'
  }
  interface FastifyRequest {
    caseSession: CaseSession | null
  }
  interface FastifyInstance {
    /** Starts a session for a case and returns its CSRF token. */
    startCaseSession(reply: FastifyReply, caseId: string): Promise<string>
    endCaseSession(request: FastifyRequest, reply: FastifyReply): Promise<void>
  }
}

const IDLE_MS = 15 * 60 * 1000
const ABSOLUTE_MS = 2 * 60 * 60 * 1000
const TOUCH_EVERY_MS = 60 * 1000
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

export default fp(
  async function caseSession(app) {
    const cookieName = app.config.secureCookies ? '__Host-sd_case' : 'sd_case'
    const cookieOptions = { httpOnly: true, sameSite: 'strict' as const, secure: app.config.secureCookies, path: '/' }
    app.decorateRequest('caseSession', null)

    app.addHook('onRoute', (route) => {
      if (route.url.startsWith('/return') && route.config?.caseAccess === undefined) throw new Error(`${String(route.method)} ${route.url} must declare config.caseAccess`)
    })

    app.decorate('startCaseSession', async (reply: FastifyReply, caseId: string) => {
      const token = randomBytes(32).toString('base64url')
      const csrfToken = randomBytes(32).toString('base64url')
      await app.database.db
        .insertInto('case_sessions')
        .values({ token_hash: sha256(token), case_id: caseId, csrf_token: csrfToken, expires_at: new Date(Date.now() + ABSOLUTE_MS) })
        .execute()
      reply.setCookie(cookieName, token, cookieOptions)
      return csrfToken
    })

    app.decorate('endCaseSession', async (request: FastifyRequest, reply: FastifyReply) => {
      if (request.caseSession !== null) await app.database.db.deleteFrom('case_sessions').where('token_hash', '=', request.caseSession.tokenHash).execute()
      reply.clearCookie(cookieName, cookieOptions)
    })

    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.caseAccess === undefined) return
      const token = request.cookies[cookieName]
      if (token === undefined || token === '') return
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) {
        reply.clearCookie(cookieName, cookieOptions)
        return
      }
      const tokenHash = sha256(token)
      const row = await app.database.db.selectFrom('case_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
      const now = Date.now()
      if (row === undefined || row.expires_at.getTime() <= now || row.last_seen_at.getTime() + IDLE_MS <= now) {
        if (row !== undefined) await app.database.db.deleteFrom('case_sessions').where('token_hash', '=', tokenHash).execute()
        reply.clearCookie(cookieName, cookieOptions)
        return
      }
      if (now - row.last_seen_at.getTime() > TOUCH_EVERY_MS) {
        await app.database.db.updateTable('case_sessions').set({ last_seen_at: new Date(now) }).where('token_hash', '=', tokenHash).execute()
      }
      request.caseSession = { tokenHash, caseId: row.case_id, csrfToken: row.csrf_token }
    })

    app.addHook('preHandler', async (request) => {
      const access = request.routeOptions.config.caseAccess
      if (access === undefined) return
      const changing = STATE_CHANGING.has(request.method)
      if (changing) refuseCrossSite(request, app.config.publicOrigin)
      if (access === 'public') return
      const session = request.caseSession
      if (session === null) throw new HttpError(401, 'For your safety, you were signed out of your case. Enter your case code again to continue.')
      if (changing) {
        const supplied = request.headers['x-csrf-token']
        if (typeof supplied !== 'string' || !sameToken(supplied, session.csrfToken)) {
          throw new HttpError(403, 'This request did not carry the right token, so it was not carried out. Enter your case code again to continue.')
        }
      }
    })

    // Ended sessions, used or expired challenges and unclaimed uploads are removed, whichever
    // instance notices.
    const timer = setInterval(() => {
      const now = new Date()
      const db = app.database.db
      Promise.all([
        db.deleteFrom('case_sessions').where((eb) => eb.or([eb('expires_at', '<', now), eb('last_seen_at', '<', new Date(now.getTime() - IDLE_MS))])).execute(),
        db.deleteFrom('case_challenges').where('expires_at', '<', now).execute(),
        db.deleteFrom('case_evidence').where('staged_until', '<', now).execute(),
      ]).catch((error: unknown) => app.log.warn({ err: error }, 'could not delete expired case sessions, challenges or uploads'))
    }, 60 * 1000)
    timer.unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'case-session', dependencies: ['app-context', 'staff-auth'] },
)
