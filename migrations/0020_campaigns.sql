-- Campaigns (issue 17): what a campaign needs beyond the foundation's table,
-- the recipients' delivery timeline, and the link from a message's delivery
-- status to its recipient.

-- A campaign counts toward the month's plan limit when it is started (the
-- API's start, scheduled or not), not when its draft is written.
DROP TRIGGER campaigns_count ON campaigns;
CREATE OR REPLACE FUNCTION count_campaign() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  n integer;
  lim integer;
BEGIN
  INSERT INTO tenant_usage_monthly AS u (tenant_id, month, campaigns)
  VALUES (NEW.tenant_id, usage_month(NEW.launched_at), 1)
  ON CONFLICT (tenant_id, month) DO UPDATE SET campaigns = u.campaigns + 1
  RETURNING u.campaigns INTO n;
  lim := tenant_plan_limit(NEW.tenant_id, 'monthly_campaigns');
  IF lim IS NOT NULL AND n > lim THEN
    PERFORM raise_plan_limit('monthly_campaigns', lim, n - 1);
  END IF;
  RETURN NEW;
END $$;

ALTER TABLE campaigns
  ADD COLUMN launched_at timestamptz,
  ADD COLUMN jitter_pct integer NOT NULL DEFAULT 0 CHECK (jitter_pct BETWEEN 0 AND 50),
  ADD COLUMN quiet_hours jsonb,
  ADD COLUMN error jsonb,
  DROP COLUMN sent_count, DROP COLUMN delivered_count, DROP COLUMN read_count, DROP COLUMN failed_count,
  DROP COLUMN cursor_position,
  ALTER COLUMN rate_per_minute SET DEFAULT 20,
  DROP CONSTRAINT campaigns_rate_per_minute_check,
  ADD CONSTRAINT campaigns_rate_per_minute_check CHECK (rate_per_minute BETWEEN 1 AND 60000);
CREATE TRIGGER campaigns_count BEFORE UPDATE OF launched_at ON campaigns
  FOR EACH ROW WHEN (OLD.launched_at IS NULL AND NEW.launched_at IS NOT NULL) EXECUTE FUNCTION count_campaign();
DROP INDEX campaigns_due;
-- The engine's sweep finds the running campaigns; the list pages by newest.
CREATE INDEX campaigns_running ON campaigns (status) WHERE status = 'running';
CREATE INDEX campaigns_list ON campaigns (tenant_id, created_at DESC, id DESC);

ALTER TABLE campaign_recipients
  ADD COLUMN conversation_id uuid,
  ADD COLUMN delivered_at timestamptz,
  ADD COLUMN read_at timestamptz;
-- The lane's next recipients, the stats and filters, and the status link.
CREATE INDEX campaign_recipients_next ON campaign_recipients (tenant_id, campaign_id, position)
  WHERE status = 'pending' AND message_id IS NULL;
CREATE INDEX campaign_recipients_status ON campaign_recipients (tenant_id, campaign_id, status, position);
CREATE INDEX campaign_recipients_message ON campaign_recipients (tenant_id, message_id) WHERE message_id IS NOT NULL;

-- A campaign message's delivery status is its recipient's: every path that
-- moves a message's status (the send's outcome, the provider's status
-- webhooks, read watermarks) moves the recipient with it, in the same
-- transaction. Forward only; failed after pending or sent.
CREATE OR REPLACE FUNCTION campaign_recipient_status() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  UPDATE campaign_recipients r SET
    status = CASE WHEN NEW.status = 'played' THEN 'read' ELSE NEW.status END,
    sent_at = CASE WHEN NEW.status IN ('sent', 'delivered', 'read', 'played') THEN coalesce(r.sent_at, NEW.sent_at, now()) ELSE r.sent_at END,
    delivered_at = CASE WHEN NEW.status IN ('delivered', 'read', 'played') THEN coalesce(r.delivered_at, NEW.delivered_at, now()) ELSE r.delivered_at END,
    read_at = CASE WHEN NEW.status IN ('read', 'played') THEN coalesce(r.read_at, NEW.read_at, now()) ELSE r.read_at END,
    error = CASE WHEN NEW.status = 'failed' THEN NEW.error ELSE r.error END,
    updated_at = now()
  WHERE r.tenant_id = NEW.tenant_id AND r.message_id = NEW.id
    AND CASE WHEN NEW.status = 'failed' THEN r.status IN ('pending', 'sent')
             ELSE r.status <> 'failed' AND r.status <> 'skipped'
                  AND message_status_rank(NEW.status) > message_status_rank(r.status) END;
  RETURN NULL;
END $$;
CREATE TRIGGER messages_campaign_status AFTER UPDATE OF status ON messages
  FOR EACH ROW WHEN (NEW.via = 'campaign' AND NEW.status IS DISTINCT FROM OLD.status)
  EXECUTE FUNCTION campaign_recipient_status();
