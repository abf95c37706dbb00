package cluster

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/hashicorp/memberlist"
)

// Provider is a protoactor ClusterProvider on hashicorp/memberlist. Each node
// gossips its remote address and kinds in its memberlist metadata; on every
// join, leave and update, and every ResyncInterval, the provider pushes the
// full list of live members (itself included) to the cluster's MemberList,
// which diffs it, updates the disthash ring and publishes ClusterTopology.
//
// memberlist calls its delegates with its own locks held, so they only copy
// the node and wake the push loop; one goroutine does every push, so the
// cluster sees topologies in order.
type Provider struct {
	cfg    resolved
	logger *slog.Logger

	mu      sync.Mutex
	members map[string]nodeMeta // by memberlist node name (= member id)
	list    *memberlist.Memberlist
	cluster *pcluster.Cluster
	self    nodeMeta

	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	joined   atomic.Bool // seeds reached (or none configured)
	pushed   atomic.Bool // a topology including this node was pushed
	shutdown sync.Once

	// lifecycle orders Leave against Shutdown (memberlist panics on a
	// Leave after Shutdown).
	lifecycle    sync.Mutex
	stopped      bool
	excluded     chan struct{} // closed when a peer said it blocked us
	excludedOnce sync.Once
	noticeSent   map[string]time.Time // exclusion notices, by member
}

var _ pcluster.ClusterProvider = (*Provider)(nil)

func newProvider(cfg resolved) *Provider {
	return &Provider{
		cfg:        cfg,
		logger:     cfg.Logger.With("component", "cluster.memberlist"),
		members:    map[string]nodeMeta{},
		wake:       make(chan struct{}, 1),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		excluded:   make(chan struct{}),
		noticeSent: map[string]time.Time{},
	}
}

// StartMember joins the cluster as a member hosting the cluster's kinds.
func (p *Provider) StartMember(c *pcluster.Cluster) error {
	return p.start(c, false)
}

// StartClient joins the gossip as a client: it learns the members and can
// call grains, but hosts none, so members leave it out of their topology.
func (p *Provider) StartClient(c *pcluster.Cluster) error {
	return p.start(c, true)
}

func (p *Provider) start(c *pcluster.Cluster, client bool) error {
	host, port, err := c.ActorSystem.GetHostPort()
	if err != nil {
		return fmt.Errorf("reading the remote address: %w", err)
	}
	kinds := []string{}
	if !client {
		kinds = c.GetClusterKinds()
		slices.Sort(kinds)
	}
	self := nodeMeta{ID: c.ActorSystem.ID, Host: host, Port: port, Kinds: kinds, Client: client}
	raw, err := self.encode()
	if err != nil {
		return err
	}

	mc := memberlist.DefaultLANConfig()
	// Failure detection: DESIGN wants a dead node's conversations answered
	// elsewhere within 3 s. The LAN profile (1 s probes, suspicion ×4)
	// declares a dead node of a 3-node cluster in ~5 s; this takes ~1.5-2 s.
	// Lifeguard (memberlist's local health awareness) still slows an
	// overloaded node's own probes, which keeps false positives down.
	mc.ProbeInterval = 400 * time.Millisecond
	mc.ProbeTimeout = 200 * time.Millisecond
	mc.SuspicionMult = 3
	mc.SuspicionMaxTimeoutMult = 4
	mc.Name = self.ID
	mc.BindAddr = p.cfg.bindHost
	mc.BindPort = p.cfg.bindPort
	if p.cfg.advertiseHost != "" {
		mc.AdvertiseAddr = p.cfg.advertiseHost
		mc.AdvertisePort = p.cfg.advertisePort
	}
	mc.Label = p.cfg.Name
	if p.cfg.Secret != "" {
		key := sha256.Sum256([]byte(p.cfg.Secret))
		mc.SecretKey = key[:]
	}
	mc.Delegate = &metaDelegate{meta: raw, p: p}
	mc.Events = &eventDelegate{p: p}
	mc.Logger = newMemberlistLogger(p.logger)
	mc.LogOutput = nil
	if p.cfg.Tune != nil {
		p.cfg.Tune(mc)
	}

	p.mu.Lock()
	p.cluster = c
	p.self = self
	p.mu.Unlock()

	list, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("starting memberlist on %s:%d: %w", p.cfg.bindHost, p.cfg.bindPort, err)
	}
	p.mu.Lock()
	p.list = list
	p.members[self.ID] = self // NotifyJoin for ourselves may come before list is set
	p.mu.Unlock()

	if len(p.cfg.Seeds) == 0 {
		p.joined.Store(true)
	}
	go p.loop()
	p.signal()
	return nil
}

// GossipAddr is the address other nodes list as a seed to join this one.
func (p *Provider) GossipAddr() string {
	p.mu.Lock()
	list := p.list
	p.mu.Unlock()
	if list == nil {
		return ""
	}
	n := list.LocalNode()
	return net.JoinHostPort(n.Addr.String(), fmt.Sprint(n.Port))
}

func (p *Provider) signal() {
	select {
	case p.wake <- struct{}{}:
	default: // a push is already due; it will read the latest state
	}
}

