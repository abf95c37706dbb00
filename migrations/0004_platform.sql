-- The platform owner's side: plan limits enforced by the database, usage
-- counters kept as rows are written (never COUNT(*) per request), export
-- bookkeeping for soft deletes.

-- A NULL plan limit means "no limit" (0 still means none allowed). Plans
-- created without limits are unlimited rather than unusable.
ALTER TABLE plans
  ALTER COLUMN max_users DROP NOT NULL, ALTER COLUMN max_users SET DEFAULT NULL,
  ALTER COLUMN max_connections DROP NOT NULL, ALTER COLUMN max_connections SET DEFAULT NULL,
  ALTER COLUMN max_contacts DROP NOT NULL, ALTER COLUMN max_contacts SET DEFAULT NULL,
  ALTER COLUMN max_monthly_conversations DROP NOT NULL, ALTER COLUMN max_monthly_conversations SET DEFAULT NULL,
  ALTER COLUMN max_monthly_campaigns DROP NOT NULL, ALTER COLUMN max_monthly_campaigns SET DEFAULT NULL;

-- A tenant is soft-deleted only after its data was exported.
ALTER TABLE tenants ADD COLUMN last_export_at timestamptz;

-- Usage days and months are counted in Brazil's time (the customers' day,
-- no daylight saving since 2019), not UTC: a message at 22:00 in São Paulo
-- belongs to that day.
CREATE OR REPLACE FUNCTION usage_day(ts timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (ts AT TIME ZONE 'America/Sao_Paulo')::date $$;
CREATE OR REPLACE FUNCTION usage_month(ts timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('month', ts AT TIME ZONE 'America/Sao_Paulo')::date $$;

-- One row per tenant and counted resource (users: active ones; connections:
-- not deleted; contacts). A row per resource rather than one per tenant, so
-- creating a contact never waits for a user being created.
CREATE TABLE tenant_counters (
  tenant_id uuid NOT NULL REFERENCES tenants(id),
  resource  text NOT NULL,
  used      integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, resource)
);
SELECT enable_tenant_rls('tenant_counters');

-- tenant_plan_limit reads the tenant's plan, which crm_app may not read
-- directly: it runs as its owner (the migrating role) with a fixed
-- search_path. Inside a tenant transaction it answers only for that tenant.
CREATE OR REPLACE FUNCTION tenant_plan_limit(p_tenant uuid, p_resource text) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER AS $$
DECLARE
  lim integer;
BEGIN
  IF app_tenant_id() IS NOT NULL AND app_tenant_id() <> p_tenant THEN
    RAISE EXCEPTION 'plan limits of another tenant' USING ERRCODE = '42501';
  END IF;
  SELECT CASE p_resource
           WHEN 'users' THEN p.max_users
           WHEN 'connections' THEN p.max_connections
           WHEN 'contacts' THEN p.max_contacts
           WHEN 'monthly_conversations' THEN p.max_monthly_conversations
           WHEN 'monthly_campaigns' THEN p.max_monthly_campaigns
         END
    INTO lim
    FROM tenants t JOIN plans p ON p.id = t.plan_id
   WHERE t.id = p_tenant;
  RETURN lim;
END $$;
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION tenant_plan_limit(uuid, text) SET search_path = %I, pg_temp', current_schema());
END $$;
REVOKE ALL ON FUNCTION tenant_plan_limit(uuid, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_plan_limit(uuid, text) TO crm_app, crm_platform;

-- raise_plan_limit is the one error the application maps to 402 plan_limit:
-- SQLSTATE CRM01, DETAIL a JSON object {resource, limit, used}.
CREATE OR REPLACE FUNCTION raise_plan_limit(p_resource text, p_limit integer, p_used integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'plan limit reached: % (limit %, used %)', p_resource, p_limit, p_used
    USING ERRCODE = 'CRM01',
          DETAIL = json_build_object('resource', p_resource, 'limit', p_limit, 'used', p_used)::text;
END $$;

-- bump_tenant_counter adds delta to a counter. The UPDATE takes the counter
-- row's lock until the transaction ends, so two transactions adding at
-- limit - 1 are serialised: the second sees the first's count and fails.
-- A transaction that set crm.allow_over_limit (persistence.AllowOverLimit:
-- a contact created by a customer's inbound message must never be lost) is
-- counted but not refused.
CREATE OR REPLACE FUNCTION bump_tenant_counter(p_tenant uuid, p_resource text, p_delta integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
  lim integer;
BEGIN
  IF p_delta = 0 THEN
    RETURN;
  END IF;
  INSERT INTO tenant_counters AS c (tenant_id, resource, used) VALUES (p_tenant, p_resource, p_delta)
  ON CONFLICT (tenant_id, resource) DO UPDATE SET used = c.used + EXCLUDED.used
  RETURNING c.used INTO n;
  IF p_delta > 0 THEN
    lim := tenant_plan_limit(p_tenant, p_resource);
    IF lim IS NOT NULL AND n > lim AND coalesce(current_setting('crm.allow_over_limit', true), '') <> 'on' THEN
      PERFORM raise_plan_limit(p_resource, lim, n - p_delta);
    END IF;
  END IF;
END $$;

-- Counting triggers are per statement with transition tables: a bulk import
-- of 10,000 contacts updates the counter once, and a multi-row insert that
-- would cross the limit fails as a whole.
CREATE OR REPLACE FUNCTION count_users() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR r IN SELECT tenant_id, count(*)::int AS delta FROM new_rows WHERE active GROUP BY 1 ORDER BY 1 LOOP
      PERFORM bump_tenant_counter(r.tenant_id, 'users', r.delta);
    END LOOP;
  ELSIF TG_OP = 'DELETE' THEN
    FOR r IN SELECT tenant_id, -count(*)::int AS delta FROM old_rows WHERE active GROUP BY 1 ORDER BY 1 LOOP
      PERFORM bump_tenant_counter(r.tenant_id, 'users', r.delta);
    END LOOP;
  ELSE
    FOR r IN SELECT nr.tenant_id, sum(nr.active::int - orow.active::int)::int AS delta
               FROM new_rows nr JOIN old_rows orow ON orow.tenant_id = nr.tenant_id AND orow.id = nr.id
              WHERE nr.active IS DISTINCT FROM orow.active
              GROUP BY 1 ORDER BY 1 LOOP
      PERFORM bump_tenant_counter(r.tenant_id, 'users', r.delta);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER users_count_insert AFTER INSERT ON users
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_users();
CREATE TRIGGER users_count_update AFTER UPDATE ON users
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_users();
CREATE TRIGGER users_count_delete AFTER DELETE ON users
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_users();

CREATE OR REPLACE FUNCTION count_connections() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR r IN SELECT tenant_id, count(*)::int AS delta FROM new_rows WHERE deleted_at IS NULL GROUP BY 1 ORDER BY 1 LOOP
      PERFORM bump_tenant_counter(r.tenant_id, 'connections', r.delta);
    END LOOP;
  ELSIF TG_OP = 'DELETE' THEN
    FOR r IN SELECT tenant_id, -count(*)::int AS delta FROM old_rows WHERE deleted_at IS NULL GROUP BY 1 ORDER BY 1 LOOP
      PERFORM bump_tenant_counter(r.tenant_id, 'connections', r.delta);
    END LOOP;
  ELSE
    FOR r IN SELECT nr.tenant_id, sum((nr.deleted_at IS NULL)::int - (orow.deleted_at IS NULL)::int)::int AS delta
               FROM new_rows nr JOIN old_rows orow ON orow.tenant_id = nr.tenant_id AND orow.id = nr.id
              WHERE (nr.deleted_at IS NULL) <> (orow.deleted_at IS NULL)
              GROUP BY 1 ORDER BY 1 LOOP
      PERFORM bump_tenant_counter(r.tenant_id, 'connections', r.delta);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER connections_count_insert AFTER INSERT ON connections
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_connections();
CREATE TRIGGER connections_count_update AFTER UPDATE ON connections
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_connections();
CREATE TRIGGER connections_count_delete AFTER DELETE ON connections
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_connections();

CREATE OR REPLACE FUNCTION count_contacts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
  IF TG_OP = 'INSERT' THEN
    FOR r IN SELECT tenant_id, count(*)::int AS delta FROM new_rows GROUP BY 1 ORDER BY 1 LOOP
      PERFORM bump_tenant_counter(r.tenant_id, 'contacts', r.delta);
    END LOOP;
  ELSE
    FOR r IN SELECT tenant_id, -count(*)::int AS delta FROM old_rows GROUP BY 1 ORDER BY 1 LOOP
      PERFORM bump_tenant_counter(r.tenant_id, 'contacts', r.delta);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER contacts_count_insert AFTER INSERT ON contacts
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_contacts();
CREATE TRIGGER contacts_count_delete AFTER DELETE ON contacts
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_contacts();

-- Each new conversation counts toward the month. Beyond the plan it is still
-- stored, flagged over_limit; the first time the month reaches 80% and 100%
-- is stamped for the console to show.
CREATE OR REPLACE FUNCTION count_conversation() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
  lim integer;
  w80 timestamptz;
  w100 timestamptz;
BEGIN
  INSERT INTO tenant_usage_monthly AS u (tenant_id, month, conversations)
  VALUES (NEW.tenant_id, usage_month(NEW.created_at), 1)
  ON CONFLICT (tenant_id, month) DO UPDATE SET conversations = u.conversations + 1
  RETURNING u.conversations, u.warned_80_at, u.warned_100_at INTO n, w80, w100;
  INSERT INTO tenant_usage_daily AS d (tenant_id, day, conversations_new)
  VALUES (NEW.tenant_id, usage_day(NEW.created_at), 1)
  ON CONFLICT (tenant_id, day) DO UPDATE SET conversations_new = d.conversations_new + 1;
  lim := tenant_plan_limit(NEW.tenant_id, 'monthly_conversations');
  IF lim IS NOT NULL THEN
    NEW.over_limit := n > lim;
    IF (w80 IS NULL AND n * 5 >= lim * 4) OR (w100 IS NULL AND n >= lim) THEN
      UPDATE tenant_usage_monthly
         SET warned_80_at = coalesce(warned_80_at, CASE WHEN n * 5 >= lim * 4 THEN now() END),
             warned_100_at = coalesce(warned_100_at, CASE WHEN n >= lim THEN now() END)
       WHERE tenant_id = NEW.tenant_id AND month = usage_month(NEW.created_at);
    END IF;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER conversations_count BEFORE INSERT ON conversations
  FOR EACH ROW EXECUTE FUNCTION count_conversation();

-- Campaigns count toward the month when created; beyond the plan → plan_limit.
CREATE OR REPLACE FUNCTION count_campaign() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
  lim integer;
BEGIN
  INSERT INTO tenant_usage_monthly AS u (tenant_id, month, campaigns)
  VALUES (NEW.tenant_id, usage_month(NEW.created_at), 1)
  ON CONFLICT (tenant_id, month) DO UPDATE SET campaigns = u.campaigns + 1
  RETURNING u.campaigns INTO n;
  lim := tenant_plan_limit(NEW.tenant_id, 'monthly_campaigns');
  IF lim IS NOT NULL AND n > lim THEN
    PERFORM raise_plan_limit('monthly_campaigns', lim, n - 1);
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER campaigns_count BEFORE INSERT ON campaigns
  FOR EACH ROW EXECUTE FUNCTION count_campaign();

-- Messages per day and direction, one upsert per statement and tenant-day.
CREATE OR REPLACE FUNCTION count_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO tenant_usage_daily AS d (tenant_id, day, messages_in, messages_out)
  SELECT tenant_id, usage_day(created_at),
         count(*) FILTER (WHERE direction = 'inbound'), count(*) FILTER (WHERE direction = 'outbound')
    FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (tenant_id, day) DO UPDATE
    SET messages_in = d.messages_in + EXCLUDED.messages_in, messages_out = d.messages_out + EXCLUDED.messages_out;
  RETURN NULL;
END $$;
CREATE TRIGGER messages_count AFTER INSERT ON messages
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_messages();

CREATE INDEX tenant_usage_daily_day ON tenant_usage_daily (day);
CREATE INDEX tenant_usage_monthly_month ON tenant_usage_monthly (month);

-- Existing data: start the counters from what is there. Forced RLS applies to
-- the tables' owner too, so this runs on the platform role.
SET LOCAL ROLE crm_platform;
INSERT INTO tenant_counters (tenant_id, resource, used)
  SELECT tenant_id, 'users', count(*) FROM users WHERE active GROUP BY tenant_id
  UNION ALL SELECT tenant_id, 'connections', count(*) FROM connections WHERE deleted_at IS NULL GROUP BY tenant_id
  UNION ALL SELECT tenant_id, 'contacts', count(*) FROM contacts GROUP BY tenant_id
ON CONFLICT (tenant_id, resource) DO UPDATE SET used = EXCLUDED.used;
RESET ROLE;
