package realtime

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/cluster"
	crmpb "crm/proto"
)

// clusterNode is one node of an in-process cluster: its cluster node, its
// gateway (spawned under the well-known name) and, once started, its router.
type clusterNode struct {
	node   *cluster.Node
	gw     *Gateway
	router *Router
}

func (n *clusterNode) startRouter(t *testing.T, cfg RouterConfig) {
	t.Helper()
	r, err := NewRouter(cfg, n.gw, n.node)
	require.NoError(t, err)
	t.Cleanup(r.Stop)
	n.router = r
}

// startClusterNodes starts size nodes on loopback, one after another (see
// TestGatewayReceivesEventsFromAnotherNode), the first alone and the others
// seeded with it, and waits until each sees all of them. withRouter starts
// a router on each and waits until every router has every other member's
// complete set.
func startClusterNodes(t *testing.T, size int, cfg RouterConfig, withRouter bool) []*clusterNode {
	t.Helper()
	if raceEnabled() {
		t.Skip("protoactor's remote.Start races on gRPC's global logger")
	}
	var nodes []*clusterNode
	for i := range size {
		ccfg := cluster.Config{ResyncInterval: 200 * time.Millisecond, RequestTimeout: 2 * time.Second,
			LeaveTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		if i > 0 {
			ccfg.Seeds = []string{nodes[0].node.GossipAddr()}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		node, err := cluster.Start(ctx, ccfg)
		cancel()
		require.NoError(t, err)
		t.Cleanup(func() { node.Shutdown(false) })
		gw := testGateway(t)
		_, err = gw.Spawn(node.System())
		require.NoError(t, err)
		nodes = append(nodes, &clusterNode{node: node, gw: gw})
	}
	eventually(t, 20*time.Second, func() error {
		for i, n := range nodes {
			if got := len(n.node.Members()); got != size {
				return fmt.Errorf("node %d sees %d members", i, got)
			}
		}
		return nil
	})
	if withRouter {
		for _, n := range nodes {
			n.startRouter(t, cfg)
		}
		eventually(t, 10*time.Second, func() error {
			for i, n := range nodes {
				if !n.router.knows() {
					return fmt.Errorf("node %d lacks a member's tenants", i)
				}
			}
			return nil
		})
	}
	return nodes
}

func storedEvent(seq int64) []crm.TenantEvent {
	return []crm.TenantEvent{{Seq: seq, Type: "message.created", Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, seq))}}
}

// markerBarrier publishes one event of the marker tenant, which has a
// session (conns[i]) on every node, from every node, and waits until each
// session has them all: what a node sent to a gateway before its marker has
// arrived by then (protoactor keeps the order between two nodes, and the
// local mailbox is a queue), so counts read after it are final.
func markerBarrier(t *testing.T, nodes []*clusterNode, marker uuid.UUID, conns []*memConn, firstSeq int64) {
	t.Helper()
	for i, n := range nodes {
		n.router.Publish(marker, storedEvent(firstSeq+int64(i)))
	}
	eventually(t, 5*time.Second, func() error {
		for i, c := range conns {
			if got := seqsOf(c.frames(t)); int64(len(got)) != firstSeq+int64(len(nodes))-1 {
				return fmt.Errorf("node %d's marker session has %v", i, got)
			}
		}
		return nil
	})
}

func TestRouterSendsATenantsEventsOnlyToTheNodesWithItsSessions(t *testing.T) {
	nodes := startClusterNodes(t, 3, RouterConfig{}, true)
	a, b, c := nodes[0], nodes[1], nodes[2]
	tenant, nowhere, marker := crm.NewID(), crm.NewID(), crm.NewID()
	_, onB := newTestSession(t, b.gw, principal(tenant, crm.RoleTenantAdmin), nil, false)
	var markers []*memConn
	for _, n := range nodes {
		_, conn := newTestSession(t, n.gw, principal(marker, crm.RoleTenantAdmin), nil, false)
		markers = append(markers, conn)
	}
	for _, n := range nodes {
		require.Equal(t, []string{b.node.Address()}, n.router.Targets(tenant), "from %s", n.node.Address())
		require.Empty(t, n.router.Targets(nowhere))
	}

	// Grains on A and C publish the tenant's events; every node publishes
	// events of a tenant with no session anywhere.
	for seq := int64(1); seq <= 5; seq++ {
		a.router.Publish(tenant, storedEvent(seq))
		c.router.Publish(tenant, storedEvent(seq+5))
	}
	for seq := int64(1); seq <= 4; seq++ {
		for _, n := range nodes {
			n.router.Publish(nowhere, storedEvent(seq))
		}
	}
	markerBarrier(t, nodes, marker, markers, 1)
	eventually(t, 5*time.Second, func() error {
		if got := seqsOf(onB.frames(t)); len(got) != 10 {
			return fmt.Errorf("B's session has %v", got)
		}
		return nil
	})

	// Each gateway was handed only the events it has sessions for: the
	// three markers everywhere, the tenant's ten on B, nothing of the
	// tenant without sessions.
	require.EqualValues(t, 3, a.gw.Stats().Published, "A")
	require.EqualValues(t, 13, b.gw.Stats().Published, "B")
	require.EqualValues(t, 3, c.gw.Stats().Published, "C")
	require.EqualValues(t, 2*5*1+3*4*2, a.router.spared.Load()+b.router.spared.Load()+c.router.spared.Load(),
		"member gateways left out: the tenant's events skip the one other member without its session, the sessionless tenant's skip both, the markers none")
}

