package realtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"github.com/gobwas/ws"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
	crmpb "crm/proto"
)

// memConn is a net.Conn that records what the session writes. With stall set,
// writes block until the connection is closed, like a peer that reads nothing.
type memConn struct {
	mu       sync.Mutex
	buf      bytes.Buffer
	stall    bool
	deadline time.Time
	closed   chan struct{}
	once     sync.Once
}

func newMemConn(stall bool) *memConn { return &memConn{stall: stall, closed: make(chan struct{})} }

func (c *memConn) Write(p []byte) (int, error) {
	if c.stall {
		c.mu.Lock()
		deadline := c.deadline
		c.mu.Unlock()
		var timeout <-chan time.Time
		if !deadline.IsZero() {
			timeout = time.After(time.Until(deadline))
		}
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		case <-timeout:
			return 0, os.ErrDeadlineExceeded
		}
	}
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *memConn) Read([]byte) (int, error) { <-c.closed; return 0, io.EOF }
func (c *memConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}
func (c *memConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}
func (c *memConn) LocalAddr() net.Addr             { return &net.TCPAddr{} }
func (c *memConn) RemoteAddr() net.Addr            { return &net.TCPAddr{} }
func (c *memConn) SetDeadline(time.Time) error     { return nil }
func (c *memConn) SetReadDeadline(time.Time) error { return nil }
func (c *memConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

// wireFrame is a decoded server frame.
type wireFrame struct {
	Type string          `json:"type"`
	Seq  int64           `json:"seq"`
	Data json.RawMessage `json:"data"`
	op   ws.OpCode
}

// frames decodes everything written so far.
func (c *memConn) frames(t testing.TB) []wireFrame {
	t.Helper()
	c.mu.Lock()
	raw := bytes.Clone(c.buf.Bytes())
	c.mu.Unlock()
	var out []wireFrame
	r := bytes.NewReader(raw)
	for r.Len() > 0 {
		f, err := ws.ReadFrame(r)
		require.NoError(t, err)
		w := wireFrame{op: f.Header.OpCode}
		if f.Header.OpCode == ws.OpText {
			require.NoError(t, json.Unmarshal(f.Payload, &w), "frame %s", f.Payload)
		}
		out = append(out, w)
	}
	return out
}

func seqsOf(frames []wireFrame) []int64 {
	var out []int64
	for _, f := range frames {
		if f.Seq > 0 {
			out = append(out, f.Seq)
		}
	}
	return out
}

func eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %v", timeout, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testGateway(t testing.TB, mutate ...func(*GatewayConfig)) *Gateway {
	cfg := GatewayConfig{QueueSize: 16, SweepInterval: 20 * time.Millisecond, WriteTimeout: time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	return NewGateway(cfg)
}

func principal(tenant uuid.UUID, role crm.Role) crm.Principal {
	return crm.Principal{UserID: crm.NewID(), TenantID: tenant, Role: role}
}

func newTestSession(t testing.TB, g *Gateway, p crm.Principal, teams []uuid.UUID, stall bool) (*Session, *memConn) {
	conn := newMemConn(stall)
	s := g.NewSession(SessionConfig{Conn: conn, Principal: p, Visibility: crm.VisibilityFor(p, teams)})
	t.Cleanup(s.Shutdown)
	return s, conn
}

func event(tenant uuid.UUID, seq int64, conversation, assignee, team *uuid.UUID) *crmpb.TenantEvent {
	e := &crmpb.TenantEvent{TenantId: tenant.String(), Seq: seq, Type: "message.created",
		PayloadJson: []byte(fmt.Sprintf(`{"n":%d}`, seq))}
	if conversation != nil {
		e.ConversationId = conversation.String()
	}
	if assignee != nil {
		e.AssigneeId = assignee.String()
	}
	if team != nil {
		e.TeamId = team.String()
	}
	return e
}

func TestGatewayRoutesByTenantAndVisibility(t *testing.T) {
	t.Parallel()
	g := testGateway(t)
	tenant, other := crm.NewID(), crm.NewID()
	team := crm.NewID()
	admin, adminConn := newTestSession(t, g, principal(tenant, crm.RoleTenantAdmin), nil, false)
	agentP := principal(tenant, crm.RoleAgent)
	_, agentConn := newTestSession(t, g, agentP, nil, false)
	_, teamAgentConn := newTestSession(t, g, principal(tenant, crm.RoleAgent), []uuid.UUID{team}, false)
	_, foreignConn := newTestSession(t, g, principal(other, crm.RoleTenantAdmin), nil, false)
	require.Equal(t, 4, g.Sessions())

	conv := crm.NewID()
	g.Publish(event(tenant, 1, &conv, &agentP.UserID, nil)) // the agent's own
	g.Publish(event(tenant, 2, &conv, nil, &team))          // the team's unassigned
	someone := crm.NewID()
	g.Publish(event(tenant, 3, &conv, &someone, nil)) // someone else's
	g.Publish(event(tenant, 4, nil, nil, nil))        // tenant-wide
	g.Publish(event(tenant, 5, &conv, nil, nil))      // the unassigned queue
	// A barrier for the other tenant's session: its own tenant-wide event,
	// published last. A session's frames are written in order, so once it has
	// this one, anything of tenant's routed to it would be there too.
	marker := event(other, 1, nil, nil, nil)
	marker.Type = "test.marker"
	g.Publish(marker)

	eventually(t, 2*time.Second, func() error {
		if got := seqsOf(adminConn.frames(t)); len(got) != 5 {
			return fmt.Errorf("admin got %v", got)
		}
		return nil
	})
	require.Equal(t, []int64{1, 2, 3, 4, 5}, seqsOf(adminConn.frames(t)))
	eventually(t, time.Second, func() error {
		if got := seqsOf(agentConn.frames(t)); !equalSeqs(got, []int64{1, 4, 5}) {
			return fmt.Errorf("agent got %v", got)
		}
		if got := seqsOf(teamAgentConn.frames(t)); !equalSeqs(got, []int64{2, 4, 5}) {
			return fmt.Errorf("team agent got %v", got)
		}
		return nil
	})
	eventually(t, 2*time.Second, func() error {
		if got := foreignConn.frames(t); len(got) == 0 || got[len(got)-1].Type != "test.marker" {
			return fmt.Errorf("the other tenant's session has not had its marker yet: %v", got)
		}
		return nil
	})
	foreign := foreignConn.frames(t)
	require.Len(t, foreign, 1, "the other tenant's session gets only its own marker: %v", foreign)
	require.Equal(t, "test.marker", foreign[0].Type)

	f := adminConn.frames(t)[0]
	require.Equal(t, "message.created", f.Type)
	require.JSONEq(t, `{"n":1}`, string(f.Data))

	admin.Shutdown()
	require.Equal(t, 3, g.Sessions())
	require.True(t, adminConn.isClosed())
}

func equalSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGatewayOrdersRacingEventsAndDropsDuplicates(t *testing.T) {
	t.Parallel()
	g := testGateway(t, func(c *GatewayConfig) { c.ReorderWindow = time.Hour })
	tenant := crm.NewID()
	_, conn := newTestSession(t, g, principal(tenant, crm.RoleTenantAdmin), nil, false)
	// 4 arrives before 3 (two grains racing); 2, 3 and 1 are published twice.
	for _, seq := range []int64{1, 2, 2, 4, 3, 3, 1, 5} {
		g.Publish(event(tenant, seq, nil, nil, nil))
	}
	eventually(t, time.Second, func() error {
		if got := seqsOf(conn.frames(t)); !equalSeqs(got, []int64{1, 2, 3, 4, 5}) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
}

func TestGatewayGivesUpOnAGapThenSendsTheStraggler(t *testing.T) {
	t.Parallel()
	g := testGateway(t, func(c *GatewayConfig) { c.ReorderWindow = 30 * time.Millisecond })
	tenant := crm.NewID()
	_, conn := newTestSession(t, g, principal(tenant, crm.RoleTenantAdmin), nil, false)
	g.Publish(event(tenant, 1, nil, nil, nil))
	g.Publish(event(tenant, 3, nil, nil, nil)) // 2 is missing: 3 is held
	g.Publish(event(tenant, 4, nil, nil, nil))
	time.Sleep(5 * time.Millisecond)
	require.Equal(t, []int64{1}, seqsOf(conn.frames(t)))
	eventually(t, time.Second, func() error { // the window passes: 3 and 4 go out
		if got := seqsOf(conn.frames(t)); !equalSeqs(got, []int64{1, 3, 4}) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
	// 2 finally arrives: it is below what the session has, but never sent, so
	// it goes out (flagged late) rather than being lost.
	g.Publish(event(tenant, 2, nil, nil, nil))
	g.Publish(event(tenant, 2, nil, nil, nil))
	g.Publish(event(tenant, 5, nil, nil, nil))
	eventually(t, time.Second, func() error {
		if got := seqsOf(conn.frames(t)); !equalSeqs(got, []int64{1, 3, 4, 2, 5}) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
}

func TestGatewayActorTakesProtoEvents(t *testing.T) {
	t.Parallel()
	g := testGateway(t)
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	_, err := g.Spawn(system)
	require.NoError(t, err)
	tenant := crm.NewID()
	_, conn := newTestSession(t, g, principal(tenant, crm.RoleSupervisor), nil, false)

	// What a conversation grain on any member does: send to the well-known name.
	PublishToMembers(system.Root, []string{system.Address()}, event(tenant, 7, nil, nil, nil))
	system.Root.Send(GatewayPID(system.Address()), &crmpb.TenantEvents{Events: []*crmpb.TenantEvent{
		event(tenant, 8, nil, nil, nil), event(tenant, 9, nil, nil, nil)}})
	eventually(t, 2*time.Second, func() error {
		if got := seqsOf(conn.frames(t)); !equalSeqs(got, []int64{7, 8, 9}) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
}

// The remotes start one after another and the test is not parallel:
// protoactor's remote.Start sets gRPC's global logger, which a running
// remote's server reads (a race inside protoactor, so -race skips it).
func TestGatewayReceivesEventsFromAnotherNode(t *testing.T) {
	if raceEnabled() {
		t.Skip("protoactor's remote.Start races on gRPC's global logger")
	}
	startNode := func() *actor.ActorSystem {
		system := actor.NewActorSystem()
		r := remote.NewRemote(system, remote.Configure("127.0.0.1", 0))
		r.Start()
		t.Cleanup(func() { r.Shutdown(true); system.Shutdown() })
		return system
	}
	sender, receiver := startNode(), startNode()
	g := testGateway(t)
	_, err := g.Spawn(receiver)
	require.NoError(t, err)
	tenant := crm.NewID()
	_, conn := newTestSession(t, g, principal(tenant, crm.RoleTenantAdmin), nil, false)

	// A grain on the sending node publishes to every member's gateway.
	PublishToMembers(sender.Root, []string{receiver.Address()}, event(tenant, 1, nil, nil, nil))
	sender.Root.Send(GatewayPID(receiver.Address()), &crmpb.TenantEvents{Events: []*crmpb.TenantEvent{
		event(tenant, 2, nil, nil, nil), event(tenant, 3, nil, nil, nil)}})
	eventually(t, 5*time.Second, func() error {
		if got := seqsOf(conn.frames(t)); !equalSeqs(got, []int64{1, 2, 3}) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
}

func TestSessionOverflowDropsAndAsksForResync(t *testing.T) {
	t.Parallel()
	g := testGateway(t, func(c *GatewayConfig) { c.QueueSize = 8; c.WriteTimeout = 200 * time.Millisecond })
	tenant := crm.NewID()
	stalled, stalledConn := newTestSession(t, g, principal(tenant, crm.RoleTenantAdmin), nil, true)
	_, healthyConn := newTestSession(t, g, principal(tenant, crm.RoleTenantAdmin), nil, false)

	start := time.Now()
	for seq := int64(1); seq <= 200; seq++ {
		g.Publish(event(tenant, seq, nil, nil, nil))
		if seq%4 == 0 {
			time.Sleep(time.Millisecond) // let the healthy writer run; the stalled one never does
		}
	}
	require.Less(t, time.Since(start), 2*time.Second, "publishing must not wait for the stalled socket")
	require.True(t, stalled.Overflowed())
	require.GreaterOrEqual(t, g.Stats().Overflows, uint64(1))

	eventually(t, 3*time.Second, func() error {
		got := seqsOf(healthyConn.frames(t))
		if len(got) != 200 {
			return fmt.Errorf("healthy console has %d events", len(got))
		}
		return nil
	})
	// The stalled socket's writer hits its write deadline and the session ends.
	eventually(t, 3*time.Second, func() error {
		if !stalled.Finished() {
			return errors.New("stalled session still open")
		}
		return nil
	})
	require.True(t, stalledConn.isClosed())
}

func TestSessionOverflowResyncFrame(t *testing.T) {
	t.Parallel()
	g := testGateway(t, func(c *GatewayConfig) { c.QueueSize = 4 })
	tenant := crm.NewID()
	conn := newMemConn(false)
	p := principal(tenant, crm.RoleTenantAdmin)
	s := &Session{gw: g, conn: conn, principal: p, tenantID: tenant, vis: crm.VisibilityFor(p, nil)}
	// Hold the writer so the queue fills: pretend one is running.
	s.writing = true
	for seq := int64(1); seq <= 10; seq++ {
		s.deliver(OutFrame{Seq: seq, Wire: EncodeEventFrame("message.created", seq, nil)})
	}
	require.True(t, s.Overflowed())
	s.mu.Lock()
	s.writing = false
	s.kickLocked()
	s.mu.Unlock()
	eventually(t, time.Second, func() error {
		if len(conn.frames(t)) != 5 {
			return fmt.Errorf("%d frames", len(conn.frames(t)))
		}
		return nil
	})
	frames := conn.frames(t)
	require.Equal(t, []int64{1, 2, 3, 4}, seqsOf(frames))
	require.Equal(t, "resync_required", frames[4].Type)
	require.JSONEq(t, `{"reason":"slow_consumer","since":4}`, string(frames[4].Data))
	s.Shutdown()
}

// memEvents is an in-memory tenant event log with the store's semantics
// (visibility filter, last seq examined), for the session's pure sequencing
// logic. The PostgreSQL path is exercised end to end in httpapi's socket tests.
type memEvents struct {
	mu     sync.Mutex
	events []crm.TenantEvent
	onPage func()
}

func (m *memEvents) add(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := 0; i < n; i++ {
		seq := int64(len(m.events) + 1)
		m.events = append(m.events, crm.TenantEvent{Seq: seq, Type: "message.created",
			Payload: json.RawMessage(fmt.Sprintf(`{"n":%d}`, seq))})
	}
}

func (m *memEvents) TenantEventsSince(_ context.Context, _ uuid.UUID, since int64, limit int, v crm.Visibility) ([]crm.TenantEvent, int64, error) {
	if m.onPage != nil {
		m.onPage()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []crm.TenantEvent
	last := since
	for _, e := range m.events {
		if e.Seq <= since || len(out) >= limit {
			continue
		}
		last = e.Seq
		if e.ConversationID == nil || v.Sees(e.AssigneeID, e.TeamID) {
			out = append(out, e)
		}
	}
	return out, last, nil
}

func (m *memEvents) OldestTenantEventSeq(context.Context, uuid.UUID) (int64, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) == 0 {
		return 0, 0, nil
	}
	return m.events[0].Seq, m.events[len(m.events)-1].Seq, nil
}

func TestSessionResumeReplaysThenGoesLiveWithoutDuplicates(t *testing.T) {
	t.Parallel()
	g := testGateway(t, func(c *GatewayConfig) { c.QueueSize = 8 })
	tenant := crm.NewID()
	s, conn := newTestSession(t, g, principal(tenant, crm.RoleTenantAdmin), nil, false)
	log := &memEvents{}
	log.add(30)
	// Live events 29 and 30 reached this connection before the client resumed.
	g.Publish(EventToProto(tenant, log.events[28]))
	g.Publish(EventToProto(tenant, log.events[29]))
	// While the replay pages, live events 31..35 arrive (some twice, one out of order).
	var once sync.Once
	log.onPage = func() {
		once.Do(func() {
			log.add(5)
			for _, seq := range []int{31, 33, 32, 34, 33, 35} {
				g.Publish(EventToProto(tenant, log.events[seq-1]))
			}
		})
	}
	require.NoError(t, s.Resume(context.Background(), log, 10))
	g.Publish(EventToProto(tenant, log.events[34])) // a retry of 35 after the replay
	log.add(1)
	g.Publish(EventToProto(tenant, log.events[35]))

	var want []int64
	want = append(want, 29, 30)
	for seq := int64(11); seq <= 28; seq++ {
		want = append(want, seq)
	}
	for seq := int64(31); seq <= 36; seq++ {
		want = append(want, seq)
	}
	eventually(t, 2*time.Second, func() error {
		if got := seqsOf(conn.frames(t)); !equalSeqs(got, want) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
	got := seqsOf(conn.frames(t))
	sorted := append([]int64(nil), got...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	for i := 1; i < len(sorted); i++ {
		require.NotEqual(t, sorted[i-1], sorted[i], "seq %d sent twice", sorted[i])
	}
}

func TestSessionResumeTooOldOrFuture(t *testing.T) {
	t.Parallel()
	g := testGateway(t)
	tenant := crm.NewID()
	s, _ := newTestSession(t, g, principal(tenant, crm.RoleTenantAdmin), nil, false)
	log := &memEvents{}
	log.add(10)
	log.events = log.events[5:] // 1..5 pruned
	require.ErrorIs(t, s.Resume(context.Background(), log, 3), ErrResumeTooOld)
	require.ErrorIs(t, s.Resume(context.Background(), log, 11), ErrResumeTooOld)
	require.NoError(t, s.Resume(context.Background(), log, 5))
	require.Equal(t, int64(10), s.LastSeq())
}

func TestSessionSweeperPingsExpiresAndClosesIdle(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	g := testGateway(t, func(c *GatewayConfig) {
		c.Now = clock
		c.PingInterval = 25 * time.Second
		c.IdleTimeout = 60 * time.Second
	})
	tenant := crm.NewID()
	expiring := newMemConn(false)
	es := g.NewSession(SessionConfig{Conn: expiring, Principal: principal(tenant, crm.RoleAgent), ExpiresAt: now.Add(40 * time.Second)})
	t.Cleanup(es.Shutdown)
	idle, idleConn := newTestSession(t, g, principal(tenant, crm.RoleAgent), nil, false)

	advance(30 * time.Second)
	eventually(t, time.Second, func() error {
		for _, f := range idleConn.frames(t) {
			if f.op == ws.OpPing {
				return nil
			}
		}
		return errors.New("no ping yet")
	})
	advance(15 * time.Second) // the token expired at +40s
	eventually(t, time.Second, func() error {
		if !es.Finished() {
			return errors.New("expired session still open")
		}
		return nil
	})
	frames := expiring.frames(t)
	last := frames[len(frames)-1]
	require.Equal(t, ws.OpClose, last.op)
	expiring.mu.Lock()
	raw := expiring.buf.Bytes()
	closeFrame, err := ws.ReadFrame(bytes.NewReader(raw[len(raw)-len("token expired")-4:]))
	expiring.mu.Unlock()
	require.NoError(t, err)
	code, reason := ws.ParseCloseFrameData(closeFrame.Payload)
	require.Equal(t, CloseTokenExpired, code)
	require.Equal(t, "token expired", reason)

	require.False(t, idle.Finished())
	advance(30 * time.Second) // 75 s without a read
	eventually(t, time.Second, func() error {
		if !idle.Finished() {
			return errors.New("idle session still open")
		}
		return nil
	})
	require.Equal(t, 0, g.Sessions())
}

func TestGatewayShutdownClosesSessionsAndRefreshesTeams(t *testing.T) {
	t.Parallel()
	g := testGateway(t)
	tenant := crm.NewID()
	team := crm.NewID()
	p := principal(tenant, crm.RoleAgent)
	s, conn := newTestSession(t, g, p, nil, false)
	_, otherConn := newTestSession(t, g, principal(tenant, crm.RoleAgent), nil, false)
	conv := crm.NewID()
	g.Publish(event(tenant, 1, &conv, nil, &team)) // not in the team yet
	g.SetUserVisibility(tenant, p.UserID, []uuid.UUID{team})
	require.True(t, s.Visibility().Sees(nil, &team))
	g.Publish(event(tenant, 2, &conv, nil, &team))
	eventually(t, time.Second, func() error {
		if got := seqsOf(conn.frames(t)); !equalSeqs(got, []int64{2}) {
			return fmt.Errorf("got %v", got)
		}
		return nil
	})
	require.Empty(t, seqsOf(otherConn.frames(t)))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(t, g.Shutdown(ctx))
	require.Equal(t, 0, g.Sessions())
	frames := conn.frames(t)
	require.Equal(t, ws.OpClose, frames[len(frames)-1].op)
	require.True(t, otherConn.isClosed())
}

func TestEncodeEventFrame(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 10, 125, 126, 1000, 70000} {
		data := []byte(`{"text":"` + string(bytes.Repeat([]byte("x"), size)) + `"}`)
		wire := EncodeEventFrame(`odd"type`, 42, data)
		f, err := ws.ReadFrame(bytes.NewReader(wire))
		require.NoError(t, err)
		require.True(t, f.Header.Fin)
		require.Equal(t, ws.OpText, f.Header.OpCode)
		var got wireFrame
		require.NoError(t, json.Unmarshal(f.Payload, &got))
		require.Equal(t, `odd"type`, got.Type)
		require.Equal(t, int64(42), got.Seq)
		require.JSONEq(t, string(data), string(got.Data))
	}
}

// BenchmarkGatewayFanOut publishes one event to N sessions of a tenant: the
// visibility check, the single encoding and the hand-over to each session's
// queue (starting its writer). The writes themselves are left out of the
// timing: the benchmark waits, untimed, for every session to drain before the
// next event, so every op sees queues with room, as in steady state.
func BenchmarkGatewayFanOut(b *testing.B) {
	benchmarkFanOut(b, false)
}

// BenchmarkGatewayDeliverAll is the time from publishing one event to its
// frame being written to all N sockets (here sockets that take every write).
func BenchmarkGatewayDeliverAll(b *testing.B) {
	benchmarkFanOut(b, true)
}

func benchmarkFanOut(b *testing.B, timeWrites bool) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			g := NewGateway(GatewayConfig{QueueSize: 256, SweepInterval: time.Hour})
			tenant := crm.NewID()
			team := crm.NewID()
			sessions := make([]*Session, n)
			for i := range sessions {
				role := crm.RoleAgent
				if i%10 == 0 {
					role = crm.RoleSupervisor
				}
				p := principal(tenant, role)
				sessions[i] = g.NewSession(SessionConfig{Conn: discardConn{}, Principal: p,
					Visibility: crm.VisibilityFor(p, []uuid.UUID{team})})
			}
			defer func() {
				for _, s := range sessions {
					s.Shutdown()
				}
			}()
			conv := crm.NewID()
			payload := []byte(`{"id":"0192f0a4-1111-7000-8000-000000000001","text":"Olá, tudo bem? Preciso de ajuda com o meu pedido."}`)
			drained := func(i int) {
				for g.Stats().FramesSent < uint64(n*(i+1)) {
					runtime.Gosched()
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				g.Publish(&crmpb.TenantEvent{TenantId: tenant.String(), Seq: int64(i + 1), Type: "message.created",
					ConversationId: conv.String(), TeamId: team.String(), PayloadJson: payload})
				if timeWrites {
					drained(i)
				} else {
					b.StopTimer()
					drained(i)
					b.StartTimer()
				}
			}
			b.StopTimer()
			if st := g.Stats(); st.Overflows != 0 {
				b.Fatalf("%d overflows", st.Overflows)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/session")
		})
	}
}

func raceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" && s.Value == "true" {
			return true
		}
	}
	return false
}

type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) Close() error                     { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
