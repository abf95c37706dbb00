-- Search (issue 23 item 9): accents and case never matter ("joao" finds
-- "João"), and message text is searchable, scoped by tenant, fast on
-- millions of messages.
--
-- unaccent and btree_gin ship with PostgreSQL (contrib) and are trusted
-- extensions: a database owner without superuser may create them.
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS btree_gin;

-- crm_fold is lower(unaccent(text)), declared immutable so that a stored
-- column may use it (unaccent() itself is only stable: its rules file could
-- change; ours never does). The dictionary is named with its schema so the
-- function does not depend on the caller's search_path.
DO $do$
DECLARE s text := (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                   WHERE e.extname = 'unaccent');
BEGIN
  EXECUTE format($f$CREATE OR REPLACE FUNCTION crm_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $b$SELECT lower(%I.unaccent(%L::regdictionary, $1))$b$$f$, s, s || '.unaccent');
END $do$;

-- crm_search: the simple configuration (no stemming: names, product codes and
-- Portuguese all index as written) with accents removed from words.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'crm_search' AND cfgnamespace = current_schema()::regnamespace) THEN
    CREATE TEXT SEARCH CONFIGURATION crm_search (COPY = simple);
    ALTER TEXT SEARCH CONFIGURATION crm_search ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
  END IF;
END $$;

-- Contacts: name and email folded once, when written, so a search compares
-- plain text (folding every row at query time cost 4 µs a row: 0.4 s for a
-- tenant with 100,000 contacts).
ALTER TABLE contacts ADD COLUMN search_text text GENERATED ALWAYS AS (crm_fold(name || ' ' || coalesce(email, ''))) STORED;

-- Messages: a GIN index over the folded words of the text, led by tenant_id
-- (btree_gin), so a search reads only the tenant's entries for its words.
-- Created on the partitioned table, it is built on every monthly partition
-- and made on each new one when ensure_message_partitions attaches it.
-- Messages without text (media without a caption) and the timeline's system
-- lines pay nothing on write.
CREATE INDEX IF NOT EXISTS messages_search ON messages
  USING gin (tenant_id, to_tsvector('crm_search'::regconfig, text))
  WHERE text <> '' AND type <> 'system';

-- search_query turns what a user typed into a query: every word must be
-- there, each as a prefix ("joa silv" finds "João Silva"), words split and
-- folded exactly as the index splits and folds them. NULL when nothing in
-- it is a word.
CREATE OR REPLACE FUNCTION search_query(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT to_tsquery('simple', string_agg('''' || replace(replace(l, '\', '\\'), '''', '''''') || ''':*', ' & '))
  FROM unnest(tsvector_to_array(to_tsvector('crm_search'::regconfig, left(q, 200)))) AS l
$$;

-- search_tenant_messages finds the messages of the current tenant
-- (app.tenant_id, the setting row-level security reads) matching a query,
-- newest first, after a (created_at, id) cursor.
--
-- Why a SECURITY DEFINER function: under row-level security PostgreSQL
-- uses a condition as an index condition only if its operator is
-- leakproof, and @@ is not, so a tenant transaction (crm_app) filtered
-- every message of the tenant through to_tsvector (0.3 s for 20,000
-- messages, growing with the tenant) and never used the index. The
-- function runs as its owner, the role that runs the migrations: a
-- superuser, or a member of crm_platform whose policy is "true" (0002), so
-- @@ reaches the index either way. The tenant scope is the function's own
-- condition on app_tenant_id(), which no caller can change: a tenant
-- transaction finds its own messages only, as under RLS. It returns ids;
-- the caller reads the rows back under RLS. (Owned by crm_platform itself
-- it would need CREATE on the schema for that role.)
--
-- GIN returns matches in no useful order, so a page sorts every hit it
-- reads. The function reads back in time windows (the month before the
-- cursor, then six months, then the rest) and stops once the page is full:
-- a word in every third message costs a month of hits, not the tenant's
-- whole history; a rare word costs three index probes.
CREATE OR REPLACE FUNCTION search_tenant_messages(query tsquery, before_at timestamptz, before_id uuid, max_rows integer)
RETURNS TABLE (id uuid, created_at timestamptz, conversation_id uuid)
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
#variable_conflict use_column
DECLARE
  tenant uuid := app_tenant_id();
  newest timestamptz := coalesce(before_at, now());
  upper_at timestamptz := coalesce(before_at + interval '1 microsecond', 'infinity');
  lower_at timestamptz;
  window_size interval;
  found_rows integer := 0;
  n integer;
BEGIN
  IF tenant IS NULL OR query IS NULL THEN
    RETURN;
  END IF;
  FOREACH window_size IN ARRAY ARRAY[interval '31 days', interval '186 days', NULL] LOOP
    lower_at := coalesce(newest - window_size, '-infinity');
    RETURN QUERY SELECT m.id, m.created_at, m.conversation_id FROM messages m
      WHERE m.tenant_id = tenant AND m.text <> '' AND m.type <> 'system'
        AND to_tsvector('crm_search'::regconfig, m.text) @@ query
        AND m.created_at >= lower_at AND m.created_at < upper_at
        AND (before_at IS NULL OR (m.created_at, m.id) < (before_at, before_id))
      ORDER BY m.created_at DESC, m.id DESC
      LIMIT max_rows - found_rows;
    GET DIAGNOSTICS n = ROW_COUNT;
    found_rows := found_rows + n;
    EXIT WHEN found_rows >= max_rows OR lower_at = '-infinity';
    upper_at := lower_at;
  END LOOP;
END $$;
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION search_tenant_messages(tsquery, timestamptz, uuid, integer) SET search_path = %I, pg_temp',
                 current_schema());
END $$;
REVOKE ALL ON FUNCTION search_tenant_messages(tsquery, timestamptz, uuid, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION search_tenant_messages(tsquery, timestamptz, uuid, integer) TO crm_app;
