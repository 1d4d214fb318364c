/**
 * Content negotiation for compressed responses: which of brotli and gzip the client accepts, by
 * its Accept-Encoding header (RFC 9110 §12.5.3). A coding with q=0 is refused; `*` stands for any
 * coding not named. Brotli is preferred when both are acceptable at the same weight: it is smaller.
 */
export type Encoding = 'br' | 'gzip'

export function preferredEncoding(header: string | string[] | undefined): Encoding | null {
  if (header === undefined) return null
  const weights = new Map<string, number>()
  for (const part of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [name = '', ...parameters] = part.trim().toLowerCase().split(';')
    if (name === '') continue
    let weight = 1
    for (const parameter of parameters) {
      const match = /^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$/.exec(parameter)
      if (match !== null) weight = Number(match[1])
    }
    weights.set(name.trim(), weight)
  }
  const weightOf = (coding: Encoding) => weights.get(coding) ?? (coding === 'gzip' ? weights.get('x-gzip') : undefined) ?? weights.get('*') ?? 0
  const brotli = weightOf('br')
  const gzip = weightOf('gzip')
  if (brotli > 0 && brotli >= gzip) return 'br'
  if (gzip > 0) return 'gzip'
  return null
}
