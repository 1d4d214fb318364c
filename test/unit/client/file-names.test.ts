import t from 'tap'
import fc from 'fast-check'
import { cleanText, describeFileName, MAX_NAME_CHARACTERS, RISKY_EXTENSIONS, RISKY_WARNING } from '../../../client/file-names.ts'

/**
 * Evidence file names are the reporter's own words, shown to an IDVA and at /return and used to
 * save the file: cleaned of invisible and reordering characters, shortened, with the real extension
 * stated and programs and macro documents flagged.
 */

/** Every character that draws nothing or reorders the text around it, which must never survive. */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u034F\u115F\u1160\u3164\uFE00-\uFE0F]/u

t.test('an ordinary name is kept, with its type stated', async (t) => {
  t.same(describeFileName('statement.pdf'), {
    shown: 'statement.pdf',
    extension: 'pdf',
    kind: 'PDF file',
    risky: false,
    pretends: '',
    warning: '',
    download: 'statement.pdf',
  })
  t.equal(describeFileName('Screenshot 2026-11-30 at 21.04.png').shown, 'Screenshot 2026-11-30 at 21.04.png', 'spaces and dots inside the name stay')
  t.equal(describeFileName('Screenshot 2026-11-30 at 21.04.png').extension, 'png')
  t.equal(describeFileName('Zeugenaussage für Frau Müller.docx').shown, 'Zeugenaussage für Frau Müller.docx', 'letters beyond ASCII stay')
  t.equal(describeFileName('archive.tar.gz').extension, 'gz', 'the real extension is the last one')
  t.equal(describeFileName('archive.tar.gz').pretends, '', 'tar.gz pretends nothing')
})

t.test('bidirectional overrides and other reordering characters are removed', async (t) => {
  // Shown raw, "invoice\u202Efdp.exe" reads "invoiceexe.pdf".
  const override = describeFileName('invoice\u202Efdp.exe')
  t.equal(override.shown, 'invoicefdp.exe')
  t.equal(override.extension, 'exe')
  t.equal(override.kind, 'EXE file')
  t.equal(override.risky, true)
  t.equal(override.warning, RISKY_WARNING)
  t.equal(override.download, 'invoicefdp.exe')
  for (const mark of ['\u202A', '\u202B', '\u202C', '\u202D', '\u202E', '\u2066', '\u2067', '\u2068', '\u2069', '\u200E', '\u200F', '\u061C']) {
    const name = describeFileName(`report${mark}gpj.scr`)
    t.equal(name.shown, 'reportgpj.scr', `U+${mark.codePointAt(0)!.toString(16).toUpperCase()} removed`)
    t.equal(name.risky, true)
  }
  t.equal(describeFileName('rep\u2066ort\u2069.pdf').shown, 'report.pdf', 'isolates removed')
})

t.test('control, zero-width and other invisible characters are removed; breaks become spaces', async (t) => {
  t.equal(describeFileName('bell\u0007\u0000\u001B[31m.txt').shown, 'bell[31m.txt', 'C0 controls and escape')
  t.equal(describeFileName('del\u007F\u0085\u009B.txt').shown, 'del .txt', 'DEL and C1 controls (NEL is a line break)')
  t.equal(describeFileName('new\nline\r\n\tname.exe').shown, 'new line name.exe', 'tabs and line breaks become one space')
  t.equal(describeFileName('x.e\u200Bxe').extension, 'exe', 'a zero-width space cannot hide an extension')
  t.equal(describeFileName('x.e\u200Cx\u200De\u2060\uFEFF').shown, 'x.exe', 'joiners, word joiner, byte order mark')
  t.equal(describeFileName('soft\u00ADhyphen.pdf').shown, 'softhyphen.pdf')
  t.equal(describeFileName('tag\u{E0041}\u{E0042}.pdf').shown, 'tag.pdf', 'tag characters')
  t.equal(describeFileName('filler\u3164\u115F.pdf').shown, 'filler.pdf', 'Hangul fillers draw nothing')
  t.equal(describeFileName('line\u2028sep\u2029.pdf').shown, 'line sep .pdf', 'line and paragraph separators are breaks')
  t.equal(describeFileName('lone\uD800surrogate.pdf').shown, 'lonesurrogate.pdf')
  t.equal(describeFileName('wide\u3000\u00A0\u2003space   here.pdf').shown, 'wide space here.pdf', 'every kind of space is one ordinary space')
  t.equal(cleanText('  \u202E padded \u200B '), 'padded')
})

t.test('the real extension decides, and double extensions are named', async (t) => {
  const double = describeFileName('photo.jpg.exe')
  t.equal(double.extension, 'exe')
  t.equal(double.kind, 'EXE file')
  t.equal(double.risky, true)
  t.equal(double.pretends, 'jpg')
  t.equal(double.warning, `Its name ends in .exe, so it is not a JPG file. ${RISKY_WARNING}`)
  t.equal(describeFileName('statement.pdf.js').pretends, 'pdf')
  t.equal(describeFileName('Evidence.DOCX.VBS').risky, true, 'extensions in any case')
  t.equal(describeFileName('Evidence.DOCX.VBS').download, 'Evidence.DOCX.vbs')
  t.equal(describeFileName('photo.exe.jpg').risky, false, 'a program name in front of a real image is an image')
  t.equal(describeFileName('photo.exe.jpg').kind, 'JPG file')
  t.equal(describeFileName('report.exe. . ').extension, 'exe', 'trailing dots and spaces are dropped, as Windows does')
  t.equal(describeFileName('report.exe. . ').shown, 'report.exe')
  t.equal(describeFileName('notes').kind, 'file with no extension')
  t.equal(describeFileName('notes.').extension, '')
  t.equal(describeFileName('final version.of the letter').extension, '', 'text with spaces after the last dot is not an extension')
  t.equal(describeFileName('x.exe\u00A0').extension, 'exe', 'a trailing no-break space hides nothing')
})

