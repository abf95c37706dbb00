package realtime

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gobwas/ws"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"crm"
	crmpb "crm/proto"
)

// GatewayName is the well-known local name of every node's gateway actor. A
// conversation grain on any member reaches it with
// actor.NewPID(memberAddress, GatewayName) (see GatewayPID).
const GatewayName = "gateway"

// GatewayConfig tunes the gateway and the sessions it hosts. Zero values take
// the defaults.
type GatewayConfig struct {
	Log *slog.Logger
	// Now is the clock for token expiry, idle and ping decisions; default time.Now.
	Now func() time.Time
	// QueueSize bounds each session's queue of live frames; default 256.
	QueueSize int
	// PingInterval is how often the server pings a socket; default 25s.
	PingInterval time.Duration
	// IdleTimeout closes a socket that sent nothing (not even a pong) for this
	// long; default 60s.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to a socket; a socket that cannot take a
	// batch within it is closed. Default 10s.
	WriteTimeout time.Duration
	// SweepInterval is how often the one sweeper checks every session for
	// pings, idleness and token expiry; default 5s.
	SweepInterval time.Duration
	// ReorderWindow is how long an event that arrives ahead of a missing
	// lower seq is held for the missing one (two grains publishing at once
	// race); after it the held events go out and a straggler is sent as
	// late. Default 25ms; negative sends everything as it arrives.
	ReorderWindow time.Duration
}

// Gateway is a node's router of live events to its local sessions (one per
// WebSocket). It keeps a tenant → sessions index, encodes each event once
// into a complete WebSocket frame and hands the same bytes to every session
// allowed to see it. Handing over never blocks: each session has a bounded
// queue and is told to resync when it overflows (DESIGN §5.6).
//
// Events arrive as *crmpb.TenantEvent (or *crmpb.TenantEvents) through the
// gateway actor, from any member, or through Publish on this node. It has to
// be a proto message and not a Go struct because protoactor's remote only
// carries proto messages between nodes.
type Gateway struct {
	cfg GatewayConfig
	log *slog.Logger

	mu       sync.RWMutex
	tenants  map[uuid.UUID]*tenantSessions
	count    int
	sweeping bool

	pid *actor.PID
	// router, when the node has one, announces the tenants this gateway
	// holds sessions of and takes the other members' announcements.
	router atomic.Pointer[Router]

	// queues recycles session queues: an idle session holds none, a busy
	// one borrows one per burst.
	queues sync.Pool

	sockets   atomic.Int64
	overflows atomic.Uint64
	sent      atomic.Uint64
	dropped   atomic.Uint64
	published atomic.Uint64
	resumes   atomic.Uint64

	descSockets, descOverflows, descSent, descDropped, descPublished, descResumes *prometheus.Desc
}

// tenantSessions is one tenant's sessions on this node and its live
// sequence: the window of seqs already seen (to drop duplicate publications,
// which grain retries produce), the next seq expected, and events held until
// the gap before them fills. Its mutex orders every delivery of the tenant,
// so all its sessions see the same order whoever publishes.
type tenantSessions struct {
	sessions map[*Session]struct{}

	mu     sync.Mutex
	maxSeq int64
	seen   [seenWindow / 64]uint64
	next   int64 // next seq in order; 0 until the first event
	held   []routedFrame
	timer  *time.Timer
}

// routedFrame is an encoded event with what visibility needs.
type routedFrame struct {
	frame          OutFrame
	conversation   bool
	assignee, team *uuid.UUID
}

// maxHeld bounds the events held for a gap; past it they go out.
const maxHeld = 512

const seenWindow = 1024

// NewGateway builds a gateway. Spawn it in the node's actor system so other
// members can reach it.
func NewGateway(cfg GatewayConfig) *Gateway {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 256
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 25 * time.Second
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 60 * time.Second
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 5 * time.Second
	}
	if cfg.ReorderWindow == 0 {
		cfg.ReorderWindow = 25 * time.Millisecond
	}
	return &Gateway{
		cfg:         cfg,
		log:         cfg.Log.With("component", "gateway"),
		tenants:     map[uuid.UUID]*tenantSessions{},
		descSockets: prometheus.NewDesc("crm_ws_sockets", "Open WebSocket sessions on this node.", nil, nil),
		descOverflows: prometheus.NewDesc("crm_ws_queue_overflows_total",
			"Sessions whose bounded queue overflowed and were told to resync.", nil, nil),
		descSent: prometheus.NewDesc("crm_ws_frames_sent_total", "WebSocket frames written to sockets.", nil, nil),
		descDropped: prometheus.NewDesc("crm_ws_frames_dropped_total",
			"Live frames dropped for sessions that had overflowed.", nil, nil),
		descPublished: prometheus.NewDesc("crm_ws_events_published_total", "Tenant events handed to the gateway.", nil, nil),
		descResumes:   prometheus.NewDesc("crm_ws_resumes_total", "Resume requests served.", nil, nil),
	}
}

