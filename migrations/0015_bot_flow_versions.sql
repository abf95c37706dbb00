-- Chatbot flows (issue 16): the builder's draft stays in bot_flows,
-- bot_flow_nodes and bot_flow_edges; publishing copies it into an immutable
-- bot_flow_versions row that becomes the flow's active version, so editing
-- the draft never changes what running conversations execute, and a session
-- finishes on the version it started with (bot_sessions.flow_version).

-- Node ids are the builder's own ("start", "n3", a UUID…), not UUIDs:
-- edges and sessions name them as text. Nothing stored these tables' rows
-- before this migration.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'bot_flow_edges'::regclass AND contype = 'f'
             AND confrelid = 'bot_flow_nodes'::regclass
  LOOP
    EXECUTE format('ALTER TABLE bot_flow_edges DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE bot_flow_nodes
  ALTER COLUMN id TYPE text USING id::text,
  ADD CONSTRAINT bot_flow_nodes_id_format CHECK (id ~ '^[A-Za-z0-9_.:-]{1,64}$'),
  ADD COLUMN ordinal integer NOT NULL DEFAULT 0, -- the order the builder sent (validation paths are nodes[i])
  -- positions come back as the builder sent them (real turned 0.1 into 0.10000000149…)
  ALTER COLUMN position_x TYPE double precision,
  ALTER COLUMN position_y TYPE double precision;
ALTER TABLE bot_flow_edges
  ALTER COLUMN source_node_id TYPE text USING source_node_id::text,
  ALTER COLUMN target_node_id TYPE text USING target_node_id::text,
  ADD COLUMN ordinal integer NOT NULL DEFAULT 0,
  ADD FOREIGN KEY (tenant_id, flow_id, source_node_id) REFERENCES bot_flow_nodes (tenant_id, flow_id, id) ON DELETE CASCADE,
  ADD FOREIGN KEY (tenant_id, flow_id, target_node_id) REFERENCES bot_flow_nodes (tenant_id, flow_id, id) ON DELETE CASCADE;
ALTER TABLE bot_sessions ALTER COLUMN current_node_id TYPE text USING current_node_id::text;

-- One immutable row per published version: the whole definition
-- ({trigger, nodes, edges}) as the engine runs it.
CREATE TABLE bot_flow_versions (
  tenant_id    uuid NOT NULL,
  flow_id      uuid NOT NULL,
  version      integer NOT NULL CHECK (version >= 1),
  definition   jsonb NOT NULL CHECK (jsonb_typeof(definition) = 'object'),
  published_by uuid,
  published_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, flow_id, version),
  FOREIGN KEY (tenant_id, flow_id) REFERENCES bot_flows (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('bot_flow_versions');

-- A published version never changes: conversations pinned to it rely on that.
CREATE OR REPLACE FUNCTION bot_flow_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'published bot flow versions are immutable' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER bot_flow_versions_immutable BEFORE UPDATE ON bot_flow_versions
  FOR EACH ROW EXECUTE FUNCTION bot_flow_versions_immutable();

-- bot_flows.version (never used) gives way to active_version: the version
-- new conversations start on, NULL when the flow is not published (active
-- is then false). draft_updated_at moves when the trigger, nodes or edges
-- change, to tell the console the draft differs from what is published.
ALTER TABLE bot_flows
  DROP COLUMN version,
  ADD COLUMN active_version integer,
  ADD COLUMN draft_updated_at timestamptz NOT NULL DEFAULT now(),
  ADD CONSTRAINT bot_flows_active_has_version CHECK (active = (active_version IS NOT NULL)),
  ADD FOREIGN KEY (tenant_id, id, active_version) REFERENCES bot_flow_versions (tenant_id, flow_id, version);
CREATE INDEX bot_flows_active ON bot_flows (tenant_id) WHERE active;

ALTER TABLE bot_sessions
  ADD FOREIGN KEY (tenant_id, flow_id, flow_version) REFERENCES bot_flow_versions (tenant_id, flow_id, version);