t.test('programs, scripts and documents with macros are flagged', async (t) => {
  const flagged = ['exe', 'msi', 'bat', 'cmd', 'com', 'scr', 'ps1', 'vbs', 'js', 'jse', 'wsf', 'hta', 'jar', 'lnk', 'dll', 'apk', 'app', 'sh', 'docm', 'xlsm', 'pptm', 'dotm', 'xltm', 'xlam', 'ppsm', 'potm', 'xlsb', 'pif', 'cpl', 'reg', 'iso', 'html', 'svg', 'appref-ms']
  for (const extension of flagged) {
    t.ok(RISKY_EXTENSIONS.has(extension), `${extension} is in the list`)
    const name = describeFileName(`evidence.${extension}`)
    t.equal(name.risky, true, `.${extension} is flagged`)
    t.equal(name.warning, RISKY_WARNING)
  }
  for (const extension of ['pdf', 'docx', 'xlsx', 'pptx', 'txt', 'jpg', 'jpeg', 'png', 'heic', 'mp3', 'mp4', 'mov', 'zip', 'csv', 'eml', 'doc']) {
    const name = describeFileName(`evidence.${extension}`)
    t.equal(name.risky, false, `.${extension} is not flagged`)
    t.equal(name.warning, '')
  }
  t.match(RISKY_WARNING, /Do not open it on a work computer; ask IT how to check it safely\./)
})

t.test('very long names are shortened, keeping the real extension in view', async (t) => {
  const long = describeFileName(`${'a'.repeat(300)}.jpg.exe`)
  t.equal(Array.from(long.shown).length, MAX_NAME_CHARACTERS)
  t.ok(long.shown.endsWith('….exe'), 'an ellipsis, then the real extension')
  t.equal(long.extension, 'exe')
  t.equal(long.risky, true)
  t.equal(Array.from(long.download).length, MAX_NAME_CHARACTERS)
  t.ok(long.download.endsWith('a.exe'), 'the saved name keeps the extension, without an ellipsis')
  const noExtension = describeFileName('x'.repeat(300))
  t.equal(Array.from(noExtension.shown).length, MAX_NAME_CHARACTERS)
  t.ok(noExtension.shown.endsWith('…'))
  const emoji = describeFileName(`${'😀'.repeat(200)}.png`)
  t.equal(Array.from(emoji.shown).length, MAX_NAME_CHARACTERS, 'counted in characters, never splitting one')
  t.notMatch(emoji.shown, /[\uD800-\uDFFF](?![\uDC00-\uDFFF])/u)
})

t.test('empty names, and names that are nothing but invisible characters', async (t) => {
  for (const empty of ['', '   ', '\u202E\u200B\u2066', '\u0000\u0001', '. . .']) {
    const name = describeFileName(empty)
    t.equal(name.shown, 'unnamed file', `${JSON.stringify(empty)} is shown as unnamed`)
    t.equal(name.kind, 'file with no extension')
    t.equal(name.download, 'file')
    t.equal(name.risky, false)
  }
  t.equal(describeFileName('.exe').risky, true, 'an extension alone still counts')
  t.equal(describeFileName('.exe').shown, 'unnamed.exe')
  t.equal(describeFileName('.exe').download, 'file.exe')
  t.equal(describeFileName(undefined as unknown as string).shown, 'unnamed file', 'not even a string')
})

t.test('the download name is safe to save anywhere', async (t) => {
  t.equal(describeFileName('../../etc/passwd').download, '_.._etc_passwd', 'no folders, no leading dots')
  t.equal(describeFileName('C:\\Users\\x\\evil.bat').download, 'C__Users_x_evil.bat')
  t.equal(describeFileName('notes.txt:hidden.exe').download, 'notes.txt_hidden.exe', 'no alternate data streams')
  t.equal(describeFileName('notes.txt:hidden.exe').extension, 'exe')
  t.equal(describeFileName('what?<now>|"*".pdf').download, 'what__now_____.pdf')
  t.equal(describeFileName('CON.txt').download, '_CON.txt', 'not a Windows device name')
  t.equal(describeFileName('lpt1').download, '_lpt1')
})

t.test('property: whatever the name, the result is clean, bounded and consistent', async () => {
  const alphabet = fc.constantFrom('a', 'Z', '.', ' ', '/', '\\', ':', '\u202E', '\u2066', '\u200B', '\u0000', '\u007F', '\u0085', '\n', 'é', '😀', 'exe', 'jpg', 'docm', '\uFEFF', '\u00A0')
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.array(alphabet, { maxLength: 120 }).map((parts) => parts.join(''))), (raw) => {
      const name = describeFileName(raw)
      for (const text of [name.shown, name.download, name.kind]) {
        if (HIDDEN.test(text)) return false
        if (text === '' || text !== text.trim()) return false
      }
      if (Array.from(name.shown).length > MAX_NAME_CHARACTERS || Array.from(name.download).length > MAX_NAME_CHARACTERS) return false
      if (/[/\\:*?"<>|]/.test(name.download) || name.download.startsWith('.')) return false
      if (name.extension !== '' && !name.download.endsWith(`.${name.extension}`)) return false
      if (name.risky !== RISKY_EXTENSIONS.has(name.extension)) return false
      return name.risky === (name.warning !== '')
    }),
    { numRuns: 2000 },
  )
})