const pooledQueueCap = 64

func (g *Gateway) getQueue() []OutFrame {
	if q, ok := g.queues.Get().(*[]OutFrame); ok {
		return (*q)[:0]
	}
	return make([]OutFrame, 0, 8)
}

func (g *Gateway) putQueue(q []OutFrame) {
	if cap(q) > pooledQueueCap {
		return
	}
	clear(q)
	q = q[:0]
	g.queues.Put(&q)
}

// Config returns the gateway's settings with defaults filled.
func (g *Gateway) Config() GatewayConfig { return g.cfg }

// Spawn starts the gateway actor under GatewayName in system. Call it once per
// node.
func (g *Gateway) Spawn(system *actor.ActorSystem) (*actor.PID, error) {
	props := actor.PropsFromFunc(g.receive)
	pid, err := system.Root.SpawnNamed(props, GatewayName)
	if err != nil {
		return nil, fmt.Errorf("spawning the gateway actor: %w", err)
	}
	g.pid = pid
	return pid, nil
}

// PID is the gateway actor's PID once spawned.
func (g *Gateway) PID() *actor.PID { return g.pid }

// receive is the actor's behaviour: fan-out never blocks (bounded queues), so
// it is done right in the mailbox's turn.
func (g *Gateway) receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *crmpb.TenantEvent:
		g.Publish(m)
	case *crmpb.TenantEvents:
		for _, e := range m.GetEvents() {
			g.Publish(e)
		}
	case *crmpb.GatewayTenants:
		if r := g.router.Load(); r != nil {
			r.receive(m)
		}
		if ctx.Sender() != nil {
			ctx.Respond(&crmpb.GatewayTenantsAck{})
		}
	}
}

// GatewayPID names the gateway of the member at address (host:port of its
// remote, as cluster.Member.Address gives it).
func GatewayPID(address string) *actor.PID { return actor.NewPID(address, GatewayName) }

// PublishToMembers sends the event to the gateway of every member (including
// this one): the fast path of live delivery. It is fire-and-forget; a member
// that misses it is covered by resume (DESIGN §5.4).
func PublishToMembers(sender actor.SenderContext, memberAddresses []string, e *crmpb.TenantEvent) {
	for _, address := range memberAddresses {
		sender.Send(GatewayPID(address), e)
	}
}

// EventToProto turns a stored tenant event into the envelope gateways take.
func EventToProto(tenantID uuid.UUID, e crm.TenantEvent) *crmpb.TenantEvent {
	out := &crmpb.TenantEvent{TenantId: tenantID.String(), Seq: e.Seq, Type: e.Type, PayloadJson: e.Payload,
		CreatedAtUnixMs: e.CreatedAt.UnixMilli()}
	if e.ConversationID != nil {
		out.ConversationId = e.ConversationID.String()
	}
	if e.AssigneeID != nil {
		out.AssigneeId = e.AssigneeID.String()
	}
	if e.TeamID != nil {
		out.TeamId = e.TeamID.String()
	}
	return out
}

// PublishStored is Publish for a stored event (same-node callers and tests).
func (g *Gateway) PublishStored(tenantID uuid.UUID, e crm.TenantEvent) {
	g.Publish(EventToProto(tenantID, e))
}

