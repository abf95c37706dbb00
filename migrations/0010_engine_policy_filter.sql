-- crm_engine's policy is checked as a filter on the rows a statement finds
-- by its own keys, no longer offered to the planner as an index condition.
-- "tenant_id = ANY (tenants)" was: for a batch of 50 conversations of 20
-- tenants, PostgreSQL often chose to read every row of those 20 tenants
-- through the tenant index and hash-join the 50 keys against them, 6,000 to
-- 17,000 rows for 50 (auto_explain, sustained processing in make bench),
-- instead of 50 primary-key look-ups. Wrapped in IS TRUE the condition
-- means the same (a row of a tenant not listed, or a NULL, is refused) but
-- is not an index qualifier; the statements' keys all start with tenant_id,
-- so each look-up is still one tenant's. WITH CHECK is unchanged.
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
                    USING ((tenant_id = ANY ((SELECT app_tenant_ids())::uuid[])) IS TRUE)
                    WITH CHECK (tenant_id = ANY ((SELECT app_tenant_ids())::uuid[]))', t);
  ELSE
    EXECUTE format('ALTER POLICY engine_batch ON %s
                    USING ((tenant_id = ANY ((SELECT app_tenant_ids())::uuid[])) IS TRUE)', t);
  END IF;
  EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO crm_app, crm_platform, crm_engine', t);
END $$;

SELECT enable_tenant_rls(format('%I.%I', schemaname, tablename)::regclass)
  FROM pg_policies WHERE policyname = 'engine_batch' AND schemaname = current_schema();
