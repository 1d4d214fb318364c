/**
 * Ways to get help that do not depend on this portal: shown on the landing page, the safety page,
 * and wherever the portal cannot take a disclosure (not open yet, or the service's key could not
 * be checked).
 */
export function Helplines(): JSX.Element {
  return (
    <ul class="list">
      <li>
        In an emergency, call <strong>999</strong>. If you cannot speak, call 999 from a mobile and press <strong>55</strong>{' '}
        when asked.
      </li>
      <li>
        National Domestic Abuse Helpline: <strong>0808 2000 247</strong> (free, 24 hours)
      </li>
      <li>
        Men's Advice Line: <strong>0808 801 0327</strong>
      </li>
      <li>
        Galop, for LGBT+ people experiencing abuse: <strong>0800 999 5428</strong>
      </li>
    </ul>
  )
}

/** How to use the site more safely on a device someone else may see or check. */
export function StayingSafe(): JSX.Element {
  return (
    <ul class="list">
      <li>If you can, use a phone or computer, and an internet connection, that the person harming you cannot see or check.</li>
      <li>Use a private or incognito window, so this site is not kept in your browser history.</li>
      <li>This site asks your browser not to keep copies of its pages.</li>
      <li>
        To leave quickly, use the <strong>Leave this site</strong> button at the top of every page, or press the Shift key
        three times. The page goes blank and an everyday website opens in its place.
      </li>
    </ul>
  )
}
