import t from 'tap'
import { FakeElement, installFakeDocument } from './fake-dom.ts'
import { base64url } from '../../../crypto/bytes.ts'
import type { EvidenceReference, MessageContent } from '../../../crypto/thread.ts'
import { QUESTION_NAMES } from '../../../client/answers.ts'
import { answerList, appendContent, downloadEvidence } from '../../../client/thread-view.ts'

/**
 * The thread view both sides share (the IDVA's case page and /return), run against a fake DOM:
 * answer names looked up as own entries only, evidence file names cleaned and typed, programs and
 * macro documents warned about, and downloads always saved under the cleaned name.
 */

const created = installFakeDocument({ 'meta[name="sd-evidence-worker"]': { content: '/evidence-worker.js' } })

function file(name: string, id = '0b1d2c3e-0000-4000-8000-000000000001'): EvidenceReference {
  return { id, fileId: base64url.encode(new Uint8Array(16).fill(1)), key: base64url.encode(new Uint8Array(32).fill(2)), name, type: 'application/octet-stream', size: 10 }
}

function message(evidence: EvidenceReference[], answers?: Record<string, string>): MessageContent {
  return { v: 1, text: 'words', evidence, ...(answers === undefined ? {} : { answers }) }
}

t.test('answers are named from the table\'s own entries, never from what every object inherits', async (t) => {
  // A disclosure may name its answers anything matching /^[a-z][a-zA-Z]{0,40}$/, "constructor" included.
  const list = answerList({ constructor: 'one', toString: 'two', hasOwnProperty: 'three', valueOf: 'four', abuseTypes: 'physical' }, QUESTION_NAMES) as unknown as FakeElement
  const terms = list.find('dt').map((term) => term.textContent)
  t.same(terms, ['constructor', 'toString', 'hasOwnProperty', 'valueOf', 'What is happening'])
  t.notMatch(terms.join(' '), /function|native code|\[object/, 'no inherited function is shown as a name')
  t.same(list.find('dd').map((value) => value.textContent), ['one', 'two', 'three', 'four', 'Physical abuse'], 'a known answer in words')
})

t.test('an evidence file is shown by its cleaned name, its real type, and a warning for programs', async (t) => {
  const item = new FakeElement('li')
  const downloads: string[] = []
  const files = [file('invoice\u202Efdp.exe'), file('statement.pdf', '0b1d2c3e-0000-4000-8000-000000000002'), file('photo.jpg.exe', '0b1d2c3e-0000-4000-8000-000000000003'), file('gone\u2067.docm', '0b1d2c3e-0000-4000-8000-000000000004')]
  appendContent(item as unknown as HTMLElement, message(files), {
    stored: files.slice(0, 3),
    answersTitle: 'Answers',
    names: QUESTION_NAMES,
    download: (chosen) => downloads.push(chosen.name),
  })
  t.notMatch(item.textContent, /[\u202A-\u202E\u2066-\u2069]/u, 'no reordering character reaches the page')
  const rows = item.all().filter((element) => element.dataset.evidenceFile !== undefined)
  t.equal(rows.length, 4, 'one row per file')
  const buttons = item.find('button')
  t.equal(buttons.length, 4, 'one button per file')

  const [bidi, pdf, double, missing] = rows as [FakeElement, FakeElement, FakeElement, FakeElement]
  t.equal(buttons[0]!.textContent, 'Download invoicefdp.exe')
  t.match(bidi.textContent, /^Download invoicefdp\.exe — EXE file/)
  t.equal(bidi.dataset.extension, 'exe')
  t.equal(bidi.dataset.risky, 'true')
  const warning = bidi.all().find((element) => element.dataset.fileWarning === 'true')
  t.ok(warning, 'a warning')
  t.equal(warning?.textContent, 'This kind of file can run a program or macros when it is opened. Do not open it on a work computer; ask IT how to check it safely.')
  t.equal(bidi.find('span')[0]?.dir, 'ltr', 'the name is isolated from the words around it')

  t.equal(pdf.textContent, 'Download statement.pdf — PDF file', 'an ordinary file: its name and type, no warning')
  t.equal(pdf.dataset.risky, 'false')

  t.match(double.textContent, /Download photo\.jpg\.exe — EXE file/)
  t.match(double.textContent, /Its name ends in \.exe, so it is not a JPG file\./)

  t.equal(buttons[3]!.textContent, 'gone.docm (missing)')
  t.equal(buttons[3]!.disabled, true)
  t.match(missing.textContent, /DOCM file.*Do not open it on a work computer/)

  buttons[0]!.click()
  t.same(downloads, ['invoice\u202Efdp.exe'], 'the button fetches the file it names (its reference is unchanged)')
  t.notOk(created.some((element) => Object.hasOwn(element, 'innerHTML')), 'nothing was ever set as HTML')
})

t.test('a download is always saved, as application/octet-stream, under the cleaned name', async (t) => {
  const plain = new Uint8Array([1, 2, 3])
  const originals = { fetch: globalThis.fetch, Worker: (globalThis as { Worker?: unknown }).Worker, createObjectURL: URL.createObjectURL, setTimeout: globalThis.setTimeout }
  t.teardown(() => {
    globalThis.fetch = originals.fetch
    ;(globalThis as { Worker?: unknown }).Worker = originals.Worker
    URL.createObjectURL = originals.createObjectURL
    globalThis.setTimeout = originals.setTimeout
  })
  globalThis.fetch = (async () => new Response(new Uint8Array([9, 9, 9]))) as typeof fetch
  // The evidence worker, answering in-process with the "decrypted" bytes.
  ;(globalThis as { Worker?: unknown }).Worker = class {
    onmessage: ((event: { data: unknown }) => void) | null = null
    onerror: (() => void) | null = null
    postMessage(job: { id: number }): void {
      queueMicrotask(() => this.onmessage?.({ data: { id: job.id, result: new Blob([plain]) } }))
    }
    terminate(): void {}
  }
  const blobs: Blob[] = []
  URL.createObjectURL = (blob: Blob) => {
    blobs.push(blob)
    return 'blob:test'
  }
  globalThis.setTimeout = ((work: () => void, ms: number) => originals.setTimeout(work, ms).unref()) as typeof setTimeout

  const before = created.length
  await downloadEvidence('/return/evidence/x', file('invoice\u202Efdp.exe'))
  const anchor = created.slice(before).find((element) => element.tagName === 'a') as (FakeElement & { download?: string; href?: string }) | undefined
  t.ok(anchor, 'a link made for the download')
  t.equal(anchor?.download, 'invoicefdp.exe', 'saved under the cleaned name, with its real extension')
  t.equal(anchor?.href, 'blob:test')
  t.equal(anchor?.clicks, 1)
  t.equal(blobs.length, 1)
  t.equal(blobs[0]!.type, 'application/octet-stream', 'never a type the browser would open in a tab')
  t.same(new Uint8Array(await blobs[0]!.arrayBuffer()), plain)

  await downloadEvidence('/return/evidence/y', file('../../\u0000'))
  const second = created.filter((element) => element.tagName === 'a').at(-1) as FakeElement & { download?: string }
  t.equal(second.download, '_.._', 'a name of path parts and controls is saved as harmless text')
})
