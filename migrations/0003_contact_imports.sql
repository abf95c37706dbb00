-- CSV contact imports: one row per job, its progress counters kept current by
-- the worker (every batch commits its contacts, its errors and the counters
-- together), and the rows that failed, with the original cells, for the
-- downloadable error report.
CREATE TABLE contact_imports (
  tenant_id      uuid NOT NULL REFERENCES tenants(id),
  id             uuid NOT NULL,
  created_by     uuid, -- the user; no FK so the job outlives a deleted user
  filename       text NOT NULL DEFAULT '',
  status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  headers        jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(headers) = 'array'),
  total_rows     integer NOT NULL DEFAULT 0 CHECK (total_rows >= 0),
  processed_rows integer NOT NULL DEFAULT 0 CHECK (processed_rows >= 0),
  created_rows   integer NOT NULL DEFAULT 0 CHECK (created_rows >= 0),
  updated_rows   integer NOT NULL DEFAULT 0 CHECK (updated_rows >= 0),
  failed_rows    integer NOT NULL DEFAULT 0 CHECK (failed_rows >= 0),
  failure        text NOT NULL DEFAULT '', -- why the whole job failed, when it did
  started_at     timestamptz,
  finished_at    timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now(), -- the worker's heartbeat
  PRIMARY KEY (tenant_id, id)
);
-- At most one unfinished import per tenant; a second one is refused with 409.
CREATE UNIQUE INDEX contact_imports_one_active ON contact_imports (tenant_id)
  WHERE status IN ('queued', 'running');
CREATE INDEX contact_imports_recent ON contact_imports (tenant_id, created_at DESC, id DESC);
CREATE TRIGGER contact_imports_touch BEFORE UPDATE ON contact_imports
  FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE TABLE contact_import_errors (
  tenant_id uuid NOT NULL,
  import_id uuid NOT NULL,
  row_no    integer NOT NULL CHECK (row_no >= 1), -- the CSV record number, the header being 1
  field     text NOT NULL,
  message   text NOT NULL,
  original  jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(original) = 'array'), -- the row's cells
  PRIMARY KEY (tenant_id, import_id, row_no, field),
  FOREIGN KEY (tenant_id, import_id) REFERENCES contact_imports (tenant_id, id) ON DELETE CASCADE
);

SELECT enable_tenant_rls('contact_imports');
SELECT enable_tenant_rls('contact_import_errors');
