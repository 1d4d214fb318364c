/**
 * Evidence file names are the reporter's own words: whatever their computer called the file, or
 * whatever someone who sent it to them chose. They are shown to an IDVA on the case page and to the
 * reporter at /return, and used to name the file when it is saved. This module turns such a name
 * into something safe to show and to save, without touching the DOM (so it is tested in Node):
 *
 * - characters that are invisible or reorder the text around them are removed (controls, and
 *   Unicode format characters such as U+202E RIGHT-TO-LEFT OVERRIDE, which makes
 *   "invoice<U+202E>fdp.exe" look like "invoiceexe.pdf");
 * - the name is limited in length, always keeping its real extension in view;
 * - the real extension is the text after the last dot, which is what decides what the computer
 *   does when the file is opened; it is stated separately ("PDF file"), so a name cannot pretend;
 * - programs, scripts and documents that can carry macros are flagged, with a plain warning,
 *   including those whose name shows another type first ("photo.jpg.exe").
 *
 * Callers show the results only with textContent, and always save the file as an attachment.
 */

/** The longest name shown or saved, in characters (the extension always stays visible). */
export const MAX_NAME_CHARACTERS = 100

/** An extension: up to 20 letters, digits, "_" or "-" after the last dot. */
const EXTENSION = /^[\p{L}\p{N}_-]{1,20}$/u

/**
 * Invisible characters and characters that reorder text: controls (C0, DEL, C1), every format
 * character (bidirectional embeddings, overrides and isolates U+202A-U+202E and U+2066-U+2069, the
 * marks U+200E, U+200F and U+061C, zero-width spaces and joiners, U+2060-U+2064, the byte order
 * mark, soft hyphen, tag characters), line and paragraph separators, lone surrogates, and letters
 * and marks that draw nothing (Hangul fillers, the combining grapheme joiner, variation selectors,
 * the braille blank).
 */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u034F\u115F\u1160\u17B4\u17B5\u180B-\u180F\u2800\u3164\uFE00-\uFE0F\uFFA0\u{E0100}-\u{E01EF}]/gu

/** Tabs and line breaks, which separate words: each becomes a space before controls are removed. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/gu

/** Any other kind of space (no-break, ideographic, and the like) becomes an ordinary space. */
const SPACES = /[\s\p{Zs}]+/gu

