package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
)

// foreignTenant is tenant B's data, seeded straight into the database, every
// name carrying a marker that must never appear in an answer to tenant A.
type foreignTenant struct {
	fixture tenantFixture
	ids     map[string][]uuid.UUID // path segment (users, teams, …) → B's ids
}

const leakMarker = "LEAKB"

func seedForeignTenant(t *testing.T, env *testEnv) foreignTenant {
	t.Helper()
	b := env.tenant("foreign-b")
	ctx := context.Background()
	ids := map[string][]uuid.UUID{}
	add := func(segment string, id uuid.UUID) { ids[segment] = append(ids[segment], id) }
	err := env.db.TenantTx(ctx, b.ID, func(tx pgx.Tx) error {
		userID, teamID, labelID, contactID, connID, convID, qrID := crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID()
		stmts := []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO users (tenant_id, id, name, email, password_hash, role) VALUES ($1, $2, 'Agent LEAKB', 'leakb@b.test', 'x', 'AGENT')`, []any{b.ID, userID}},
			{`INSERT INTO teams (tenant_id, id, name) VALUES ($1, $2, 'Team LEAKB')`, []any{b.ID, teamID}},
			{`INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ($1, $2, $3)`, []any{b.ID, teamID, userID}},
			{`INSERT INTO labels (tenant_id, id, name) VALUES ($1, $2, 'Label LEAKB')`, []any{b.ID, labelID}},
			{`INSERT INTO contacts (tenant_id, id, name, phone, email) VALUES ($1, $2, 'Contact LEAKB', '+5511912345678', 'leakb-contact@b.test')`, []any{b.ID, contactID}},
			{`INSERT INTO contact_labels (tenant_id, contact_id, label_id) VALUES ($1, $2, $3)`, []any{b.ID, contactID, labelID}},
			{`INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret) VALUES ($1, $2, 'Conn LEAKB', 'whatsapp', 'sandbox', 'vt', 'ws')`, []any{b.ID, connID}},
			{`INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel, last_message_preview) VALUES ($1, $2, $3, $4, 'whatsapp', 'hello LEAKB')`, []any{b.ID, convID, connID, contactID}},
			{`INSERT INTO quick_replies (tenant_id, id, shortcut, title, text) VALUES ($1, $2, 'leakb', 'QR LEAKB', 'text LEAKB')`, []any{b.ID, qrID}},
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
				return fmt.Errorf("%s: %w", s.sql, err)
			}
		}
		add("users", userID)
		add("users", b.AdminID)
		add("teams", teamID)
		add("labels", labelID)
		add("contacts", contactID)
		add("connections", connID)
		add("conversations", convID)
		add("quick-replies", qrID)
		add("tenants", b.ID)
		return nil
	})
	require.NoError(t, err)
	return foreignTenant{fixture: b, ids: ids}
}

var pathParam = regexp.MustCompile(`:[a-zA-Z_]+`)

// foreignPath fills a route's path parameters with tenant B's ids, picked by
// the resource segment before each parameter (a random id when B has none).
func (f foreignTenant) foreignPath(path string) string {
	segments := strings.Split(path, "/")
	for i, seg := range segments {
		if !strings.HasPrefix(seg, ":") {
			continue
		}
		id := crm.NewID()
		if i > 0 {
			if ids := f.ids[segments[i-1]]; len(ids) > 0 {
				id = ids[0]
			}
		}
		segments[i] = id.String()
	}
	return strings.Join(segments, "/")
}

// TestAuthorizationMatrix walks every authenticated route × every role ×
// tenant B's ids and finds no leak: roles without the permission get 403,
// roles with it never get a 2xx for another tenant's record nor see any of
// its data, and nothing of tenant B is changed.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	a := env.tenant("tenant-a")
	b := seedForeignTenant(t, env)
	_, supervisor := env.user(a, crm.RoleSupervisor, "Sup")
	_, agent := env.user(a, crm.RoleAgent, "Agt")
	super := env.superAdmin()

	type caller struct {
		name  string
		role  crm.Role
		token string
	}
	callers := []caller{
		{"tenant admin", crm.RoleTenantAdmin, a.AdminToken},
		{"supervisor", crm.RoleSupervisor, supervisor},
		{"agent", crm.RoleAgent, agent},
		{"super admin", crm.RoleSuperAdmin, super},
	}
	bIDs := []string{b.fixture.ID.String()}
	for _, list := range b.ids {
		for _, id := range list {
			bIDs = append(bIDs, id.String())
		}
	}
	checked := 0
	for _, o := range env.srv.ops {
		if o.selfHandled || o.Access == accessPublic {
			continue
		}
		if o.Access == accessPlatform {
			continue // the platform owner's routes are covered by their own tests; tenants are refused below
		}
		path := b.foreignPath(o.Path)
		var body any
		if o.Method == http.MethodPost || o.Method == http.MethodPatch || o.Method == http.MethodPut {
			body = map[string]any{}
		}
		res := env.do(o.Method, path, "", body)
		require.Equal(t, http.StatusUnauthorized, res.Status, "%s %s without a token", o.Method, o.Path)

		for _, c := range callers {
			res := env.do(o.Method, path, c.token, body)
			what := fmt.Sprintf("%s %s as %s: %d %s", o.Method, path, c.name, res.Status, res.Body)
			allowed := o.Access == accessAny || (o.Access == accessTenant && c.role != crm.RoleSuperAdmin && c.role.Can(o.Perm))
			if !allowed {
				require.Equal(t, http.StatusForbidden, res.Status, what)
				continue
			}
			if strings.Contains(o.Path, ":") {
				require.False(t, res.Status >= 200 && res.Status < 300, "another tenant's record answered 2xx: %s", what)
				require.NotEqual(t, http.StatusForbidden, res.Status, "403 would reveal that the record exists: %s", what)
			}
			require.NotContains(t, string(res.Body), leakMarker, what)
			for _, id := range bIDs {
				require.NotContains(t, string(res.Body), id, what)
			}
			checked++
		}
	}
	// Tenant users are refused every platform route.
	for _, o := range env.srv.ops {
		if o.Access != accessPlatform || o.selfHandled {
			continue
		}
		for _, c := range callers[:3] {
			res := env.do(o.Method, b.foreignPath(o.Path), c.token, nil)
			require.Equal(t, http.StatusForbidden, res.Status, "%s %s as %s", o.Method, o.Path, c.name)
		}
	}
	t.Logf("checked %d allowed route × role combinations", checked)

	// Nothing of tenant B was changed or removed.
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, b.fixture.ID, func(tx pgx.Tx) error {
		var n int
		for table, want := range map[string]int{"users": 2, "teams": 1, "team_members": 1, "labels": 1, "contacts": 1,
			"contact_labels": 1, "connections": 1, "conversations": 1, "quick_replies": 1} {
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
				return err
			}
			if n != want {
				return fmt.Errorf("tenant B's %s: %d rows, want %d", table, n, want)
			}
		}
		var active bool
		if err := tx.QueryRow(ctx, `SELECT bool_and(active) FROM users`).Scan(&active); err != nil {
			return err
		}
		if !active {
			return fmt.Errorf("a tenant B user was deactivated")
		}
		var name string
		if err := tx.QueryRow(ctx, `SELECT name FROM labels`).Scan(&name); err != nil {
			return err
		}
		if name != "Label LEAKB" {
			return fmt.Errorf("tenant B's label was renamed to %q", name)
		}
		return nil
	}))
}
