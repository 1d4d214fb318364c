import t from 'tap'
import { createHash, randomUUID } from 'node:crypto'
import { leadingZeroBits, NONCE_BYTES, puzzleInput, solvePuzzle } from '../../crypto/proof-of-work.ts'
import { addressNetworks, normaliseAddress } from '../../server/plugins/rate-limit.ts'
import { CHALLENGE_BYTES, PuzzleIssuer } from '../../server/security/proof-of-work.ts'

/** The proof of work's arithmetic and verdicts, and the networks an address is counted in. */

const secret = Buffer.alloc(32, 7)

t.test('leading zero bits', async (t) => {
  t.equal(leadingZeroBits(Uint8Array.of(0x80)), 0)
  t.equal(leadingZeroBits(Uint8Array.of(0x01)), 7)
  t.equal(leadingZeroBits(Uint8Array.of(0, 0x10, 0xff)), 11)
  t.equal(leadingZeroBits(new Uint8Array(4)), 32)
})

t.test('a solution checks out for its case only, with one hash', async (t) => {
  const issuer = new PuzzleIssuer(secret, 8)
  const { challenge, bits } = issuer.issue()
  t.equal(challenge.length, CHALLENGE_BYTES)
  t.equal(bits, 8)
  const caseId = randomUUID()
  const { nonce } = await solvePuzzle(challenge, caseId, bits)
  t.equal(nonce.length, NONCE_BYTES)
  t.equal(issuer.check(challenge, caseId, nonce), 'solved')
  const input = puzzleInput(challenge, caseId)
  input.set(nonce, input.length - NONCE_BYTES)
  t.ok(leadingZeroBits(createHash('sha256').update(input).digest()) >= 8, 'what the browser hashed is what the server hashes')
  t.equal(issuer.check(challenge, randomUUID(), nonce) === 'solved', false, 'another case id needs its own solution (1 in 256 would pass by chance)')
})

t.test('every wrong challenge gets its verdict', async (t) => {
  const issuer = new PuzzleIssuer(secret, 8)
  const caseId = randomUUID()
  const { challenge } = issuer.issue()
  const { nonce } = await solvePuzzle(challenge, caseId, 8)
  t.equal(issuer.check(challenge.subarray(1), caseId, nonce), 'malformed')
  t.equal(issuer.check(challenge, caseId, nonce.subarray(1)), 'malformed')
  const forged = Buffer.from(challenge)
  forged[1] = 1
  t.equal(issuer.check(forged, caseId, nonce), 'forged', 'an altered difficulty breaks the MAC')
  t.equal(new PuzzleIssuer(Buffer.alloc(32, 8), 8).check(challenge, caseId, nonce), 'forged', "another portal's challenge")
  const old = issuer.issue(Date.now() - 25 * 3_600_000)
  const oldNonce = (await solvePuzzle(old.challenge, caseId, 8)).nonce
  t.equal(issuer.check(old.challenge, caseId, oldNonce), 'expired', 'older than a day')
  const easy = new PuzzleIssuer(secret, 2).issue()
  const easyNonce = (await solvePuzzle(easy.challenge, caseId, 2)).nonce
  t.equal(issuer.check(easy.challenge, caseId, easyNonce), 'too_easy', 'a challenge from before the difficulty was raised')
  let unsolved: Uint8Array = new Uint8Array(NONCE_BYTES)
  for (let counter = 0; issuer.check(challenge, caseId, unsolved) === 'solved'; counter++) unsolved = Uint8Array.of(0, 0, 0, 0, 0, 0, counter >> 8, counter & 255)
  t.equal(issuer.check(challenge, caseId, unsolved), 'unsolved')
})

t.test('the networks an address is counted in', async (t) => {
  t.equal(normaliseAddress('2001:db8:1:2a3f:1:2:3:4'), '2001:db8:1:2a3f::/64')
  t.same(addressNetworks('2001:db8:1:2a3f::1'), ['2001:db8:1:2a00::/56', '2001:db8:1::/48'])
  t.same(addressNetworks('2001:0db8:0001:2aff::'), ['2001:db8:1:2a00::/56', '2001:db8:1::/48'], 'the same /56 written differently')
  t.same(addressNetworks('::ffff:192.0.2.9'), ['192.0.2.0/24'], 'IPv4-mapped is IPv4')
  t.same(addressNetworks('198.51.100.200'), ['198.51.100.0/24'])
})
