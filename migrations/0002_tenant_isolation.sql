-- Row-level security for every tenant table, enabled and FORCED so that even
-- the tables' owner is subject to it. crm_app sees only the rows of the tenant
-- in app.tenant_id (none when it is unset); crm_platform is the platform
-- owner's explicit path and sees every row.
CREATE OR REPLACE FUNCTION enable_tenant_rls(t regclass) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', t);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = (SELECT relname FROM pg_class WHERE oid = t)
                 AND schemaname = current_schema() AND policyname = 'tenant_isolation') THEN
    EXECUTE format('CREATE POLICY tenant_isolation ON %s TO crm_app
                    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id())', t);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = (SELECT relname FROM pg_class WHERE oid = t)
                 AND schemaname = current_schema() AND policyname = 'platform_access') THEN
    EXECUTE format('CREATE POLICY platform_access ON %s TO crm_platform USING (true) WITH CHECK (true)', t);
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO crm_app, crm_platform', t);
END $$;

SELECT enable_tenant_rls(t) FROM unnest(ARRAY[
  'licenses', 'users', 'refresh_tokens', 'api_tokens', 'teams', 'team_members', 'connections',
  'contacts', 'contact_identities', 'labels', 'contact_labels', 'bot_flows', 'bot_flow_nodes',
  'bot_flow_edges', 'conversations', 'conversation_labels', 'media', 'messages', 'messages_default',
  'message_keys', 'internal_notes', 'quick_replies', 'bot_sessions', 'campaigns',
  'campaign_recipients', 'scheduled_messages', 'boards', 'board_columns', 'cards', 'appointments',
  'reminders', 'inbound_events', 'tenant_event_counters', 'tenant_events', 'audit_log',
  'tenant_usage_monthly', 'tenant_usage_daily'
]::regclass[]) AS t;

-- Every monthly partition made from now on gets the same protection.
CREATE OR REPLACE FUNCTION ensure_message_partitions(months_back integer, months_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  start_month date := date_trunc('month', now())::date;
  m date;
  name text;
  created integer := 0;
BEGIN
  FOR i IN -months_back..months_ahead LOOP
    m := (start_month + make_interval(months => i))::date;
    name := 'messages_' || to_char(m, 'YYYYMM');
    IF to_regclass(name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I (LIKE messages INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
      EXECUTE format('INSERT INTO %I SELECT * FROM messages_default WHERE created_at >= %L AND created_at < %L',
                     name, m, (m + interval '1 month')::date);
      EXECUTE format('DELETE FROM messages_default WHERE created_at >= %L AND created_at < %L',
                     m, (m + interval '1 month')::date);
      EXECUTE format('ALTER TABLE messages ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                     name, m, (m + interval '1 month')::date);
      created := created + 1;
    END IF;
    PERFORM enable_tenant_rls(name::regclass);
  END LOOP;
  RETURN created;
END $$;
SELECT ensure_message_partitions(1, 3);

-- Platform tables: only the platform path touches them.
GRANT SELECT, INSERT, UPDATE, DELETE ON plans, tenants, platform_admins, platform_refresh_tokens,
  platform_audit_log TO crm_platform;
-- A tenant transaction may read its plan and tenant row (limits, status); RLS does not cover these
-- two tables, so tenant code reads them through the platform path instead. No grant to crm_app.

-- A non-superuser DATABASE_URL role needs membership to SET ROLE into these.
DO $$
BEGIN
  EXECUTE format('GRANT crm_app, crm_platform TO %I', current_user);
EXCEPTION WHEN others THEN
  RAISE NOTICE 'could not grant crm_app/crm_platform to %: %', current_user, SQLERRM;
END $$;
