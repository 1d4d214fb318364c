/**
 * Encrypts and decrypts evidence files off the page's main thread, so a 25 MB photo or recording
 * never freezes the page. Messages in: { id, op: 'encrypt' | 'decrypt', file: Blob, fileId, key }.
 * Messages out: { id, progress: bytes done, total } while working, then { id, result: Blob } or
 * { id, error: { code, message } }. Nothing is sent anywhere from here.
 */
import { CryptoError } from '../crypto/errors.ts'
import { decryptEvidence, EvidenceEncryptor, MAX_ENCRYPTED_EVIDENCE_BYTES, MAX_EVIDENCE_BYTES, type EvidenceKey } from '../crypto/evidence.ts'

export interface EvidenceJob {
  readonly id: number
  readonly op: 'encrypt' | 'decrypt'
  readonly file: Blob
  readonly fileId: Uint8Array
  readonly key: Uint8Array
}

export type EvidenceReply =
  | { readonly id: number; readonly progress: number; readonly total: number }
  | { readonly id: number; readonly result: Blob }
  | { readonly id: number; readonly error: { readonly code: string; readonly message: string } }

interface WorkerScope {
  onmessage: ((event: MessageEvent<EvidenceJob>) => void) | null
  postMessage(message: EvidenceReply): void
}

const scope = self as unknown as WorkerScope

async function encrypt(job: EvidenceJob, key: EvidenceKey): Promise<Blob> {
  if (job.file.size > MAX_EVIDENCE_BYTES) throw new CryptoError('too_large', 'evidence files can be at most 25 MiB')
  const encryptor = await EvidenceEncryptor.create(key)
  // libsodium's outputs are plain ArrayBuffer-backed arrays; the cast only satisfies BlobPart's typing.
  const parts: Uint8Array[] = [encryptor.header]
  let done = 0
  try {
    const reader = job.file.stream().getReader()
    for (;;) {
      const { value, done: finished } = await reader.read()
      if (finished) break
      parts.push(...encryptor.push(value))
      done += value.length
      scope.postMessage({ id: job.id, progress: done, total: job.file.size })
    }
    parts.push(...encryptor.finish())
    return new Blob(parts as BlobPart[], { type: 'application/octet-stream' })
  } finally {
    encryptor.abort()
  }
}

async function decrypt(job: EvidenceJob, key: EvidenceKey): Promise<Blob> {
  // Checked before reading, so a huge file is refused without loading it into memory.
  if (job.file.size > MAX_ENCRYPTED_EVIDENCE_BYTES) throw new CryptoError('too_large', 'this is larger than any encrypted evidence file')
  const plaintext = await decryptEvidence(new Uint8Array(await job.file.arrayBuffer()), key)
  scope.postMessage({ id: job.id, progress: job.file.size, total: job.file.size })
  return new Blob([plaintext as BlobPart])
}

scope.onmessage = (event) => {
  const job = event.data
  const key: EvidenceKey = { fileId: job.fileId, key: job.key }
  const work = job.op === 'encrypt' ? encrypt(job, key) : decrypt(job, key)
  // The worker's copy of the file key is wiped once the job is done.
  void work.finally(() => job.key.fill(0)).catch(() => undefined)
  work.then(
    (result) => scope.postMessage({ id: job.id, result }),
    (error: unknown) =>
      scope.postMessage({
        id: job.id,
        error:
          error instanceof CryptoError
            ? { code: error.code, message: error.message }
            : { code: 'failed', message: 'the file could not be processed' },
      }),
  )
}
