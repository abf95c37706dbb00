package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/actors"
	"crm/cluster"
	"crm/persistence"
)

// startEngines runs n engines on an n-node cluster over one database: the
// nodes of a deployment. Their distributors run only when a test asks
// (Distribute) or a change kicks them.
func startEngines(t testing.TB, db *persistence.DB, n int, tune ...func(*actors.EngineConfig)) []*actors.Engine {
	t.Helper()
	engines, _ := startNodes(t, db, n, tune...)
	return engines
}

// startNodes is startEngines with the cluster nodes.
func startNodes(t testing.TB, db *persistence.DB, n int, tune ...func(*actors.EngineConfig)) ([]*actors.Engine, []*cluster.Node) {
	t.Helper()
	discard := slog.New(slog.DiscardHandler)
	var engines []*actors.Engine
	var nodes []*cluster.Node
	for i := range n {
		cfg := actors.EngineConfig{DB: db, Log: discard, DistributeEvery: -1, SweepAfter: time.Hour}
		for _, f := range tune {
			f(&cfg)
		}
		e, err := actors.NewEngine(cfg)
		require.NoError(t, err)
		ccfg := cluster.Config{Kinds: e.Kinds(), Logger: discard, ResyncInterval: 200 * time.Millisecond,
			RequestTimeout: 5 * time.Second, LeaveTimeout: time.Second}
		if i > 0 {
			ccfg.Seeds = []string{nodes[0].GossipAddr()}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		node, err := cluster.Start(ctx, ccfg)
		cancel()
		require.NoError(t, err)
		t.Cleanup(func() { node.Shutdown(false) })
		e.Attach(node)
		e.Start(context.Background())
		t.Cleanup(e.Stop)
		engines, nodes = append(engines, e), append(nodes, node)
	}
	checkFor(t, 20*time.Second, func() error {
		for i, node := range nodes {
			if got := len(node.Members()); got != n {
				return fmt.Errorf("node %d sees %d members", i, got)
			}
		}
		return nil
	})
	return engines, nodes
}

// routingFixture is a tenant with a WhatsApp connection and a team.
type routingFixture struct {
	env    *testEnv
	tenant tenantFixture
	connID uuid.UUID
	team   uuid.UUID
}

func newRoutingFixture(t testing.TB, env *testEnv, slug string, mode crm.AutoAssign, teamCap int, agents ...uuid.UUID) routingFixture {
	t.Helper()
	f := routingFixture{env: env, tenant: env.tenant(slug), connID: crm.NewID()}
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, f.tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, verify_token, webhook_secret)
			VALUES ($1, $2, 'WA', 'whatsapp', 'sandbox', 'vt', 'ws')`, f.tenant.ID, f.connID)
		return err
	}))
	f.team = env.addTeam(f.tenant.ID)
	require.NoError(t, env.db.TenantTx(ctx, f.tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE teams SET auto_assign = $3, max_open_per_agent = $4 WHERE tenant_id = $1 AND id = $2`,
			f.tenant.ID, f.team, mode, teamCap)
		return err
	}))
	return f
}

