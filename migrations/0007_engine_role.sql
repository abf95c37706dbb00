-- The engine's group commit stores the inbound messages of many tenants in
-- one transaction (one statement per table for all of them, instead of one
-- per tenant). It runs as crm_engine, which sees only the rows of the tenants
-- listed in app.tenant_ids: the tenants whose events the batch carries, set
-- by the engine, never from a request. No role bypasses RLS for it.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_engine') THEN
    BEGIN CREATE ROLE crm_engine NOLOGIN NOSUPERUSER NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION app_tenant_ids() RETURNS uuid[]
LANGUAGE sql STABLE AS $$ SELECT coalesce(nullif(current_setting('app.tenant_ids', true), '')::uuid[], '{}') $$;

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
  IF NOT EXISTS (SELECT 1 FROM pg_policies WHERE tablename = (SELECT relname FROM pg_class WHERE oid = t)
                 AND schemaname = current_schema() AND policyname = 'engine_batch') THEN
    -- (SELECT …) makes the list an InitPlan, read once per statement
    -- rather than parsed again for every row checked.
    EXECUTE format('CREATE POLICY engine_batch ON %s TO crm_engine
                    USING (tenant_id = ANY ((SELECT app_tenant_ids())::uuid[]))
                    WITH CHECK (tenant_id = ANY ((SELECT app_tenant_ids())::uuid[]))', t);
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO crm_app, crm_platform, crm_engine', t);
END $$;

-- Every table protected so far (message partitions included) gets the policy.
SELECT enable_tenant_rls(format('%I.%I', schemaname, tablename)::regclass)
  FROM pg_policies WHERE policyname = 'tenant_isolation' AND schemaname = current_schema();

GRANT EXECUTE ON FUNCTION tenant_plan_limit(uuid, text) TO crm_engine;

DO $$
BEGIN
  EXECUTE format('GRANT crm_engine TO %I', current_user);
EXCEPTION WHEN others THEN
  RAISE NOTICE 'could not grant crm_engine to %: %', current_user, SQLERRM;
END $$;
