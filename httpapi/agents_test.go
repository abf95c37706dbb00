package httpapi

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence/pgtest"
	"crm/realtime"
)

// Two nodes of one deployment, each with its HTTP server, engine, gateway
// and router, over one database.
func twoNodeServers(t *testing.T) [2]*testEnv {
	t.Helper()
	db := pgtest.NewDB(t)
	engines, nodes := startNodes(t, db, 2)
	var envs [2]*testEnv
	for i := range envs {
		envs[i] = newTestEnv(t, func(c *Config) {
			c.DB, c.Engine, c.Registry = db, engines[i], prometheus.NewRegistry()
			c.Gateway = realtime.NewGateway(realtime.GatewayConfig{Log: c.Log})
			_, err := c.Gateway.Spawn(nodes[i].System())
			require.NoError(t, err)
			router, err := realtime.NewRouter(realtime.RouterConfig{Log: c.Log}, c.Gateway, nodes[i])
			require.NoError(t, err)
			t.Cleanup(router.Stop)
			engines[i].OnPublish(router)
		})
		envs[i].db = db // the fixtures' writes go where both servers read
	}
	return envs
}

// availabilityOf reads a user's availability as a console on env sees it.
func availabilityOf(t *testing.T, env *testEnv, token string, user uuid.UUID) (string, bool) {
	t.Helper()
	res := env.do(http.MethodGet, "/api/v1/agents/availability", token, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	for _, it := range res.JSON()["items"].([]any) {
		m := it.(map[string]any)
		if m["user_id"] == user.String() {
			return m["availability"].(string), m["connected"].(bool)
		}
	}
	t.Fatalf("user %s not listed", user)
	return "", false
}

// waitAvailability reads frames until user.availability says the user is a.
func waitAvailability(t *testing.T, c *wsClient, user uuid.UUID, a string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		f, err := c.next(time.Until(deadline))
		require.NoError(t, err)
		if f.Type != "user.availability" {
			continue
		}
		var d struct {
			UserID       uuid.UUID `json:"user_id"`
			Availability string    `json:"availability"`
		}
		require.NoError(t, json.Unmarshal(f.Data, &d))
		if d.UserID == user && d.Availability == a {
			return
		}
	}
	t.Fatalf("no user.availability %s for %s within %s", a, user, within)
}

// An agent's console on node A makes them online, and a supervisor's
// console on node B hears it; a console on each node keeps them online when
// one closes; the last closing makes them offline after the grace period,
// heard on the other node; the switch sets away and back.
func TestAvailabilityAcrossTwoNodes(t *testing.T) {
	t.Parallel()
	envs := twoNodeServers(t)
	a, b := envs[0], envs[1]
	tenant := a.tenant("presence-two")
	agentID, agentToken := a.user(tenant, crm.RoleAgent, "Ana")
	_, supToken := a.user(tenant, crm.RoleSupervisor, "Sueli")
	state, connected := availabilityOf(t, b, supToken, agentID)
	require.Equal(t, "offline", state)
	require.False(t, connected)

	watcher := b.mustDialWS(supToken)
	onA := a.mustDialWS(agentToken)
	start := time.Now()
	waitAvailability(t, watcher, agentID, "online", 3*time.Second)
	t.Logf("node B heard node A's agent come online in %s", time.Since(start))
	state, connected = availabilityOf(t, b, supToken, agentID)
	require.Equal(t, "online", state)
	require.True(t, connected, "node B knows a console of theirs is open on node A")

	// The switch: away, then online again, heard on the other node.
	res := a.do(http.MethodPut, "/api/v1/auth/me/availability", agentToken, map[string]any{"availability": "away"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	waitAvailability(t, watcher, agentID, "away", 2*time.Second)
	res = b.do(http.MethodPut, "/api/v1/auth/me/availability", agentToken, map[string]any{"availability": "online"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	waitAvailability(t, watcher, agentID, "online", 2*time.Second)

	// A second console on node B; the one on A closes: still online.
	onB := b.mustDialWS(agentToken)
	require.NoError(t, onA.conn.Close())
	time.Sleep(presenceGrace + 2*time.Second)
	state, _ = availabilityOf(t, a, supToken, agentID)
	require.Equal(t, "online", state, "a console on another node keeps the agent online")

	// The last one closes: offline after the grace period, heard on A.
	watcherA := a.mustDialWS(supToken)
	require.NoError(t, onB.conn.Close())
	start = time.Now()
	waitAvailability(t, watcherA, agentID, "offline", presenceGrace+5*time.Second)
	t.Logf("offline %s after the last console closed (grace %s)", time.Since(start), presenceGrace)
	state, connected = availabilityOf(t, a, supToken, agentID)
	require.Equal(t, "offline", state)
	require.False(t, connected)
}
