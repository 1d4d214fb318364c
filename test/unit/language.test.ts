import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { loadGuidance } from '../../server/features/managers/guidance.ts'

/**
 * Plain language that never blames or doubts the person experiencing abuse, nor minimises it. This
 * list of harmful phrasings is checked against every piece of text the portal shows: the views,
 * the browser modules' messages, the server's messages, the scripts' (the demo's cases, the command
 * lines' messages) and the line managers' guidance. The only
 * place such phrases may appear is a guide's "::: dont-say" block, which shows them as what never
 * to say.
 */

const HARMFUL = [
  /private matter/i,
  /are you sure you want/i,
  /sort (this|it) out down at the station/i,
  /why (didn'?t|don'?t|do) you (just )?(leave|stay)/i,
  /why did(n'?t)? you stay/i,
  /what did you do to (make|provoke)/i,
  /\bprovok(ed|ing) (him|her|them)\b/i,
  /asking for it/i,
  /just a domestic/i,
  /\bdomestic (dispute|tiff|squabble)\b/i,
  /lovers'? tiff/i,
  /it takes two/i,
  /both (of you|sides) (are|were) to blame/i,
  /over-?reacting/i,
  /exaggerat(e|ing)/i,
  /attention[- ]seeking/i,
  /\bcalm down\b/i,
  /making a fuss/i,
  /keep it (in the family|quiet)/i,
  /such a (good|nice) (officer|man|bloke|person)/i,
  /(have|had) a quiet word/i,
  /are you (really )?sure (it|that) happened/i,
  /you (should|could) have (left|reported|told)/i,
  /false allegation/i,
  /you let (it|this) happen/i,
  /put up with it/i,
  // Doubting.
  /\bwhy now\b/i,
  /why didn'?t you (report|tell|say)/i,
  /what were you wearing/i,
  /i can'?t imagine (him|her|them)/i,
  /out of character/i,
  /(just )?a misunderstanding/i,
  /\b(hysterical|drama queen)\b/i,
  // Minimising.
  /not that bad/i,
  /only verbal/i,
  /at least (he|she|they) didn'?t/i,
  /just lost (his|her|their) temper/i,
  /just a row/i,
  /\b(volatile|toxic) relationship/i,
  /six of one/i,
  /handbags/i,
  // Pressure to stay quiet, and advice that is unsafe where one person abuses the other.
  /think of (his|her|their) career/i,
  /think of the children/i,
  /rock the boat/i,
  /waste of police time/i,
  /couples counselling/i,
  /\bmediation\b/i,
  /sort it out between (yourselves|you)/i,
  /stay for the (kids|children)/i,
  /sit down with someone and sort it out/i,
  // Aimed at men and LGBTQ+ staff.
  /man up/i,
  /real men/i,
  /just a phase/i,
  /down the station/i,
  /over-?reaction/i,
]

const ROOT = resolve(import.meta.dirname, '../..')
const SOURCES = ['views', 'client', 'server', 'crypto', 'scripts', 'rules']

function files(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name)
    return statSync(path).isDirectory() ? files(path) : [path]
  })
}

/** A guide's text without its "never say" blocks. */
function withoutDontSay(markdown: string): string {
  return markdown.replace(/^::: dont-say\n[\s\S]*?^:::\n/gm, '')
}

/**
 * Compared as a reader would see it: curly apostrophes as straight ones, and any run of white
 * space (a line break in a view, say) as one space, so a phrase cannot slip past by being wrapped.
 */
function findings(text: string): string[] {
  const normalised = text.replace(/[\u2018\u2019\u02bc]/g, "'").replace(/\s+/g, ' ')
  return HARMFUL.filter((pattern) => pattern.test(normalised)).map((pattern) => pattern.source)
}

t.test('no interface text, message or guidance uses a blaming or minimising phrase', async (t) => {
  const checked: string[] = []
  for (const folder of SOURCES) {
    for (const path of files(join(ROOT, folder)).filter((file) => /\.(tsx?|md|css)$/.test(file))) {
      const raw = readFileSync(path, 'utf8')
      const text = path.endsWith('.md') ? withoutDontSay(raw) : raw
      t.same(findings(text), [], relative(ROOT, path))
      checked.push(path)
    }
  }
  t.ok(checked.some((path) => path.endsWith('.md')), 'the guidance was checked')
  t.ok(checked.length > 50, `${checked.length} files`)
})

t.test('the list catches what it is for, and a "never say" block is the only exception', async (t) => {
  for (const phrase of ["It's a private matter.", 'Are you sure you want to do this?', "Come on, let's sort this out down at the station.", 'Why don\u2019t you just leave?', 'Aren\u2019t you overreacting?', 'a private\n      matter', 'Man up.']) {
    t.not(findings(phrase).length, 0, phrase)
  }
  const guide = "Intro.\n\n::: dont-say\n- \"It's a private matter.\"\n:::\n\nMore.\n"
  t.same(findings(withoutDontSay(guide)), [])
  t.not(findings(guide).length, 0)
  // The guidance does name the harmful phrases, inside its "never say" block, rendered as such.
  const whatToSay = loadGuidance().find((page) => page.slug === 'what-to-say')!
  t.match(whatToSay.html, /<section class="guidance-box guidance-box--dont" aria-labelledby="(guidance-box-\d+)"><h3 class="guidance-box__title" id="\1">Never say<\/h3>[\s\S]*private matter[\s\S]*Are you sure you want to do this\?[\s\S]*sort this out down at the station[\s\S]*<\/section>/)
})
