package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The multi-node tests start their nodes one after another and do not run
// in parallel with each other: protoactor's remote.Start sets gRPC's global
// logger, so concurrent starts race.

const counterKind = "counter"

// counterGrain adds each request's delta to its count and answers
// "<address of the node it lives on>|<count>", so a test can tell which
// activation answered.
type counterGrain struct{ count int64 }

func (g *counterGrain) Receive(ctx actor.Context) {
	if delta, ok := ctx.Message().(*wrapperspb.Int64Value); ok {
		g.count += delta.GetValue()
		ctx.Respond(wrapperspb.String(ctx.Self().Address + "|" + strconv.FormatInt(g.count, 10)))
	}
}

func counterKindProps() *Kind {
	return NewKind(counterKind, actor.PropsFromProducer(func() actor.Actor { return &counterGrain{} }))
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("CLUSTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// fastFailureDetection shortens memberlist's probes so a killed node is
// declared dead in about a second instead of several.
func fastFailureDetection(c *memberlist.Config) {
	// Tight, but not so tight that a loaded 2-core machine (the whole suite
	// runs in parallel) sees false deaths: protoactor blocks a member it was
	// told is dead for good, so a false positive would split the test cluster.
	c.ProbeInterval = 200 * time.Millisecond
	c.ProbeTimeout = 150 * time.Millisecond
	c.SuspicionMult = 3
	c.SuspicionMaxTimeoutMult = 2
	c.GossipInterval = 30 * time.Millisecond
	c.GossipToTheDeadTime = time.Second
	c.PushPullInterval = time.Second
	c.TCPTimeout = time.Second
}

func testConfig(t *testing.T, seeds ...string) Config {
	return Config{
		Seeds:          seeds,
		Tune:           fastFailureDetection,
		ResyncInterval: 500 * time.Millisecond,
		RequestTimeout: 2 * time.Second,
		LeaveTimeout:   time.Second,
		Logger:         testLogger(t),
	}
}

func startNode(t *testing.T, cfg Config) *Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := Start(ctx, cfg, counterKindProps())
	require.NoError(t, err)
	t.Cleanup(func() { n.Shutdown(false) })
	return n
}

// startCluster starts size nodes on loopback, the first alone, the others
// seeded with it, and waits until every node sees all of them.
func startCluster(t *testing.T, size int) []*Node {
	t.Helper()
	nodes := []*Node{startNode(t, testConfig(t))}
	for range size - 1 {
		nodes = append(nodes, startNode(t, testConfig(t, nodes[0].GossipAddr())))
	}
	checkFor(t, 15*time.Second, func() error { return sameMembers(nodes, size) })
	return nodes
}

// kill stops a node the way a SIGKILL would look from outside: gossip and
// remoting go silent at once. Node.Shutdown(false) is not enough, because
// protoactor's cluster shutdown always gossips a "gracefully left" mark,
// which the peers act on before failure detection would.
func (n *Node) kill() {
	n.shutdownOnce.Do(func() {
		close(n.stopped)
		_ = n.provider.Shutdown(false)
		n.cluster.Remote.Shutdown(false)
		n.system.Shutdown()
	})
}

// checkFor polls f until it returns nil or timeout passes.
func checkFor(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// staysFor polls f for the whole duration and fails as soon as it errs.
func staysFor(t *testing.T, duration time.Duration, f func() error) {
	t.Helper()
	for deadline := time.Now().Add(duration); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		require.NoError(t, f())
	}
}

// sameMembers checks each node is joined and sees want members, the same set.
func sameMembers(nodes []*Node, want int) error {
	var ids []string
	for i, n := range nodes {
		if !n.Joined() {
			return fmt.Errorf("node %d not joined", i)
		}
		members := n.Members()
		if len(members) != want {
			return fmt.Errorf("node %d sees %d members, want %d", i, len(members), want)
		}
		var got []string
		for _, m := range members {
			got = append(got, m.ID)
		}
		if ids == nil {
			ids = got
		} else if strings.Join(ids, ",") != strings.Join(got, ",") {
			return fmt.Errorf("node %d sees %v, node 0 sees %v", i, got, ids)
		}
	}
	return nil
}

// add asks the counter identity for +1 through node n and returns the
// owner's address and the count it answered.
func add(t *testing.T, n *Node, identity string) (string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := n.Request(ctx, identity, counterKind, wrapperspb.Int64(1))
	require.NoError(t, err)
	answer, ok := resp.(*wrapperspb.StringValue)
	require.True(t, ok, "unexpected answer %T", resp)
	owner, countText, ok := strings.Cut(answer.GetValue(), "|")
	require.True(t, ok)
	count, err := strconv.ParseInt(countText, 10, 64)
	require.NoError(t, err)
	return owner, count
}

func TestSingleNodeNeedsNoConfiguration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := Start(ctx, Config{Logger: testLogger(t)}, counterKindProps())
	require.NoError(t, err)
	defer n.Shutdown(false)

	checkFor(t, 5*time.Second, func() error { return sameMembers([]*Node{n}, 1) })
	require.True(t, strings.HasPrefix(n.Address(), "127.0.0.1:"), n.Address())
	require.True(t, strings.HasPrefix(n.GossipAddr(), "127.0.0.1:"), n.GossipAddr())
	require.Equal(t, n.ID(), n.Members()[0].ID)
	require.Contains(t, n.Members()[0].Kinds, counterKind)

	owner, count := add(t, n, "a")
	require.Equal(t, n.Address(), owner)
	require.EqualValues(t, 1, count)
	_, count = add(t, n, "a")
	require.EqualValues(t, 2, count)

	n.Shutdown(false)
	n.Shutdown(false) // safe twice
	require.False(t, n.Joined())
	_, err = n.Request(ctx, "a", counterKind, wrapperspb.Int64(1))
	require.ErrorIs(t, err, ErrStopped)
}

