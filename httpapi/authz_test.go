package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/jobs"
	"crm/persistence"
)

// tenantRecords is one record of every kind a tenant route names by id,
// every name carrying a marker.
type tenantRecords struct {
	fixture tenantFixture
	ids     map[string]uuid.UUID // resource (users, media, imports, …) → a record's id
}

const leakMarker = "LEAKB"

// seedTenantRecords makes one record of each kind in the tenant, through the
// API where it makes them (a sandbox connection with its sealed secrets, an
// uploaded file, a finished contact import) and straight into the database
// otherwise.
func seedTenantRecords(t *testing.T, env *testEnv, tenant tenantFixture, marker string) tenantRecords {
	t.Helper()
	ctx := context.Background()
	ids := map[string]uuid.UUID{"tenants": tenant.ID}
	created := func(res response) uuid.UUID {
		t.Helper()
		require.Contains(t, []int{http.StatusCreated, http.StatusAccepted}, res.Status, string(res.Body))
		return uuid.MustParse(res.JSON()["id"].(string))
	}
	ids["connections"] = created(env.do(http.MethodPost, "/api/v1/connections", tenant.AdminToken,
		map[string]any{"name": "Conn " + marker, "channel": "whatsapp", "provider": "sandbox"}))
	ids["media"] = created(env.upload(tenant.AdminToken, "", marker+".png", "image/png", pngBytes))
	importID := created(contactImportUpload(t, env, tenant.AdminToken, marker+".csv",
		[]byte("name,phone\nImported "+marker+",+5511955550000\nBroken "+marker+",not-a-phone\n")))
	require.Equal(t, "completed", contactImportWait(t, env, tenant.AdminToken, importID.String())["status"])
	ids["imports"] = importID
	ids["bot-flows"] = created(env.do(http.MethodPost, "/api/v1/bot-flows", tenant.AdminToken, menuFlowBody("Flow "+marker, "Olá "+marker)))

	userID, teamID, labelID, contactID, convID, qrID, deadID := crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID()
	lower := strings.ToLower(marker)
	err := env.db.TenantTx(ctx, tenant.ID, func(tx pgx.Tx) error {
		stmts := []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO users (tenant_id, id, name, email, password_hash, role) VALUES ($1, $2, $3, $4, 'x', 'AGENT')`,
				[]any{tenant.ID, userID, "Agent " + marker, lower + "@" + tenant.Slug + ".test"}},
			{`INSERT INTO teams (tenant_id, id, name) VALUES ($1, $2, $3)`, []any{tenant.ID, teamID, "Team " + marker}},
			{`INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ($1, $2, $3)`, []any{tenant.ID, teamID, userID}},
			{`INSERT INTO labels (tenant_id, id, name) VALUES ($1, $2, $3)`, []any{tenant.ID, labelID, "Label " + marker}},
			{`INSERT INTO contacts (tenant_id, id, name, phone, email) VALUES ($1, $2, $3, '+5511912345678', $4)`,
				[]any{tenant.ID, contactID, "Contact " + marker, lower + "-contact@" + tenant.Slug + ".test"}},
			{`INSERT INTO contact_labels (tenant_id, contact_id, label_id) VALUES ($1, $2, $3)`, []any{tenant.ID, contactID, labelID}},
			{`INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel, last_message_preview) VALUES ($1, $2, $3, $4, 'whatsapp', $5)`,
				[]any{tenant.ID, convID, ids["connections"], contactID, "hello " + marker}},
			{`INSERT INTO quick_replies (tenant_id, id, shortcut, title, text) VALUES ($1, $2, $3, $4, $5)`,
				[]any{tenant.ID, qrID, lower, "QR " + marker, "text " + marker}},
			// A dead letter: an event that could not be processed (its payload does not decode).
			{`INSERT INTO inbound_events (tenant_id, id, connection_id, provider, dedupe_key, event, claimed_at, dead_at)
				VALUES ($1, $2, $3, 'meta', $4, '\xff'::bytea, now() - interval '1 hour', now())`,
				[]any{tenant.ID, deadID, ids["connections"], "dead-" + lower}},
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s.sql, s.args...); err != nil {
				return fmt.Errorf("%s: %w", s.sql, err)
			}
		}
		return nil
	})
	require.NoError(t, err)
	ids["users"], ids["teams"], ids["labels"], ids["contacts"] = userID, teamID, labelID, contactID
	ids["conversations"], ids["quick-replies"], ids["dead-letters"] = convID, qrID, deadID
	ids["campaigns"] = created(env.do(http.MethodPost, "/api/v1/campaigns", tenant.AdminToken, map[string]any{"name": "Campaign " + marker,
		"connection_id": ids["connections"], "audience": map[string]any{"label_ids": []uuid.UUID{labelID}},
		"message": map[string]any{"type": "text", "text": "Oi " + marker}}))
	ids["api-tokens"] = created(env.do(http.MethodPost, "/api/v1/api-tokens", tenant.AdminToken,
		map[string]any{"name": "Token " + marker, "scope": "read"}))
	board := env.do(http.MethodPost, "/api/v1/boards", tenant.AdminToken, map[string]any{"name": "Board " + marker})
	ids["boards"] = created(board)
	columns := board.JSON()["columns"].([]any)
	// The last column (Perdido) stays empty, so deleting it succeeds.
	ids["columns"] = uuid.MustParse(columns[len(columns)-1].(map[string]any)["id"].(string))
	ids["cards"] = created(env.do(http.MethodPost, "/api/v1/cards", tenant.AdminToken, map[string]any{"board_id": ids["boards"],
		"title": "Card " + marker, "value": "100.00", "contact_id": contactID, "label_ids": []uuid.UUID{labelID}}))
	ids["appointments"] = created(env.do(http.MethodPost, "/api/v1/appointments", tenant.AdminToken, map[string]any{
		"title": "Appointment " + marker, "contact_id": contactID, "starts_at": time.Now().Add(48 * time.Hour)}))
	ids["scheduled-messages"] = created(env.do(http.MethodPost, "/api/v1/scheduled-messages", tenant.AdminToken,
		map[string]any{"conversation_id": convID, "type": "text", "text": "later " + marker, "send_at": time.Now().Add(time.Hour)}))
	ids["webhook-subscriptions"], ids["deliveries"] = seedWebhookDelivery(t, env, tenant, marker)
	return tenantRecords{fixture: tenant, ids: ids}
}

// fill puts the tenant's ids into a route's path parameters: :connection_id
// takes a connection, any other parameter the record of the resource named
// before it (/contacts/imports/:id an import). ok is false when the tenant has
// no such record (a random id stands in).
func (r tenantRecords) fill(path string) (filled string, ok bool) {
	ok = true
	segments := strings.Split(path, "/")
	for i, seg := range segments {
		if !strings.HasPrefix(seg, ":") {
			continue
		}
		resource := segments[i-1]
		if seg == ":connection_id" {
			resource = "connections"
		}
		id, found := r.ids[resource]
		if !found {
			id, ok = crm.NewID(), false
		}
		segments[i] = id.String()
	}
	return strings.Join(segments, "/"), ok
}

// allIDs are the record ids and the admin's, none of which may appear in an
// answer to another tenant.
func (r tenantRecords) allIDs() []string {
	out := []string{r.fixture.AdminID.String()}
	for _, id := range r.ids {
		out = append(out, id.String())
	}
	return out
}

// tenantFingerprint reads every row the tenant has in every tenant table:
// table → row count and a digest of the rows, so any insert, update or delete
// shows.
func tenantFingerprint(t *testing.T, db *persistence.DB, tenant uuid.UUID) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Pool.Query(ctx, `
		SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE a.attname = 'tenant_id' AND NOT a.attisdropped AND n.nspname = current_schema() AND c.relkind = 'r'
		ORDER BY c.relname`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(tables), 30)
	out := map[string]string{}
	require.NoError(t, db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
		for _, table := range tables {
			var digest string
			if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*)::text || ' ' || coalesce(md5(string_agg(r::text, '|' ORDER BY r::text)), '')
				FROM %s r`, pgx.Identifier{table}.Sanitize())).Scan(&digest); err != nil {
				return err
			}
			out[table] = digest
		}
		return nil
	}))
	return out
}

