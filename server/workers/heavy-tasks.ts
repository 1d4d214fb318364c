import { parentPort } from 'node:worker_threads'
import { checkVerifier, hashVerifier } from '../security/server-keys.ts'
import type { TaskReply } from './pool.ts'

/**
 * What runs in the worker threads (server/workers/pool.ts): the server's CPU-heavy steps, each a
 * pure function of its input. Measured on the machine the tests run on (2 cores): an Argon2id hash
 * of a sign-in verifier 47 ms, a check 41 ms (57 ms against the decoy), a QR code as SVG 7.5 ms.
 */

export const heavyTasks = {
  hashVerifier: (input: { verifier: Uint8Array }) => hashVerifier(input.verifier),
  checkVerifier: (input: { hash: string | null; verifier: Uint8Array }) => checkVerifier(input.hash, input.verifier),
  // Loaded when first needed: most workers only ever check sign-ins.
  qrSvg: async (input: { text: string }) => (await import('qrcode')).default.toString(input.text, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }),
} as const

export type HeavyTaskName = keyof typeof heavyTasks

if (parentPort !== null) {
  const port = parentPort
  port.on('message', (message: { task: string; input: unknown }) => {
    const run = heavyTasks[message.task as HeavyTaskName] as ((input: unknown) => Promise<unknown>) | undefined
    const reply = (answer: TaskReply) => port.postMessage(answer)
    if (run === undefined) return reply({ ok: false, error: `no task named ${message.task}` })
    Promise.resolve(message.input).then(run).then(
      (value) => reply({ ok: true, value }),
      (error: unknown) => reply({ ok: false, error: error instanceof Error ? `${error.name}: ${error.message}` : 'the task failed' }),
    )
  })
}
