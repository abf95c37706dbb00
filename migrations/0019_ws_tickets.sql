-- WebSocket tickets (issue 23): a console opens its socket with a short-lived
-- ticket from POST /api/v1/ws/ticket instead of its access token, which used
-- to travel in the URL (and so in proxies' access logs). The ticket verifies
-- itself (HMAC); this table only makes it single-use across every node: the
-- socket route inserts the ticket's id, and a second insert conflicts. Rows
-- are useless once the ticket has expired; the ws_ticket_purge job deletes
-- them.
CREATE TABLE ws_tickets_used (
  tenant_id  uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  id         uuid NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, id)
);
SELECT enable_tenant_rls('ws_tickets_used');