// matrixBodies are valid requests for every route that takes a body, so
// that a handler gets past validation to its tenant look-up (n makes names
// unique). A new route with a body must add one here.
var matrixBodies = map[string]func(n int, own tenantRecords) any{
	"POST /api/v1/users": func(n int, _ tenantRecords) any {
		return map[string]any{"name": fmt.Sprintf("New %d", n), "email": fmt.Sprintf("new-%d@a.test", n), "password": testPassword, "role": "AGENT"}
	},
	"PATCH /api/v1/users/:id": func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Renamed %d", n)} },
	"POST /api/v1/teams":      func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Team %d", n)} },
	"PATCH /api/v1/teams/:id": func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Renamed %d", n)} },
	"POST /api/v1/labels": func(n int, _ tenantRecords) any {
		return map[string]any{"name": fmt.Sprintf("Label %d", n), "color": "#112233"}
	},
	"PATCH /api/v1/labels/:id":   func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Renamed %d", n)} },
	"POST /api/v1/contacts":      func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Contact %d", n)} },
	"PATCH /api/v1/contacts/:id": func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Renamed %d", n)} },
	"POST /api/v1/quick-replies": func(n int, _ tenantRecords) any {
		return map[string]any{"shortcut": fmt.Sprintf("qr%d", n), "title": "QR", "text": "hello"}
	},
	"PATCH /api/v1/quick-replies/:id": func(n int, _ tenantRecords) any { return map[string]any{"title": fmt.Sprintf("Renamed %d", n)} },
	"POST /api/v1/connections": func(n int, _ tenantRecords) any {
		return map[string]any{"name": fmt.Sprintf("Conn %d", n), "channel": "whatsapp", "provider": "sandbox"}
	},
	"PATCH /api/v1/connections/:id":        func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Renamed %d", n)} },
	"POST /api/v1/connections/:id/connect": func(int, tenantRecords) any { return map[string]any{} },
	"PATCH /api/v1/conversations/:id":      func(int, tenantRecords) any { return map[string]any{"status": "resolved"} },
	"POST /api/v1/conversations/:id/messages": func(n int, _ tenantRecords) any {
		return map[string]any{"type": "text", "text": "hello", "idempotency_key": fmt.Sprintf("matrix-%d", n)}
	},
	"POST /api/v1/conversations/:id/notes": func(int, tenantRecords) any { return map[string]any{"text": "a note"} },
	"POST /api/v1/bot-flows":               func(n int, _ tenantRecords) any { return menuFlowBody(fmt.Sprintf("Flow %d", n), "Olá") },
	"POST /api/v1/bot-flows/import":        func(n int, _ tenantRecords) any { return menuFlowBody(fmt.Sprintf("Imported %d", n), "Olá") },
	"PATCH /api/v1/bot-flows/:id":          func(n int, _ tenantRecords) any { return map[string]any{"description": fmt.Sprintf("Changed %d", n)} },
	"PATCH /api/v1/auth/me":                func(n int, _ tenantRecords) any { return map[string]any{"signature": n%2 == 0} },
	"PATCH /api/v1/tenant/settings":        func(n int, _ tenantRecords) any { return map[string]any{"agent_signature": n%2 == 0} },
	"POST /api/v1/sandbox/:connection_id/inbound": func(int, tenantRecords) any {
		return map[string]any{"from": "5511987654321", "name": "Maria", "type": "text", "text": "hello"}
	},
	"POST /api/v1/conversations/:id/bot/start": func(_ int, own tenantRecords) any {
		return map[string]any{"flow_id": own.ids["bot-flows"]}
	},
	"POST /api/v1/scheduled-messages": func(n int, own tenantRecords) any {
		return map[string]any{"conversation_id": own.ids["conversations"], "type": "text",
			"text": fmt.Sprintf("later %d", n), "send_at": time.Now().Add(time.Hour)}
	},
	"PATCH /api/v1/scheduled-messages/:id": func(n int, _ tenantRecords) any {
		return map[string]any{"text": fmt.Sprintf("moved %d", n), "send_at": time.Now().Add(2 * time.Hour)}
	},
	"POST /api/v1/campaigns": func(n int, own tenantRecords) any {
		return map[string]any{"name": fmt.Sprintf("Campaign %d", n), "connection_id": own.ids["connections"],
			"message": map[string]any{"type": "text", "text": "Oi {{contact.name}}"}}
	},
	"PATCH /api/v1/campaigns/:id": func(n int, _ tenantRecords) any {
		return map[string]any{"name": fmt.Sprintf("Renamed %d", n), "rate_per_minute": 30}
	},
	"POST /api/v1/campaigns/audience-preview": func(_ int, own tenantRecords) any {
		return map[string]any{"connection_id": own.ids["connections"], "audience": map[string]any{"label_ids": []uuid.UUID{own.ids["labels"]}}}
	},
	"POST /api/v1/api-tokens": func(n int, _ tenantRecords) any {
		return map[string]any{"name": fmt.Sprintf("Token %d", n), "scope": "read"}
	},
	"PUT /api/v1/tenant/service-settings": func(n int, _ tenantRecords) any {
		return map[string]any{"business_hours": nil, "outside_hours_reply": map[string]any{"enabled": false},
			"auto_close": map[string]any{"idle_hours": n % 48}}
	},
	"PUT /api/v1/connections/:id/default-team": func(_ int, own tenantRecords) any { return map[string]any{"team_id": own.ids["teams"]} },
	"POST /api/v1/appointments": func(n int, _ tenantRecords) any {
		return map[string]any{"title": fmt.Sprintf("Visit %d", n), "starts_at": time.Now().Add(72 * time.Hour)}
	},
	"PATCH /api/v1/appointments/:id":  func(n int, _ tenantRecords) any { return map[string]any{"title": fmt.Sprintf("Moved %d", n)} },
	"POST /api/v1/boards":             func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Board %d", n)} },
	"PATCH /api/v1/boards/:id":        func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Renamed board %d", n)} },
	"POST /api/v1/boards/:id/columns": func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Stage %d", n)} },
	"PATCH /api/v1/columns/:id":       func(n int, _ tenantRecords) any { return map[string]any{"name": fmt.Sprintf("Stage renamed %d", n)} },
	"PATCH /api/v1/cards/:id":         func(n int, _ tenantRecords) any { return map[string]any{"title": fmt.Sprintf("Card renamed %d", n)} },
	"POST /api/v1/cards": func(n int, own tenantRecords) any {
		return map[string]any{"board_id": own.ids["boards"], "title": fmt.Sprintf("Card %d", n), "value": "10.50"}
	},
	"PUT /api/v1/auth/me/availability": func(int, tenantRecords) any { return map[string]any{"availability": "away"} },
	"POST /api/v1/webhook-subscriptions": func(n int, _ tenantRecords) any {
		return map[string]any{"url": fmt.Sprintf("https://example.com/hook/%d", n), "events": []string{"message.created"}}
	},
	"PATCH /api/v1/webhook-subscriptions/:id": func(int, tenantRecords) any { return map[string]any{"events": []string{"*"}} },
	"POST /api/v1/contacts/:id/consent": func(n int, _ tenantRecords) any {
		return map[string]any{"opted_out": false, "note": fmt.Sprintf("said so on the phone (%d)", n)}
	},
	// The same password again: every caller keeps a working login for the routes after.
	"POST /api/v1/auth/me/password": func(int, tenantRecords) any {
		return map[string]any{"current_password": testPassword, "new_password": testPassword}
	},
}

