-- Password resets (issue 18 part 7): "forgot my password" links and the
-- platform owner's reset of a tenant admin. A link carries a random secret;
-- only its SHA-256 is stored. A link is single-use (used_at), lives 30
-- minutes (expires_at), and a new request for the same account deletes the
-- older ones, so each account has at most one row here and no purge job is
-- needed. Tenant users' links live in the tenant table (RLS like every
-- other); super admins' in the platform one, as with refresh tokens.
CREATE TABLE password_resets (
  tenant_id    uuid NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  id           uuid NOT NULL,
  user_id      uuid NOT NULL,
  token_hash   bytea NOT NULL,
  expires_at   timestamptz NOT NULL,
  used_at      timestamptz,
  -- requested_by is the platform admin who sent the link; null when the
  -- user asked for it on the login page.
  requested_by uuid,
  ip           text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, token_hash),
  FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX password_resets_user ON password_resets (tenant_id, user_id);
SELECT enable_tenant_rls('password_resets');

CREATE TABLE platform_password_resets (
  id          uuid PRIMARY KEY,
  admin_id    uuid NOT NULL REFERENCES platform_admins(id) ON DELETE CASCADE,
  token_hash  bytea NOT NULL UNIQUE,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  ip          text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX platform_password_resets_admin ON platform_password_resets (admin_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON platform_password_resets TO crm_platform;
