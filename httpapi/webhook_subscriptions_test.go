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
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/channels"
	"crm/jobs"
	"crm/persistence"
)

// seedWebhookDelivery makes a subscription through the API and one delivery
// of it straight in the database (as the fan-out would), for the matrix.
func seedWebhookDelivery(t *testing.T, env *testEnv, tenant tenantFixture, marker string) (uuid.UUID, uuid.UUID) {
	t.Helper()
	res := env.do(http.MethodPost, "/api/v1/webhook-subscriptions", tenant.AdminToken,
		map[string]any{"url": "https://example.com/" + marker, "events": []string{"*"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	subID := uuid.MustParse(res.JSON()["id"].(string))
	deliveryID := crm.NewID()
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_seq, event_id, event_type, body, status, attempts, last_status_code, last_error)
			VALUES ($1, $2, $3, 1, $4, 'contact.created', $5, 'failed', 1, 500, 'HTTP 500')`,
			tenant.ID, deliveryID, subID, crm.NewID(), `{"data":{"name":"`+marker+`"}}`)
		return err
	}))
	return subID, deliveryID
}

// receiver is a webhook endpoint on 127.0.0.1 that checks every signature
// with the subscription's secret and answers what its script says.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	secret []byte
	script []int // statuses answered in turn; then 200
	got    []received
}

type received struct {
	Event, Delivery string
	Body            map[string]any
	Status          int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, err := io.ReadAll(req.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := crm.VerifyWebhookSignature(r.secret, req.Header.Get(crm.WebhookSignatureHeader), raw, time.Now(), 5*time.Minute); err != nil {
			r.t.Errorf("receiver: %v (header %q)", err, req.Header.Get(crm.WebhookSignatureHeader))
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			r.t.Errorf("receiver: body %s: %v", raw, err)
		}
		r.got = append(r.got, received{Event: req.Header.Get(crm.WebhookEventHeader), Delivery: req.Header.Get(crm.WebhookDeliveryHeader),
			Body: body, Status: status})
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) received() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) set(secret string, script ...int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret, r.script = []byte(secret), script
}

// startWebhookJobs runs a job client that delivers webhooks on env's
// database, through the egress transport (private addresses allowed, as
// CRM_ALLOW_PRIVATE_PROVIDER_URLS does), with retries a few milliseconds
// apart instead of minutes.
func startWebhookJobs(t *testing.T, env *sandboxEnv, node string) *jobs.Client {
	t.Helper()
	c, err := jobs.New(context.Background(), jobs.Config{DatabaseURL: env.db.Pool.Config().ConnString(), DB: env.db,
		Log: slog.New(slog.DiscardHandler), NodeID: node, Sealer: env.srv.cfg.Sealer,
		WebhookHTTP:        &http.Client{Transport: channels.NewEgressTransport(channels.EgressConfig{AllowPrivate: true})},
		WebhookRetryDelay:  func(int) time.Duration { return 10 * time.Millisecond },
		WebhookFanOutEvery: time.Second})
	require.NoError(t, err)
	env.db.SetJobInserter(c)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() { c.Stop(context.Background()) })
	return c
}

func fieldsOf(t *testing.T, res response) map[string]any {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Equal(t, "validation_failed", res.ErrorCode(), string(res.Body))
	return res.JSON()["error"].(map[string]any)["details"].(map[string]any)["fields"].(map[string]any)
}

// TestWebhookSubscriptionsAPI: create answers the secret once and never
// again, the secret is sealed at rest, bad input is refused field by field,
// agents and supervisors are refused, and another tenant sees nothing.
func TestWebhookSubscriptionsAPI(t *testing.T) {
	t.Parallel()
	env := newSandboxEnv(t)
	admin := env.acme.AdminToken
	const path = "/api/v1/webhook-subscriptions"

	res := env.do(http.MethodPost, path, admin, map[string]any{"url": "https://hooks.example.com/crm",
		"events": []string{"message.created", "contact.created", "message.created"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	created := res.JSON()
	secret := created["secret"].(string)
	require.Regexp(t, `^whsec_[A-Za-z0-9_-]{43}$`, secret)
	require.Equal(t, true, created["has_secret"])
	require.Equal(t, "…"+secret[len(secret)-4:], created["secret_hint"])
	require.Equal(t, []any{"message.created", "contact.created"}, created["events"], "de-duplicated")
	require.Equal(t, "active", created["status"])
	id := created["id"].(string)

	res = env.do(http.MethodGet, path+"/"+id, admin, nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.NotContains(t, string(res.Body), secret)
	require.NotContains(t, res.JSON(), "secret")
	res = env.do(http.MethodGet, path, admin, nil)
	require.Len(t, res.Items(), 1)
	require.NotContains(t, string(res.Body), secret)

	// Sealed at rest, bound to the row.
	var sealed []byte
	require.NoError(t, env.db.TenantTx(context.Background(), env.acme.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT secret FROM webhook_subscriptions WHERE id = $1`, id).Scan(&sealed)
	}))
	require.NotContains(t, string(sealed), secret)
	_, err := env.srv.cfg.Sealer.Open(sealed, []byte("webhook_subscription:"+env.acme.ID.String()+":"+id))
	require.NoError(t, err)

	// `crm secrets rotate`: re-sealed under a new key, the old one no longer needed.
	rotating, err := crm.NewSealer(bytes.Repeat([]byte{'n'}, 32), bytes.Repeat([]byte{'x'}, 32))
	require.NoError(t, err)
	n, err := persistence.RotateWebhookSecrets(context.Background(), env.db, rotating)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoError(t, env.db.TenantTx(context.Background(), env.acme.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT secret FROM webhook_subscriptions WHERE id = $1`, id).Scan(&sealed)
	}))
	onlyNew, err := crm.NewSealer(bytes.Repeat([]byte{'n'}, 32))
	require.NoError(t, err)
	plain, err := onlyNew.Open(sealed, []byte("webhook_subscription:"+env.acme.ID.String()+":"+id))
	require.NoError(t, err)
	require.Equal(t, secret, string(plain))
	n, err = persistence.RotateWebhookSecrets(context.Background(), env.db, rotating)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left under the old key")
	env.srv.cfg.Sealer = rotating // the server now runs under the new key

	// A chosen secret is kept (and still not answered after the create).
	res = env.do(http.MethodPost, path, admin, map[string]any{"url": "http://127.0.0.1:9/hook", "events": []string{"*"},
		"secret": "my-own-secret-0123456789"})
	require.Equal(t, http.StatusCreated, res.Status, "http on loopback where private addresses are allowed: %s", res.Body)
	require.Equal(t, "my-own-secret-0123456789", res.JSON()["secret"])

	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"url": "http://hooks.example.com/x", "events": []string{"*"}}, "url"},
		{map[string]any{"url": "ftp://hooks.example.com/x", "events": []string{"*"}}, "url"},
		{map[string]any{"url": "https://user:pw@hooks.example.com/x", "events": []string{"*"}}, "url"},
		{map[string]any{"url": "not a url", "events": []string{"*"}}, "url"},
		{map[string]any{"url": "https://hooks.example.com/x", "events": []string{}}, "events"},
		{map[string]any{"url": "https://hooks.example.com/x", "events": []string{"message.exploded"}}, "events"},
		{map[string]any{"url": "https://hooks.example.com/x", "events": []string{"*"}, "secret": "short"}, "secret"},
		{map[string]any{"url": "https://hooks.example.com/x", "events": []string{"*"}, "secret": "has spaces in it, sixteen+"}, "secret"},
	} {
		fields := fieldsOf(t, env.do(http.MethodPost, path, admin, c.body))
		require.Contains(t, fields, c.field, "%v", c.body)
	}
	require.Contains(t, fieldsOf(t, env.do(http.MethodPost, path, admin, map[string]any{"url": "https://a.example", "events": []string{"*"},
		"extra": 1})), "extra", "unknown fields are refused")
	fields := fieldsOf(t, env.do(http.MethodPatch, path+"/"+id, admin, map[string]any{"events": []string{"nope"}}))
	require.Contains(t, fields, "events")

	// Disable and re-enable by hand; a new secret by PATCH is not answered.
	res = env.do(http.MethodPatch, path+"/"+id, admin, map[string]any{"enabled": false, "secret": "rotated-secret-0123456789"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "disabled", res.JSON()["status"])
	require.Equal(t, "disabled", res.JSON()["disabled_reason"])
	require.NotContains(t, string(res.Body), "rotated-secret")
	require.Equal(t, "…6789", res.JSON()["secret_hint"])
	res = env.do(http.MethodPatch, path+"/"+id, admin, map[string]any{"enabled": true})
	require.Equal(t, "active", res.JSON()["status"])
	require.Nil(t, res.JSON()["disabled_reason"])

	// Roles: only tenant admins.
	_, supervisor := env.user(env.acme, crm.RoleSupervisor, "Sup")
	_, agent := env.user(env.acme, crm.RoleAgent, "Agt")
	for _, token := range []string{supervisor, agent} {
		require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, path, token, nil).Status)
		require.Equal(t, http.StatusForbidden, env.do(http.MethodPost, path, token, map[string]any{"url": "https://a.example", "events": []string{"*"}}).Status)
	}

	// Another tenant: not found, and an empty list.
	other := env.tenant("other")
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, path+"/"+id, other.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPatch, path+"/"+id, other.AdminToken, map[string]any{"enabled": false}).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, path+"/"+id+"/deliveries", other.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodDelete, path+"/"+id, other.AdminToken, nil).Status)
	require.Empty(t, env.do(http.MethodGet, path, other.AdminToken, nil).Items())

	require.Equal(t, http.StatusNoContent, env.do(http.MethodDelete, path+"/"+id, admin, nil).Status)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodGet, path+"/"+id, admin, nil).Status)
}

// TestWebhookURLMustBePublicWithoutTheExemption: where private addresses are
// refused, plain http is refused even on loopback, and so are literal
// private addresses over https.
func TestWebhookURLMustBePublicWithoutTheExemption(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, func(c *Config) { c.Sealer = testSealer(t, 'w') })
	admin := env.tenant("acme").AdminToken
	for _, u := range []string{"http://127.0.0.1:8080/x", "https://127.0.0.1/x", "https://10.0.0.7/x", "https://localhost/x", "https://169.254.169.254/latest"} {
		fields := fieldsOf(t, env.do(http.MethodPost, "/api/v1/webhook-subscriptions", admin, map[string]any{"url": u, "events": []string{"*"}}))
		require.Contains(t, fields, "url", u)
	}
	res := env.do(http.MethodPost, "/api/v1/webhook-subscriptions", admin, map[string]any{"url": "https://hooks.example.com/x", "events": []string{"*"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
}

func deliveriesOf(t *testing.T, env *sandboxEnv, subID string) []map[string]any {
	t.Helper()
	res := env.do(http.MethodGet, "/api/v1/webhook-subscriptions/"+subID+"/deliveries", env.acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.Items()
}

func createContact(t *testing.T, env *sandboxEnv, name string) string {
	t.Helper()
	res := env.do(http.MethodPost, "/api/v1/contacts", env.acme.AdminToken, map[string]any{"name": name})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	return res.JSON()["id"].(string)
}

// TestWebhookDeliveries: a tenant event reaches the receiver signed, with its
// headers and body; the receiver's 500s are retried until it answers 200,
// every attempt in the log; a replay sends the same event again as a new
// delivery; and a subscription failing for a day is disabled, with its event.
func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	env := newSandboxEnv(t)
	startWebhookJobs(t, env, "a")
	rcv := newReceiver(t)
	admin := env.acme.AdminToken

	res := env.do(http.MethodPost, "/api/v1/webhook-subscriptions", admin, map[string]any{"url": rcv.srv.URL + "/hook",
		"events": []string{"contact.created"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	subID := res.JSON()["id"].(string)
	secret := res.JSON()["secret"].(string)
	rcv.set(secret, 500, 500)

	contactID := createContact(t, env, "Maria Webhook")
	env.do(http.MethodPatch, "/api/v1/contacts/"+contactID, admin, map[string]any{"name": "Maria W."}) // contact.updated: not subscribed
	require.Eventually(t, func() bool {
		d := deliveriesOf(t, env, subID)
		return len(d) == 1 && d[0]["status"] == "succeeded"
	}, 60*time.Second, 50*time.Millisecond, "delivered after two 500s")

	got := rcv.received()
	require.Len(t, got, 3)
	for i, g := range got {
		require.Equal(t, "contact.created", g.Event)
		require.Equal(t, got[0].Delivery, g.Delivery, "one delivery, three attempts")
		require.Equal(t, []int{500, 500, 200}[i], g.Status)
		require.Equal(t, got[0].Body, g.Body, "every attempt sends the same body")
	}
	body := got[0].Body
	require.Equal(t, "contact.created", body["type"])
	require.Equal(t, env.acme.ID.String(), body["tenant_id"])
	require.NotEmpty(t, body["id"])
	require.NotEmpty(t, body["created_at"])
	require.Equal(t, contactID, body["data"].(map[string]any)["id"])

	d := deliveriesOf(t, env, subID)[0]
	require.Equal(t, float64(3), d["attempts"])
	require.Equal(t, float64(200), d["status_code"])
	require.Nil(t, d["error"])
	require.Equal(t, got[0].Delivery, d["id"])
	log := d["attempt_log"].([]any)
	require.Len(t, log, 3)
	first := log[0].(map[string]any)
	require.Equal(t, float64(1), first["attempt"])
	require.Equal(t, float64(500), first["status_code"])
	require.Equal(t, "HTTP 500", first["error"])
	require.Contains(t, first, "response_ms")

	// Replay: a new delivery of the same event.
	res = env.do(http.MethodPost, fmt.Sprintf("/api/v1/webhook-subscriptions/%s/deliveries/%s/replay", subID, d["id"]), admin, nil)
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	replayID := res.JSON()["id"].(string)
	require.Equal(t, d["id"], res.JSON()["replay_of"])
	require.Eventually(t, func() bool { return len(rcv.received()) == 4 }, 30*time.Second, 50*time.Millisecond)
	replayed := rcv.received()[3]
	require.Equal(t, replayID, replayed.Delivery)
	require.Equal(t, body["id"], replayed.Body["id"], "the event's id is kept, so receivers can drop duplicates")
	require.Eventually(t, func() bool { return deliveriesOf(t, env, subID)[0]["status"] == "succeeded" }, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPost, fmt.Sprintf("/api/v1/webhook-subscriptions/%s/deliveries/%s/replay",
		subID, crm.NewID()), admin, nil).Status)

	// A day of failures: the receiver has failed since 25 hours ago (as if
	// the clock had moved on), and fails once more.
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, env.acme.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET failing_since = now() - interval '25 hours' WHERE id = $1`, subID)
		return err
	}))
	rcv.set(secret, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503)
	createContact(t, env, "Disabling")
	require.Eventually(t, func() bool {
		res := env.do(http.MethodGet, "/api/v1/webhook-subscriptions/"+subID, admin, nil)
		return res.JSON()["status"] == "disabled"
	}, 60*time.Second, 50*time.Millisecond, "disabled after failing for a day")
	sub := env.do(http.MethodGet, "/api/v1/webhook-subscriptions/"+subID, admin, nil).JSON()
	require.Equal(t, "failing", sub["disabled_reason"])
	require.NotNil(t, sub["disabled_at"])
	var events int
	require.NoError(t, env.db.TenantTx(ctx, env.acme.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM tenant_events WHERE type = 'webhook_subscription.disabled' AND payload->>'id' = $1`,
			subID).Scan(&events)
	}))
	require.Equal(t, 1, events, "the tenant is told")
	require.Eventually(t, func() bool {
		return deliveriesOf(t, env, subID)[0]["status"] == "failed"
	}, 30*time.Second, 50*time.Millisecond, "its pending delivery ends")
	res = env.do(http.MethodPost, fmt.Sprintf("/api/v1/webhook-subscriptions/%s/deliveries/%s/replay", subID, d["id"]), admin, nil)
	require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	require.Equal(t, "webhook_subscription_disabled", res.ErrorCode())

	// Re-enabled, it gets the events from then on.
	rcv.set(secret)
	require.Equal(t, "active", env.do(http.MethodPatch, "/api/v1/webhook-subscriptions/"+subID, admin, map[string]any{"enabled": true}).JSON()["status"])
	before := len(rcv.received())
	createContact(t, env, "After")
	require.Eventually(t, func() bool {
		got := rcv.received()
		return len(got) > before && got[len(got)-1].Status == 200 &&
			got[len(got)-1].Body["data"].(map[string]any)["name"] == "After"
	}, 30*time.Second, 50*time.Millisecond)
}

// TestWebhookFanOutTwoNodes: two nodes fan out and deliver the same
// tenant's events; each event reaches each subscription exactly once, and
// events stay in different tenants' subscriptions.
func TestWebhookFanOutTwoNodes(t *testing.T) {
	t.Parallel()
	env := newSandboxEnv(t)
	startWebhookJobs(t, env, "a")
	startWebhookJobs(t, env, "b")
	rcvA, rcvOther := newReceiver(t), newReceiver(t)
	other := env.tenant("other")

	res := env.do(http.MethodPost, "/api/v1/webhook-subscriptions", env.acme.AdminToken, map[string]any{"url": rcvA.srv.URL,
		"events": []string{"*"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	rcvA.set(res.JSON()["secret"].(string))
	res = env.do(http.MethodPost, "/api/v1/webhook-subscriptions", other.AdminToken, map[string]any{"url": rcvOther.srv.URL,
		"events": []string{"contact.created"}})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	rcvOther.set(res.JSON()["secret"].(string))

	const n = 40
	for i := range n {
		createContact(t, env, fmt.Sprintf("Contact %d", i))
	}
	res = env.do(http.MethodPost, "/api/v1/contacts", other.AdminToken, map[string]any{"name": "Other's"})
	require.Equal(t, http.StatusCreated, res.Status)

	require.Eventually(t, func() bool { return len(rcvA.received()) >= n }, 60*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool { return len(rcvOther.received()) >= 1 }, 30*time.Second, 50*time.Millisecond)
	// Every send has finished (none waits or runs): a duplicate would have arrived.
	require.Eventually(t, func() bool {
		var open int
		require.NoError(t, env.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job
			WHERE kind = 'webhook_send' AND state <> 'completed'`).Scan(&open))
		return open == 0
	}, 30*time.Second, 50*time.Millisecond)
	ids := map[any]int{}
	for _, g := range rcvA.received() {
		ids[g.Body["id"]]++
		require.Equal(t, env.acme.ID.String(), g.Body["tenant_id"])
	}
	require.Len(t, ids, n, "every event once")
	for id, c := range ids {
		require.Equal(t, 1, c, "event %v", id)
	}
	require.Len(t, rcvOther.received(), 1)
	require.Equal(t, other.ID.String(), rcvOther.received()[0].Body["tenant_id"])
}
