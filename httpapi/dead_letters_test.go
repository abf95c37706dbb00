package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/actors"
)

// metric reads one unlabelled metric of the server's /metrics.
func (e *engineEnv) metric(name string) float64 {
	e.t.Helper()
	res := e.do(http.MethodGet, "/metrics", "", nil)
	require.Equal(e.t, http.StatusOK, res.Status)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(res.Body)
	require.NotNil(e.t, m, "metric %s not exported", name)
	v, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(e.t, err)
	return v
}

// An inbound event that always fails (here PostgreSQL refuses its message,
// through a fault the test puts in the database) is tried
// InboxMaxAttempts times, then dead-lettered: the sweeper stops taking it,
// the metrics count it, the tenant's admin lists it, and their retry puts it
// back, once the fault is gone, to be stored. Meanwhile it blocks nobody. A
// row whose event no longer decodes goes the same way instead of being
// taken again for ever.
func TestPoisonEventIsDeadLetteredListedAndRetried(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t, func(c *actors.EngineConfig) {
		c.InboxMaxAttempts, c.ClaimTimeout = 3, 100*time.Millisecond
	})
	ctx := context.Background()
	_, err := env.db.Pool.Exec(ctx, `CREATE FUNCTION poison_message() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.text = 'veneno' THEN RAISE EXCEPTION 'poisoned message'; END IF; RETURN NEW; END $$;
		CREATE TRIGGER poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION poison_message()`)
	require.NoError(t, err)
	undecodable := crm.NewID()
	require.NoError(t, env.db.TenantTx(ctx, env.tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO inbound_events (tenant_id, id, connection_id, provider, dedupe_key, event, claimed_at)
			VALUES ($1, $2, $3, 'meta', 'corrupt-1', '\xff'::bytea, now() - interval '1 hour')`, env.tenant.ID, undecodable, env.connID)
		return err
	}))

	env.postWebhook(whatsappText("5511922220000", "Vera", "wamid.poison", "veneno", time.Now()))
	env.postWebhook(whatsappText("5511922220001", "Caio", "wamid.healthy", "Bom dia", time.Now()))

	var letters []map[string]any
	checkFor(t, 15*time.Second, func() error {
		res := env.do(http.MethodGet, "/api/v1/inbox/dead-letters", env.tenant.AdminToken, nil)
		if res.Status != http.StatusOK {
			return fmt.Errorf("%d %s", res.Status, res.Body)
		}
		if letters = res.Items(); len(letters) != 2 {
			return fmt.Errorf("%d dead letters", len(letters))
		}
		return nil
	})
	byKey := map[string]map[string]any{}
	for _, l := range letters {
		byKey[l["dedupe_key"].(string)] = l
		require.EqualValues(t, 3, l["attempts"])
		require.NotEmpty(t, l["dead_at"])
		require.Equal(t, env.connID.String(), l["connection_id"])
	}
	poison := byKey["wamid.poison"]
	require.NotNil(t, poison, "%v", letters)
	require.Equal(t, "Vera", poison["contact"])
	require.Equal(t, "veneno", poison["preview"])
	require.Equal(t, "message", poison["kind"])
	require.Contains(t, poison["last_error"], "poisoned message")
	require.Contains(t, byKey["corrupt-1"]["last_error"], "not a channel event")

	// The healthy message was stored all the same.
	items := env.do(http.MethodGet, "/api/v1/conversations?q=Caio", env.tenant.AdminToken, nil).Items()
	require.Len(t, items, 1)
	require.Equal(t, "Bom dia", items[0]["last_message_preview"])
	// Dead letters are not taken again, and the metrics say so.
	require.Zero(t, env.engine.Sweep(ctx))
	require.EqualValues(t, 2, env.metric("crm_inbox_dead_lettered_total"))
	require.EqualValues(t, 2, env.metric("crm_inbox_dead_letters"))

	// Only admins see or retry them, and only their own tenant's.
	_, agent := env.user(env.tenant, crm.RoleAgent, "Ana")
	require.Equal(t, http.StatusForbidden, env.do(http.MethodGet, "/api/v1/inbox/dead-letters", agent, nil).Status)
	retryPath := "/api/v1/inbox/dead-letters/" + poison["id"].(string) + "/retry"
	require.Equal(t, http.StatusForbidden, env.do(http.MethodPost, retryPath, agent, nil).Status)
	other := env.testEnv.tenant("dead-letters-other")
	require.Empty(t, env.do(http.MethodGet, "/api/v1/inbox/dead-letters", other.AdminToken, nil).Items())
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPost, retryPath, other.AdminToken, nil).Status)

	// The fault is fixed; the admin's retry stores the message.
	_, err = env.db.Pool.Exec(ctx, `DROP TRIGGER poison ON messages`)
	require.NoError(t, err)
	res := env.do(http.MethodPost, retryPath, env.tenant.AdminToken, nil)
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	require.Equal(t, "pending", res.JSON()["status"])
	require.Equal(t, http.StatusNotFound, env.do(http.MethodPost, retryPath, env.tenant.AdminToken, nil).Status,
		"no longer a dead letter")
	checkFor(t, 10*time.Second, func() error {
		items := env.do(http.MethodGet, "/api/v1/conversations?q=Vera", env.tenant.AdminToken, nil).Items()
		if len(items) != 1 || items[0]["last_message_preview"] != "veneno" {
			return fmt.Errorf("conversations %v", items)
		}
		return nil
	})
	letters = env.do(http.MethodGet, "/api/v1/inbox/dead-letters", env.tenant.AdminToken, nil).Items()
	require.Len(t, letters, 1)
	require.Equal(t, "corrupt-1", letters[0]["dedupe_key"])
	require.EqualValues(t, 1, env.metric("crm_inbox_dead_letters"))
}
