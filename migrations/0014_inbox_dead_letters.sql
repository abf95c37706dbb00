-- An inbox row whose processing failed CRM_INBOX_MAX_ATTEMPTS times is
-- dead-lettered: dead_at is stamped and the sweeper no longer takes it, so
-- one event that always fails (a payload PostgreSQL refuses, a row that no
-- longer decodes) stops being retried, and joining and failing group
-- commits, forever. It is not dropped: the row stays, the tenant's admins
-- list it and put it back (GET /api/v1/inbox/dead-letters, POST
-- .../{id}/retry), and crm_inbox_dead_letters counts them. The table's
-- row-level security covers the new column as it does the others.
ALTER TABLE inbound_events ADD COLUMN dead_at timestamptz;

-- The sweeper's index leaves dead rows out.
DROP INDEX IF EXISTS inbound_events_unclaimed;
CREATE INDEX inbound_events_unclaimed ON inbound_events (claimed_at) WHERE processed_at IS NULL AND dead_at IS NULL;

-- A tenant's dead letters, newest first.
CREATE INDEX inbound_events_dead ON inbound_events (tenant_id, dead_at DESC, id DESC) WHERE dead_at IS NOT NULL;
