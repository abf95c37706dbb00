-- The whole data model. Every table with tenant_id is tenant-scoped: its
-- primary, unique and foreign keys include tenant_id, and row-level security
-- (enabled and forced, see the end of this file) limits it to the tenant named
-- by the app.tenant_id setting.

-- Roles: crm_app runs tenant transactions (RLS applies), crm_platform runs the
-- platform owner's explicit path. Neither is superuser or BYPASSRLS.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_app') THEN
    BEGIN CREATE ROLE crm_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'crm_platform') THEN
    BEGIN CREATE ROLE crm_platform NOLOGIN NOSUPERUSER NOBYPASSRLS;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END;
  END IF;
END $$;

CREATE OR REPLACE FUNCTION app_tenant_id() RETURNS uuid
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at = now(); RETURN NEW; END $$;

-- Platform tables (no tenant_id).
CREATE TABLE plans (
  id            uuid PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 120),
  description   text NOT NULL DEFAULT '',
  monthly_price numeric(12,2) NOT NULL DEFAULT 0 CHECK (monthly_price >= 0),
  currency      text NOT NULL DEFAULT 'BRL',
  max_users                 integer NOT NULL DEFAULT 0 CHECK (max_users >= 0),
  max_connections           integer NOT NULL DEFAULT 0 CHECK (max_connections >= 0),
  max_contacts              integer NOT NULL DEFAULT 0 CHECK (max_contacts >= 0),
  max_monthly_conversations integer NOT NULL DEFAULT 0 CHECK (max_monthly_conversations >= 0),
  max_monthly_campaigns     integer NOT NULL DEFAULT 0 CHECK (max_monthly_campaigns >= 0),
  features      jsonb NOT NULL DEFAULT '{}'::jsonb,
  retired_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
  id           uuid PRIMARY KEY,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  slug         text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  email        text NOT NULL,
  document     text NOT NULL DEFAULT '',
  phone        text NOT NULL DEFAULT '',
  plan_id      uuid NOT NULL REFERENCES plans(id),
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
  settings     jsonb NOT NULL DEFAULT '{}'::jsonb,
  suspended_at timestamptz,
  suspended_reason text NOT NULL DEFAULT '',
  deleted_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenants_status ON tenants (status, plan_id);

CREATE TABLE platform_admins (
  id            uuid PRIMARY KEY,
  name          text NOT NULL,
  email         text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  active        boolean NOT NULL DEFAULT true,
  token_version integer NOT NULL DEFAULT 0,
  last_login_at timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform_refresh_tokens (
  id          uuid PRIMARY KEY,
  admin_id    uuid NOT NULL REFERENCES platform_admins(id) ON DELETE CASCADE,
  family_id   uuid NOT NULL,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX platform_refresh_tokens_family ON platform_refresh_tokens (family_id);

CREATE TABLE platform_audit_log (
  id          uuid PRIMARY KEY,
  actor_id    uuid,
  actor_email text NOT NULL DEFAULT '',
  action      text NOT NULL,
  entity      text NOT NULL,
  entity_id   uuid,
  tenant_ref  uuid,
  ip          text NOT NULL DEFAULT '',
  before      jsonb,
  after       jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX platform_audit_log_time ON platform_audit_log (created_at DESC, id DESC);

-- Tenant tables.
CREATE TABLE licenses (
  tenant_id        uuid NOT NULL REFERENCES tenants(id),
  id               uuid NOT NULL,
  key              text NOT NULL,
  server_ip        text NOT NULL,
  hostname         text NOT NULL DEFAULT '',
  plan_id          uuid REFERENCES plans(id),
  issued_at        timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  revoked_at       timestamptz,
  last_verified_at timestamptz,
  last_result      text NOT NULL DEFAULT '',
  created_by       uuid,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CHECK (expires_at > issued_at)
);

CREATE TABLE users (
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  id            uuid NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  email         text NOT NULL CHECK (email = lower(email)),
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('TENANT_ADMIN', 'SUPERVISOR', 'AGENT')),
  phone         text NOT NULL DEFAULT '',
  avatar_url    text NOT NULL DEFAULT '',
  active        boolean NOT NULL DEFAULT true,
  token_version integer NOT NULL DEFAULT 0,
  max_concurrent_conversations integer NOT NULL DEFAULT 0 CHECK (max_concurrent_conversations >= 0),
  availability  text NOT NULL DEFAULT 'offline' CHECK (availability IN ('online', 'away', 'offline')),
  last_login_at timestamptz,
  last_seen_at  timestamptz,
  deactivated_at timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, email)
);
CREATE INDEX users_email ON users (email);

CREATE TABLE refresh_tokens (
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  id          uuid NOT NULL,
  user_id     uuid NOT NULL,
  family_id   uuid NOT NULL,
  token_hash  bytea NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  revoked_at  timestamptz,
  user_agent  text NOT NULL DEFAULT '',
  ip          text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, token_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);

CREATE TABLE api_tokens (
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  id          uuid NOT NULL,
  name        text NOT NULL,
  prefix      text NOT NULL,
  token_hash  bytea NOT NULL,
  scopes      text[] NOT NULL DEFAULT '{}',
  created_by  uuid,
  last_used_at timestamptz,
  expires_at  timestamptz,
  revoked_at  timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, token_hash),
  UNIQUE (tenant_id, name)
);