// Publish hands an event to this node's sessions of its tenant that may see
// it. Events without a conversation go to all of the tenant's sessions. It
// never blocks on a socket.
func (g *Gateway) Publish(e *crmpb.TenantEvent) {
	tenantID, err := uuid.Parse(e.GetTenantId())
	if err != nil {
		g.log.Warn("dropping a live event without a valid tenant", "tenant_id", e.GetTenantId(), "type", e.GetType())
		return
	}
	g.published.Add(1)
	g.mu.RLock()
	defer g.mu.RUnlock()
	ts := g.tenants[tenantID]
	if ts == nil || len(ts.sessions) == 0 {
		return
	}
	ev := routedFrame{frame: OutFrame{Seq: e.GetSeq()}}
	if e.GetConversationId() != "" {
		ev.conversation = true
		ev.assignee = parseOptionalID(e.GetAssigneeId())
		ev.team = parseOptionalID(e.GetTeamId())
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	seq := e.GetSeq()
	if seq > 0 && ts.duplicate(seq) {
		return
	}
	ev.frame.Wire = EncodeEventFrame(e.GetType(), seq, e.GetPayloadJson())
	switch {
	case seq <= 0:
		ts.deliver(ev)
	case ts.next == 0 || seq == ts.next || (seq > ts.next && g.cfg.ReorderWindow < 0):
		ts.deliver(ev)
		if seq >= ts.next {
			ts.next = seq + 1
		}
		ts.drainHeld()
	case seq > ts.next:
		i, _ := slices.BinarySearchFunc(ts.held, seq, func(h routedFrame, seq int64) int { return cmp.Compare(h.frame.Seq, seq) })
		ts.held = slices.Insert(ts.held, i, ev)
		switch {
		case len(ts.held) > maxHeld:
			ts.flushHeld()
		case ts.timer == nil:
			ts.timer = time.AfterFunc(g.cfg.ReorderWindow, func() { g.gapExpired(tenantID, ts) })
		}
	default: // below next: a straggler after its gap was given up
		ev.frame.Late = true
		ts.deliver(ev)
	}
}

// gapExpired gives up waiting for a missing seq: the held events go out.
func (g *Gateway) gapExpired(tenantID uuid.UUID, ts *tenantSessions) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.tenants[tenantID] != ts {
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	ts.timer = nil
	ts.flushHeld()
}

// deliver hands one event to every session that may see it.
func (t *tenantSessions) deliver(ev routedFrame) {
	for s := range t.sessions {
		if ev.conversation {
			s.deliverIfSees(ev.frame, ev.assignee, ev.team)
		} else {
			s.deliver(ev.frame)
		}
	}
}

// drainHeld sends the held events that are now in order.
func (t *tenantSessions) drainHeld() {
	for len(t.held) > 0 && t.held[0].frame.Seq <= t.next {
		ev := t.held[0]
		t.held = t.held[1:]
		t.deliver(ev)
		if ev.frame.Seq >= t.next {
			t.next = ev.frame.Seq + 1
		}
	}
	if len(t.held) == 0 {
		t.held = nil
		if t.timer != nil {
			t.timer.Stop()
			t.timer = nil
		}
	}
}

// flushHeld sends every held event in order, skipping the gaps.
func (t *tenantSessions) flushHeld() {
	for _, ev := range t.held {
		t.deliver(ev)
		t.next = ev.frame.Seq + 1
	}
	t.held = nil
	if t.timer != nil {
		t.timer.Stop()
		t.timer = nil
	}
}

// Broadcast writes a frame without a sequence (presence, typing) to every
// session of the tenant on this node, except the one given (may be nil).
func (g *Gateway) Broadcast(tenantID uuid.UUID, wire []byte, except *Session) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ts := g.tenants[tenantID]
	if ts == nil {
		return
	}
	frame := OutFrame{Wire: wire}
	for s := range ts.sessions {
		if s != except {
			s.deliver(frame)
		}
	}
}

// SetUserVisibility replaces the teams of a user's sessions on this node
// (their team membership changed), so live filtering follows at once.
func (g *Gateway) SetUserVisibility(tenantID, userID uuid.UUID, teamIDs []uuid.UUID) {
	for _, s := range g.TenantSessions(tenantID) {
		if p := s.Principal(); p.UserID == userID {
			s.SetVisibility(crm.VisibilityFor(p, teamIDs))
		}
	}
}

// Shutdown closes every session with 1001 (going away), so consoles
// reconnect, to another node if this one is leaving, and resume; it waits
// until they are gone or ctx ends. Safe to call more than once.
func (g *Gateway) Shutdown(ctx context.Context) error {
	g.mu.RLock()
	var all []*Session
	for _, ts := range g.tenants {
		for s := range ts.sessions {
			all = append(all, s)
		}
	}
	g.mu.RUnlock()
	for _, s := range all {
		s.Close(ws.StatusGoingAway, "server shutting down")
	}
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	for g.Sessions() > 0 {
		select {
		case <-ctx.Done():
			for _, s := range all {
				s.Shutdown()
			}
			return ctx.Err()
		case <-ticker.C:
		}
	}
	return nil
}

