-- Agent signature (issue 23 item 16): when the tenant turns it on
-- (tenants.settings.agent_signature, default off), an agent's text messages
-- start with "*Name:*" on their own line. Each user may turn their own off;
-- it is on by default, so turning the tenant's on signs everyone.
ALTER TABLE users ADD COLUMN IF NOT EXISTS signature boolean NOT NULL DEFAULT true;