// agents adds n online members to the team, without logging them in.
func (f routingFixture) agents(t testing.TB, n int, availability crm.Availability) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ids := make([]uuid.UUID, n)
	require.NoError(t, f.env.db.TenantTx(ctx, f.tenant.ID, func(tx pgx.Tx) error {
		for i := range ids {
			ids[i] = crm.NewID()
			if _, err := tx.Exec(ctx, `INSERT INTO users (tenant_id, id, name, email, password_hash, role, availability, last_seen_at)
				VALUES ($1, $2, $3, $4, 'x', 'AGENT', $5, now())`, f.tenant.ID, ids[i], fmt.Sprintf("Agent %d", i),
				fmt.Sprintf("agent-%s@%s.test", ids[i], f.tenant.Slug), availability); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ($1, $2, $3)`,
				f.tenant.ID, f.team, ids[i]); err != nil {
				return err
			}
		}
		return nil
	}))
	return ids
}

// queue stores n conversations waiting in the team's queue, in order, and
// returns their ids oldest first.
func (f routingFixture) queue(t testing.TB, n int) []uuid.UUID {
	t.Helper()
	ctx := context.Background()
	ids := make([]uuid.UUID, n)
	require.NoError(t, f.env.db.TenantTx(ctx, f.tenant.ID, func(tx pgx.Tx) error {
		for i := range ids {
			contact, conv := crm.NewID(), crm.NewID()
			ids[i] = conv
			if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name, phone) VALUES ($1, $2, $3, $4)`,
				f.tenant.ID, contact, fmt.Sprintf("Cliente %d", i), fmt.Sprintf("+55119%08d", queuedPhones.Add(1))); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel, team_id,
				created_at, last_activity_at) VALUES ($1, $2, $3, $4, 'whatsapp', $5, clock_timestamp(), clock_timestamp())`,
				f.tenant.ID, conv, f.connID, contact, f.team); err != nil {
				return err
			}
		}
		return nil
	}))
	return ids
}

// queuedPhones numbers the queued contacts' phones (unique per tenant).
var queuedPhones atomic.Int64

// holders maps each agent to the conversations they hold open.
func (f routingFixture) holders(t testing.TB) map[uuid.UUID][]uuid.UUID {
	t.Helper()
	ctx := context.Background()
	out := map[uuid.UUID][]uuid.UUID{}
	require.NoError(t, f.env.db.TenantTx(ctx, f.tenant.ID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT assignee_id, id FROM conversations WHERE tenant_id = $1 AND assignee_id IS NOT NULL
			AND status IN ('open', 'in_progress', 'waiting')`, f.tenant.ID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var a, c uuid.UUID
			if err := rows.Scan(&a, &c); err != nil {
				return err
			}
			out[a] = append(out[a], c)
		}
		return rows.Err()
	}))
	return out
}

// Two nodes drain one team's queue at the same time: no agent ever holds
// more than the cap, the conversations assigned are the longest waiting,
// and when an agent frees a place or another comes online the queue moves
// on its own (a kick, no periodic pass).
func TestDistributionAcrossTwoNodesKeepsCapsAndOrder(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	engines := startEngines(t, env.db, 2)
	f := newRoutingFixture(t, env, "distribute-cap", crm.AutoAssignRoundRobin, 4)
	agents := f.agents(t, 3, crm.AvailabilityOnline)
	waiting := f.queue(t, 30)

	var wg sync.WaitGroup
	for round := 0; round < 3; round++ {
		for _, e := range engines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := e.Distribute(context.Background(), f.tenant.ID)
				require.NoError(t, err)
			}()
		}
	}
	wg.Wait()

	held := f.holders(t)
	assigned := []uuid.UUID{}
	for _, a := range agents {
		require.Len(t, held[a], 4, "agent %s holds exactly the cap", a)
		assigned = append(assigned, held[a]...)
	}
	require.ElementsMatch(t, waiting[:12], assigned, "the twelve longest waiting are the ones assigned")

	queues, err := env.db.TeamQueues(context.Background(), f.tenant.ID, nil, 100, time.Now())
	require.NoError(t, err)
	require.Len(t, queues, 1)
	require.Equal(t, 18, queues[0].Waiting)
	require.Equal(t, waiting[12], queues[0].Items[0].ConversationID, "the queue keeps its order")
	require.Equal(t, 3, queues[0].AgentsOnline)
	require.Equal(t, 0, queues[0].AgentsWithCap)

	// The first agent resolves one: the next in line is theirs, kicked by
	// the resolution itself.
	freed := held[agents[0]][0]
	var conv *crm.Conversation
	conv, err = env.db.GetConversation(context.Background(), f.tenant.ID, freed, crm.Visibility{All: true})
	require.NoError(t, err)
	_, err = engines[1].ChangeStatus(context.Background(), crm.Principal{TenantID: f.tenant.ID, UserID: agents[0], Role: crm.RoleAgent},
		conv, "resolved")
	require.NoError(t, err)
	checkFor(t, 10*time.Second, func() error {
		held = f.holders(t)
		if !slices.Contains(held[agents[0]], waiting[12]) {
			return fmt.Errorf("agent 0 holds %v, not the next in line", held[agents[0]])
		}
		return nil
	})
	require.Len(t, held[agents[0]], 4)

	// A fourth agent comes online: they take the next four.
	late := f.agents(t, 1, crm.AvailabilityOffline)[0]
	ev, err := env.db.SetAvailability(context.Background(), f.tenant.ID, late, crm.AvailabilityOnline)
	require.NoError(t, err)
	engines[0].Publish(f.tenant.ID, []crm.TenantEvent{*ev})
	checkFor(t, 10*time.Second, func() error {
		held = f.holders(t)
		if len(held[late]) != 4 {
			return fmt.Errorf("the late agent holds %d", len(held[late]))
		}
		return nil
	})
	require.ElementsMatch(t, waiting[13:17], held[late])
	for _, a := range append(agents, late) {
		require.LessOrEqual(t, len(f.holders(t)[a]), 4)
	}
}