CREATE TABLE teams (
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  id          uuid NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  description text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE team_members (
  tenant_id  uuid NOT NULL,
  team_id    uuid NOT NULL,
  user_id    uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, team_id, user_id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX team_members_user ON team_members (tenant_id, user_id);

CREATE TABLE connections (
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  id           uuid NOT NULL,
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  channel      text NOT NULL CHECK (channel IN ('whatsapp', 'instagram', 'messenger')),
  provider     text NOT NULL CHECK (provider IN ('meta', 'uazapi', 'evolution', 'sandbox')),
  status       text NOT NULL DEFAULT 'disconnected'
               CHECK (status IN ('connected', 'disconnected', 'connecting', 'reconnecting', 'error')),
  credentials  bytea,           -- AES-256-GCM sealed JSON, never returned
  settings     jsonb NOT NULL DEFAULT '{}'::jsonb,
  verify_token text NOT NULL,
  webhook_secret text NOT NULL, -- uazapi/evolution URL secret
  external_id  text NOT NULL DEFAULT '', -- phone_number_id, page id, IG account id, instance name
  default_team_id uuid,
  bot_flow_id  uuid,
  last_event_at timestamptz,
  last_error   text NOT NULL DEFAULT '',
  last_error_at timestamptz,
  deleted_at   timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);
CREATE INDEX connections_id ON connections (id);

CREATE TABLE contacts (
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  id            uuid NOT NULL,
  name          text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
  phone         text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  email         text CHECK (email = lower(email)),
  avatar_url    text NOT NULL DEFAULT '',
  custom_fields jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(custom_fields) = 'object'),
  notes         text NOT NULL DEFAULT '',
  blocked       boolean NOT NULL DEFAULT false,
  opted_out     boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, phone)
);
CREATE INDEX contacts_name ON contacts (tenant_id, lower(name), id);
CREATE INDEX contacts_email ON contacts (tenant_id, email);
CREATE INDEX contacts_phone_pattern ON contacts (tenant_id, phone text_pattern_ops);

CREATE TABLE contact_identities (
  tenant_id    uuid NOT NULL,
  id           uuid NOT NULL,
  contact_id   uuid NOT NULL,
  channel      text NOT NULL CHECK (channel IN ('whatsapp', 'instagram', 'messenger')),
  external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200), -- wa_id, user_id, PSID, IGSID
  display_name text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, channel, external_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_identities_contact ON contact_identities (tenant_id, contact_id);

