import type { FastifyReply } from 'fastify'

declare module 'fastify' {
  interface FastifyReply {
    /**
     * Sends a page that is the same for every visitor, rendered once per `key` and kept: the key
     * must name everything the page depends on (the route, its parameters, the service's state).
     */
    samePageForEveryone(key: string, page: () => JSX.Element): Promise<FastifyReply>
  }
}

/**
 * Rendered public pages, kept in memory: the start page, the guidance, /report and the other pages
 * that hold nothing of the visitor's and read no data, so rendering them again for every request
 * is wasted work. Never for a page that holds a session's or a visitor's data (those are rendered
 * per request, as before). Bounded: beyond `capacity` pages it starts again empty.
 */
export class PageCache {
  readonly #pages = new Map<string, Buffer>()

  constructor(private readonly capacity = 200) {}

  /** The page's bytes (UTF-8, encoded once: a kept string would be encoded again for every send). */
  async render(key: string, page: () => JSX.Element): Promise<Buffer> {
    const kept = this.#pages.get(key)
    if (kept !== undefined) return kept
    const html = Buffer.from(await page(), 'utf8')
    if (this.#pages.size >= this.capacity) this.#pages.clear()
    this.#pages.set(key, html)
    return html
  }

  get size(): number {
    return this.#pages.size
  }
}

export function samePageForEveryone(cache: PageCache) {
  return async function (this: FastifyReply, key: string, page: () => JSX.Element): Promise<FastifyReply> {
    return this.type('text/html; charset=utf-8').send(await cache.render(key, page))
  }
}
