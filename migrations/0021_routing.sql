-- Running a support team (issue 18): automatic distribution with team queues,
-- cluster-wide agent presence, per-team business hours and SLA, the
-- outside-hours reply and auto-close.

-- Distribution per team: off, round robin (the member assigned longest ago
-- first) or least busy (the fewest open conversations first), each agent
-- capped at max_open_per_agent open conversations (0: no cap beyond the
-- user's own max_concurrent_conversations). sla_first_response_minutes is the
-- business time a customer may wait for the first answer (0: none).
-- business_hours overrides the tenant's calendar for the team (null: the
-- tenant's).
ALTER TABLE teams
  ADD COLUMN auto_assign text NOT NULL DEFAULT 'off' CHECK (auto_assign IN ('off', 'round_robin', 'least_busy')),
  ADD COLUMN max_open_per_agent integer NOT NULL DEFAULT 0 CHECK (max_open_per_agent BETWEEN 0 AND 1000),
  ADD COLUMN sla_first_response_minutes integer NOT NULL DEFAULT 0
    CHECK (sla_first_response_minutes BETWEEN 0 AND 10080),
  ADD COLUMN business_hours jsonb CHECK (business_hours IS NULL OR jsonb_typeof(business_hours) = 'object');

-- Round robin's memory: when each member last got a conversation from the team.
ALTER TABLE team_members ADD COLUMN last_assigned_at timestamptz;

-- The team queues: every live conversation that belongs to a team and has no
-- agent (and no running bot) waits here, since queued_at. A trigger on
-- conversations keeps it, so every path that writes a conversation (the
-- grains, the group commit, the bot's hand-off) queues and dequeues alike.
CREATE TABLE conversation_queue (
  tenant_id       uuid NOT NULL,
  conversation_id uuid NOT NULL,
  team_id         uuid NOT NULL,
  queued_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, conversation_id),
  FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_queue_team ON conversation_queue (tenant_id, team_id, queued_at, conversation_id);
SELECT enable_tenant_rls('conversation_queue');

CREATE OR REPLACE FUNCTION conversation_queue_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.team_id IS NOT NULL AND NEW.assignee_id IS NULL AND NOT NEW.bot_active
     AND NEW.status IN ('open', 'in_progress', 'waiting') THEN
    INSERT INTO conversation_queue (tenant_id, conversation_id, team_id, queued_at)
    VALUES (NEW.tenant_id, NEW.id, NEW.team_id, now())
    ON CONFLICT (tenant_id, conversation_id) DO UPDATE
      SET team_id = EXCLUDED.team_id,
          queued_at = CASE WHEN conversation_queue.team_id = EXCLUDED.team_id
                           THEN conversation_queue.queued_at ELSE EXCLUDED.queued_at END;
  ELSIF TG_OP = 'UPDATE' THEN
    DELETE FROM conversation_queue WHERE tenant_id = NEW.tenant_id AND conversation_id = NEW.id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER conversations_queue_insert AFTER INSERT ON conversations
  FOR EACH ROW WHEN (NEW.team_id IS NOT NULL AND NEW.assignee_id IS NULL)
  EXECUTE FUNCTION conversation_queue_sync();
CREATE TRIGGER conversations_queue_update AFTER UPDATE ON conversations
  FOR EACH ROW WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id
                     OR OLD.status IS DISTINCT FROM NEW.status OR OLD.bot_active IS DISTINCT FROM NEW.bot_active)
  EXECUTE FUNCTION conversation_queue_sync();

-- Conversations already waiting when this runs.
INSERT INTO conversation_queue (tenant_id, conversation_id, team_id, queued_at)
SELECT tenant_id, id, team_id, last_activity_at FROM conversations
WHERE team_id IS NOT NULL AND assignee_id IS NULL AND NOT bot_active AND status IN ('open', 'in_progress', 'waiting')
ON CONFLICT DO NOTHING;

-- Open conversations per agent: what the cap counts, under the agent's lock.
CREATE INDEX conversations_assignee_open ON conversations (tenant_id, assignee_id)
  WHERE assignee_id IS NOT NULL AND status IN ('open', 'in_progress', 'waiting');

-- Presence across the cluster: how many console sessions each node holds for
-- a user, refreshed by the node's heartbeat (seen_at). A user with no fresh
-- row has no console open anywhere.
CREATE TABLE agent_sessions (
  tenant_id uuid NOT NULL,
  user_id   uuid NOT NULL,
  node      text NOT NULL,
  sessions  integer NOT NULL CHECK (sessions > 0),
  seen_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id, node),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX agent_sessions_node ON agent_sessions (node);
SELECT enable_tenant_rls('agent_sessions');

-- The automatic reply outside business hours goes once per conversation per
-- closed period (period_start: when the tenant last closed).
CREATE TABLE outside_hours_replies (
  tenant_id       uuid NOT NULL,
  conversation_id uuid NOT NULL,
  period_start    timestamptz NOT NULL,
  sent_at         timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, conversation_id, period_start),
  FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('outside_hours_replies');

-- First-response SLA breaches, recorded once per conversation.
CREATE TABLE sla_breaches (
  tenant_id       uuid NOT NULL,
  conversation_id uuid NOT NULL,
  team_id         uuid,
  due_at          timestamptz NOT NULL,
  breached_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, conversation_id),
  FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('sla_breaches');

-- What the SLA watch and auto-close read: live conversations still without a
-- first answer, and live conversations by idleness.
CREATE INDEX conversations_awaiting_first_response ON conversations (tenant_id, created_at)
  WHERE first_response_at IS NULL AND team_id IS NOT NULL AND status IN ('open', 'in_progress', 'waiting');

-- The outside-hours reply and the auto-close message are the system's own
-- messages: via 'system'.
ALTER TABLE messages DROP CONSTRAINT messages_via;
ALTER TABLE messages ADD CONSTRAINT messages_via
  CHECK (via IN ('', 'agent', 'bot', 'campaign', 'schedule', 'api', 'phone', 'consent', 'system'));