CREATE TABLE labels (
  tenant_id  uuid NOT NULL REFERENCES tenants(id),
  id         uuid NOT NULL,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
  color      text NOT NULL DEFAULT '#64748b' CHECK (color ~ '^#[0-9a-fA-F]{6}$'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE contact_labels (
  tenant_id  uuid NOT NULL,
  contact_id uuid NOT NULL,
  label_id   uuid NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, contact_id, label_id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, label_id) REFERENCES labels (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_labels_label ON contact_labels (tenant_id, label_id);

CREATE TABLE bot_flows (
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  id          uuid NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  description text NOT NULL DEFAULT '',
  active      boolean NOT NULL DEFAULT false,
  trigger     jsonb NOT NULL DEFAULT '{}'::jsonb, -- {on: first_message|keyword|always, keywords: [], connection_ids: []}
  version     integer NOT NULL DEFAULT 1,
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE bot_flow_nodes (
  tenant_id  uuid NOT NULL,
  flow_id    uuid NOT NULL,
  id         uuid NOT NULL,
  type       text NOT NULL CHECK (type IN ('start', 'message', 'question', 'condition', 'delay',
                                           'webhook', 'add_label', 'handoff', 'end')),
  name       text NOT NULL DEFAULT '',
  config     jsonb NOT NULL DEFAULT '{}'::jsonb,
  position_x real NOT NULL DEFAULT 0,
  position_y real NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, flow_id, id),
  FOREIGN KEY (tenant_id, flow_id) REFERENCES bot_flows (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE bot_flow_edges (
  tenant_id      uuid NOT NULL,
  flow_id        uuid NOT NULL,
  id             uuid NOT NULL,
  source_node_id uuid NOT NULL,
  target_node_id uuid NOT NULL,
  handle         text NOT NULL DEFAULT '', -- which output: option value, condition branch, timeout
  PRIMARY KEY (tenant_id, flow_id, id),
  FOREIGN KEY (tenant_id, flow_id, source_node_id) REFERENCES bot_flow_nodes (tenant_id, flow_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, flow_id, target_node_id) REFERENCES bot_flow_nodes (tenant_id, flow_id, id) ON DELETE CASCADE
);

CREATE TABLE conversations (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,
  connection_id    uuid NOT NULL,
  contact_id       uuid NOT NULL,
  channel          text NOT NULL CHECK (channel IN ('whatsapp', 'instagram', 'messenger')),
  status           text NOT NULL DEFAULT 'open'
                   CHECK (status IN ('open', 'in_progress', 'waiting', 'resolved', 'archived')),
  assignee_id      uuid,
  team_id          uuid,
  subject          text NOT NULL DEFAULT '',
  unread_count     integer NOT NULL DEFAULT 0 CHECK (unread_count >= 0),
  last_seq         bigint NOT NULL DEFAULT 0,
  version          bigint NOT NULL DEFAULT 0, -- write fence for the conversation grain
  last_message_at  timestamptz,
  last_message_preview text NOT NULL DEFAULT '',
  last_message_direction text NOT NULL DEFAULT '',
  last_inbound_at  timestamptz,
  window_expires_at timestamptz, -- WhatsApp 24-hour customer service window
  first_response_at timestamptz,
  bot_active       boolean NOT NULL DEFAULT false,
  over_limit       boolean NOT NULL DEFAULT false, -- stored beyond the plan's monthly conversations
  last_activity_at timestamptz NOT NULL DEFAULT now(),
  resolved_at      timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
  FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id),
  FOREIGN KEY (tenant_id, team_id) REFERENCES teams (tenant_id, id)
);
-- One live conversation per (connection, contact): the grain's identity.
CREATE UNIQUE INDEX conversations_current ON conversations (tenant_id, connection_id, contact_id)
  WHERE status <> 'archived';
CREATE INDEX conversations_inbox ON conversations (tenant_id, status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_activity ON conversations (tenant_id, last_activity_at DESC, id DESC);
CREATE INDEX conversations_assignee ON conversations (tenant_id, assignee_id, last_activity_at DESC);
CREATE INDEX conversations_team ON conversations (tenant_id, team_id, last_activity_at DESC);
CREATE INDEX conversations_contact ON conversations (tenant_id, contact_id);

CREATE TABLE conversation_labels (
  tenant_id       uuid NOT NULL,
  conversation_id uuid NOT NULL,
  label_id        uuid NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, conversation_id, label_id),
  FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, label_id) REFERENCES labels (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_labels_label ON conversation_labels (tenant_id, label_id);

CREATE TABLE media (
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  id          uuid NOT NULL,
  storage_key text NOT NULL,
  mime_type   text NOT NULL,
  size        bigint NOT NULL CHECK (size >= 0),
  sha256      text NOT NULL DEFAULT '',
  filename    text NOT NULL DEFAULT '',
  source      text NOT NULL DEFAULT 'upload' CHECK (source IN ('upload', 'inbound')),
  provider_media_id text NOT NULL DEFAULT '',
  created_by  uuid,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

-- Messages are range-partitioned by month on created_at. A partitioned table
-- can only enforce uniqueness on keys that include the partition column, so
-- the external-id and idempotency-key uniqueness live in message_keys below.
CREATE TABLE messages (
  tenant_id       uuid NOT NULL,
  id              uuid NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  conversation_id uuid NOT NULL,
  connection_id   uuid NOT NULL,
  contact_id      uuid NOT NULL,
  seq             bigint NOT NULL CHECK (seq > 0),
  direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
  type            text NOT NULL CHECK (type IN ('text', 'image', 'audio', 'video', 'document', 'sticker',
                         'location', 'contacts', 'reaction', 'interactive', 'button', 'template',
                         'postback', 'unsupported', 'system')),
  text            text NOT NULL DEFAULT '',
  media           jsonb,
  location        jsonb,
  contacts        jsonb,
  reaction        jsonb,
  interactive     jsonb,
  template        jsonb,
  referral        jsonb,
  reply_to_id     uuid,
  reply_to_external_id text NOT NULL DEFAULT '',
  external_id     text,
  idempotency_key text,
  status          text NOT NULL CHECK (status IN ('received', 'pending', 'sent', 'delivered', 'read',
                                                  'played', 'failed')),
  error           jsonb,
  sent_by         uuid,
  via             text NOT NULL DEFAULT '' CHECK (via IN ('', 'agent', 'bot', 'campaign', 'schedule', 'api', 'phone')),
  sent_at         timestamptz,
  delivered_at    timestamptz,
  read_at         timestamptz,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX messages_conversation_seq ON messages (tenant_id, conversation_id, seq);
CREATE INDEX messages_external ON messages (tenant_id, connection_id, external_id) WHERE external_id IS NOT NULL;
CREATE TABLE messages_default PARTITION OF messages DEFAULT;

CREATE TABLE message_keys (
  tenant_id     uuid NOT NULL,
  connection_id uuid NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('external', 'idempotency')),
  key           text NOT NULL CHECK (length(key) BETWEEN 1 AND 200),
  message_id    uuid NOT NULL,
  message_created_at timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, kind, connection_id, key)
);
COMMENT ON TABLE message_keys IS 'Unique (tenant, connection, external id) and (tenant, idempotency key; connection_id = nil uuid) for the partitioned messages table.';

-- ensure_message_partitions creates monthly partitions from the current month
-- back and ahead. Rows already in the default partition for a new month are
-- moved into it.
CREATE OR REPLACE FUNCTION ensure_message_partitions(months_back integer, months_ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  start_month date := date_trunc('month', now())::date;
  m date;
  name text;
  created integer := 0;
BEGIN
  FOR i IN -months_back..months_ahead LOOP
    m := (start_month + make_interval(months => i))::date;
    name := 'messages_' || to_char(m, 'YYYYMM');
    IF to_regclass(name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I (LIKE messages INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
      EXECUTE format('INSERT INTO %I SELECT * FROM messages_default WHERE created_at >= %L AND created_at < %L',
                     name, m, (m + interval '1 month')::date);
      EXECUTE format('DELETE FROM messages_default WHERE created_at >= %L AND created_at < %L',
                     m, (m + interval '1 month')::date);
      EXECUTE format('ALTER TABLE messages ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                     name, m, (m + interval '1 month')::date);
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END $$;
SELECT ensure_message_partitions(1, 3);

CREATE TABLE internal_notes (
  tenant_id       uuid NOT NULL,
  id              uuid NOT NULL,
  conversation_id uuid NOT NULL,
  author_id       uuid,
  text            text NOT NULL CHECK (length(text) BETWEEN 1 AND 10000),
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX internal_notes_conversation ON internal_notes (tenant_id, conversation_id, created_at);

CREATE TABLE quick_replies (
  tenant_id  uuid NOT NULL REFERENCES tenants(id),
  id         uuid NOT NULL,
  shortcut   text NOT NULL CHECK (shortcut ~ '^[a-z0-9_-]{1,40}$'),
  title      text NOT NULL CHECK (length(title) BETWEEN 1 AND 120),
  text       text NOT NULL DEFAULT '' CHECK (length(text) <= 4096),
  media_id   uuid,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, shortcut),
  FOREIGN KEY (tenant_id, media_id) REFERENCES media (tenant_id, id)
);

CREATE TABLE bot_sessions (
  tenant_id       uuid NOT NULL,
  id              uuid NOT NULL,
  conversation_id uuid NOT NULL,
  flow_id         uuid NOT NULL,
  flow_version    integer NOT NULL DEFAULT 1,
  current_node_id uuid,
  status          text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'waiting', 'completed', 'handed_off', 'expired', 'failed')),
  variables       jsonb NOT NULL DEFAULT '{}'::jsonb,
  pending_question jsonb,
  wake_at         timestamptz,
  attempts        integer NOT NULL DEFAULT 0,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, flow_id) REFERENCES bot_flows (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX bot_sessions_live ON bot_sessions (tenant_id, conversation_id)
  WHERE status IN ('active', 'waiting');
CREATE INDEX bot_sessions_wake ON bot_sessions (wake_at) WHERE wake_at IS NOT NULL;

CREATE TABLE campaigns (
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  id            uuid NOT NULL,
  name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  connection_id uuid NOT NULL,
  status        text NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'scheduled', 'running', 'paused', 'completed', 'cancelled', 'failed')),
  message       jsonb NOT NULL DEFAULT '{}'::jsonb, -- {type, text?, media_id?, template?}
  audience      jsonb NOT NULL DEFAULT '{}'::jsonb, -- {label_ids, contact_ids, ...}
  rate_per_minute integer NOT NULL DEFAULT 60 CHECK (rate_per_minute BETWEEN 1 AND 6000),
  scheduled_at  timestamptz,
  started_at    timestamptz,
  finished_at   timestamptz,
  total_count     integer NOT NULL DEFAULT 0,
  sent_count      integer NOT NULL DEFAULT 0,
  delivered_count integer NOT NULL DEFAULT 0,
  read_count      integer NOT NULL DEFAULT 0,
  failed_count    integer NOT NULL DEFAULT 0,
  cursor_position integer NOT NULL DEFAULT 0,
  version       bigint NOT NULL DEFAULT 0,
  created_by    uuid,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
);
CREATE INDEX campaigns_due ON campaigns (status, scheduled_at);

CREATE TABLE campaign_recipients (
  tenant_id   uuid NOT NULL,
  campaign_id uuid NOT NULL,
  contact_id  uuid NOT NULL,
  position    integer NOT NULL,
  status      text NOT NULL DEFAULT 'pending'
              CHECK (status IN ('pending', 'sent', 'delivered', 'read', 'failed', 'skipped')),
  variables   jsonb NOT NULL DEFAULT '{}'::jsonb,
  message_id  uuid,
  error       jsonb,
  sent_at     timestamptz,
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, campaign_id, contact_id),
  UNIQUE (tenant_id, campaign_id, position),
  FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE scheduled_messages (
  tenant_id       uuid NOT NULL REFERENCES tenants(id),
  id              uuid NOT NULL,
  connection_id   uuid NOT NULL,
  contact_id      uuid NOT NULL,
  conversation_id uuid,
  message         jsonb NOT NULL, -- {type, text?, media_id?, template?}
  send_at         timestamptz NOT NULL,
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'cancelled', 'failed')),
  sent_message_id uuid,
  error           jsonb,
  created_by      uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX scheduled_messages_due ON scheduled_messages (send_at) WHERE status = 'pending';

CREATE TABLE boards (
  tenant_id   uuid NOT NULL REFERENCES tenants(id),
  id          uuid NOT NULL,
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  description text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, name)
);

CREATE TABLE board_columns (
  tenant_id  uuid NOT NULL,
  id         uuid NOT NULL,
  board_id   uuid NOT NULL,
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 120),
  color      text NOT NULL DEFAULT '#64748b',
  position   integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, board_id, name),
  FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE cards (
  tenant_id       uuid NOT NULL,
  id              uuid NOT NULL,
  board_id        uuid NOT NULL,
  column_id       uuid NOT NULL,
  title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description     text NOT NULL DEFAULT '',
  contact_id      uuid,
  conversation_id uuid,
  assignee_id     uuid,
  value           numeric(12,2) NOT NULL DEFAULT 0,
  position        double precision NOT NULL DEFAULT 0,
  due_at          timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, board_id) REFERENCES boards (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, column_id) REFERENCES board_columns (tenant_id, id) ON DELETE CASCADE,
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE SET NULL (contact_id),
  FOREIGN KEY (tenant_id, assignee_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (assignee_id)
);
CREATE INDEX cards_column ON cards (tenant_id, column_id, position);

CREATE TABLE appointments (
  tenant_id       uuid NOT NULL REFERENCES tenants(id),
  id              uuid NOT NULL,
  title           text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  description     text NOT NULL DEFAULT '',
  contact_id      uuid,
  conversation_id uuid,
  user_id         uuid,
  location        text NOT NULL DEFAULT '',
  starts_at       timestamptz NOT NULL,
  ends_at         timestamptz NOT NULL,
  status          text NOT NULL DEFAULT 'scheduled'
                  CHECK (status IN ('scheduled', 'confirmed', 'cancelled', 'done', 'no_show')),
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CHECK (ends_at >= starts_at),
  FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE SET NULL (contact_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE SET NULL (user_id)
);
CREATE INDEX appointments_time ON appointments (tenant_id, starts_at);

CREATE TABLE reminders (
  tenant_id      uuid NOT NULL,
  id             uuid NOT NULL,
  appointment_id uuid NOT NULL,
  remind_at      timestamptz NOT NULL,
  connection_id  uuid,
  message        jsonb NOT NULL DEFAULT '{}'::jsonb,
  status         text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
  sent_message_id uuid,
  error          jsonb,
  sent_at        timestamptz,
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, appointment_id) REFERENCES appointments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX reminders_due ON reminders (remind_at) WHERE status = 'pending';

-- The webhook inbox: every accepted provider event, durable before the 200.
CREATE TABLE inbound_events (
  tenant_id     uuid NOT NULL,
  id            uuid NOT NULL,
  connection_id uuid NOT NULL,
  provider      text NOT NULL,
  kind          text NOT NULL DEFAULT 'message', -- message, status, echo, connection, error, unsupported
  dedupe_key    text NOT NULL,
  payload       jsonb NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  processed_at  timestamptz,
  attempts      integer NOT NULL DEFAULT 0,
  last_error    text NOT NULL DEFAULT '',
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, connection_id, dedupe_key)
);
CREATE INDEX inbound_events_pending ON inbound_events (received_at) WHERE processed_at IS NULL;

-- The durable, gap-free per-tenant event sequence that consoles resume from.
CREATE TABLE tenant_event_counters (
  tenant_id uuid PRIMARY KEY REFERENCES tenants(id),
  last_seq  bigint NOT NULL DEFAULT 0
);

CREATE TABLE tenant_events (
  tenant_id       uuid NOT NULL,
  seq             bigint NOT NULL,
  type            text NOT NULL,
  conversation_id uuid,
  assignee_id     uuid, -- visibility: who may see it
  team_id         uuid,
  payload         jsonb NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE audit_log (
  tenant_id   uuid NOT NULL,
  id          uuid NOT NULL,
  actor_id    uuid,
  actor_email text NOT NULL DEFAULT '',
  actor_role  text NOT NULL DEFAULT '',
  action      text NOT NULL,
  entity      text NOT NULL,
  entity_id   uuid,
  ip          text NOT NULL DEFAULT '',
  before      jsonb,
  after       jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_time ON audit_log (tenant_id, created_at DESC, id DESC);

-- Usage counters kept as writes happen, so limits and metrics never COUNT(*).
CREATE TABLE tenant_usage_monthly (
  tenant_id     uuid NOT NULL REFERENCES tenants(id),
  month         date NOT NULL,
  conversations integer NOT NULL DEFAULT 0,
  campaigns     integer NOT NULL DEFAULT 0,
  warned_80_at  timestamptz,
  warned_100_at timestamptz,
  PRIMARY KEY (tenant_id, month)
);

CREATE TABLE tenant_usage_daily (
  tenant_id    uuid NOT NULL REFERENCES tenants(id),
  day          date NOT NULL,
  messages_in  integer NOT NULL DEFAULT 0,
  messages_out integer NOT NULL DEFAULT 0,
  conversations_new integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day)
);

-- updated_at triggers.
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT c.table_name FROM information_schema.columns c
           JOIN information_schema.tables tb ON tb.table_name = c.table_name AND tb.table_schema = c.table_schema
           WHERE c.table_schema = current_schema() AND c.column_name = 'updated_at'
             AND tb.table_type = 'BASE TABLE' AND c.table_name NOT LIKE 'messages_%'
  LOOP
    EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION touch_updated_at()',
                   t || '_touch', t);
  END LOOP;
END $$;
