package cluster

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"slices"
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
	selfRaw []byte

	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	joined   atomic.Bool // seeds reached (or none configured)
	pushed   atomic.Bool // a topology including this node was pushed
	shutdown sync.Once
}

var _ pcluster.ClusterProvider = (*Provider)(nil)

func newProvider(cfg resolved) *Provider {
	return &Provider{
		cfg:     cfg,
		logger:  cfg.Logger.With("component", "cluster.memberlist"),
		members: map[string]nodeMeta{},
		wake:    make(chan struct{}, 1),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
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
	mc.Delegate = &metaDelegate{meta: raw}
	mc.Events = &eventDelegate{p: p}
	mc.Logger = newMemberlistLogger(p.logger)
	mc.LogOutput = nil
	if p.cfg.Tune != nil {
		p.cfg.Tune(mc)
	}

	p.mu.Lock()
	p.cluster = c
	p.self = self
	p.selfRaw = raw
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

// loop joins the seeds (retrying until it succeeds) and pushes the member
// list on every change and every ResyncInterval.
func (p *Provider) loop() {
	defer close(p.done)
	resync := time.NewTicker(p.cfg.ResyncInterval)
	defer resync.Stop()
	retry := time.NewTimer(0)
	defer retry.Stop()
	backoff := 200 * time.Millisecond
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
		}
		p.push()
	}
}

func (p *Provider) joinSeeds() error {
	contacted, err := p.list.Join(p.cfg.Seeds)
	if contacted == 0 {
		if err == nil {
			err = fmt.Errorf("no seed answered")
		}
		return err
	}
	p.joined.Store(true)
	p.logger.Info("joined the cluster", "seeds", p.cfg.Seeds, "contacted", contacted)
	return nil
}

// push hands the full member list to the cluster. Names memberlist no longer
// lists as alive are dropped first, in case a leave event was missed.
func (p *Provider) push() {
	alive := map[string]bool{}
	for _, n := range p.list.Members() {
		alive[n.Name] = true // Name never changes; reading it is safe
	}
	p.mu.Lock()
	members := make(pcluster.Members, 0, len(p.members))
	selfIncluded := false
	for name, m := range p.members {
		if !alive[name] {
			delete(p.members, name)
			continue
		}
		if m.Client {
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
// that includes itself.
func (p *Provider) ready() bool {
	return p.joined.Load() && p.pushed.Load()
}

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
		if graceful {
			if leaveErr := list.Leave(p.cfg.LeaveTimeout); leaveErr != nil {
				p.logger.Warn("leaving the cluster", "error", leaveErr)
			}
		}
		err = list.Shutdown()
	})
	return err
}

// metaDelegate serves this node's metadata; the user-message hooks are
// unused (grain traffic goes over protoactor's remote, not gossip).
type metaDelegate struct{ meta []byte }

func (d *metaDelegate) NodeMeta(limit int) []byte {
	if len(d.meta) > limit {
		return nil // encode already checked MetaMaxSize; never truncate
	}
	return d.meta
}
func (d *metaDelegate) NotifyMsg([]byte)                           {}
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
