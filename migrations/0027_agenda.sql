-- Agenda (issue 19): an appointment may name the connection its reminders
-- go out on and the template used when the contact's 24-hour window is
-- closed; a reminder says how long before and to whom (the contact by
-- WhatsApp, the assignee in the console); each user may have a secret ICS
-- feed.
ALTER TABLE appointments ADD COLUMN connection_id uuid;
ALTER TABLE appointments ADD FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id)
  ON DELETE SET NULL (connection_id);
ALTER TABLE appointments ADD COLUMN reminder_template jsonb;
ALTER TABLE appointments ADD CONSTRAINT appointments_description CHECK (length(description) <= 10000);
CREATE INDEX appointments_user_time ON appointments (tenant_id, user_id, starts_at);

ALTER TABLE reminders ADD COLUMN minutes_before integer NOT NULL DEFAULT 0 CHECK (minutes_before BETWEEN 0 AND 43200);
ALTER TABLE reminders ADD COLUMN target text NOT NULL DEFAULT 'contact' CHECK (target IN ('contact', 'assignee'));
CREATE INDEX reminders_appointment ON reminders (tenant_id, appointment_id);

CREATE TABLE calendar_feeds (
  tenant_id  uuid NOT NULL,
  user_id    uuid NOT NULL,
  token_hash bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, user_id),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
SELECT enable_tenant_rls('calendar_feeds');
