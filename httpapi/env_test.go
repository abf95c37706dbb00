package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/channels/providers"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// testEnv is a real server on a real, fresh database, talked to over HTTP.
type testEnv struct {
	t   testing.TB
	db  *persistence.DB
	srv *Server
	ts  *httptest.Server
}

const testPassword = "correct horse battery"

func newTestEnv(t testing.TB, mutate ...func(*Config)) *testEnv {
	t.Helper()
	db := pgtest.NewDB(t)
	// The server's URL is known before the server is built, as the serve
	// command knows its listener's: it is the public and the own URL.
	ts := httptest.NewUnstartedServer(nil)
	t.Cleanup(ts.Close)
	url := "http://" + ts.Listener.Addr().String()
	cfg := Config{DB: db, Log: slog.New(slog.DiscardHandler), TokenKey: bytes.Repeat([]byte("k"), 32), PublicURL: url, SelfURL: url}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(cfg)
	require.NoError(t, err)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	return &testEnv{t: t, db: db, srv: srv, ts: ts}
}

// allowPrivateProviders is the operator's CRM_ALLOW_PRIVATE_PROVIDER_URLS:
// provider calls (and the sandbox simulator's media fetch) may reach the
// tests' loopback servers.
func allowPrivateProviders(c *Config) {
	registry, err := providers.NewRegistry(providers.RegistryConfig{SelfURL: c.SelfURL, AllowPrivate: true})
	if err != nil {
		panic(err)
	}
	c.Providers = registry
}

// tenantFixture is a tenant with an admin already logged in.
type tenantFixture struct {
	ID         uuid.UUID
	Slug       string
	AdminID    uuid.UUID
	AdminEmail string
	AdminToken string
}

var planLimitsGenerous = crm.PlanLimits{Users: 1000, Connections: 100, Contacts: 1_000_000,
	MonthlyConversations: 1_000_000, MonthlyCampaigns: 1000}

// tenant creates a tenant on a generous plan with a logged-in admin.
func (e *testEnv) tenant(slug string) tenantFixture {
	e.t.Helper()
	ctx := context.Background()
	planID, err := e.db.PlanByName(ctx, "test-generous")
	if err != nil {
		planID, err = e.db.CreatePlan(ctx, persistence.NewPlan{Name: "test-generous", MonthlyPrice: "99.90",
			Limits: planLimitsGenerous, Features: crm.PlanFeatures{Chatbot: true, Campaigns: true, Kanban: true,
				Agenda: true, Reports: true, API: true, Instagram: true, Messenger: true}})
		require.NoError(e.t, err)
	}
	hash, err := crm.HashPassword(testPassword)
	require.NoError(e.t, err)
	email := "admin@" + slug + ".test"
	id, adminID, err := e.db.CreateTenant(ctx, persistence.NewTenant{Name: "Tenant " + slug, Slug: slug, Email: email,
		PlanID: planID, AdminName: "Admin " + slug, AdminEmail: email, AdminPasswordHash: hash})
	require.NoError(e.t, err)
	return tenantFixture{ID: id, Slug: slug, AdminID: adminID, AdminEmail: email, AdminToken: e.login(email, testPassword)}
}

// user adds a user with the role to the tenant and returns its id and token.
func (e *testEnv) user(tenant tenantFixture, role crm.Role, name string) (uuid.UUID, string) {
	e.t.Helper()
	ctx := context.Background()
	hash, err := crm.HashPassword(testPassword)
	require.NoError(e.t, err)
	id := crm.NewID()
	email := strings.ToLower(name) + "@" + tenant.Slug + ".test"
	err = e.db.TenantTx(ctx, tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role) VALUES ($1, $2, $3, $4, $5, $6)`,
			tenant.ID, id, name, email, hash, string(role))
		return err
	})
	require.NoError(e.t, err)
	return id, e.login(email, testPassword)
}

// superAdmin creates a platform admin and returns its token.
func (e *testEnv) superAdmin() string {
	e.t.Helper()
	hash, err := crm.HashPassword(testPassword)
	require.NoError(e.t, err)
	_, _, err = e.db.CreateSuperAdmin(context.Background(), "Owner", "owner@platform.test", hash)
	require.NoError(e.t, err)
	return e.login("owner@platform.test", testPassword)
}

func (e *testEnv) login(email, password string) string {
	e.t.Helper()
	res := e.do(http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": email, "password": password})
	require.Equal(e.t, http.StatusOK, res.Status, "login %s: %s", email, res.Body)
	return res.JSON()["access_token"].(string)
}

// response is an answered request.
type response struct {
	t      testing.TB
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object.
func (r response) JSON() map[string]any {
	r.t.Helper()
	var m map[string]any
	require.NoError(r.t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// ErrorCode is the error.code of an error body.
func (r response) ErrorCode() string {
	var m struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &m)
	return m.Error.Code
}

// Items returns the items of a list answer.
func (r response) Items() []map[string]any {
	r.t.Helper()
	var m struct {
		Items []map[string]any `json:"items"`
	}
	require.NoError(r.t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m.Items
}

// do sends a request; body may be nil, a []byte/string sent as is, or a value sent as JSON.
func (e *testEnv) do(method, path, token string, body any) response {
	e.t.Helper()
	return e.doHeaders(method, path, token, body, nil)
}

func (e *testEnv) doHeaders(method, path, token string, body any, headers map[string]string) response {
	e.t.Helper()
	return e.doVia(http.DefaultClient, method, path, token, body, headers)
}

// doVia sends a request through client (one that connects from another
// address, say).
func (e *testEnv) doVia(client *http.Client, method, path, token string, body any, headers map[string]string) response {
	e.t.Helper()
	var reader io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		reader = bytes.NewReader(b)
	case string:
		reader = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, reader)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := client.Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{t: e.t, Status: res.StatusCode, Header: res.Header, Body: raw}
}

func (e *testEnv) url(format string, args ...any) string { return fmt.Sprintf(format, args...) }
