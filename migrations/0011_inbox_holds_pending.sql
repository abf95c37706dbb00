-- The inbox holds the events not processed yet: processing deletes its row
-- in the transaction that stores the event's effects, instead of stamping
-- processed_at. The stamp was an update no row could take as HOT
-- (processed_at is in the sweeper's index predicate): a new row version
-- and an entry in two indexes per message, 35-300 us of PostgreSQL's time
-- (pg_stat_statements, sustained processing), and a table that only grew.
-- Exactly one message per provider message still holds: a redelivery after
-- processing is stored again and found a duplicate by what it made (the
-- message's external id in message_keys; a status moves forward only).
-- Rows processed before this migration go the same way (forced RLS applies
-- to the table's owner too, so this runs on the platform role).
SET LOCAL ROLE crm_platform;
DELETE FROM inbound_events WHERE processed_at IS NOT NULL;
RESET ROLE;
