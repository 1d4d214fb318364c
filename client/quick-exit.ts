/**
 * Quick exit: the "Leave this site" button, and pressing Shift three times (within five seconds,
 * with no other key in between), as in the GOV.UK "Exit this page" component.
 *
 * Leaving must be instant and must not depend on the server: the page is blanked at once, then the
 * current history entry is replaced by the neutral site, so Back does not return to this page.
 * In the background (a beacon that outlives the page), the portal is asked to clear what this
 * browser holds for it: cookies, storage and cache (the Clear-Site-Data header on /leave).
 *
 * So that Back after leaving goes to the page before the portal, and not to an earlier page of it,
 * a visit takes one history entry only: on these pages, a link within the portal replaces the
 * current entry instead of adding one (keepOutOfHistory). Opening a link in a new tab or window
 * (modifier keys, middle click) is left to the browser.
 */

const SHIFT_PRESSES = 3
const WINDOW_MS = 5_000

export function installQuickExit(doc: Document, win: Window): void {
  const buttons = Array.from(doc.querySelectorAll<HTMLAnchorElement>('a[data-quick-exit]'))
  const first = buttons[0]
  if (first === undefined) return
  const destination = first.href
  keepOutOfHistory(doc, win)

  let leaving = false
  const leave = (): void => {
    if (leaving) return
    leaving = true
    doc.documentElement.classList.add('is-leaving')
    doc.title = ''
    try {
      win.sessionStorage.clear()
    } catch {
      // Storage can be unavailable (privacy settings); leaving must not depend on it.
    }
    try {
      win.navigator.sendBeacon('/leave')
    } catch {
      // Best effort only.
    }
    win.location.replace(destination)
  }

  for (const button of buttons) {
    button.addEventListener('click', (event) => {
      event.preventDefault()
      leave()
    })
  }

  let presses: number[] = []
  doc.addEventListener(
    'keydown',
    (event) => {
      if (event.key !== 'Shift') {
        presses = []
        return
      }
      if (event.repeat) return
      const now = win.performance.now()
      presses = [...presses.filter((time) => now - time < WINDOW_MS), now]
      if (presses.length >= SHIFT_PRESSES) leave()
    },
    { capture: true },
  )
}

/** Links within the portal replace the current history entry (see above). */
function keepOutOfHistory(doc: Document, win: Window): void {
  doc.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    const link = event.target instanceof Element ? event.target.closest<HTMLAnchorElement>('a[href]') : null
    if (link === null || link.hasAttribute('data-quick-exit') || link.hasAttribute('download') || (link.target !== '' && link.target !== '_self')) return
    const url = new URL(link.href, win.location.href)
    if (url.origin !== win.location.origin) return
    event.preventDefault()
    win.location.replace(url.href)
  })
}