/** Characters no file system accepts in a name, or that mean a folder or a stream. */
const RESERVED = /[/\\:*?"<>|]/g

/** Names Windows keeps for devices: a file cannot be called this, whatever its extension. */
const DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i

/**
 * Types that run code when opened, or can carry macros: programs, installers, scripts, shortcuts,
 * disk images (which can hold programs and skip the computer's checks), web pages and SVG images
 * (scripts run when opened from disk), and macro-enabled Office documents, templates and add-ins.
 * Older .doc, .xls and .ppt can carry macros too, but so few do that warning on every one would
 * teach people to ignore the warning; Office opens them from the internet with macros blocked.
 */
export const RISKY_EXTENSIONS: ReadonlySet<string> = new Set([
  // Windows programs, installers and libraries
  'exe', 'com', 'scr', 'pif', 'cpl', 'dll', 'ocx', 'sys', 'drv', 'msi', 'msp', 'mst', 'msix', 'msixbundle', 'appx', 'appxbundle',
  'application', 'appref-ms', 'gadget', 'msc', 'xbap', 'diagcab', 'xll',
  // Windows scripts and shortcuts
  'bat', 'cmd', 'ps1', 'ps1xml', 'ps2', 'ps2xml', 'psc1', 'psc2', 'psd1', 'psm1', 'vb', 'vbs', 'vbe', 'js', 'jse', 'mjs', 'ws', 'wsf',
  'wsc', 'wsh', 'hta', 'htt', 'sct', 'lnk', 'url', 'scf', 'inf', 'reg', 'chm', 'hlp', 'shs', 'settingcontent-ms', 'library-ms',
  'search-ms', 'website', 'jnlp',
  // Java, Android, Apple, Linux and general scripts
  'jar', 'class', 'apk', 'aab', 'xapk', 'ipa', 'app', 'pkg', 'mpkg', 'dmg', 'command', 'tool', 'workflow', 'scpt', 'scptd', 'osascript',
  'sh', 'bash', 'zsh', 'csh', 'ksh', 'fish', 'run', 'bin', 'deb', 'rpm', 'appimage', 'snap', 'flatpak', 'desktop',
  'py', 'pyw', 'pyc', 'pyz', 'pl', 'rb', 'php', 'lua', 'tcl', 'awk',
  // Disk images
  'iso', 'img', 'vhd', 'vhdx',
  // Web pages and scriptable images, which run scripts when opened from disk
  'html', 'htm', 'xhtml', 'shtml', 'mht', 'mhtml', 'svg', 'svgz', 'xht',
  // Office documents, templates and add-ins that can carry macros
  'docm', 'dotm', 'dot', 'xlsm', 'xltm', 'xlt', 'xlam', 'xla', 'xlsb', 'pptm', 'potm', 'pot', 'ppam', 'ppa', 'ppsm', 'sldm',
  'one', 'accde', 'accdb', 'mdb', 'mde', 'ade', 'adp',
])

/** Types a name may pretend to be in front of its real one ("photo.jpg.exe"). */
const LOOKS_LIKE = new Set([
  'pdf', 'doc', 'docx', 'odt', 'rtf', 'txt', 'xls', 'xlsx', 'ods', 'csv', 'ppt', 'pptx', 'odp', 'jpg', 'jpeg', 'png', 'gif', 'heic',
  'heif', 'webp', 'bmp', 'tif', 'tiff', 'mp3', 'm4a', 'wav', 'ogg', 'opus', 'amr', 'aac', 'mp4', 'mov', 'm4v', 'avi', 'mkv', 'webm',
  '3gp', 'zip', 'eml', 'msg',
])

export const RISKY_WARNING =
  'This kind of file can run a program or macros when it is opened. Do not open it on a work computer; ask IT how to check it safely.'

export interface FileName {
  /** The name to show: invisible and reordering characters removed, shortened, never empty. */
  readonly shown: string
  /** The real extension, lower case, without its dot; "" when the name has none. */
  readonly extension: string
  /** What the extension says the file is, for showing beside the name: "PDF file". */
  readonly kind: string
  /** A program, script or document that can carry macros. */
  readonly risky: boolean
  /** The type the name shows before its real extension ("jpg" in "photo.jpg.exe"), or "". */
  readonly pretends: string
  /** The plain warning to show when risky, or "". */
  readonly warning: string
  /** The name to save the file as: also without characters file systems refuse. */
  readonly download: string
}

function characters(text: string): string[] {
  return Array.from(text)
}

/** Removes invisible and reordering characters, makes every space an ordinary one, trims. */
export function cleanText(text: string): string {
  const normal = typeof text === 'string' ? text.normalize('NFC') : ''
  return normal.replace(BREAKS, ' ').replace(INVISIBLE, '').replace(SPACES, ' ').trim()
}

/** Splits a cleaned name into its stem and real extension ("" when there is none). */
function split(name: string): { stem: string; extension: string } {
  // Windows drops trailing dots and spaces, so "report.exe. " is report.exe.
  const trimmed = name.replace(/[. ]+$/u, '')
  const dot = trimmed.lastIndexOf('.')
  if (dot === -1) return { stem: trimmed, extension: '' }
  const extension = trimmed.slice(dot + 1)
  if (!EXTENSION.test(extension)) return { stem: trimmed, extension: '' }
  return { stem: trimmed.slice(0, dot), extension }
}

/** The stem cut to fit beside its extension, with an ellipsis when anything was cut. */
function fit(stem: string, extension: string, ellipsis: string): string {
  const room = MAX_NAME_CHARACTERS - (extension === '' ? 0 : extension.length + 1)
  const letters = characters(stem)
  const cut = letters.length <= room ? stem : `${letters.slice(0, room - ellipsis.length).join('').trimEnd()}${ellipsis}`
  return extension === '' ? cut : `${cut}.${extension}`
}

/** Everything the pages need to show and save an evidence file by its reporter-given name. */
export function describeFileName(name: string): FileName {
  const cleaned = cleanText(name)
  const { stem, extension: realExtension } = split(cleaned)
  const extension = realExtension.toLowerCase()
  const before = split(stem).extension.toLowerCase()
  const pretends = extension !== '' && before !== extension && LOOKS_LIKE.has(before) ? before : ''
  const risky = RISKY_EXTENSIONS.has(extension)
  const kind = extension === '' ? 'file with no extension' : `${extension.toUpperCase()} file`

  const shownStem = stem === '' ? (extension === '' ? 'unnamed file' : 'unnamed') : stem
  const shown = fit(shownStem, realExtension, '…')

  let safeStem = stem.replace(RESERVED, '_').replace(/^[. ]+/u, '').trim()
  if (safeStem === '') safeStem = 'file'
  if (DEVICE.test(safeStem)) safeStem = `_${safeStem}`
  const download = fit(safeStem, extension, '')

  const warning = !risky
    ? ''
    : pretends === ''
      ? RISKY_WARNING
      : `Its name ends in .${extension}, so it is not a ${pretends.toUpperCase()} file. ${RISKY_WARNING}`
  return { shown, extension, kind, risky, pretends, warning, download }
}
