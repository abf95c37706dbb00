package realtime

import (
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"crm"
	"crm/cluster"
	crmpb "crm/proto"
)

// RouterConfig tunes a Router. Zero values take the defaults.
type RouterConfig struct {
	Log *slog.Logger
	// AnnounceTimeout bounds how long a tenant's first session on this node
	// waits for the other members to acknowledge that this node now wants
	// the tenant's events; default 2s. A member that does not answer in
	// time learns it from the next complete set (RefreshInterval).
	AnnounceTimeout time.Duration
	// RefreshInterval is how often this node resends its complete set of
	// tenants to every member, which heals any lost message; default 15s.
	RefreshInterval time.Duration
	// SyncInterval is how often the membership is checked for members to
	// greet (joined) or forget (left); default 1s.
	SyncInterval time.Duration
	// Linger keeps a tenant announced this long after its last session on
	// this node left, so a console that reconnects here (a reload, a
	// network blip) neither waits for an announcement nor misses events;
	// default 30s.
	Linger time.Duration
}

// Router is the engine's actors.Publisher on a cluster node (the serve
// command checks that it is one; this package does not import the grains).
// It sends each batch of committed events, encoded once, only to the
// gateways of the members that hold sessions of the batch's tenant, instead
// of to every member: with many tenants spread over many nodes, most
// members have no console of a given tenant.
//
// How a node learns who wants what: every node's router keeps the set of
// tenants its gateway holds sessions of and tells the other members'
// gateways (crmpb.GatewayTenants); each keeps the sets it was told, by
// member.
//   - A tenant's first session on a node is announced at once, as a
//     request each member acknowledges after updating its table, and
//     Gateway.NewSession waits for the acknowledgements (at most
//     AnnounceTimeout) before it returns. The console's resume reads the
//     durable sequence after that, so an event committed later is published
//     by a member that already sends the tenant here: the first events
//     after a login are not lost while the announcement is in flight. (An
//     asynchronous announcement, or a grace period, would leave exactly
//     that window open.)
//   - A tenant whose last session left stays announced for Linger, then is
//     withdrawn with a plain message. Events sent meanwhile are dropped by
//     the gateway, which has no session for them.
//   - Every RefreshInterval each node resends its complete set, so a lost
//     or late message costs at most one interval of misrouting and errors
//     never accumulate. A member that appears in the topology is greeted
//     with the complete set at once and answers with its own.
//   - A member this node has no complete set from yet gets every event, as
//     before routing: a node that just joined is never starved while the
//     tables converge. A member that leaves the topology is forgotten.
//
// One node's announcements are numbered and sent in that order under one
// lock; protoactor delivers the messages between two nodes in order, and a
// receiver ignores one not newer than the last it applied, so a stale set
// never undoes a newer change. Memberlist's node metadata could not carry
// this (512 bytes: a few dozen tenants), and cluster pub/sub is not for
// fan-out (DESIGN §3).
//
// Correctness never depends on the table: live delivery is the fast path,
// and a console that misses an event finds it by resuming from its last seq
// (DESIGN §5.4). The table only decides where the fast path goes.
type Router struct {
	cfg  RouterConfig
	log  *slog.Logger
	gw   *Gateway
	node *cluster.Node

	// ownMu guards own, version and stopped, and orders every announcement
	// this node sends: each is numbered and sent while it is held.
	ownMu   sync.Mutex
	own     map[uuid.UUID]*ownTenant
	version uint64
	stopped bool

	// mu guards what the other members announced.
	mu      sync.RWMutex
	peers   map[string]*peer // by member id
	greeted map[string]bool  // members this node has sent its complete set since they appeared

	stop chan struct{}
	done chan struct{}
	once sync.Once

	routed, spared                 atomic.Uint64
	descRouted, descSpared, descIn *prometheus.Desc
}

// ownTenant is a tenant this node's gateway has (or just had) sessions of.
type ownTenant struct {
	sessions int
	// ready is closed once the members acknowledged the announcement (or
	// AnnounceTimeout passed).
	ready chan struct{}
	// generation changes whenever a session arrives, voiding the linger
	// timer of an earlier departure.
	generation uint64
}

