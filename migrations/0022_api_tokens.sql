-- API tokens (issue 18, part 5): a tenant admin creates named tokens that
-- programs present as "Authorization: Bearer crm_<lookup id>_<secret>".
-- The table was laid down unused in 0001; this gives it the shape the
-- feature needs:
--   * prefix holds the 16-hex lookup id printed in the token. A request has
--     no tenant yet, so the token is found by it on the platform path (like
--     a login by email); it is unique per tenant (keys keep tenant_id, so
--     the table can still be sharded by tenant) and indexed on its own for
--     that look-up. Two tenants drawing the same 64-bit id is harmless: the
--     hash decides.
--   * token_hash is SHA-256 of the whole token (256 random bits of secret:
--     no slow hash needed); the secret itself is never stored.
--   * one scope, read or write, instead of the free-form scopes array.
--   * a revoked token keeps its row (audit, last use) but frees its name.
ALTER TABLE api_tokens DROP COLUMN scopes;
ALTER TABLE api_tokens ADD COLUMN scope text NOT NULL DEFAULT 'read' CHECK (scope IN ('read', 'write'));
ALTER TABLE api_tokens ADD COLUMN revoked_by uuid;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_name_length CHECK (length(name) BETWEEN 1 AND 120);
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_tenant_id_name_key;
CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (tenant_id, name) WHERE revoked_at IS NULL;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_tenant_prefix UNIQUE (tenant_id, prefix);
CREATE INDEX api_tokens_lookup ON api_tokens (prefix);
CREATE INDEX api_tokens_list ON api_tokens (tenant_id, created_at DESC, id DESC) WHERE revoked_at IS NULL;
