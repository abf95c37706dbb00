-- An inbox row keeps the parsed channel event as binary protobuf
-- (crm.v1.ChannelEvent, the message the engine's actors exchange) in `event`
-- instead of protojson in `payload`: encoding and storing it is a copy of a
-- few hundred bytes on both sides, where protojson and jsonb's parser were
-- a tenth of the node's CPU per webhook and more of PostgreSQL's. Rows
-- stored before this migration keep their `payload` and are still read.
ALTER TABLE inbound_events ADD COLUMN event bytea;
ALTER TABLE inbound_events ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE inbound_events ADD CONSTRAINT inbound_events_event_or_payload
  CHECK (event IS NOT NULL OR payload IS NOT NULL) NOT VALID;
