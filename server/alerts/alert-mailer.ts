import { SingleRun } from '../single-run.ts'
import { sql } from 'kysely'
import type { FastifyBaseLogger } from 'fastify'
import { createTransport, type Transporter } from 'nodemailer'
import type { AlertEmailConfig } from '../config.ts'
import type { Database } from '../db/database.ts'
import { anythingWaiting } from '../features/idva/repository.ts'

/**
 * "Something new is waiting": an email to the IDVA service's team address when a case, a
 * consultation or a person's message has arrived since the last one. It says nothing about who or
 * what (no case, no count, no words), and it is sent by a job that runs once per interval, so its
 * time says only that something arrived within that interval, not when: a mail server's log of the
 * second an email left must not date a disclosure.
 *
 * Arrivals take a number from the `arrivals` sequence in their own transaction. The job claims every
 * number up to the newest with one conditional UPDATE of `alert_state` (so of several instances,
 * one emails), sends, and gives the claim back if the mail server refuses, to try again next time.
 * When nothing waits for the service by then (what arrived was all marked as junk, or answered), the
 * claim is kept and no email goes: a flood an IDVA has already cleared does not page the team.
 */
export type AlertRun = 'off' | 'nothing new' | 'sent' | 'failed'

export class AlertMailer {
  readonly #transport: Transporter | null
  #timer: NodeJS.Timeout | undefined
  readonly #single = new SingleRun(() => this.#run())

  constructor(
    private readonly database: Database,
    private readonly config: AlertEmailConfig | null,
    private readonly origin: string,
    private readonly logger: FastifyBaseLogger,
  ) {
    // No connection is kept open between runs; the URL's credentials stay in the transport.
    this.#transport = config === null ? null : createTransport(config.smtpUrl, { from: config.from })
  }

  /** Runs every interval from now (nothing when alerts are off). */
  start(): void {
    if (this.config === null || this.#timer !== undefined) return
    this.#timer = setInterval(() => void this.runOnce(), this.config.everyMinutes * 60_000)
    this.#timer.unref()
  }

  /** One run: emails if anything arrived since the last email. One run at a time per instance. */
  runOnce(): Promise<AlertRun> {
    return this.#single.run()
  }

  async #run(): Promise<AlertRun> {
    if (this.config === null || this.#transport === null) return 'off'
    const db = this.database.db
    try {
      const newest = await sql<{ last_value: string; is_called: boolean }>`SELECT last_value, is_called FROM arrivals`.execute(db)
      const row = newest.rows[0]!
      const upTo = row.is_called ? BigInt(row.last_value) : 0n
      const state = await db.selectFrom('alert_state').select('alerted').where('id', '=', 1).executeTakeFirstOrThrow()
      const before = BigInt(state.alerted)
      if (upTo <= before) return 'nothing new'
      const claimed = await db.updateTable('alert_state').set({ alerted: upTo.toString() }).where('id', '=', 1).where('alerted', '=', before.toString()).executeTakeFirst()
      if (claimed.numUpdatedRows !== 1n) return 'nothing new' // another instance is emailing
      if (!(await anythingWaiting(db))) return 'nothing new'
      try {
        await this.#transport.sendMail({
          to: [...this.config.to],
          subject: 'Something new is waiting in the portal',
          text: [
            'Something new is waiting for the IDVA service in the portal: a new case or consultation, or a new message from someone.',
            '',
            `Sign in to read it: ${this.origin}/staff/cases`,
            '',
            `This email says nothing about who or what, on purpose, and is sent at most once every ${this.config.everyMinutes} minutes.`,
          ].join('\n'),
        })
      } catch (error) {
        await db.updateTable('alert_state').set({ alerted: before.toString() }).where('id', '=', 1).where('alerted', '=', upTo.toString()).execute()
        this.logger.warn({ alertEmail: 'failed', code: (error as { code?: string }).code ?? 'error' }, 'the alert email could not be sent; it will be tried again at the next interval')
        return 'failed'
      }
      this.logger.info({ alertEmail: 'sent' }, 'alert email sent')
      return 'sent'
    } catch (error) {
      this.logger.warn({ err: error }, 'the alert email job could not run')
      return 'failed'
    }
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
    await this.#single.settled()
    this.#transport?.close()
  }
}
