/**
 * The portal's browser module, served from the portal itself (no inline scripts, no other hosts).
 * It installs the quick exit at once; the cryptography (crypto/ and libsodium) is a separate chunk,
 * loaded only by the pages that encrypt or decrypt, through loadCrypto().
 */
import { installQuickExit } from './quick-exit.ts'
import { webAssemblyWorks } from '../crypto/sodium.ts'

installQuickExit(document, window)

/**
 * Staff pages need libsodium's sumo build (Argon2id), which only exists as WebAssembly: where it is
 * switched off they say so plainly (views/staff/layout.tsx) and load nothing that would fail.
 */
function staffCannotRun(): void {
  const notice = document.querySelector<HTMLElement>('[data-needs-webassembly]')
  if (notice !== null) notice.hidden = false
}

// Staff pages: their behaviour (keys, passphrases) is a separate chunk, loaded only there.
const page = document.body.dataset.page ?? ''
if (page.startsWith('staff-')) {
  if (webAssemblyWorks()) void import('./staff/pages.ts').then((staff) => staff.startStaffPage(page))
  else staffCannotRun()
}
// The reporter's pages: encrypt before anything is sent, decrypt after it arrives.
if (page === 'report') void import('./reporter/report.ts').then((report) => report.startReport())
if (page === 'return') void import('./reporter/return.ts').then((reporter) => reporter.startReturn())
// Line managers: the consultation is encrypted like a disclosure; the guidance pages can be printed.
if (page === 'managers-ask') void import('./reporter/ask.ts').then((ask) => ask.startAsk())
for (const button of document.querySelectorAll<HTMLButtonElement>('[data-print]')) {
  button.hidden = false
  button.addEventListener('click', () => window.print())
}

/** crypto/ (envelopes, case codes, keys, fingerprints, evidence framing), loaded on first use. */
export const loadCrypto = () => import('../crypto/index.ts')

/** Evidence files, encrypted and decrypted in a Web Worker. */
export const loadEvidence = () => import('./evidence.ts')

/** Staff passphrases and key wrapping: libsodium's larger sumo build, loaded only on staff pages. */
export const loadStaffCrypto = () => import('../crypto/staff-keys.ts')
