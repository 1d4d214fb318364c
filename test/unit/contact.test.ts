import t from 'tap'
import type { PageContext } from '../../views/context.ts'
import { InformationPage } from '../../views/pages/information.tsx'
import { LandingPage } from '../../views/pages/landing.tsx'
import { CardPage, ManagersIndexPage } from '../../views/pages/managers.tsx'
import { SafetyPage } from '../../views/pages/safety.tsx'

/**
 * Talking to a person: the IDVA service's phone line, hours and offer to meet (configuration) on
 * the pages a person or a manager reads first; the options page; and the printable card.
 */

const assets = { css: '/a.css', htmx: '/h.js', app: '/a.js', evidenceWorker: '/w.js', puzzleWorker: '/p.js' }
const withContact: PageContext = { quickExitUrl: 'https://www.bbc.co.uk/weather', demo: false, timeZone: 'Europe/London', assets, contact: { phone: '01632 960 123', hours: 'Monday to Friday, 9am to 5pm', meeting: 'An IDVA can meet you face to face, away from your workplace.' } }
const without: PageContext = { ...withContact, contact: null }
const service = { name: 'Safe Haven IDVA Service', fingerprint: '12345 67890 12345 67890 12345 67890' }
const text = (html: string) => html.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ')

t.test('the phone line, its hours and the offer to meet, where people look first', async (t) => {
  for (const [name, html] of [
    ['landing', String(await LandingPage({ context: withContact, service }))],
    ['safety', String(await SafetyPage({ context: withContact }))],
    ['information', String(await InformationPage({ context: withContact }))],
    ['managers', String(await ManagersIndexPage({ context: withContact, guides: [], targetDays: 3 }))],
  ] as const) {
    t.match(html, /<a href="tel:01632960123" class="contact-card__phone">01632 960 123<\/a>/, `${name}: a number a phone can call`)
    t.match(text(html), /\(Monday to Friday, 9am to 5pm\)\./, `${name}: with its hours`)
    t.match(html, /An IDVA can meet you face to face, away from your workplace\./, `${name}: and the offer to meet`)
  }
  t.notMatch(String(await LandingPage({ context: without, service })), /data-service-contact/, 'nothing when none is configured')
  t.match(text(String(await ManagersIndexPage({ context: without, guides: [], targetDays: 3 }))), /The IDVA service aims to reply within 3 working days\./, 'the consultation target, in the same words as the receipt')
})

t.test('the options page: Clare\'s Law, protection orders, 101, refuges, children, career and vetting, help to stop', async (t) => {
  const html = text(String(await InformationPage({ context: without })))
  t.match(html, /right to ask/)
  t.match(html, /right to know/)
  t.match(html, /48 hours/)
  t.match(html, /up to 28 days/)
  t.match(html, /non-molestation order/)
  t.match(html, /call 101, or 999 in an emergency/)
  t.match(html, /0808 2000 247/)
  t.match(html, /NSPCC helpline, 0808 800 5000/)
  t.match(html, /Nothing you write here reaches your employer/)
  t.match(html, /a child is in danger, the IDVA service may have to share information without your agreement/, 'with the exception to consent')
  t.match(html, /Police Federation \(for officers\)/)
  t.match(html, /Respect Phone Line .*0808 802 4040/)
  t.notMatch(String(await InformationPage({ context: without })), /<title>[^<]*(abuse|domestic)/i, 'a neutral title')
})

t.test('the card: the portal\'s address, the phone line, and the fingerprint only once it checks out', async (t) => {
  const card = String(await CardPage({ context: withContact, service, address: 'https://support.example.org' }))
  t.match(card, /https:\/\/support\.example\.org/)
  t.match(text(card), /Or call 01632 960 123 \(Monday to Friday, 9am to 5pm\)\./)
  t.match(card, /data-card-fingerprint=""/)
  t.ok(card.includes(service.fingerprint))
  t.match(text(card), /PCSOs, special constables and police staff/)
  const closed = String(await CardPage({ context: without, service: null, address: 'https://support.example.org' }))
  t.match(closed, /data-card-fingerprint="none"/)
  t.notMatch(closed, /Or call/)
})
