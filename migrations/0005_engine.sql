-- Statuses that arrive before the message they describe are parked here and
-- applied when the message appears (Meta gives no ordering guarantee).
CREATE TABLE parked_statuses (
  tenant_id     uuid NOT NULL,
  connection_id uuid NOT NULL,
  external_id   text NOT NULL,
  status        text NOT NULL CHECK (status IN ('sent', 'delivered', 'read', 'played', 'failed')),
  occurred_at   timestamptz NOT NULL,
  error         jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, connection_id, external_id, status)
);
SELECT enable_tenant_rls('parked_statuses');

-- The order statuses move in; failed is handled apart.
CREATE OR REPLACE FUNCTION message_status_rank(s text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE s WHEN 'received' THEN 0 WHEN 'pending' THEN 1 WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3
                WHEN 'read' THEN 4 WHEN 'played' THEN 5 WHEN 'failed' THEN 1 ELSE 0 END
$$;

-- Resume replays a tenant's events after a sequence number.
CREATE INDEX tenant_events_conversation ON tenant_events (tenant_id, conversation_id, seq);

-- Shared content (reels, posts, story mentions) from Messenger and Instagram.
ALTER TABLE messages DROP CONSTRAINT messages_type_check;
ALTER TABLE messages ADD CONSTRAINT messages_type_check CHECK (type IN ('text', 'image', 'audio', 'video', 'document',
  'sticker', 'location', 'contacts', 'reaction', 'interactive', 'button', 'template', 'postback', 'share',
  'unsupported', 'system'));
