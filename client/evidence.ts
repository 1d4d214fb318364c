/**
 * Evidence files in the page: hands each file to the evidence worker (client/evidence-worker.ts)
 * and resolves with the encrypted (or decrypted) Blob. The worker's address comes from the page's
 * <meta name="sd-evidence-worker">, because its file name carries a content hash.
 */
import type { EvidenceKey } from '../crypto/evidence.ts'
import type { EvidenceJob, EvidenceReply } from './evidence-worker.ts'

export class EvidenceFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'EvidenceFailure'
  }
}

let worker: Worker | undefined
let nextId = 1
const pending = new Map<number, { resolve: (blob: Blob) => void; reject: (error: Error) => void; onProgress?: (done: number, total: number) => void }>()

function evidenceWorker(): Worker {
  if (worker !== undefined) return worker
  const url = document.querySelector<HTMLMetaElement>('meta[name="sd-evidence-worker"]')?.content
  if (url === undefined || url === '') throw new EvidenceFailure('unavailable', 'this page cannot encrypt files')
  worker = new Worker(url, { type: 'module' })
  worker.onmessage = (event: MessageEvent<EvidenceReply>) => {
    const reply = event.data
    const job = pending.get(reply.id)
    if (job === undefined) return
    if ('progress' in reply) job.onProgress?.(reply.progress, reply.total)
    else {
      pending.delete(reply.id)
      if ('result' in reply) job.resolve(reply.result)
      else job.reject(new EvidenceFailure(reply.error.code, reply.error.message))
    }
  }
  worker.onerror = () => {
    for (const job of pending.values()) job.reject(new EvidenceFailure('failed', 'the file could not be processed'))
    pending.clear()
    worker?.terminate()
    worker = undefined
  }
  return worker
}

function run(op: EvidenceJob['op'], file: Blob, key: EvidenceKey, onProgress?: (done: number, total: number) => void): Promise<Blob> {
  return new Promise((resolve, reject) => {
    const id = nextId++
    pending.set(id, { resolve, reject, ...(onProgress === undefined ? {} : { onProgress }) })
    const job: EvidenceJob = { id, op, file, fileId: key.fileId, key: key.key }
    evidenceWorker().postMessage(job)
  })
}

/** Encrypts a file (up to 25 MiB) off the main thread. */
export function encryptFile(file: Blob, key: EvidenceKey, onProgress?: (done: number, total: number) => void): Promise<Blob> {
  return run('encrypt', file, key, onProgress)
}

/** Decrypts a file off the main thread; all or nothing. */
export function decryptFile(encrypted: Blob, key: EvidenceKey, onProgress?: (done: number, total: number) => void): Promise<Blob> {
  return run('decrypt', encrypted, key, onProgress)
}