func TestThreeNodesShareGrains(t *testing.T) {
	nodes := startCluster(t, 3)

	// Every identity is reachable from every node and answered by one
	// activation: asking it through the three nodes counts 1, 2, 3 on the
	// same owner.
	owners := map[string]int{}
	for i := range 30 {
		identity := fmt.Sprintf("contact-%d", i)
		var owner string
		for j, n := range nodes {
			got, count := add(t, n, identity)
			require.EqualValues(t, j+1, count, "identity %s through node %d", identity, j)
			if j == 0 {
				owner = got
			}
			require.Equal(t, owner, got, "identity %s moved", identity)
		}
		owners[owner]++
	}
	require.Len(t, owners, 3, "30 identities spread over the 3 nodes: %v", owners)
}

func TestGracefulLeaveMovesGrains(t *testing.T) {
	nodes := startCluster(t, 3)
	leaving := nodes[2]
	var moved []string
	for i := 0; len(moved) < 5 && i < 200; i++ {
		identity := fmt.Sprintf("leave-%d", i)
		if owner, _ := add(t, nodes[0], identity); owner == leaving.Address() {
			moved = append(moved, identity)
		}
	}
	require.NotEmpty(t, moved)

	start := time.Now()
	stopped := make(chan time.Duration)
	go func() {
		leaving.Shutdown(true)
		stopped <- time.Since(start)
	}()
	checkFor(t, 5*time.Second, func() error { return sameMembers(nodes[:2], 2) })
	t.Logf("survivors saw 2 members %s after the shutdown began", time.Since(start))
	select {
	case took := <-stopped:
		t.Logf("graceful shutdown took %s", took)
	case <-time.After(20 * time.Second):
		t.Fatal("graceful shutdown did not finish")
	}
	require.False(t, leaving.Joined())

	for _, identity := range moved {
		owner, count := add(t, nodes[1], identity)
		require.NotEqual(t, leaving.Address(), owner)
		require.EqualValues(t, 1, count, "re-activated on a survivor")
		again, count := add(t, nodes[0], identity)
		require.Equal(t, owner, again)
		require.EqualValues(t, 2, count)
	}
}

func TestKilledNodeIsDetected(t *testing.T) {
	t.Run("test tuning", func(t *testing.T) { checkKilledNode(t, fastFailureDetection, 5*time.Second) })
	// The production settings must meet DESIGN's failover budget: a dead
	// node's grains answer from a survivor within 3 s.
	t.Run("production defaults", func(t *testing.T) { checkKilledNode(t, nil, 3*time.Second) })
}

func checkKilledNode(t *testing.T, tune func(*memberlist.Config), budget time.Duration) {
	cfg := func(seeds ...string) Config {
		c := testConfig(t, seeds...)
		c.Tune = tune
		return c
	}
	nodes := []*Node{startNode(t, cfg())}
	for range 2 {
		nodes = append(nodes, startNode(t, cfg(nodes[0].GossipAddr())))
	}
	checkFor(t, 15*time.Second, func() error { return sameMembers(nodes, 3) })
	killed := nodes[1]
	var orphaned []string
	for i := 0; len(orphaned) < 5 && i < 200; i++ {
		identity := fmt.Sprintf("kill-%d", i)
		if owner, _ := add(t, nodes[0], identity); owner == killed.Address() {
			orphaned = append(orphaned, identity)
		}
	}
	require.NotEmpty(t, orphaned)

	start := time.Now()
	killed.kill() // no leave: the others must notice on their own
	survivors := []*Node{nodes[0], nodes[2]}
	checkFor(t, budget, func() error { return sameMembers(survivors, 2) })
	t.Logf("killed node dropped from the topology after %s", time.Since(start))

	for _, identity := range orphaned {
		owner, count := add(t, nodes[2], identity)
		require.NotEqual(t, killed.Address(), owner)
		require.EqualValues(t, 1, count)
	}
	took := time.Since(start)
	t.Logf("orphaned grains answering again after %s", took)
	require.Less(t, took, budget)

	// A restarted process is a new member (new id), welcome again.
	restarted := startNode(t, cfg(nodes[2].GossipAddr()))
	checkFor(t, 10*time.Second, func() error { return sameMembers([]*Node{nodes[0], nodes[2], restarted}, 3) })
}

