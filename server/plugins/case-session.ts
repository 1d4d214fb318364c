import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { hkdfSync, randomBytes } from 'node:crypto'
import { sql } from 'kysely'
import { openAtRest, sealAtRest, VaultError } from '../security/case-vault.ts'
import { HttpError } from '../errors.ts'
import { sameToken, sha256 } from '../security/tokens.ts'
import { deleteUnclaimedUploads } from '../features/cases/repository.ts'
import { refuseCrossSite } from '../http/cross-site.ts'

/**
 * A reporter's session at /return, after their browser has signed the server's challenge with the
 * key derived from their case code.
 *
 * Like staff sessions: the cookie holds a random token and the database only its SHA-256; HttpOnly,
 * SameSite=Strict, Secure and __Host- over https, no expiry (it goes when the browser closes, and at
 * the quick exit, which also ends it here). It ends after 15 minutes idle or 2 hours in all, when
 * the reporter leaves, and when the case is withdrawn (the row goes with the case).
 *
 * Unlike staff sessions, its times are not the database's to read: when a reporter came back, to
 * the minute, could name them. The start and the last request are sealed under a key derived from
 * the cookie's token, which only the reporter's browser holds; the row keeps only the day.
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
    /** Ends the session the request's cookie names (if any) and clears the cookie. */
    endCaseSession(request: FastifyRequest, reply: FastifyReply): Promise<void>
  }
}

const IDLE_MS = 15 * 60 * 1000
const ABSOLUTE_MS = 2 * 60 * 60 * 1000
const TOUCH_EVERY_MS = 60 * 1000
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])
const TOKEN = /^[A-Za-z0-9_-]{43}$/

function timesKey(token: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(token, 'utf8'), Buffer.alloc(0), 'sd-case-session-times-v1', 32))
}

function sealTimes(token: string, started: number, lastSeen: number): Buffer {
  const times = Buffer.alloc(16)
  times.writeBigUInt64BE(BigInt(started))
  times.writeBigUInt64BE(BigInt(lastSeen), 8)
  return sealAtRest(timesKey(token), 'case-session-times', times)
}

function openTimes(token: string, sealed: Buffer): { started: number; lastSeen: number } | null {
  try {
    const times = openAtRest(timesKey(token), 'case-session-times', sealed)
    return { started: Number(times.readBigUInt64BE(0)), lastSeen: Number(times.readBigUInt64BE(8)) }
  } catch (error) {
    if (error instanceof VaultError) return null
    throw error
  }
}

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
      const now = Date.now()
      await app.database.db
        .insertInto('case_sessions')
        .values({ token_hash: sha256(token), case_id: caseId, csrf_token: csrfToken, times_sealed: sealTimes(token, now, now), created_on: sql<string>`current_date` })
        .execute()
      reply.setCookie(cookieName, token, cookieOptions)
      return csrfToken
    })

    app.decorate('endCaseSession', async (request: FastifyRequest, reply: FastifyReply) => {
      const token = request.cookies[cookieName]
      const tokenHash = request.caseSession?.tokenHash ?? (token !== undefined && TOKEN.test(token) ? sha256(token) : null)
      if (tokenHash !== null) await app.database.db.deleteFrom('case_sessions').where('token_hash', '=', tokenHash).execute()
      reply.clearCookie(cookieName, cookieOptions)
    })

    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.caseAccess === undefined) return
      const token = request.cookies[cookieName]
      if (token === undefined || token === '') return
      if (!TOKEN.test(token)) {
        reply.clearCookie(cookieName, cookieOptions)
        return
      }
      const tokenHash = sha256(token)
      const row = await app.database.db.selectFrom('case_sessions').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst()
      const now = Date.now()
      const times = row === undefined ? null : openTimes(token, row.times_sealed)
      if (row === undefined || times === null || times.started + ABSOLUTE_MS <= now || times.lastSeen + IDLE_MS <= now) {
        if (row !== undefined) await app.database.db.deleteFrom('case_sessions').where('token_hash', '=', tokenHash).execute()
        reply.clearCookie(cookieName, cookieOptions)
        return
      }
      if (now - times.lastSeen > TOUCH_EVERY_MS) {
        await app.database.db.updateTable('case_sessions').set({ times_sealed: sealTimes(token, times.started, now) }).where('token_hash', '=', tokenHash).execute()
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

    // Sessions, used challenges and unclaimed uploads are removed by the day, whichever instance
    // notices: their times are sealed, so the day is all the database knows. (Each is refused
    // when used after its time anyway: this only keeps the tables small.)
    const timer = setInterval(() => {
      const db = app.database.db
      Promise.all([
        db.deleteFrom('case_sessions').where('created_on', '<', sql<string>`current_date - 1`).execute(),
        db.deleteFrom('used_challenges').where('used_on', '<', sql<string>`current_date - 1`).execute(),
        deleteUnclaimedUploads(db),
      ]).catch((error: unknown) => app.log.warn({ err: error }, 'could not delete old case sessions, challenges or uploads'))
    }, 60 * 1000)
    timer.unref()
    app.addHook('onClose', async () => clearInterval(timer))
  },
  { name: 'case-session', dependencies: ['app-context', 'staff-auth'] },
)
