import { sql, type Kysely } from 'kysely'

/**
 * A new case stored in one call: accept_case(...) writes the case, its wrapped key and its first
 * message, claims the evidence files it carries, counts it against its shares (refusing if that goes
 * over one), moves the arrivals count and adds the case's entry to the anonymous audit chain.
 *
 * It is the submission's hot path (issue 20). As separate statements in a transaction this took six
 * round trips, and the share counter every case of a kind updates, and the audit chain's lock, were
 * held across three of them: every other submission waited that long. In one call, run as a single
 * statement in its own transaction, they are held only while the call runs and commits.
 *
 * Everything sealed is sealed before the call (server/features/cases/repository.ts, storeNewCase):
 * the database sees the same sealed bytes as before, and nothing it is given can be read. The
 * function runs with the caller's rights (SECURITY INVOKER): the application's role, its grants and
 * the row-level policies bind it as they bind the statements it replaces.
 *
 * Refusals roll the whole call back and are told apart by SQLSTATE:
 *   23505  a unique key: this case, lookup value or message is stored already (a repeat)
 *   SDF01  a file it claims was not received whole, is claimed already, or its token does not match
 *   SDS01  a share went over its limit; DETAIL names the counter
 *   SDK01  the IDVA service's key chain is not the one the envelope was checked against (its
 *          digest, p_service_keys: ServiceAnchor.chainDigest); the caller reads it and checks again
 */
export async function up(db: Kysely<any>): Promise<void> {
  const schema = sql.id((await sql<{ schema: string }>`SELECT current_schema() AS schema`.execute(db)).rows[0]!.schema)
  const searchPath = sql.raw(`pg_catalog, ${(await sql<{ quoted: string }>`SELECT quote_ident(current_schema()) AS quoted`.execute(db)).rows[0]!.quoted}, pg_temp`)
  await sql`
    CREATE FUNCTION accept_case(
      p_case_id text, p_kind text, p_lookup bytea, p_keys_sealed bytea, p_urgency text, p_key_wrapped bytea,
      p_message_id text, p_envelope bytea, p_padded_size integer,
      p_upload_ids text[], p_upload_token_hashes text[], p_upload_keys text[],
      p_counters text[], p_limits integer[], p_action text, p_service_keys bytea
    ) RETURNS void
    LANGUAGE plpgsql SET search_path = ${searchPath} AS $$
    DECLARE
      claimed integer;
      over text;
    BEGIN
      -- The IDVA service's key chain the envelope was checked against, as stored now: any other
      -- (a rotation on another instance, a changed row) and the caller reads it and checks again.
      IF p_service_keys IS DISTINCT FROM (
        SELECT sha256(string_agg(x25519_public || ed25519_public || int4send(coalesce(octet_length(rotation_certificate), 0)) || coalesce(rotation_certificate, '\\x'::bytea), '\\x'::bytea ORDER BY generation))
          FROM ${schema}.group_keys WHERE group_id = 'idva-service'
      ) THEN
        RAISE EXCEPTION 'the service key chain is not the one checked' USING ERRCODE = 'SDK01';
      END IF;

      INSERT INTO ${schema}.cases (id, kind, lookup_id, auth_public, reply_public, keys_sealed, sealed, first_reply_on, message_count, evidence_count, awaiting_reply, urgency)
        VALUES (p_case_id, p_kind, p_lookup, NULL, NULL, p_keys_sealed, true, NULL, 1, cardinality(p_upload_ids), true, p_urgency);
      INSERT INTO ${schema}.case_keys (case_id, wrapped) VALUES (p_case_id, p_key_wrapped);
      INSERT INTO ${schema}.case_messages (id, case_id, seq, author, kind, envelope, padded_size, sealed)
        VALUES (p_message_id, p_case_id, 1, 'reporter', p_kind, p_envelope, p_padded_size, true);

      IF cardinality(p_upload_ids) > 0 THEN
        -- Only a file that arrived whole, is not claimed yet, and whose upload token this is.
        UPDATE ${schema}.case_evidence AS e
           SET case_id = p_case_id, message_id = p_message_id, upload_token_hash = NULL, staged_on = NULL, expiry_sealed = NULL,
               key_wrapped = decode(u.key_wrapped, 'hex')
          FROM unnest(p_upload_ids, p_upload_token_hashes, p_upload_keys) AS u(id, token_hash, key_wrapped)
         WHERE e.id = u.id AND e.case_id IS NULL AND e.upload_token_hash = decode(u.token_hash, 'hex')
           AND (e.pieces_sealed IS NOT NULL OR e.encrypted IS NOT NULL);
        GET DIAGNOSTICS claimed = ROW_COUNT;
        IF claimed <> cardinality(p_upload_ids) THEN
          RAISE EXCEPTION 'a file was not received' USING ERRCODE = 'SDF01';
        END IF;
      END IF;

      -- The shares, counted in name order (the caller sorts them) so that two calls cannot deadlock.
      -- Before the arrivals count, which a rollback does not undo, so a refused flood does not move it.
      WITH counted AS (
        INSERT INTO ${schema}.rate_limit_counter AS existing (counter, hits, day)
        SELECT name, 1, current_date FROM unnest(p_counters) WITH ORDINALITY AS given(name, position) ORDER BY position
        ON CONFLICT (counter) DO UPDATE SET hits = existing.hits + 1
        RETURNING existing.counter, existing.hits
      )
      SELECT counted.counter INTO over
        FROM counted JOIN unnest(p_counters, p_limits) AS share(counter, most) ON share.counter = counted.counter
       WHERE counted.hits > share.most
       ORDER BY counted.counter LIMIT 1;
      IF over IS NOT NULL THEN
        RAISE EXCEPTION 'over a share' USING ERRCODE = 'SDS01', DETAIL = over;
      END IF;

      PERFORM nextval('arrivals');
      INSERT INTO ${schema}.case_audit_log (actor_type, actor_id, action, object_type, object_id) VALUES ('case', p_case_id, p_action, 'case', p_case_id);
    END $$`.execute(db)
  await sql`REVOKE ALL ON FUNCTION accept_case(text, text, bytea, bytea, text, bytea, text, bytea, integer, text[], text[], text[], text[], integer[], text, bytea) FROM PUBLIC`.execute(db)
  await sql`
    DO $$
    BEGIN
      IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'safe_disclosure_app') THEN
        GRANT EXECUTE ON FUNCTION accept_case(text, text, bytea, bytea, text, bytea, text, bytea, integer, text[], text[], text[], text[], integer[], text, bytea) TO safe_disclosure_app;
      END IF;
    END $$`.execute(db)
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP FUNCTION accept_case(text, text, bytea, bytea, text, bytea, text, bytea, integer, text[], text[], text[], text[], integer[], text, bytea)`.execute(db)
}