// Round robin over 1,000 conversations and five agents with no cap: each
// gets 200, whichever of two nodes assigns. Least busy fills the emptiest
// first. The spread (most minus fewest) is the fairness figure.
func TestRoundRobinIsFairOverAThousandConversations(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	engines := startEngines(t, env.db, 2)
	f := newRoutingFixture(t, env, "distribute-fair", crm.AutoAssignRoundRobin, 0)
	agents := f.agents(t, 5, crm.AvailabilityOnline)
	f.queue(t, 1000)
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.Distribute(context.Background(), f.tenant.ID)
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	held := f.holders(t)
	lo, hi := 1000, 0
	for _, a := range agents {
		lo, hi = min(lo, len(held[a])), max(hi, len(held[a]))
	}
	t.Logf("round robin over 1,000 conversations, 5 agents: fewest %d, most %d", lo, hi)
	require.Equal(t, 200, lo)
	require.Equal(t, 200, hi)

	// Least busy: a new team whose members hold 0, 3 and 6 conversations
	// gets nine more; they end even.
	g := newRoutingFixture(t, env, "distribute-least", crm.AutoAssignLeastBusy, 0)
	members := g.agents(t, 3, crm.AvailabilityOnline)
	ctx := context.Background()
	busy := g.queue(t, 9)
	require.NoError(t, env.db.TenantTx(ctx, g.tenant.ID, func(tx pgx.Tx) error {
		for i, c := range busy {
			owner := members[1]
			if i >= 3 {
				owner = members[2]
			}
			if _, err := tx.Exec(ctx, `UPDATE conversations SET assignee_id = $3, team_id = NULL WHERE tenant_id = $1 AND id = $2`,
				g.tenant.ID, c, owner); err != nil {
				return err
			}
		}
		return nil
	}))
	g.queue(t, 9)
	n, err := engines[0].Distribute(ctx, g.tenant.ID)
	require.NoError(t, err)
	require.Equal(t, 9, n)
	held = g.holders(t)
	for _, m := range members {
		require.Len(t, held[m], 6, "least busy evens the load")
	}
}

