-- Cluster-wide throttles (issue 18): the login throttle and the API's rate
-- limits used to count in each node's memory, so N nodes gave an attacker N
-- times the budget. Without Redis (REDIS_URL) the counters live here, one
-- row per key, shared by every node.
--
-- UNLOGGED: a counter is worth nothing after a crash (the worst case is a
-- throttle that starts afresh), and skipping the WAL keeps a login or a
-- rate-limited request from waiting for a flush. Not tenant data: the keys
-- are addresses and digests of (email, address) pairs, so no tenant_id and
-- no RLS; only the server's own statements reach it.
--
-- A window counter (Allow) uses count, started_at and expires_at; a login
-- pair uses count and last_at (expires_at = last_at + window); an address's
-- login failures use count and started_at. Rows whose expires_at has passed
-- mean nothing (readers treat them as absent) and the rate_counter_purge job
-- deletes them.
CREATE UNLOGGED TABLE rate_counters (
  key        text PRIMARY KEY,
  count      integer NOT NULL DEFAULT 0,
  started_at timestamptz,
  last_at    timestamptz,
  expires_at timestamptz NOT NULL
);
CREATE INDEX rate_counters_expires_at ON rate_counters (expires_at);
GRANT SELECT, INSERT, UPDATE, DELETE ON rate_counters TO crm_app, crm_platform;