// matrixOwnAnswers are the answers other than 2xx that a tenant admin gets
// for its own record, with why: each still shows the handler found the
// record (it acted on it, or refused what it is asked on its merits).
var matrixOwnAnswers = map[string]string{
	"PATCH /api/v1/conversations/:id":          "engine_unavailable", // this server runs no grains
	"POST /api/v1/conversations/:id/read":      "engine_unavailable",
	"POST /api/v1/conversations/:id/messages":  "engine_unavailable",
	"POST /api/v1/conversations/:id/notes":     "engine_unavailable",
	"POST /api/v1/conversations/:id/bot/stop":  "engine_unavailable",
	"POST /api/v1/conversations/:id/bot/start": "engine_unavailable",
	"POST /api/v1/connections/:id/connect":     "not_a_gateway", // a sandbox connection pairs with no QR code
	"GET /api/v1/connections/:id/pairing":      "not_a_gateway",
	"DELETE /api/v1/contacts/:id":              "contact_has_conversations",
	// A text campaign to a contact outside the 24-hour window; a draft is
	// neither running nor paused.
	"POST /api/v1/campaigns/:id/start":  "template_required",
	"POST /api/v1/campaigns/:id/pause":  "invalid_transition",
	"POST /api/v1/campaigns/:id/resume": "invalid_transition",
	"POST /api/v1/campaigns/:id/cancel": "invalid_transition",
}

