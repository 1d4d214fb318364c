/**
 * The quick exit (the GOV.UK "Exit this page" pattern). Without JavaScript it is an ordinary link
 * to a neutral site; client/quick-exit.ts makes it blank the page and replace the history entry,
 * and adds the triple-Shift shortcut.
 */
export function QuickExit({ href }: { href: string }): JSX.Element {
  return (
    <div class="quick-exit">
      <a class="quick-exit__button" href={href} rel="noreferrer nofollow" data-quick-exit="">
        Leave this site
      </a>
      <p class="quick-exit__hint">Or press Shift three times</p>
    </div>
  )
}