// loop joins the seeds (retrying until one answers), pushes the member list
// on every change and every ResyncInterval, and now and then re-joins seeds
// that are not members, so two groups that formed apart (nodes started at
// the same moment, a partition) merge.
func (p *Provider) loop() {
	defer close(p.done)
	resync := time.NewTicker(p.cfg.ResyncInterval)
	defer resync.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	backoff := 200 * time.Millisecond
	rejoinEvery, ticks := max(1, int(rejoinInterval/p.cfg.ResyncInterval)), 0
	var rejoining atomic.Bool
	for {
		select {
		case <-p.stop:
			return
		case <-retry.C:
			if p.joined.Load() {
				continue
			}
			if err := p.joinSeeds(); err != nil {
				p.logger.Warn("cluster seeds not reachable yet; retrying", "seeds", p.cfg.Seeds,
					"retry_in", backoff, "error", err)
				retry.Reset(backoff)
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
		case <-p.wake:
		case <-resync.C:
			if ticks++; ticks%rejoinEvery == 0 && p.joined.Load() && len(p.cfg.Seeds) > 0 &&
				rejoining.CompareAndSwap(false, true) {
				go func() { // Join blocks on unreachable seeds; pushes must not wait
					defer rejoining.Store(false)
					p.rejoinMissingSeeds()
				}()
			}
		}
		p.push()
	}
}

// rejoinInterval is how often seeds that are not members are joined again.
const rejoinInterval = 20 * time.Second

// otherSeeds returns the seeds that are not this node. A node may list
// itself among the seeds (one list for every node of a deployment); joining
// itself would count as joined and let nodes started together form separate
// clusters.
func (p *Provider) otherSeeds() []string {
	self := p.list.LocalNode()
	selfPort := strconv.Itoa(int(self.Port))
	var others []string
	for _, seed := range p.cfg.Seeds {
		host, port, err := net.SplitHostPort(seed)
		if err != nil || port != selfPort {
			others = append(others, seed)
			continue
		}
		addrs, err := net.LookupHost(host)
		if err != nil {
			others = append(others, seed) // Join reports the error
			continue
		}
		isSelf := false
		for _, a := range addrs {
			if ip := net.ParseIP(a); ip != nil && (ip.Equal(self.Addr) || (ip.IsLoopback() && self.Addr.IsLoopback())) {
				isSelf = true
			}
		}
		if !isSelf {
			others = append(others, seed)
		}
	}
	return others
}

func (p *Provider) joinSeeds() error {
	seeds := p.otherSeeds()
	if len(seeds) == 0 {
		p.joined.Store(true)
		p.logger.Info("every seed is this node: starting the cluster")
		return nil
	}
	contacted, err := p.list.Join(seeds)
	if contacted == 0 {
		if err == nil {
			err = fmt.Errorf("no seed answered")
		}
		return err
	}
	p.joined.Store(true)
	p.logger.Info("joined the cluster", "seeds", seeds, "contacted", contacted)
	return nil
}

func (p *Provider) rejoinMissingSeeds() {
	members := map[string]bool{}
	for _, n := range p.list.Members() {
		members[n.Address()] = true
	}
	var missing []string
	for _, seed := range p.otherSeeds() {
		if !members[seed] {
			missing = append(missing, seed)
		}
	}
	if len(missing) == 0 {
		return
	}
	select {
	case <-p.stop:
		return // Join after Shutdown only fails, but there is no point
	default:
	}
	if contacted, err := p.list.Join(missing); contacted > 0 {
		p.logger.Info("re-joined seeds that were not members", "seeds", missing, "contacted", contacted)
	} else if err != nil {
		p.logger.Debug("seeds still unreachable", "seeds", missing, "error", err)
	}
}

// push hands the full member list to the cluster: the recorded members that
// memberlist still lists as alive (a missed leave event cannot keep a dead
// member in). Entries are only removed by NotifyLeave: deleting them here
// could race with a join that lands between the two reads.
func (p *Provider) push() {
	alive := map[string]bool{}
	nodes := p.list.Members()
	for _, n := range nodes {
		alive[n.Name] = true // Name never changes; reading it is safe
	}
	defer p.noticeBlocked(nodes)
	p.mu.Lock()
	members := make(pcluster.Members, 0, len(p.members))
	selfIncluded := false
	for name, m := range p.members {
		if !alive[name] || m.Client {
			continue
		}
		members = append(members, &pcluster.Member{
			Id: m.ID, Host: m.Host, Port: int32(m.Port), Kinds: slices.Clone(m.Kinds),
		})
		if m.ID == p.self.ID {
			selfIncluded = true
		}
	}
	c := p.cluster
	p.mu.Unlock()

	c.MemberList.UpdateClusterTopology(members)
	if selfIncluded || p.self.Client {
		p.pushed.Store(true)
	}
}

// ready reports whether the node reached its seeds and pushed a topology
// that includes itself, and no peer excluded it.
func (p *Provider) ready() bool {
	select {
	case <-p.excluded:
		return false
	default:
	}
	return p.joined.Load() && p.pushed.Load()
}

// Exclusion. protoactor blocks a member id for good once it has left the
// topology, but memberlist lets a node that was wrongly declared dead (a
// long pause, a lost packet burst) refute it and come back alive. Without
// help the peers would exclude it forever while it still counts itself and
// them in its own topology: two views, two owners for some identities. So
// a node that sees a live member it has blocked tells it (a memberlist user
// message), and that member leaves the gossip and reports itself excluded:
// its topology then holds only the peers, so what it still routes goes to
// the real owners, and the process should be restarted (a new start brings
// a new id, which nobody has blocked).
const exclusionNotice = 'X'

func (p *Provider) noticeBlocked(nodes []*memberlist.Node) {
	p.mu.Lock()
	c, selfID := p.cluster, p.self.ID
	p.mu.Unlock()
	blocked := c.Remote.BlockList()
	now := time.Now()
	for _, n := range nodes {
		if n.Name == selfID || !blocked.IsBlocked(n.Name) {
			continue
		}
		if last, ok := p.noticeSent[n.Name]; ok && now.Sub(last) < p.cfg.ResyncInterval {
			continue
		}
		p.noticeSent[n.Name] = now
		msg := append([]byte{exclusionNotice}, selfID...)
		if err := p.list.SendReliable(n, msg); err != nil {
			p.logger.Warn("telling a blocked member it is excluded", "member", n.Name, "error", err)
			continue
		}
		p.logger.Warn("a member this node has blocked is alive again; told it to leave", "member", n.Name)
	}
	for name := range p.noticeSent {
		if !slices.ContainsFunc(nodes, func(n *memberlist.Node) bool { return n.Name == name }) {
			delete(p.noticeSent, name)
		}
	}
}

// onExcluded runs when a peer says it has blocked this node.
func (p *Provider) onExcluded(by string) {
	p.excludedOnce.Do(func() {
		p.logger.Error("excluded from the cluster by a peer (declared dead, then alive again); leaving: restart this process",
			"by", by)
		close(p.excluded)
		go func() {
			p.lifecycle.Lock()
			defer p.lifecycle.Unlock()
			if p.stopped {
				return
			}
			if err := p.list.Leave(p.cfg.LeaveTimeout); err != nil {
				p.logger.Warn("leaving after exclusion", "error", err)
			}
			p.signal()
		}()
	})
}

// Excluded is closed when a peer excluded this node; see onExcluded.
func (p *Provider) Excluded() <-chan struct{} { return p.excluded }

// Shutdown stops pushing, then, when graceful, broadcasts a leave so the
// others drop this node at once instead of waiting for failure detection.
// It is safe to call more than once.
func (p *Provider) Shutdown(graceful bool) error {
	var err error
	p.shutdown.Do(func() {
		p.mu.Lock()
		list := p.list
		p.mu.Unlock()
		if list == nil {
			return
		}
		close(p.stop)
		<-p.done
		p.lifecycle.Lock()
		defer p.lifecycle.Unlock()
		p.stopped = true
		if graceful {
			if leaveErr := list.Leave(p.cfg.LeaveTimeout); leaveErr != nil {
				p.logger.Warn("leaving the cluster", "error", leaveErr)
			}
		}
		err = list.Shutdown()
	})
	return err
}

// metaDelegate serves this node's metadata and receives exclusion notices;
// grain traffic goes over protoactor's remote, not gossip.
type metaDelegate struct {
	meta []byte
	p    *Provider
}

func (d *metaDelegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		return nil // encode already checked MetaMaxSize; never truncate
	}
	return d.meta
}
func (d *metaDelegate) NotifyMsg(msg []byte) {
	if len(msg) > 1 && msg[0] == exclusionNotice {
		d.p.onExcluded(string(msg[1:]))
	}
}
func (d *metaDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *metaDelegate) LocalState(join bool) []byte                { return nil }
func (d *metaDelegate) MergeRemoteState(buf []byte, join bool)     {}

// eventDelegate records membership changes. memberlist holds its node lock
// while calling it: copy, never call back into memberlist, never block.
type eventDelegate struct{ p *Provider }

func (e *eventDelegate) NotifyJoin(n *memberlist.Node)   { e.p.upsert(n) }
func (e *eventDelegate) NotifyUpdate(n *memberlist.Node) { e.p.upsert(n) }
func (e *eventDelegate) NotifyLeave(n *memberlist.Node) {
	e.p.mu.Lock()
	delete(e.p.members, n.Name)
	e.p.mu.Unlock()
	e.p.signal()
}

func (p *Provider) upsert(n *memberlist.Node) {
	m, err := decodeMeta(n.Meta)
	if err == nil && m.ID != n.Name {
		err = fmt.Errorf("metadata names node %q", m.ID)
	}
	if err != nil {
		p.logger.Warn("ignoring cluster node with unreadable metadata", "node", n.Name, "addr", n.Address(), "error", err)
		return
	}
	p.mu.Lock()
	p.members[n.Name] = m
	p.mu.Unlock()
	p.signal()
}
