-- Which node is dispatching an inbox row, and since when. The node that
-- stored a webhook claims its rows at once (the default); a sweeper takes only
-- rows whose claim is stale, so a busy node's backlog is not re-dispatched by
-- every other node while it works through it, and a dead node's rows are
-- taken over once their claim expires.
ALTER TABLE inbound_events ADD COLUMN claimed_at timestamptz NOT NULL DEFAULT now();
DROP INDEX IF EXISTS inbound_events_pending;
CREATE INDEX inbound_events_unclaimed ON inbound_events (claimed_at) WHERE processed_at IS NULL;
