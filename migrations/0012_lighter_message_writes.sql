-- Two costs every stored message paid for nothing (pg_stat_statements,
-- sustained processing in make bench):
--
-- messages_external indexed (tenant, connection, external_id) on every
-- monthly partition, a third index entry per message. Nothing reads by it:
-- a message is found by its provider id through message_keys, which also
-- holds it unique across partitions.
DROP INDEX IF EXISTS messages_external;

-- Tenant events are written once, read back whole (a console resuming
-- "since N") and deleted by age; nothing queries inside them. As jsonb
-- each payload (the conversation or message as the API shows it, about a
-- kilobyte) was parsed into jsonb's binary form on the way in and printed
-- back to text on the way out; json keeps the text as given, checked.
ALTER TABLE tenant_events ALTER COLUMN payload TYPE json USING payload::json;
