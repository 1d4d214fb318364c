import { createServer, connect, type Socket } from 'node:net'
import type { Test } from 'tap'

/**
 * A TCP relay in front of PostgreSQL, to make the database unreachable while the portal runs and
 * (for the outage tests) reachable again: cut() ends every connection through it and refuses new
 * ones; restore() lets them through again. Closed at the test's teardown. PostgreSQL only: the
 * embedded database is cut by closing it, which removes its socket.
 */
export interface Relay {
  readonly port: number
  cut(): void
  restore(): void
}

export async function databaseRelay(t: Test, target: URL): Promise<Relay> {
  const sockets = new Set<Socket>()
  let open = true
  const server = createServer((client) => {
    if (!open) return client.destroy()
    const upstream = connect(Number(target.port || 5432), target.hostname)
    for (const socket of [client, upstream]) {
      sockets.add(socket)
      socket.on('error', () => socket.destroy())
      socket.on('close', () => sockets.delete(socket))
    }
    client.pipe(upstream).pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('relay did not start')
  return {
    port: address.port,
    cut() {
      open = false
      for (const socket of sockets) socket.destroy()
    },
    restore() {
      open = true
    },
  }
}

/** `url` with its host and port replaced by the relay's. */
export function throughRelay(url: URL, relay: Relay): string {
  const relayed = new URL(url)
  relayed.hostname = '127.0.0.1'
  relayed.port = String(relay.port)
  return relayed.toString()
}