// Sessions is the number of open sessions on this node.
func (g *Gateway) Sessions() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.count
}

// holds reports whether the tenant has sessions on this node.
func (g *Gateway) holds(tenantID uuid.UUID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return g.tenants[tenantID] != nil
}

// TenantSessions lists the tenant's sessions on this node (a copy).
func (g *Gateway) TenantSessions(tenantID uuid.UUID) []*Session {
	g.mu.RLock()
	defer g.mu.RUnlock()
	ts := g.tenants[tenantID]
	if ts == nil {
		return nil
	}
	out := make([]*Session, 0, len(ts.sessions))
	for s := range ts.sessions {
		out = append(out, s)
	}
	return out
}

func parseOptionalID(s string) *uuid.UUID {
	if s == "" {
		return nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return nil
	}
	return &id
}

// duplicate records seq in the tenant's window and reports whether it was
// already published (or is too old to tell, which only a retry produces).
func (t *tenantSessions) duplicate(seq int64) bool {
	switch {
	case t.maxSeq == 0:
		t.maxSeq = seq
	case seq > t.maxSeq:
		if seq-t.maxSeq >= seenWindow {
			t.seen = [seenWindow / 64]uint64{}
		} else {
			for s := t.maxSeq + 1; s < seq; s++ {
				t.clearBit(s)
			}
		}
		t.maxSeq = seq
	case t.maxSeq-seq >= seenWindow, t.bit(seq):
		return true
	}
	t.setBit(seq)
	return false
}

func (t *tenantSessions) bit(seq int64) bool {
	i := uint64(seq) % seenWindow
	return t.seen[i/64]&(1<<(i%64)) != 0
}

func (t *tenantSessions) setBit(seq int64) {
	i := uint64(seq) % seenWindow
	t.seen[i/64] |= 1 << (i % 64)
}

func (t *tenantSessions) clearBit(seq int64) {
	i := uint64(seq) % seenWindow
	t.seen[i/64] &^= 1 << (i % 64)
}

// register adds a session to the index and makes sure the sweeper runs.
func (g *Gateway) register(s *Session) {
	g.mu.Lock()
	ts := g.tenants[s.tenantID]
	if ts == nil {
		ts = &tenantSessions{sessions: map[*Session]struct{}{}}
		g.tenants[s.tenantID] = ts
	}
	ts.sessions[s] = struct{}{}
	g.count++
	startSweeper := !g.sweeping
	g.sweeping = true
	g.mu.Unlock()
	g.sockets.Add(1)
	if startSweeper {
		go g.sweep()
	}
}

func (g *Gateway) unregister(s *Session) {
	g.mu.Lock()
	defer g.mu.Unlock()
	ts := g.tenants[s.tenantID]
	if ts == nil {
		return
	}
	if _, ok := ts.sessions[s]; !ok {
		return
	}
	delete(ts.sessions, s)
	g.count--
	g.sockets.Add(-1)
	if len(ts.sessions) == 0 {
		delete(g.tenants, s.tenantID)
		ts.mu.Lock()
		if ts.timer != nil {
			ts.timer.Stop()
			ts.timer = nil
		}
		ts.held = nil
		ts.mu.Unlock()
	}
}

// sweep is the one goroutine (per node, only while sessions exist) that
// pings sockets, closes idle ones and those whose token expired. One loop
// over all sessions every few seconds replaces a timer goroutine per socket.
func (g *Gateway) sweep() {
	ticker := time.NewTicker(g.cfg.SweepInterval)
	defer ticker.Stop()
	var batch []*Session
	for range ticker.C {
		g.mu.Lock()
		if g.count == 0 {
			g.sweeping = false
			g.mu.Unlock()
			return
		}
		batch = batch[:0]
		for _, ts := range g.tenants {
			for s := range ts.sessions {
				batch = append(batch, s)
			}
		}
		g.mu.Unlock()
		now := g.cfg.Now()
		for _, s := range batch {
			s.tick(now)
		}
		clear(batch)
	}
}