// peer is what one other member announced.
type peer struct {
	address string
	version uint64
	// complete: a complete set arrived; before that the member gets every
	// event.
	complete bool
	// member: seen in the topology; forgotten once it is no longer there.
	member  bool
	heard   time.Time
	tenants map[uuid.UUID]struct{}
}

// NewRouter builds node's router around its gateway, which must already be
// spawned in node's actor system (it receives the other members'
// announcements), and starts announcing. Build it before the node takes
// sockets; Stop it after the gateway's Shutdown.
func NewRouter(cfg RouterConfig, gw *Gateway, node *cluster.Node) (*Router, error) {
	if gw == nil || node == nil {
		return nil, errors.New("realtime: a router needs its gateway and its cluster node")
	}
	if gw.PID() == nil || gw.PID().Address != node.Address() {
		return nil, errors.New("realtime: spawn the gateway in the node's actor system before building its router")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.AnnounceTimeout <= 0 {
		cfg.AnnounceTimeout = 2 * time.Second
	}
	if cfg.RefreshInterval <= 0 {
		cfg.RefreshInterval = 15 * time.Second
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = time.Second
	}
	if cfg.Linger <= 0 {
		cfg.Linger = 30 * time.Second
	}
	r := &Router{
		cfg:     cfg,
		log:     cfg.Log.With("component", "realtime_router"),
		gw:      gw,
		node:    node,
		own:     map[uuid.UUID]*ownTenant{},
		peers:   map[string]*peer{},
		greeted: map[string]bool{},
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
		descRouted: prometheus.NewDesc("crm_ws_batches_routed_total",
			"Batches of tenant events sent to a member's gateway (this one's included).", nil, nil),
		descSpared: prometheus.NewDesc("crm_ws_batches_spared_total",
			"Batches of tenant events not sent to a member's gateway because it holds no session of their tenant.", nil, nil),
		descIn: prometheus.NewDesc("crm_ws_tenants_announced",
			"Tenants this node announces to the other members (held sessions, or lingering).", nil, nil),
	}
	if !gw.router.CompareAndSwap(nil, r) {
		return nil, errors.New("realtime: the gateway already has a router")
	}
	go r.run()
	return r, nil
}

// Stop ends the announcements; safe to call twice. The other members
// forget this node when it leaves the topology.
func (r *Router) Stop() {
	r.once.Do(func() {
		close(r.stop)
		<-r.done
		r.ownMu.Lock()
		r.stopped = true
		r.ownMu.Unlock()
	})
}

// Publish sends the tenant's events, encoded once, to the gateways of the
// members that may have sessions of the tenant. It is fire-and-forget; a
// member that misses it is covered by resume (DESIGN §5.4).
func (r *Router) Publish(tenantID uuid.UUID, events []crm.TenantEvent) {
	if len(events) == 0 {
		return
	}
	var buf [8]string
	addresses, spared := r.targets(tenantID, buf[:0])
	r.spared.Add(uint64(spared))
	if len(addresses) == 0 {
		return
	}
	batch := &crmpb.TenantEvents{Events: make([]*crmpb.TenantEvent, 0, len(events))}
	for _, ev := range events {
		batch.Events = append(batch.Events, EventToProto(tenantID, ev))
	}
	root := r.node.System().Root
	for _, address := range addresses {
		root.Send(GatewayPID(address), batch)
	}
	r.routed.Add(uint64(len(addresses)))
}

// Targets lists the addresses Publish would send the tenant's events to now
// (diagnostics, tests).
func (r *Router) Targets(tenantID uuid.UUID) []string {
	addresses, _ := r.targets(tenantID, nil)
	return addresses
}

// targets appends the addresses of the members whose gateways want the
// tenant's events: this node when its gateway has sessions of the tenant,
// and every other member that announced the tenant or has not told its set
// yet. spared counts the other members left out.
func (r *Router) targets(tenantID uuid.UUID, addresses []string) (_ []string, spared int) {
	self := r.node.Address()
	if r.gw.holds(tenantID) {
		addresses = append(addresses, self)
	}
	members := r.node.Members()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range members {
		if m.Address == self {
			continue
		}
		if p := r.peers[m.ID]; p != nil && p.complete {
			if _, ok := p.tenants[tenantID]; !ok {
				spared++
				continue
			}
		}
		addresses = append(addresses, m.Address)
	}
	return addresses, spared
}

// hold counts a new session of the tenant on this node; the returned
// channel is closed once the other members know to send the tenant's
// events here (at once when they already do).
func (r *Router) hold(tenantID uuid.UUID) <-chan struct{} {
	r.ownMu.Lock()
	defer r.ownMu.Unlock()
	if o := r.own[tenantID]; o != nil {
		o.sessions++
		o.generation++
		return o.ready
	}
	o := &ownTenant{sessions: 1, ready: make(chan struct{})}
	r.own[tenantID] = o
	others := r.others()
	if r.stopped || len(others) == 0 {
		close(o.ready)
		return o.ready
	}
	msg := r.nextLocked(&crmpb.GatewayTenants{Added: [][]byte{tenantID[:]}})
	root := r.node.System().Root
	futures := make([]*actor.Future, len(others))
	for i, m := range others {
		futures[i] = root.RequestFuture(GatewayPID(m.Address), msg, r.cfg.AnnounceTimeout)
	}
	go func() {
		for _, f := range futures {
			_, _ = f.Result() // a member that did not answer learns it from the next complete set
		}
		close(o.ready)
	}()
	return o.ready
}

// release counts a session of the tenant gone from this node; the last
// one's departure withdraws the tenant after Linger, unless a session
// arrives meanwhile.
func (r *Router) release(tenantID uuid.UUID) {
	r.ownMu.Lock()
	defer r.ownMu.Unlock()
	o := r.own[tenantID]
	if o == nil {
		return
	}
	if o.sessions--; o.sessions > 0 {
		return
	}
	generation := o.generation
	time.AfterFunc(r.cfg.Linger, func() { r.withdraw(tenantID, o, generation) })
}

func (r *Router) withdraw(tenantID uuid.UUID, o *ownTenant, generation uint64) {
	r.ownMu.Lock()
	defer r.ownMu.Unlock()
	if r.own[tenantID] != o || o.sessions > 0 || o.generation != generation {
		return
	}
	delete(r.own, tenantID)
	if r.stopped {
		return
	}
	msg := r.nextLocked(&crmpb.GatewayTenants{Removed: [][]byte{tenantID[:]}})
	root := r.node.System().Root
	for _, m := range r.others() {
		root.Send(GatewayPID(m.Address), msg)
	}
}

// nextLocked numbers an announcement and signs it with this node.
func (r *Router) nextLocked(msg *crmpb.GatewayTenants) *crmpb.GatewayTenants {
	r.version++
	msg.Version = r.version
	msg.MemberId = r.node.ID()
	msg.Address = r.node.Address()
	return msg
}

// completeLocked is this node's complete set as an announcement.
func (r *Router) completeLocked(replyFull bool) *crmpb.GatewayTenants {
	ids := make([]byte, 16*len(r.own))
	tenants := make([][]byte, 0, len(r.own))
	for id := range r.own {
		b := ids[:16:16]
		ids = ids[16:]
		copy(b, id[:])
		tenants = append(tenants, b)
	}
	return r.nextLocked(&crmpb.GatewayTenants{Full: true, Tenants: tenants, ReplyFull: replyFull})
}

// sendComplete sends this node's complete set to the gateways at addresses.
func (r *Router) sendComplete(addresses []string, replyFull bool) {
	if len(addresses) == 0 {
		return
	}
	r.ownMu.Lock()
	defer r.ownMu.Unlock()
	if r.stopped {
		return
	}
	msg := r.completeLocked(replyFull)
	root := r.node.System().Root
	for _, address := range addresses {
		root.Send(GatewayPID(address), msg)
	}
}

// others are the members other than this node.
func (r *Router) others() []cluster.Member {
	members := r.node.Members()
	self := r.node.ID()
	out := members[:0]
	for _, m := range members {
		if m.ID != self {
			out = append(out, m)
		}
	}
	return out
}

// receive applies another member's announcement (in the gateway actor).
func (r *Router) receive(m *crmpb.GatewayTenants) {
	r.mu.Lock()
	p := r.peers[m.GetMemberId()]
	if p == nil {
		p = &peer{tenants: map[uuid.UUID]struct{}{}}
		r.peers[m.GetMemberId()] = p
	}
	p.address = m.GetAddress()
	p.heard = time.Now()
	if m.GetVersion() > p.version {
		p.version = m.GetVersion()
		if m.GetFull() {
			p.complete = true
			p.tenants = make(map[uuid.UUID]struct{}, len(m.GetTenants()))
			for _, b := range m.GetTenants() {
				if id, err := uuid.FromBytes(b); err == nil {
					p.tenants[id] = struct{}{}
				}
			}
		}
		for _, b := range m.GetAdded() {
			if id, err := uuid.FromBytes(b); err == nil {
				p.tenants[id] = struct{}{}
			}
		}
		for _, b := range m.GetRemoved() {
			if id, err := uuid.FromBytes(b); err == nil {
				delete(p.tenants, id)
			}
		}
	}
	r.mu.Unlock()
	if m.GetReplyFull() {
		r.sendComplete([]string{m.GetAddress()}, false)
	}
}

// run greets members that appear, forgets those that left, and resends
// this node's complete set periodically, until Stop.
func (r *Router) run() {
	defer close(r.done)
	syncTicker := time.NewTicker(r.cfg.SyncInterval)
	defer syncTicker.Stop()
	refresh := time.NewTicker(r.cfg.RefreshInterval)
	defer refresh.Stop()
	r.sync()
	for {
		select {
		case <-r.stop:
			return
		case <-syncTicker.C:
			r.sync()
		case <-refresh.C:
			var addresses []string
			for _, m := range r.others() {
				addresses = append(addresses, m.Address)
			}
			r.sendComplete(addresses, false)
		}
	}
}

// sync compares the peers with the topology: members not greeted yet get
// this node's complete set (and are asked for theirs); members that left
// are forgotten, and so are senders not in the topology two syncs after
// their last message (one that left before it was seen, or one joining:
// forgetting that one only means it gets every event until it answers the
// greeting this node sends once the topology shows it).
func (r *Router) sync() {
	members := r.others()
	present := make(map[string]bool, len(members))
	var greet []string
	r.mu.Lock()
	for _, m := range members {
		present[m.ID] = true
		if !r.greeted[m.ID] {
			r.greeted[m.ID] = true
			greet = append(greet, m.Address)
		}
	}
	for id := range r.greeted {
		if !present[id] {
			delete(r.greeted, id)
		}
	}
	for id, p := range r.peers {
		switch {
		case present[id]:
			p.member = true
		case p.member, time.Since(p.heard) > 2*r.cfg.SyncInterval:
			delete(r.peers, id)
		}
	}
	r.mu.Unlock()
	r.sendComplete(greet, true)
}

// knows reports whether this node has a complete set from every other member.
func (r *Router) knows() bool {
	members := r.others()
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, m := range members {
		if p := r.peers[m.ID]; p == nil || !p.complete {
			return false
		}
	}
	return true
}

// Describe implements prometheus.Collector.
func (r *Router) Describe(ch chan<- *prometheus.Desc) {
	ch <- r.descRouted
	ch <- r.descSpared
	ch <- r.descIn
}

// Collect implements prometheus.Collector.
func (r *Router) Collect(ch chan<- prometheus.Metric) {
	r.ownMu.Lock()
	announced := len(r.own)
	r.ownMu.Unlock()
	ch <- prometheus.MustNewConstMetric(r.descRouted, prometheus.CounterValue, float64(r.routed.Load()))
	ch <- prometheus.MustNewConstMetric(r.descSpared, prometheus.CounterValue, float64(r.spared.Load()))
	ch <- prometheus.MustNewConstMetric(r.descIn, prometheus.GaugeValue, float64(announced))
}

// RegisterMetrics registers the router's collectors.
func (r *Router) RegisterMetrics(reg prometheus.Registerer) error { return reg.Register(r) }