// TestWronglyBlockedNodeLeaves simulates a node declared dead that came back:
// a peer's protoactor has blocked its id for good. The peer tells it, it
// leaves, and every survivor ends with the same two-member view instead of
// two diverging ones.
func TestWronglyBlockedNodeLeaves(t *testing.T) {
	nodes := startCluster(t, 3)
	victim := nodes[2]
	nodes[0].Cluster().Remote.BlockList().Block(victim.ID())

	select {
	case <-victim.Excluded():
	case <-time.After(5 * time.Second):
		t.Fatal("the blocked node was not told")
	}
	require.False(t, victim.Joined())
	checkFor(t, 5*time.Second, func() error { return sameMembers(nodes[:2], 2) })
	checkFor(t, 5*time.Second, func() error {
		for _, m := range victim.Members() {
			if m.ID == victim.ID() {
				return fmt.Errorf("the excluded node still counts itself")
			}
		}
		return nil
	})
	// What still reaches the excluded node is routed to the real owners.
	owner, _ := add(t, victim, "after-exclusion")
	again, _ := add(t, nodes[0], "after-exclusion")
	require.Equal(t, again, owner)
	require.NotEqual(t, victim.Address(), owner)
}

func TestClientCallsGrainsWithoutHostingThem(t *testing.T) {
	members := startCluster(t, 2)
	cfg := testConfig(t, members[0].GossipAddr())
	cfg.Client = true
	client := startNode(t, cfg)
	checkFor(t, 10*time.Second, func() error {
		if !client.Joined() {
			return fmt.Errorf("client not ready")
		}
		if got := len(client.Members()); got != 2 {
			return fmt.Errorf("client sees %d members", got)
		}
		return sameMembers(members, 2)
	})
	for i := range 10 {
		owner, count := add(t, client, fmt.Sprintf("from-client-%d", i))
		require.NotEqual(t, client.Address(), owner)
		require.EqualValues(t, 1, count)
		again, count := add(t, members[1], fmt.Sprintf("from-client-%d", i))
		require.Equal(t, owner, again)
		require.EqualValues(t, 2, count)
	}
}

// TestSeedListIncludingItself: one seed list for every node of a deployment
// names each node too; a node must not count joining itself as joined, or
// nodes started together would each form a cluster of one.
func TestSeedListIncludingItself(t *testing.T) {
	first := startNode(t, testConfig(t))
	self := testConfig(t)
	self.BindAddr = "127.0.0.1:" + strconv.Itoa(freeTestPort(t))
	self.Seeds = []string{self.BindAddr, first.GossipAddr()}
	second := startNode(t, self)
	checkFor(t, 10*time.Second, func() error { return sameMembers([]*Node{first, second}, 2) })

	// Alone with only itself as a seed, a node starts the cluster.
	alone := testConfig(t)
	alone.BindAddr = "127.0.0.1:" + strconv.Itoa(freeTestPort(t))
	alone.Seeds = []string{alone.BindAddr}
	lonely := startNode(t, alone)
	checkFor(t, 5*time.Second, func() error { return sameMembers([]*Node{lonely}, 1) })
}

func freeTestPort(t *testing.T) int {
	t.Helper()
	port, err := freePort("127.0.0.1")
	require.NoError(t, err)
	return port
}