// Describe implements prometheus.Collector.
func (g *Gateway) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.descSockets, g.descOverflows, g.descSent, g.descDropped, g.descPublished, g.descResumes} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (g *Gateway) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(g.descSockets, prometheus.GaugeValue, float64(g.sockets.Load()))
	ch <- prometheus.MustNewConstMetric(g.descOverflows, prometheus.CounterValue, float64(g.overflows.Load()))
	ch <- prometheus.MustNewConstMetric(g.descSent, prometheus.CounterValue, float64(g.sent.Load()))
	ch <- prometheus.MustNewConstMetric(g.descDropped, prometheus.CounterValue, float64(g.dropped.Load()))
	ch <- prometheus.MustNewConstMetric(g.descPublished, prometheus.CounterValue, float64(g.published.Load()))
	ch <- prometheus.MustNewConstMetric(g.descResumes, prometheus.CounterValue, float64(g.resumes.Load()))
}

// RegisterMetrics registers the gateway's collectors; registering the same
// gateway twice on one registry is not an error.
func (g *Gateway) RegisterMetrics(reg prometheus.Registerer) error {
	err := reg.Register(g)
	var already prometheus.AlreadyRegisteredError
	if errors.As(err, &already) {
		return nil
	}
	return err
}

// Stats is a snapshot of the gateway's counters (tests, loadgen).
type GatewayStats struct {
	Sockets, Overflows, FramesSent, FramesDropped, Published uint64
}

// Stats returns the counters.
func (g *Gateway) Stats() GatewayStats {
	return GatewayStats{Sockets: uint64(g.sockets.Load()), Overflows: g.overflows.Load(), FramesSent: g.sent.Load(),
		FramesDropped: g.dropped.Load(), Published: g.published.Load()}
}

// ------------------------------------------------------------------ frames

// OutFrame is one server → client frame: Wire is the complete WebSocket frame
// (header and payload), shared read-only by every session that sends it.
type OutFrame struct {
	Wire []byte
	Seq  int64 // 0 for frames outside the tenant sequence (presence, pong…)
	Late bool  // first publication of a seq below one already published
}

// maxHeader is the longest server frame header (no mask).
const maxHeader = 10

// EncodeEventFrame encodes {"type":…,"seq":N,"data":…} as a WebSocket text
// frame, in one allocation. data must be valid JSON (nil → {}).
func EncodeEventFrame(typ string, seq int64, data []byte) []byte {
	if len(data) == 0 {
		data = []byte("{}")
	}
	buf := make([]byte, maxHeader, maxHeader+len(`{"type":"","seq":,"data":}`)+len(typ)+20+len(data)+8)
	buf = append(buf, `{"type":`...)
	buf = appendJSONString(buf, typ)
	if seq > 0 {
		buf = append(buf, `,"seq":`...)
		buf = strconv.AppendInt(buf, seq, 10)
	}
	buf = append(buf, `,"data":`...)
	buf = append(buf, data...)
	buf = append(buf, '}')
	return frameInPlace(buf)
}

// EncodeFrame encodes a frame without a sequence: {"type":…,"data":v} (v
// marshalled with encoding/json; nil omits data).
func EncodeFrame(typ string, v any) []byte {
	buf := make([]byte, maxHeader, 128)
	buf = append(buf, `{"type":`...)
	buf = appendJSONString(buf, typ)
	if v != nil {
		data, err := json.Marshal(v)
		if err != nil {
			data = []byte("{}")
		}
		buf = append(buf, `,"data":`...)
		buf = append(buf, data...)
	}
	buf = append(buf, '}')
	return frameInPlace(buf)
}

// frameInPlace writes the text frame header into the reserved front of buf
// (payload from maxHeader on) and returns the frame.
func frameInPlace(buf []byte) []byte {
	n := len(buf) - maxHeader
	var hdr [maxHeader]byte
	hdr[0] = 0x80 | 0x1 // FIN, text
	size := 2
	switch {
	case n < 126:
		hdr[1] = byte(n)
	case n <= 0xFFFF:
		hdr[1] = 126
		hdr[2], hdr[3] = byte(n>>8), byte(n)
		size = 4
	default:
		hdr[1] = 127
		for i := 0; i < 8; i++ {
			hdr[2+i] = byte(uint64(n) >> (56 - 8*i))
		}
		size = 10
	}
	start := maxHeader - size
	copy(buf[start:], hdr[:size])
	return buf[start:]
}

// appendJSONString appends s as a JSON string.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c < 0x20:
			buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		default:
			buf = append(buf, c)
		}
	}
	return append(buf, '"')
}
