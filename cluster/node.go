package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	pcluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/asynkron/protoactor-go/cluster/identitylookup/disthash"
	"github.com/asynkron/protoactor-go/eventstream"
	"github.com/asynkron/protoactor-go/remote"
)

// Kind is a grain kind: a name and the props that spawn an activation.
type Kind = pcluster.Kind

// NewKind declares a grain kind hosted by a node.
func NewKind(name string, props *actor.Props) *Kind {
	return pcluster.NewKind(name, props)
}

// Member is one node of the cluster as the topology last said.
type Member struct {
	ID      string   // actor system id; new on every start
	Address string   // protoactor remote host:port (PIDs live there)
	Kinds   []string // grain kinds it hosts
}

// Node is this process's place in the cluster: an actor system, its remote,
// the protoactor cluster with disthash placement, and the memberlist
// provider.
type Node struct {
	cfg      resolved
	logger   *slog.Logger
	system   *actor.ActorSystem
	cluster  *pcluster.Cluster
	provider *Provider
	topology *eventstream.Subscription

	mu      sync.RWMutex
	members []Member
	inTopo  bool // the last topology includes this node
	// departed is closed (and replaced) when a topology says members left:
	// attempts waiting on a grain then give up at once and retry on its new
	// owner instead of waiting out their timeout on a dead one.
	departed chan struct{}

	shutdownOnce sync.Once
	stopped      chan struct{}
}

// Start builds and starts a cluster node hosting kinds (and cfg.Kinds). It
// returns once the node is a member; with seeds, Joined turns true once they
// answered and the topology includes this node.
func Start(ctx context.Context, cfg Config, kinds ...*Kind) (node *Node, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rc, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	remoteHost := rc.RemoteHost
	remotePort := rc.RemotePort
	if remotePort == 0 && rc.RemoteAdvertiseHost != remoteHost {
		// protoactor advertises "host:port" verbatim, so the port must be
		// known before the remote starts.
		if remotePort, err = freePort(remoteHost); err != nil {
			return nil, fmt.Errorf("choosing a remote port: %w", err)
		}
	}
	var remoteOptions []remote.ConfigOption
	if rc.RemoteAdvertiseHost != remoteHost {
		remoteOptions = append(remoteOptions,
			remote.WithAdvertisedHost(net.JoinHostPort(rc.RemoteAdvertiseHost, strconv.Itoa(remotePort))))
	}

	logger := rc.Logger.With("component", "cluster")
	actorLogger := slog.New(floorHandler{Handler: rc.Logger.Handler(), floor: *rc.ActorLogLevel}).
		With("component", "protoactor")
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(system *actor.ActorSystem) *slog.Logger {
		return actorLogger.With("node", system.ID)
	}))

	provider := newProvider(rc)
	all := append(slices.Clone(rc.Kinds), kinds...)
	clusterConfig := pcluster.Configure(rc.Name, provider, disthash.New(),
		remote.Configure(remoteHost, remotePort, remoteOptions...),
		pcluster.WithKinds(all...),
		pcluster.WithRequestTimeout(rc.RequestTimeout),
	)
	c := pcluster.New(system, clusterConfig)

	n := &Node{
		cfg:      rc,
		logger:   logger.With("node", system.ID),
		system:   system,
		cluster:  c,
		provider: provider,
		stopped:  make(chan struct{}),
		departed: make(chan struct{}),
	}
	// The topology protoactor accepted (after its block list) is the truth
	// for Members and Joined, not what the provider offered.
	n.topology = system.EventStream.Subscribe(func(evt any) {
		if t, ok := evt.(*pcluster.ClusterTopology); ok {
			n.onTopology(t)
		}
	})

	// protoactor panics when the remote cannot listen or the provider fails
	// to start; turn that into an error.
	if err := startProtoCluster(c, rc.Client); err != nil {
		provider.Shutdown(false)
		system.Shutdown()
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		n.Shutdown(false)
		return nil, err
	}
	n.logger.Info("cluster node started", "remote", system.Address(), "gossip", provider.GossipAddr(),
		"seeds", rc.Seeds, "encrypted", rc.Secret != "", "kinds", c.GetClusterKinds())
	return n, nil
}

