-- Chatbot sessions run inside the conversation grain (issue 16): the whole
-- engine state (actors/bot.State: node, variables, retries, what it waits
-- for and the wait's number) is one jsonb, written in the same transaction
-- as the message the step reacts to. current_node_id and status stay as
-- columns for the list's counts and for people reading the table.
ALTER TABLE bot_sessions
  ADD COLUMN state jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(state) = 'object'),
  ADD COLUMN ended_at timestamptz;

-- An agent who takes the conversation or presses "stop" ends the session:
-- 'stopped', apart from a flow's own hand-off.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'bot_sessions'::regclass AND contype = 'c'
             AND pg_get_constraintdef(oid) LIKE '%status%'
  LOOP
    EXECUTE format('ALTER TABLE bot_sessions DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE bot_sessions ADD CONSTRAINT bot_sessions_status
  CHECK (status IN ('active', 'waiting', 'completed', 'handed_off', 'stopped', 'expired', 'failed'));

-- The console shows a conversation's latest session (the variables a bot
-- collected before handing off).
CREATE INDEX bot_sessions_conversation ON bot_sessions (tenant_id, conversation_id, created_at DESC);

-- Consent (issue 17): the confirmation of an opt-out is sent by the system,
-- not a person or the bot.
DO $$
DECLARE c record;
BEGIN
  FOR c IN SELECT conname FROM pg_constraint
           WHERE conrelid = 'messages'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%via%'
  LOOP
    EXECUTE format('ALTER TABLE messages DROP CONSTRAINT %I', c.conname);
  END LOOP;
END $$;
ALTER TABLE messages ADD CONSTRAINT messages_via
  CHECK (via IN ('', 'agent', 'bot', 'campaign', 'schedule', 'api', 'phone', 'consent'));