// TestAuthorizationMatrix walks every authenticated route × every role with
// tenant B's real ids and a valid request: roles without the permission get
// exactly 403, roles with it exactly 404 for B's record (the same request on
// tenant A's own record is found, so the 404 is the tenant boundary), lists
// and creates answer 2xx, no answer carries any of B's data, and not one of
// B's rows changes.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	blobs, err := persistence.NewLocalBlobStore(t.TempDir())
	require.NoError(t, err)
	env := newSandboxEnv(t, func(c *Config) { c.Blobs = blobs })
	// A job client that inserts but runs nothing: scheduled messages are
	// created and edited, never sent.
	jobClient, err := jobs.New(context.Background(), jobs.Config{DatabaseURL: env.db.Pool.Config().ConnString(), DB: env.db,
		Log: slog.New(slog.DiscardHandler), NodeID: "matrix", Sender: unstartedSender{}})
	require.NoError(t, err)
	env.db.SetJobInserter(jobClient)
	a := seedTenantRecords(t, env.testEnv, env.acme, "OWNA")
	b := seedTenantRecords(t, env.testEnv, env.tenant("foreign-b"), leakMarker)
	_, supervisor := env.user(a.fixture, crm.RoleSupervisor, "Sup")
	_, agent := env.user(a.fixture, crm.RoleAgent, "Agt")
	super := env.superAdmin()
	_, readToken := env.createAPIToken(a.fixture.AdminToken, "Matrix read", "read")
	_, writeToken := env.createAPIToken(a.fixture.AdminToken, "Matrix write", "write")
	bBefore := tenantFingerprint(t, env.db, b.fixture.ID)

	type caller struct {
		name  string
		role  crm.Role
		token string
	}
	callers := []caller{
		{"tenant admin", crm.RoleTenantAdmin, a.fixture.AdminToken},
		{"supervisor", crm.RoleSupervisor, supervisor},
		{"agent", crm.RoleAgent, agent},
		{"super admin", crm.RoleSuperAdmin, super},
		{"API token (read)", crm.RoleAPITokenRead, readToken},
		{"API token (write)", crm.RoleAPITokenWrite, writeToken},
	}
	bIDs := b.allIDs()
	n := 0
	send := func(o op, path, token string) response {
		t.Helper()
		n++
		key := o.Method + " " + o.Path
		switch key {
		case "POST /api/v1/media":
			return env.upload(token, "", fmt.Sprintf("matrix-%d.png", n), "image/png", pngBytes)
		case "POST /api/v1/contacts/import":
			res := contactImportUpload(t, env.testEnv, token, "matrix.csv", []byte(fmt.Sprintf("name,phone\nImport %d,+55119%08d\n", n, n)))
			if res.Status == http.StatusAccepted {
				// One import at a time per tenant: let it finish before the next.
				contactImportWait(t, env.testEnv, token, res.JSON()["id"].(string))
			}
			return res
		}
		body, ok := matrixBodies[key]
		if !ok {
			require.True(t, o.Request == nil && o.Raw != "multipart/form-data", "%s takes a body: add a valid one to matrixBodies", key)
			return env.do(o.Method, path, token, nil)
		}
		return env.do(o.Method, path, token, body(n, a))
	}

	checked := 0
	var ownChecks []op
	for _, o := range env.srv.ops {
		if o.selfHandled || o.Access == accessPublic {
			continue
		}
		if o.Access == accessPlatform {
			continue // the platform owner's routes are covered by their own tests; tenants are refused below
		}
		path, ok := b.fill(o.Path)
		require.True(t, ok, "%s %s names a record tenant B has none of: seed one in seedTenantRecords", o.Method, o.Path)
		byID := strings.Contains(o.Path, ":")
		res := env.do(o.Method, path, "", nil)
		require.Equal(t, http.StatusUnauthorized, res.Status, "%s %s without a token", o.Method, o.Path)

		for _, c := range callers {
			res := send(o, path, c.token)
			what := fmt.Sprintf("%s %s as %s: %d %s", o.Method, path, c.name, res.Status, res.Body)
			allowed := o.Access == accessAny || (o.Access == accessTenant && c.role != crm.RoleSuperAdmin && c.role.Can(o.Perm))
			if c.role.IsAPIToken() && (o.SessionOnly || o.Access != accessTenant) {
				allowed = false // API tokens never do what only a session does
			}
			switch {
			case !allowed:
				require.Equal(t, http.StatusForbidden, res.Status, what)
			case byID:
				// Exactly not found: not 403 (that would say the record exists),
				// nor a 422 or 500 from acting on it.
				require.Equal(t, http.StatusNotFound, res.Status, "another tenant's record: %s", what)
				require.Equal(t, "not_found", res.ErrorCode(), what)
			default:
				require.True(t, res.Status >= 200 && res.Status < 300, "a list or create of one's own: %s", what)
			}
			require.NotContains(t, string(res.Body), leakMarker, what)
			for _, id := range bIDs {
				require.NotContains(t, string(res.Body), id, what)
			}
			checked++
		}
		if byID && o.Access == accessTenant {
			ownChecks = append(ownChecks, o)
		}
	}

	// The same requests on tenant A's own records are found: the 404s above
	// are the tenant boundary, not a request that could never succeed.
	// Deletes go last, so that the records are there for the rest.
	slices.SortStableFunc(ownChecks, func(x, y op) int {
		return boolRank(x.Method == http.MethodDelete) - boolRank(y.Method == http.MethodDelete)
	})
	for _, o := range ownChecks {
		require.True(t, crm.RoleTenantAdmin.Can(o.Perm), "%s %s", o.Method, o.Path)
		path, ok := a.fill(o.Path)
		require.True(t, ok, "%s %s", o.Method, o.Path)
		res := send(o, path, a.fixture.AdminToken)
		what := fmt.Sprintf("%s %s on tenant A's own record: %d %s", o.Method, path, res.Status, res.Body)
		if code, ok := matrixOwnAnswers[o.Method+" "+o.Path]; ok {
			require.Equal(t, code, res.ErrorCode(), what)
			require.Contains(t, []int{http.StatusConflict, http.StatusUnprocessableEntity}, res.Status, what)
		} else {
			require.True(t, res.Status >= 200 && res.Status < 300, what)
		}
	}

	// Tenant users are refused every platform route.
	for _, o := range env.srv.ops {
		if o.Access != accessPlatform || o.selfHandled {
			continue
		}
		path, _ := b.fill(o.Path) // refused before any look-up, whatever the id
		for _, c := range callers {
			if c.role == crm.RoleSuperAdmin {
				continue
			}
			res := env.do(o.Method, path, c.token, nil)
			require.Equal(t, http.StatusForbidden, res.Status, "%s %s as %s", o.Method, o.Path, c.name)
		}
	}
	t.Logf("checked %d route × role combinations and %d routes on tenant A's own records", checked, len(ownChecks))

	// Nothing of tenant B was added, changed or removed, in any table.
	require.Equal(t, bBefore, tenantFingerprint(t, env.db, b.fixture.ID), "tenant B's rows")
}

// unstartedSender is the sender of a job client that is never started.
type unstartedSender struct{}

func (unstartedSender) SendScheduled(context.Context, uuid.UUID, crm.ScheduledMessage) (uuid.UUID, error) {
	return uuid.Nil, fmt.Errorf("this job client runs no jobs")
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