func TestEncryptedGossip(t *testing.T) {
	secret := func(s string) func(*Config) { return func(c *Config) { c.Secret = s } }
	with := func(cfg Config, opts ...func(*Config)) Config {
		for _, o := range opts {
			o(&cfg)
		}
		return cfg
	}
	a := startNode(t, with(testConfig(t), secret("s3cret")))
	b := startNode(t, with(testConfig(t, a.GossipAddr()), secret("s3cret")))
	checkFor(t, 10*time.Second, func() error { return sameMembers([]*Node{a, b}, 2) })

	// A node with the wrong key cannot join, so it never becomes ready.
	intruder := startNode(t, with(testConfig(t, a.GossipAddr()), secret("wrong")))
	plain := startNode(t, testConfig(t, a.GossipAddr()))
	staysFor(t, 1500*time.Millisecond, func() error {
		if intruder.Joined() || plain.Joined() {
			return fmt.Errorf("a node without the right key joined")
		}
		if got := len(a.Members()); got != 2 {
			return fmt.Errorf("the keyed cluster has %d members", got)
		}
		return nil
	})
}

func TestStartRejectsBadConfig(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, err := Start(ctx, Config{BindAddr: "127.0.0.1:notaport", Logger: testLogger(t)})
	require.Error(t, err)
	_, err = Start(ctx, Config{RemotePort: 70000, Logger: testLogger(t)})
	require.ErrorContains(t, err, "range")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Start(cancelled, Config{Logger: testLogger(t)})
	require.ErrorIs(t, err, context.Canceled)
}

func TestFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"CRM_CLUSTER_BIND":        "0.0.0.0:7946",
		"CRM_CLUSTER_ADVERTISE":   "10.0.0.5",
		"CRM_CLUSTER_SEEDS":       "crm-1:7946, crm-2 ,",
		"CRM_CLUSTER_SECRET":      "k",
		"CRM_CLUSTER_REMOTE_PORT": "8090",
	}
	cfg, err := FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.Equal(t, []string{"crm-1:7946", "crm-2"}, cfg.Seeds)
	require.Equal(t, 8090, cfg.RemotePort)

	r, err := cfg.resolve()
	require.NoError(t, err)
	require.Equal(t, []string{"crm-1:7946", "crm-2:7946"}, r.Seeds)
	require.Equal(t, "0.0.0.0", r.RemoteHost, "remoting listens where gossip does")
	require.Equal(t, "10.0.0.5", r.RemoteAdvertiseHost)
	require.Equal(t, "10.0.0.5", r.advertiseHost)
	require.Equal(t, 7946, r.advertisePort)

	empty, err := FromEnv(func(string) string { return "" })
	require.NoError(t, err)
	r, err = empty.resolve()
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1", r.bindHost)
	require.Equal(t, 0, r.bindPort)
	require.Equal(t, "127.0.0.1", r.RemoteHost)

	// Listening everywhere without an advertise address: advertise the
	// private IP (or say what to set when there is none).
	wildcard, err := Config{BindAddr: "0.0.0.0:7946"}.resolve()
	if err != nil {
		require.ErrorContains(t, err, "CRM_CLUSTER_ADVERTISE")
	} else {
		require.Equal(t, "0.0.0.0", wildcard.RemoteHost)
		require.False(t, net.ParseIP(wildcard.RemoteAdvertiseHost).IsUnspecified(), wildcard.RemoteAdvertiseHost)
	}

	_, err = FromEnv(func(k string) string {
		if k == "CRM_CLUSTER_REMOTE_PORT" {
			return "x"
		}
		return ""
	})
	require.Error(t, err)
}

// silentGrain never answers: a request to it waits for its timeout.
type silentGrain struct{}

func (silentGrain) Receive(actor.Context) {}

// TestAttemptGivesUpWhenMembersLeave: a request waiting on a grain is
// abandoned as soon as a topology says members left (its owner may be one
// of them) instead of waiting out its timeout, so the retry reaches the new
// owner without the dead one's delay.
func TestAttemptGivesUpWhenMembersLeave(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	n, err := Start(ctx, Config{Logger: testLogger(t)},
		NewKind("silent", actor.PropsFromProducer(func() actor.Actor { return silentGrain{} })))
	require.NoError(t, err)
	defer n.Shutdown(false)
	checkFor(t, 5*time.Second, func() error { return sameMembers([]*Node{n}, 1) })

	started := time.Now()
	errs := make(chan error, 1)
	go func() {
		_, err := n.attempt("x", "silent", wrapperspb.Int64(1), 10*time.Second)
		errs <- err
	}()
	time.Sleep(300 * time.Millisecond)
	n.onTopology(&pcluster.ClusterTopology{Members: n.cluster.MemberList.Members().Members(),
		Left: []*pcluster.Member{{Id: "gone", Host: "127.0.0.1", Port: 1}}})
	select {
	case err := <-errs:
		require.ErrorContains(t, err, "left the cluster")
		require.Less(t, time.Since(started), 2*time.Second)
	case <-time.After(5 * time.Second):
		t.Fatal("the attempt waited out its timeout after a member left")
	}
	require.True(t, n.Joined(), "this node is still in the topology")
}