func TestRouterFirstEventsAfterALoginReachTheNewNode(t *testing.T) {
	const announceTimeout = 2 * time.Second
	nodes := startClusterNodes(t, 3, RouterConfig{AnnounceTimeout: announceTimeout, Linger: 50 * time.Millisecond}, true)
	a, b, c := nodes[0], nodes[1], nodes[2]

	// Tenants with a console on B; then one logs in on C, and a grain on A
	// publishes right after the socket is set up: C gets it.
	const tenants = 20
	var sessions []*Session
	var conns []*memConn
	for i := range tenants {
		tenant := crm.NewID()
		newTestSession(t, b.gw, principal(tenant, crm.RoleTenantAdmin), nil, false)
		start := time.Now()
		s, conn := newTestSession(t, c.gw, principal(tenant, crm.RoleTenantAdmin), nil, false)
		require.Less(t, time.Since(start), announceTimeout, "login %d waited out the announcement timeout", i)
		a.router.Publish(tenant, storedEvent(1))
		sessions, conns = append(sessions, s), append(conns, conn)
	}
	eventually(t, 2*time.Second, func() error {
		for i, conn := range conns {
			if got := seqsOf(conn.frames(t)); !equalSeqs(got, []int64{1}) {
				return fmt.Errorf("session %d on C has %v", i, got)
			}
		}
		return nil
	})

	// The console leaves C: after the linger, A stops sending C the tenant.
	tenant := sessions[0].TenantID()
	require.ElementsMatch(t, []string{b.node.Address(), c.node.Address()}, a.router.Targets(tenant))
	sessions[0].Shutdown()
	eventually(t, 5*time.Second, func() error {
		if got := a.router.Targets(tenant); !slices.Equal(got, []string{b.node.Address()}) {
			return fmt.Errorf("A sends the tenant to %v", got)
		}
		return nil
	})
}

func TestRouterSendsEverythingToAMemberItHasNotHeardFromAndForgetsOneThatLeft(t *testing.T) {
	nodes := startClusterNodes(t, 3, RouterConfig{}, false)
	a, b, c := nodes[0], nodes[1], nodes[2]
	tenant := crm.NewID()
	a.startRouter(t, RouterConfig{})
	// B and C have told A nothing yet: A sends them every tenant's events,
	// as before routing, so a node that just joined misses nothing.
	require.ElementsMatch(t, []string{b.node.Address(), c.node.Address()}, a.router.Targets(tenant))

	b.startRouter(t, RouterConfig{})
	c.startRouter(t, RouterConfig{})
	eventually(t, 10*time.Second, func() error {
		if got := a.router.Targets(tenant); len(got) != 0 {
			return fmt.Errorf("A still sends the tenant to %v", got)
		}
		return nil
	})

	cID := c.node.ID()
	c.node.Shutdown(true)
	eventually(t, 10*time.Second, func() error {
		a.router.mu.RLock()
		defer a.router.mu.RUnlock()
		if _, ok := a.router.peers[cID]; ok {
			return fmt.Errorf("A still keeps the tenants of C, which left")
		}
		return nil
	})
}

func TestRouterAppliesOnlyNewerAnnouncements(t *testing.T) {
	t.Parallel()
	r := &Router{peers: map[string]*peer{}}
	t1, t2, t3 := crm.NewID(), crm.NewID(), crm.NewID()
	tenantsOf := func() []uuid.UUID {
		var out []uuid.UUID
		for id := range r.peers["b"].tenants {
			out = append(out, id)
		}
		return out
	}
	announce := func(m *crmpb.GatewayTenants) {
		m.MemberId, m.Address = "b", "127.0.0.1:1"
		r.receive(m)
	}

	announce(&crmpb.GatewayTenants{Version: 2, Added: [][]byte{t1[:]}})
	require.False(t, r.peers["b"].complete, "changes alone do not make a complete set")
	announce(&crmpb.GatewayTenants{Version: 3, Full: true, Tenants: [][]byte{t1[:], t2[:]}})
	require.True(t, r.peers["b"].complete)
	require.ElementsMatch(t, []uuid.UUID{t1, t2}, tenantsOf())

	announce(&crmpb.GatewayTenants{Version: 3, Removed: [][]byte{t1[:]}}) // a duplicate number
	announce(&crmpb.GatewayTenants{Version: 1, Full: true})               // an older set
	require.ElementsMatch(t, []uuid.UUID{t1, t2}, tenantsOf())

	announce(&crmpb.GatewayTenants{Version: 4, Added: [][]byte{t3[:]}, Removed: [][]byte{t1[:]}})
	require.ElementsMatch(t, []uuid.UUID{t2, t3}, tenantsOf())
	announce(&crmpb.GatewayTenants{Version: 9, Full: true, Tenants: [][]byte{t1[:], []byte("not an id")}})
	require.ElementsMatch(t, []uuid.UUID{t1}, tenantsOf())
}