// Agents away or offline get nothing; supervisors see the queue with
// waiting times and SLA due times, only for their own teams.
func TestQueueRouteAndAvailability(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	engines := startEngines(t, env.db, 1)
	env.srv.cfg.Engine = engines[0]
	f := newRoutingFixture(t, env, "queue-route", crm.AutoAssignRoundRobin, 0)
	supID, supToken := env.user(f.tenant, crm.RoleSupervisor, "Sueli")
	agentID, agentToken := env.user(f.tenant, crm.RoleAgent, "Bruno")
	ctx := context.Background()
	require.NoError(t, env.db.TenantTx(ctx, f.tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ($1, $2, $3), ($1, $2, $4)`,
			f.tenant.ID, f.team, supID, agentID)
		return err
	}))
	res := env.do(http.MethodPatch, "/api/v1/teams/"+f.team.String(), f.tenant.AdminToken,
		map[string]any{"sla_first_response_minutes": 30, "auto_assign": "round_robin", "max_open_per_agent": 2})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, float64(30), res.JSON()["sla_first_response_minutes"])

	res = env.do(http.MethodPatch, "/api/v1/teams/"+f.team.String(), f.tenant.AdminToken,
		map[string]any{"auto_assign": "everyone", "max_open_per_agent": -1, "business_hours": map[string]any{"timezone": "Mars/Base"}})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	fields := res.Fields()
	require.Contains(t, fields, "auto_assign")
	require.Contains(t, fields, "max_open_per_agent")
	require.Contains(t, fields, "business_hours.timezone")

	waiting := f.queue(t, 3)
	res = env.do(http.MethodPut, "/api/v1/auth/me/availability", agentToken, map[string]any{"availability": "away"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	n, err := engines[0].Distribute(ctx, f.tenant.ID)
	require.NoError(t, err)
	require.Zero(t, n, "an agent away takes nothing")

	res = env.do(http.MethodGet, "/api/v1/queues", supToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	teams := res.JSON()["teams"].([]any)
	require.Len(t, teams, 1)
	q := teams[0].(map[string]any)
	require.Equal(t, float64(3), q["waiting"])
	items := q["items"].([]any)
	require.Equal(t, waiting[0].String(), items[0].(map[string]any)["conversation_id"])
	require.NotNil(t, items[0].(map[string]any)["sla_due_at"], "the team's SLA shows its due time")
	require.GreaterOrEqual(t, items[0].(map[string]any)["waiting_seconds"], float64(0))

	res = env.do(http.MethodGet, "/api/v1/queues", agentToken, nil)
	require.Equal(t, http.StatusForbidden, res.Status, "agents do not watch queues")

	res = env.do(http.MethodGet, "/api/v1/agents/availability", agentToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	found := false
	for _, it := range res.JSON()["items"].([]any) {
		m := it.(map[string]any)
		if m["user_id"] == agentID.String() {
			found = true
			require.Equal(t, "away", m["availability"])
		}
	}
	require.True(t, found)

	res = env.do(http.MethodPut, "/api/v1/auth/me/availability", agentToken, map[string]any{"availability": "busy"})
	require.Equal(t, http.StatusBadRequest, res.Status)
	require.Contains(t, res.Fields(), "availability")

	// Back online: the agent takes two (the cap), the third waits.
	res = env.do(http.MethodPut, "/api/v1/auth/me/availability", agentToken, map[string]any{"availability": "online"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	checkFor(t, 10*time.Second, func() error {
		if got := len(f.holders(t)[agentID]); got != 2 {
			return fmt.Errorf("agent holds %d", got)
		}
		return nil
	})

	// A supervisor transfers the third by hand to the agent's team mate,
	// with a note that stays.
	conv := waiting[2].String()
	res = env.do(http.MethodPatch, "/api/v1/conversations/"+conv, supToken,
		map[string]any{"assignee_id": supID, "note": "Cliente VIP, retornar até as 17h"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	notes := env.do(http.MethodGet, "/api/v1/conversations/"+conv+"/notes", supToken, nil)
	require.Equal(t, http.StatusOK, notes.Status, string(notes.Body))
	require.Contains(t, string(notes.Body), "Cliente VIP")
	res = env.do(http.MethodGet, "/api/v1/conversations/"+conv, supToken, nil)
	require.Equal(t, http.StatusOK, res.Status)
	require.NotNil(t, res.JSON()["sla_due_at"], "the inbox shows the SLA's due time")
}

// Fields is the error.details.fields of a validation error.
func (r response) Fields() map[string]any {
	r.t.Helper()
	e, _ := r.JSON()["error"].(map[string]any)
	d, _ := e["details"].(map[string]any)
	f, _ := d["fields"].(map[string]any)
	return f
}

// BenchmarkDistribution: two nodes drain one team's queue of 500 at once
// (five agents, round robin, no cap): one op is the whole queue. Reports
// assignments a second (each activates the conversation's grain, claims an
// agent under lock and commits) and the round robin's spread (most minus
// fewest conversations per agent; 0 is even).
func BenchmarkDistribution(b *testing.B) {
	const queued = 500
	env := newTestEnv(b)
	engines := startEngines(b, env.db, 2)
	f := newRoutingFixture(b, env, "bench-distribute", crm.AutoAssignRoundRobin, 0)
	agents := f.agents(b, 5, crm.AvailabilityOnline)
	f.queue(b, queued*b.N)
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for _, e := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.Distribute(context.Background(), f.tenant.ID); err != nil {
				b.Error(err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	held := f.holders(b)
	lo, hi, total := queued*b.N, 0, 0
	for _, a := range agents {
		lo, hi, total = min(lo, len(held[a])), max(hi, len(held[a])), total+len(held[a])
	}
	if total != queued*b.N {
		b.Fatalf("%d of %d assigned", total, queued*b.N)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "assigned/s")
	b.ReportMetric(float64(hi-lo), "rr-spread")
}