func startProtoCluster(c *pcluster.Cluster, client bool) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("starting the cluster node: %v", r)
		}
	}()
	if client {
		c.StartClient()
	} else {
		c.StartMember()
	}
	return nil
}

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (n *Node) onTopology(t *pcluster.ClusterTopology) {
	members := make([]Member, 0, len(t.Members))
	self := false
	for _, m := range t.Members {
		members = append(members, Member{ID: m.Id, Address: m.Address(), Kinds: slices.Clone(m.Kinds)})
		if m.Id == n.system.ID {
			self = true
		}
	}
	slices.SortFunc(members, func(a, b Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	n.mu.Lock()
	n.members = members
	// A client is never in the topology; it is ready once it sees members.
	n.inTopo = self || (n.cfg.Client && len(members) > 0)
	if len(t.Left) > 0 {
		close(n.departed)
		n.departed = make(chan struct{})
	}
	n.mu.Unlock()
}

// Cluster is protoactor's cluster: Request grains with it.
func (n *Node) Cluster() *pcluster.Cluster { return n.cluster }

// System is the actor system, for local actors (gateway, sessions).
func (n *Node) System() *actor.ActorSystem { return n.system }

// ID is this node's member id (new on every start).
func (n *Node) ID() string { return n.system.ID }

// Address is this node's remote address, where its PIDs live.
func (n *Node) Address() string { return n.system.Address() }

// GossipAddr is the memberlist address other nodes use as a seed.
func (n *Node) GossipAddr() string { return n.provider.GossipAddr() }

// Joined reports whether the node is ready to serve: its seeds answered (or
// it has none), and the cluster's topology includes it (for a client: has
// members). /readyz uses it.
func (n *Node) Joined() bool {
	select {
	case <-n.stopped:
		return false
	default:
	}
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.inTopo && n.provider.ready()
}

// Excluded is closed when the peers excluded this node: it was declared
// dead, came back, and protoactor never readmits a member id. The node has
// left the gossip and is not ready; the process should exit so its
// supervisor restarts it with a new id.
func (n *Node) Excluded() <-chan struct{} { return n.provider.Excluded() }

// Members returns the members of the last topology, sorted by id.
func (n *Node) Members() []Member {
	n.mu.RLock()
	defer n.mu.RUnlock()
	out := make([]Member, len(n.members))
	copy(out, n.members)
	return out
}

// ErrStopped is returned by Request after Shutdown.
var ErrStopped = errors.New("cluster node stopped")

// Request sends msg to the grain kind/identity and waits for its answer,
// retrying with backoff until ctx ends. protoactor's own retries (3, with
// nanosecond pauses) give up within milliseconds while the topology is
// changing; this keeps trying through a failover. A retry can deliver the
// message twice, so handlers must be idempotent.
func (n *Node) Request(ctx context.Context, identity, kind string, msg any) (any, error) {
	backoff := 20 * time.Millisecond
	for {
		select {
		case <-n.stopped:
			return nil, ErrStopped
		default:
		}
		timeout := n.cfg.RequestTimeout
		if deadline, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(deadline))
		}
		if timeout <= 0 {
			return nil, fmt.Errorf("request to %s/%s: %w", kind, identity, context.DeadlineExceeded)
		}
		resp, err := n.attempt(identity, kind, msg, timeout)
		if err == nil && resp != nil {
			return resp, nil
		}
		if err == nil {
			err = errors.New("no answer")
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("request to %s/%s: %w (last attempt: %v)", kind, identity, ctx.Err(), err)
		case <-n.stopped:
			return nil, ErrStopped
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
}

// attempt makes one cluster request, abandoned after timeout. protoactor's
// disthash placement asks the owner's activator with a fixed 5 s timeout
// that ignores the call's own: while a dead owner is still in the topology,
// one attempt could block for 5 s. Abandoning it lets the next attempt, made
// after the topology update, reach the new owner (the abandoned call ends by
// itself within those 5 s; handlers are idempotent). An attempt is also
// abandoned as soon as a topology says members left: its owner may be one of
// them, and the retry is placed on the new topology.
func (n *Node) attempt(identity, kind string, msg any, timeout time.Duration) (any, error) {
	type result struct {
		resp any
		err  error
	}
	n.mu.RLock()
	departed := n.departed
	n.mu.RUnlock()
	done := make(chan result, 1)
	go func() {
		resp, err := n.cluster.Request(identity, kind, msg, pcluster.WithTimeout(timeout))
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-departed:
		return nil, fmt.Errorf("request to %s/%s: members left the cluster meanwhile", kind, identity)
	case <-time.After(timeout + 50*time.Millisecond):
		return nil, fmt.Errorf("request to %s/%s: no answer within %s", kind, identity, timeout)
	}
}

// Shutdown leaves the cluster and stops the node. Graceful: protoactor marks
// the node as leaving in its gossip, the provider broadcasts a memberlist
// leave so the others re-place its grains at once, local grains are stopped,
// then remoting closes (protoactor waits ~2 s in between for ownership to
// move). Not graceful (a crash stand-in): everything stops without a leave
// and the others find out through failure detection. Safe to call twice.
func (n *Node) Shutdown(graceful bool) {
	n.shutdownOnce.Do(func() {
		close(n.stopped)
		start := time.Now()
		n.system.EventStream.Unsubscribe(n.topology)
		if n.cfg.Client {
			// protoactor's Cluster.Shutdown panics on a client (it writes to
			// a gossiper that only members start): stop the parts a client has.
			_ = n.provider.Shutdown(graceful)
			n.cluster.IdentityLookup.Shutdown()
			n.system.Shutdown()
			n.cluster.Remote.Shutdown(graceful)
		} else {
			n.cluster.Shutdown(graceful) // calls provider.Shutdown(true) when graceful
		}
		if err := n.provider.Shutdown(false); err != nil {
			n.logger.Warn("stopping memberlist", "error", err)
		}
		n.mu.Lock()
		n.members, n.inTopo = nil, false
		n.mu.Unlock()
		n.logger.Info("cluster node stopped", "graceful", graceful, "took", time.Since(start).Round(time.Millisecond))
	})
}
