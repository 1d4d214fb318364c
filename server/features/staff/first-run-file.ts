import type { Kysely } from 'kysely'
import { closeSync, fchmodSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Schema } from '../../db/schema.ts'
import { FIRST_RUN_LINK_LIFETIME_MS, issueFirstAdminLink, issueSetupLink } from './first-run.ts'
import { serviceExists } from './repository.ts'

/**
 * Where the first-run links go. Each is a bearer token (whoever opens it first creates the IDVA
 * service, or the first administrator), so it must never reach standard output when that is a log
 * (under a service manager, a file others read). The links are written to a file only the portal's
 * user can read (mode 0600, made afresh at every start: FIRST_RUN_FILE, by default beside the
 * embedded database in DATA_DIR), and only the file's path is printed. On a terminal (standard output
 * is a TTY) the links are printed too, for whoever is watching. The file is deleted once the links
 * have been used (or have expired), and at a start where the service and an administrator exist.
 */

export interface FirstRunOutput {
  readonly isTTY?: boolean
  write(text: string): unknown
}

export interface FirstRunPublication {
  readonly setupLink: string | null
  readonly adminLink: string | null
  /** The file holding the links; null when there were none, or it could not be written. */
  readonly file: string | null
  /** Deletes the file once every link in it has been used or has expired; true when it is gone. */
  check(now?: number): Promise<boolean>
  /** Stops watching (the file stays until its links are used, or the next start). */
  stop(): void
}

/** How often a running portal checks whether the links have been used. */
const WATCH_EVERY_MS = 5_000

/** Deletes the file if it is there (a symbolic link itself, never what it points to). */
function removeFile(file: string): void {
  try {
    rmSync(file, { force: true })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR') throw error
  }
}

/** A new file, only the owner can read it; refuses to follow or reuse anything already there. */
function writePrivateFile(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  removeFile(file)
  const fd = openSync(file, 'wx', 0o600)
  try {
    fchmodSync(fd, 0o600)
    writeSync(fd, text)
  } finally {
    closeSync(fd)
  }
}

function linkText(setupLink: string | null, adminLink: string | null): string {
  const parts: string[] = []
  if (setupLink !== null) parts.push(`The IDVA service has not been set up. Its lead sets it up, within an hour, at:\n\n  ${setupLink}\n`)
  if (adminLink !== null) parts.push(`No portal administrator exists yet. Force IT creates the first one, within an hour, at:\n\n  ${adminLink}\n`)
  return parts.join('\n')
}

export async function publishFirstRunLinks(
  db: Kysely<Schema>,
  options: { publicOrigin: string; file: string; out?: FirstRunOutput; watchEveryMs?: number | null },
): Promise<FirstRunPublication> {
  const out = options.out ?? process.stdout
  const issuedAt = Date.now()
  // Whatever an earlier start wrote is stale: its links stop working now.
  try {
    removeFile(options.file)
  } catch {
    // A path that cannot be written is reported below, when the new links are written.
  }
  const setupLink = await issueSetupLink(db, options.publicOrigin)
  const adminLink = await issueFirstAdminLink(db, options.publicOrigin)
  let timer: NodeJS.Timeout | undefined
  const stop = () => clearInterval(timer)
  if (setupLink === null && adminLink === null) {
    return { setupLink, adminLink, file: null, check: async () => true, stop }
  }

  const links = linkText(setupLink, adminLink)
  let file: string | null = options.file
  try {
    writePrivateFile(options.file, `Safe Disclosure: first-run links. Each works once; this file is deleted once they are used.\n\n${links}`)
  } catch (error) {
    file = null
    out.write(`\nThe first-run links could not be written to ${options.file} (${(error as NodeJS.ErrnoException).code ?? 'error'}). Set FIRST_RUN_FILE to a file the portal's user can write, and restart.\n\n`)
  }
  if (out.isTTY === true) {
    out.write(`\n${links}${file === null ? '' : `\n(Also in ${file}, readable only by this user.)\n`}\n`)
  } else if (file !== null) {
    const which = [setupLink === null ? null : 'the IDVA service has not been set up', adminLink === null ? null : 'no portal administrator exists yet'].filter((part) => part !== null)
    const where = which.length === 1 ? 'The one-time link, valid for an hour, is in' : 'The one-time links, valid for an hour, are in'
    out.write(`\nFirst run: ${which.join(', and ')}. ${where} ${file} (readable only by this user; deleted once used).\n\n`)
  }

  const check = async (now = Date.now()): Promise<boolean> => {
    if (file === null) return true
    const expired = now >= issuedAt + FIRST_RUN_LINK_LIFETIME_MS
    const setupDone = setupLink === null || expired || (await serviceExists(db))
    const adminDone = adminLink === null || expired || (await db.selectFrom('accounts').select('id').where('role', '=', 'admin').executeTakeFirst()) !== undefined
    if (!setupDone || !adminDone) return false
    removeFile(file)
    stop()
    return true
  }
  if (file !== null && options.watchEveryMs !== null) {
    timer = setInterval(() => {
      // A database that is closing (the portal stopping) is tried again later, or never.
      check().catch(() => undefined)
    }, options.watchEveryMs ?? WATCH_EVERY_MS)
    timer.unref()
  }
  return { setupLink, adminLink, file, check, stop }
}
