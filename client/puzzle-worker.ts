/**
 * Solves the proof of work a new case carries (crypto/proof-of-work.ts) off the page's main thread,
 * while the person writes. It needs WebCrypto only (no WebAssembly), so it works in locked-down
 * browsers too. Message in: { challenge, caseId, bits }. Message out: { nonce } or { error }.
 * Nothing is sent anywhere from here.
 */
import { solvePuzzle } from '../crypto/proof-of-work.ts'

export interface PuzzleJob {
  readonly challenge: Uint8Array
  readonly caseId: string
  readonly bits: number
}

export type PuzzleReply = { readonly nonce: Uint8Array } | { readonly error: string }

interface WorkerScope {
  onmessage: ((event: MessageEvent<PuzzleJob>) => void) | null
  postMessage(message: PuzzleReply): void
}

const scope = self as unknown as WorkerScope

scope.onmessage = (event) => {
  const { challenge, caseId, bits } = event.data
  solvePuzzle(challenge, caseId, bits).then(
    (solution) => scope.postMessage({ nonce: solution.nonce }),
    (error: unknown) => scope.postMessage({ error: error instanceof Error ? error.message : 'the puzzle could not be solved' }),
  )
}
