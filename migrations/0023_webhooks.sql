-- Outbound webhooks (issue 18): a tenant subscribes URLs to its event types;
-- every matching tenant event is POSTed there, signed with the
-- subscription's secret and retried for about a day (package jobs).
--
-- Fan-out is durable: each subscription keeps the seq of the last tenant
-- event it has been given (cursor_seq). The fan-out job locks the tenant's
-- active subscriptions, reads the events after their cursors, inserts one
-- delivery and its River job per match and moves the cursors, all in one
-- transaction: a node that dies mid-way rolls everything back and the next
-- run starts from the same cursors, and two nodes serialise on the lock.
CREATE TABLE webhook_subscriptions (
  tenant_id       uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  id              uuid NOT NULL,
  url             text NOT NULL,
  events          text[] NOT NULL,
  secret          bytea NOT NULL, -- sealed with CRM_SECRET_KEY (crm.Sealer), bound to the id
  secret_hint     text NOT NULL DEFAULT '', -- the last 4 characters, to tell secrets apart
  status          text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  disabled_reason text,
  disabled_at     timestamptz,
  failing_since   timestamptz, -- first failure after the last success
  cursor_seq      bigint NOT NULL DEFAULT 0,
  created_by      uuid,
  created_at      timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
SELECT enable_tenant_rls('webhook_subscriptions');
CREATE INDEX webhook_subscriptions_active ON webhook_subscriptions (tenant_id, cursor_seq) WHERE status = 'active';

-- One event for one subscription (or a replay of one): the exact body sent,
-- so every attempt and replay is byte-identical.
CREATE TABLE webhook_deliveries (
  tenant_id        uuid NOT NULL,
  id               uuid NOT NULL,
  subscription_id  uuid NOT NULL,
  event_seq        bigint NOT NULL,
  event_id         uuid NOT NULL,
  event_type       text NOT NULL,
  body             text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_response_ms integer,
  last_error       text,
  last_attempt_at  timestamptz,
  replay_of        uuid,
  created_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES webhook_subscriptions (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('webhook_deliveries');
-- An event is given to a subscription once, however many nodes fan out.
CREATE UNIQUE INDEX webhook_deliveries_once ON webhook_deliveries (tenant_id, subscription_id, event_seq)
  WHERE replay_of IS NULL;
CREATE INDEX webhook_deliveries_newest ON webhook_deliveries (tenant_id, subscription_id, id DESC);

-- Every HTTP attempt of a delivery: the log behind the console's table.
CREATE TABLE webhook_delivery_attempts (
  tenant_id    uuid NOT NULL,
  id           uuid NOT NULL,
  delivery_id  uuid NOT NULL,
  attempt      integer NOT NULL,
  status_code  integer,
  response_ms  integer NOT NULL DEFAULT 0,
  error        text,
  attempted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('webhook_delivery_attempts');
CREATE INDEX webhook_delivery_attempts_delivery ON webhook_delivery_attempts (tenant_id, delivery_id, attempt);
