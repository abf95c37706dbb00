-- New conversations are counted once per statement, like users, contacts
-- and messages, instead of once per row: the engine inserts the first
-- conversations of a batch of contacts in one statement, and the per-row
-- trigger (two upserts and a plan look-up for every row, on the same few
-- counter rows) cost more than the insert itself (about 0.4 ms a row under
-- load, against 0.05 ms for the row; BENCHMARKS.md).
--
-- Beyond the plan a conversation is still stored, flagged over_limit: the
-- statement's rows are ranked in (created_at, id) order and those past the
-- limit are flagged, exactly the rows the per-row count flagged. The flag is
-- set once the statement's rows are in, so RETURNING of the INSERT itself
-- does not show it: read it back after the statement
-- (persistence.InsertConversation and the engine's batch do).
DROP TRIGGER IF EXISTS conversations_count ON conversations;
DROP FUNCTION IF EXISTS count_conversation();

CREATE OR REPLACE FUNCTION count_conversations() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r record;
  n integer;
  lim integer;
  w80 timestamptz;
  w100 timestamptz;
BEGIN
  -- Counter rows are taken in (tenant, month) order, as every counting
  -- statement does, so concurrent batches wait instead of deadlocking.
  FOR r IN SELECT tenant_id, usage_month(created_at) AS month, count(*)::int AS k
             FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2 LOOP
    INSERT INTO tenant_usage_monthly AS u (tenant_id, month, conversations)
    VALUES (r.tenant_id, r.month, r.k)
    ON CONFLICT (tenant_id, month) DO UPDATE SET conversations = u.conversations + EXCLUDED.conversations
    RETURNING u.conversations, u.warned_80_at, u.warned_100_at INTO n, w80, w100;
    lim := tenant_plan_limit(r.tenant_id, 'monthly_conversations');
    CONTINUE WHEN lim IS NULL;
    IF n > lim THEN
      UPDATE conversations c SET over_limit = true
        FROM (SELECT id FROM new_rows
               WHERE tenant_id = r.tenant_id AND usage_month(created_at) = r.month
               ORDER BY created_at DESC, id DESC
               LIMIT least(r.k, n - lim)) past
       WHERE c.tenant_id = r.tenant_id AND c.id = past.id;
    END IF;
    IF (w80 IS NULL AND n * 5 >= lim * 4) OR (w100 IS NULL AND n >= lim) THEN
      UPDATE tenant_usage_monthly
         SET warned_80_at = coalesce(warned_80_at, CASE WHEN n * 5 >= lim * 4 THEN now() END),
             warned_100_at = coalesce(warned_100_at, CASE WHEN n >= lim THEN now() END)
       WHERE tenant_id = r.tenant_id AND month = r.month;
    END IF;
  END LOOP;
  INSERT INTO tenant_usage_daily AS d (tenant_id, day, conversations_new)
  SELECT tenant_id, usage_day(created_at), count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (tenant_id, day) DO UPDATE SET conversations_new = d.conversations_new + EXCLUDED.conversations_new;
  RETURN NULL;
END $$;
CREATE TRIGGER conversations_count AFTER INSERT ON conversations
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_conversations();
