import type { Kysely } from 'kysely'
import { randomUUID } from 'node:crypto'
import { base64url, deriveCaseKeys, generateCaseCode, messageContext, recordContext, sealEnvelope, utf8, type KeySet } from '../../crypto/index.ts'
import type { Schema } from '../../server/db/schema.ts'
import { insertCase, insertMessage, insertRecord } from '../../server/features/cases/repository.ts'
import type { CaseVault } from '../../server/security/case-vault.ts'

/**
 * Made-up disclosures for the demo's IDVA queue, sealed to the demo service's key and signed with
 * each case's key, exactly as a reporter's browser would send them. Two name the same person, so
 * the repeat-perpetrator signal shows. Only the demo does this: a real portal never sees a case
 * code or a plaintext.
 */

const CASES = [
  {
    daysAgo: 9,
    text: 'DEMO (made-up): My partner is a sergeant on my team. He checks my phone and tells colleagues I am unstable. Some of it happened at work, on shift.',
    // ROUTING.md's worked example: lives in Camden, works in Westminster, the sergeant works in
    // Islington (the same command unit as her home), on duty; she agreed to both tracks.
    answers: {
      abuseTypes: ['controlling_or_coercive', 'psychological_or_emotional'],
      duration: 'over_2_years',
      relationship: 'partner',
      perpetratorPolice: 'this_force',
      perpetratorName: 'Sgt Alex Demo',
      perpetratorRank: 'sergeant',
      perpetratorBorough: 'Islington',
      onDuty: 'yes',
      usedPosition: 'no',
      liveBorough: 'Camden',
      workBorough: 'Westminster',
      incidentBorough: 'Camden',
      safeNow: 'not_safe',
      wants: ['talk_to_idva', 'report_crime', 'report_misconduct'],
      contactWays: ['phone'],
      contactTimes: 'Weekdays after 6pm',
    },
    consent: true,
  },
  {
    daysAgo: 3,
    text: 'DEMO (made-up): An ex-partner who works in another station keeps turning up where I am.',
    answers: { abuseTypes: ['stalking_or_online'], duration: '6_to_12_months', relationship: 'ex_partner', perpetratorPolice: 'this_force', perpetratorName: 'alex demo', safeNow: 'unsure', wants: ['safety_planning', 'support_at_work'], contactWays: ['email'] },
  },
  {
    daysAgo: 0,
    text: 'DEMO (made-up): I do not know what to do. I would like to talk to someone first.',
    answers: { abuseTypes: ['economic'], duration: 'under_1_month', relationship: 'family_member', perpetratorPolice: 'no', wants: ['talk_to_idva'], contactWays: ['this_site_only'] },
  },
]

function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10)
}

/** Seeds the demo cases; returns their case codes, for trying /return. */
export async function seedDemoCases(db: Kysely<Schema>, vault: CaseVault, service: KeySet): Promise<string[]> {
  const codes: string[] = []
  for (const demo of CASES) {
    const code = (await generateCaseCode()).join(' ')
    const keys = await deriveCaseKeys(code)
    const caseId = randomUUID()
    const messageId = randomUUID()
    const content = { v: 1, text: demo.text, answers: demo.answers, evidence: [], caseKeys: { reply: base64url.encode(keys.reply.publicKey), auth: base64url.encode(keys.auth.publicKey) } }
    const envelope = await sealEnvelope({
      kind: 'disclosure',
      caseId,
      plaintext: utf8(JSON.stringify(content)),
      recipients: [service.encryption.publicKey, keys.reply.publicKey],
      signer: keys.auth,
      context: messageContext(1, messageId),
    })
    const day = daysAgo(demo.daysAgo)
    // The demo case that can be referred carries the consent an IDVA would have recorded with her.
    const consents = 'consent' in demo && demo.consent
      ? await Promise.all(
          (['criminal', 'misconduct'] as const).map(async (track, index) => {
            const recordId = randomUUID()
            const content = { v: 1, type: 'consent', author: 'demo.idva', writtenOn: day, track, agreed: true, share: 'what is happening, about him, and where', withWhom: 'investigators outside her area', words: 'I want it looked at, but not by anyone who works with him.', givenOn: day, items: ['their_words', 'what_happened', 'about_the_person', 'places'], evidence: [] }
            const sealed = await sealEnvelope({ kind: 'consent', caseId, plaintext: utf8(JSON.stringify(content)), recipients: [service.encryption.publicKey], signer: service.signing, context: recordContext('consent', index + 1, recordId) })
            return { id: recordId, seq: index + 1, envelope: sealed }
          }),
        )
      : []
    await db.transaction().execute(async (trx) => {
      const dataKey = await insertCase(trx, vault, { id: caseId, kind: 'disclosure', lookupId: keys.lookupId, authPublic: keys.auth.publicKey, replyPublic: keys.reply.publicKey })
      await insertMessage(trx, dataKey, { id: messageId, caseId, seq: 1, author: 'reporter', kind: 'disclosure', envelope, paddedSize: envelope.length })
      for (const consent of consents) await insertRecord(trx, dataKey, { id: consent.id, caseId, kind: 'consent', seq: consent.seq, envelope: consent.envelope, paddedSize: consent.envelope.length })
      await trx.updateTable('cases').set({ created_on: day, last_activity_on: day, message_count: 1 }).where('id', '=', caseId).execute()
      await trx.updateTable('case_messages').set({ created_on: day }).where('id', '=', messageId).execute()
    })
    codes.push(code)
  }
  return codes
}
