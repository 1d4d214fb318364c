import MarkdownIt, { type PluginWithParams } from 'markdown-it'
import container from 'markdown-it-container'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Guide } from '../../../views/pages/managers.tsx'

/**
 * The line managers' guidance: Markdown files the IDVA service edits in views/guidance/managers/,
 * named "NN-slug.md" (NN orders them; the slug is the page's address, /managers/<slug>). Each
 * starts with "# Title" and a first paragraph that summarises it for the index.
 *
 * Rendered safely, once, at start-up: raw HTML in a file is shown as text (markdown-it with
 * html: false), and every link must be one of the portal's own pages or a phone number, checked
 * here, so a mistake in a file stops the server with a message naming the file and the link
 * instead of publishing a broken or off-site link. Two blocks are added for the "what to say"
 * guidance:
 *
 *   ::: say            phrases that help (shown under "You could say")
 *   ::: dont-say       phrases that harm (shown under "Never say"); the language test skips only these
 */

export const GUIDANCE_FOLDER = resolve(import.meta.dirname, '../../../views/guidance/managers')

export type { Guide } from '../../../views/pages/managers.tsx'

export class GuidanceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'GuidanceError'
  }
}

const FILE = /^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)\.md$/
/** Pages a guide may link to besides the guides themselves. */
const OTHER_PAGES = ['/', '/report', '/return', '/managers', '/managers/ask', '/managers/card', '/information', '/safety']

function renderer(): MarkdownIt {
  const markdown = new MarkdownIt({ html: false, linkify: false, typographer: false })
  for (const [name, title, modifier] of [['say', 'You could say', 'say'], ['dont-say', 'Never say', 'dont']] as const) {
    // The plugin's own type declarations lag markdown-it's; its runtime signature is (md, name, options).
    // A section with its own heading, so a screen reader moving through the lists hears "Never say"
    // before the phrases it is about.
    markdown.use(container as unknown as PluginWithParams, name, {
      render(tokens: { nesting: number }[], index: number) {
        const id = `guidance-box-${index}`
        return tokens[index]!.nesting === 1 ? `<section class="guidance-box guidance-box--${modifier}" aria-labelledby="${id}"><h3 class="guidance-box__title" id="${id}">${title}</h3>\n` : '</section>\n'
      },
    })
  }
  return markdown
}

/** Every link in the rendered token stream (href values, for checking); images are refused outright. */
function links(markdown: MarkdownIt, source: string, name: string): string[] {
  const found: string[] = []
  const walk = (tokens: ReturnType<MarkdownIt['parse']>) => {
    for (const token of tokens) {
      if (token.type === 'link_open') found.push(token.attrGet('href') ?? '')
      if (token.type === 'image') throw new GuidanceError(`${name}: guides cannot show images (they would load from wherever the file says)`)
      if (token.children !== null) walk(token.children)
    }
  }
  walk(markdown.parse(source, {}))
  return found
}

/** A paragraph of Markdown as plain text, for the index (links keep their words; emphasis goes). */
function plainText(paragraph: string): string {
  return paragraph.replace(/\[([^\]]+)\]\([^)]*\)/g, '$1').replace(/[*_`]/g, '')
}

/** Reads, checks and renders every guide, in file-name order. Throws GuidanceError naming the problem. */
export function loadGuidance(folder: string = GUIDANCE_FOLDER): readonly Guide[] {
  let names: string[]
  try {
    names = readdirSync(folder).filter((name) => name.endsWith('.md')).sort()
  } catch (error) {
    throw new GuidanceError(`cannot read the managers' guidance folder ${folder}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  if (names.length === 0) throw new GuidanceError(`the managers' guidance folder ${folder} has no .md files`)
  const markdown = renderer()
  const drafts = names.map((name) => {
    const match = FILE.exec(name)
    if (match === null) throw new GuidanceError(`${name}: guidance files are named NN-slug.md (two digits, then lower-case words joined by hyphens)`)
    const source = readFileSync(join(folder, name), 'utf8').replace(/\r\n/g, '\n')
    const [first, ...rest] = source.split('\n')
    if (first === undefined || !first.startsWith('# ') || first.length < 3) throw new GuidanceError(`${name}: the first line must be the title, as "# Title"`)
    const body = rest.join('\n').trim()
    const summary = body.split('\n\n')[0]?.replace(/\s+/g, ' ').trim() ?? ''
    if (summary === '' || summary.startsWith('#')) throw new GuidanceError(`${name}: the title must be followed by a paragraph that summarises the page`)
    return { slug: match[2]!, title: first.slice(2).trim(), summary: plainText(summary), body, name }
  })
  const slugs = new Set(drafts.map((draft) => draft.slug))
  if (slugs.size !== drafts.length) throw new GuidanceError('two guidance files have the same slug')
  if (slugs.has('ask')) throw new GuidanceError('"ask" is the consultation page: a guide cannot use that slug')
  if (slugs.has('card')) throw new GuidanceError('"card" is the printable card: a guide cannot use that slug')
  const known = new Set([...OTHER_PAGES, ...[...slugs].map((slug) => `/managers/${slug}`)])
  return drafts.map((draft) => {
    for (const href of links(markdown, draft.body, draft.name)) {
      if (!known.has(href) && !/^tel:\+?[0-9]{3,15}$/.test(href)) throw new GuidanceError(`${draft.name}: the link "${href}" is not a page of this portal (guides may link to ${[...known].join(', ')}, or tel: numbers)`)
    }
    return { slug: draft.slug, title: draft.title, summary: draft.summary, html: markdown.render(draft.body) }
  })
}
