package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"crm"
	"crm/channels"
	"crm/cluster"
	"crm/persistence"
)

// Grain kinds.
const (
	KindConversation = "conversation"
	KindConnection   = "connection"
)

// ConnectionSource builds the provider adapter of a connection (decrypting
// its credentials) and tells its channel.
type ConnectionSource interface {
	Provider(ctx context.Context, tenantID, connectionID uuid.UUID) (channels.Provider, error)
}

// MediaLinker turns one of our media ids into a URL the provider can fetch.
type MediaLinker func(ctx context.Context, tenantID, mediaID uuid.UUID) (string, error)

// EngineConfig holds the engine's dependencies and tuning.
type EngineConfig struct {
	DB          *persistence.DB
	Log         *slog.Logger
	Registry    prometheus.Registerer
	Now         func() time.Time
	Connections ConnectionSource
	MediaLink   MediaLinker
	// SaveMedia stores inbound media; nil leaves messages with the provider's reference.
	SaveMedia MediaSaver
	// SendGate is the license check the tenant grain applies to sends; nil
	// when licenses are not enforced.
	SendGate SendGate
	// PassivateAfter stops an idle conversation grain; default 10 minutes.
	PassivateAfter time.Duration
	// SendRate paces sends per connection (messages per second); default 80,
	// WhatsApp Cloud's default throughput.
	SendRate float64
	// SendAttempts bounds retries of retryable send errors; default 6.
	SendAttempts int
	// DispatchWorkers process inbox events in parallel; default 256. Each
	// waits for its event's conversation grain, and the grains' writes
	// share transactions, so more workers make larger group commits.
	DispatchWorkers int
	// CommitBatch is the most conversation writes one group-commit
	// transaction holds; default 500. Negative: every event is stored in a
	// transaction of its own.
	CommitBatch int
	// CommitDelay keeps a group commit open this long after its first write
	// for more (groupcommit.Config.MaxDelay); default 0: a batch is what
	// queued up while the previous one committed.
	CommitDelay time.Duration
	// CommitWriters is how many group commits run at once, each for its
	// own share of the tenants; default 2.
	CommitWriters int
	// SweepAfter is how often the sweeper looks for inbox rows left
	// unprocessed; default 2 s.
	SweepAfter time.Duration
	// ClaimTimeout is how long a node's claim on an inbox row lasts before
	// another node's sweeper takes the row over; default 15 s.
	ClaimTimeout time.Duration
	// MaxBacklog is how many inbox events may wait for processing on this
	// node before Overloaded says so (the webhook route then sheds load);
	// default 5,000, a few seconds of processing. Negative: never.
	MaxBacklog int
	// InboxMaxAttempts dead-letters an inbox event after this many failed
	// processing attempts (CRM_INBOX_MAX_ATTEMPTS): the sweeper stops taking
	// it and a tenant admin may retry it; default 10. Each retry waits one
	// ClaimTimeout longer than the one before. Negative: retried for ever.
	InboxMaxAttempts int
	// StaleSendAfter is how long an outbound message may stay pending before
	// the sweeper hands it to its connection again; default 15 minutes, well
	// past the longest retrying attempt.
	StaleSendAfter time.Duration
	// DistributeEvery is how often the distributor looks at every team
	// queue besides the passes kicked by changes (distribute.go); default
	// 5 s. Negative: only kicked passes.
	DistributeEvery time.Duration
}

// Engine runs the grains and is what the HTTP layer asks to ingest, send and
// change conversations.
type Engine struct {
	cfg EngineConfig
	db  *persistence.DB
	// store is where the grains read and write, in tenant transactions.
	store Store
	log   *slog.Logger
	node  *cluster.Node
	// queues are the dispatch shards: one contact's events always go to the
	// same shard, so they reach their grain in the order they arrived.
	queues []chan InboxItem
	// overflows hold each shard's events that found its queue full.
	overflows []overflow
	// backlog counts events handed to the dispatch queues and not yet
	// processed (or deferred).
	backlog atomic.Int64
	// deferredAt is when an event was last deferred because its shard's
	// queue stayed full (unix nanoseconds).
	deferredAt atomic.Int64
	// deferredN counts the inbox rows the shards have deferred and will
	// take back (at most maxDeferred are remembered; others wait for their
	// claim to time out and the sweeper).
	deferredN atomic.Int64
	// takingBack bounds the shards claiming deferred rows back at once.
	takingBack chan struct{}
	stop       chan struct{}
	wg         sync.WaitGroup
	once       sync.Once
	metrics    *engineMetrics
	contacts   *contactCache
	// grainRetry spaces the retries of a grain's transient refusals (ask).
	grainRetry retryPolicy
	// committer group-commits the conversation grains' inbound writes; nil
	// when CommitBatch is negative.
	committer *committer
	// resolver batches first-sight contact resolutions; nil with committer.
	resolver *contactResolver
	// loader batches the conversation reads of activating grains; nil with
	// committer.
	loader *conversationLoader
	// bots caches each tenant's chatbot flows (bot_flows.go).
	bots *botFlows
	// publishers take every batch of committed events (live delivery, and
	// tests' listeners).
	publishersMu sync.RWMutex
	publishers   []Publisher
	// kicks are the tenants whose team queues may move (distribute.go).
	kicks chan uuid.UUID
}

// Publisher is live delivery as the engine sees it: each batch of a
// tenant's committed events is handed over once, after its commit, and the
// call must not block on consoles (DESIGN §5.6). It is fire-and-forget: a
// console that misses an event finds it by resuming from its last seq
// (DESIGN §5.4). realtime.Router implements it; the grains never see
// sockets.
type Publisher interface {
	Publish(tenantID uuid.UUID, events []crm.TenantEvent)
}

// PublisherFunc is a function as a Publisher (same-process listeners, tests).
type PublisherFunc func(tenantID uuid.UUID, events []crm.TenantEvent)

// Publish calls f.
func (f PublisherFunc) Publish(tenantID uuid.UUID, events []crm.TenantEvent) {
	f(tenantID, events)
}

type engineMetrics struct {
	activations *prometheus.CounterVec
	processed   *prometheus.CounterVec
	ingestLag   prometheus.Histogram
	sends       *prometheus.CounterVec
	// campaignSends counts campaign recipients handed to their conversation
	// grain, by outcome.
	campaignSends *prometheus.CounterVec
	dropped       prometheus.Counter
	swept         prometheus.Counter
	deadLettered  prometheus.Counter
	botSteps      prometheus.Counter
	botErrors     *prometheus.CounterVec
}

// NewEngine builds an engine; call Kinds for cluster.Start, then Attach and Start.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.DB == nil {
		return nil, errors.New("actors: DB is required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PassivateAfter <= 0 {
		cfg.PassivateAfter = 10 * time.Minute
	}
	if cfg.SendRate <= 0 {
		cfg.SendRate = 80
	}
	if cfg.SendAttempts <= 0 {
		cfg.SendAttempts = 6
	}
	if cfg.DispatchWorkers <= 0 {
		cfg.DispatchWorkers = 256
	}
	if cfg.CommitBatch == 0 {
		cfg.CommitBatch = 500
	}
	if cfg.CommitWriters <= 0 {
		cfg.CommitWriters = 2
	}
	if cfg.MaxBacklog == 0 {
		cfg.MaxBacklog = 5_000
	}
	if cfg.SweepAfter <= 0 {
		cfg.SweepAfter = 2 * time.Second
	}
	if cfg.ClaimTimeout <= 0 {
		cfg.ClaimTimeout = 15 * time.Second
	}
	if cfg.StaleSendAfter <= 0 {
		cfg.StaleSendAfter = 15 * time.Minute
	}
	if cfg.DistributeEvery == 0 {
		cfg.DistributeEvery = 5 * time.Second
	}
	if cfg.InboxMaxAttempts == 0 {
		cfg.InboxMaxAttempts = 10
	}
	m := &engineMetrics{
		activations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crm_grain_activations_total",
			Help: "Grain activations by kind."}, []string{"kind"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crm_inbox_processed_total",
			Help: "Inbox events processed by outcome."}, []string{"outcome"}),
		ingestLag: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crm_ingest_lag_seconds",
			Help:    "From webhook received to the event stored and published.",
			Buckets: []float64{.002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10}}),
		campaignSends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crm_campaign_sends_total",
			Help: "Campaign recipients handed to their conversation grain, by outcome: handed, duplicate (already stored), refused (failed with the reason), retry (left to the next pass)."}, []string{"outcome"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crm_sends_total",
			Help: "Provider send outcomes."}, []string{"outcome"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "crm_dispatch_deferred_total",
			Help: "Inbox events deferred to their inbox row (taken back in order by their dispatch shard) because its queue stayed full."}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{Name: "crm_inbox_swept_total",
			Help: "Inbox events the sweeper took back once their claim went stale: a failed attempt waiting to be retried, a node that died or stopped holding them, one its deferral bound could not remember."}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "crm_inbox_dead_lettered_total",
			Help: "Inbox events dead-lettered by this node after their last failed attempt (CRM_INBOX_MAX_ATTEMPTS)."}),
		botSteps: prometheus.NewCounter(prometheus.CounterOpts{Name: "crm_bot_steps_total",
			Help: "Chatbot steps run (a customer's message, a wait's end or a start moving a session)."}),
		botErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crm_bot_errors_total",
			Help: "Chatbot sessions stopped by an error, by code (step_limit, broken_flow)."}, []string{"code"}),
	}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(m.activations, m.processed, m.ingestLag, m.sends, m.dropped, m.swept, m.deadLettered, m.botSteps, m.botErrors, m.campaignSends)
		cfg.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "crm_inbox_dead_letters",
			Help: "Inbox events dead-lettered and waiting for an admin's retry (all tenants)."}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			n, err := cfg.DB.InboxDeadLetters(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		}))
	}
	queues := make([]chan InboxItem, cfg.DispatchWorkers)
	for i := range queues {
		queues[i] = make(chan InboxItem, 10_000/cfg.DispatchWorkers+1)
	}
	e := &Engine{cfg: cfg, db: cfg.DB, store: PostgresStore(cfg.DB), log: cfg.Log, metrics: m, queues: queues, overflows: make([]overflow, len(queues)), takingBack: make(chan struct{}, 2), stop: make(chan struct{}),
		contacts: newContactCache(200_000), grainRetry: defaultGrainRetry(), bots: newBotFlows(cfg.DB, cfg.Now),
		kicks: make(chan uuid.UUID, 1024)}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "crm_engine_backlog",
			Help: "Inbox events waiting for processing on this node."}, func() float64 { return float64(e.Backlog()) }))
	}
	if cfg.CommitBatch > 0 && cfg.DB.EngineBatches() {
		e.committer = newCommitter(cfg.DB, cfg.Log, cfg.Registry, cfg.CommitWriters, cfg.CommitBatch, cfg.CommitDelay)
		e.resolver = newContactResolver(cfg.DB, cfg.Log, cfg.CommitBatch, cfg.CommitDelay)
		e.loader = newConversationLoader(cfg.DB, cfg.Log, cfg.CommitBatch, cfg.CommitDelay)
	}
	return e, nil
}

// Kinds are the grain kinds this engine hosts, for cluster.Start.
func (e *Engine) Kinds() []*cluster.Kind {
	return []*cluster.Kind{
		cluster.NewKind(KindConversation, actor.PropsFromProducer(func() actor.Actor { return &conversationGrain{engine: e} })),
		cluster.NewKind(KindConnection, actor.PropsFromProducer(func() actor.Actor { return newConnectionGrain(e) })),
		cluster.NewKind(KindTenant, actor.PropsFromProducer(func() actor.Actor { return &tenantGrain{engine: e} })),
	}
}

// Attach gives the engine its cluster node.
func (e *Engine) Attach(node *cluster.Node) { e.node = node }

// OnPublish adds a receiver of every batch of committed events: the node's
// realtime.Router, which routes them to the gateways, and tests' listeners.
func (e *Engine) OnPublish(p Publisher) {
	e.publishersMu.Lock()
	defer e.publishersMu.Unlock()
	e.publishers = append(e.publishers, p)
}

// Start runs the dispatch workers and the sweeper until Stop.
func (e *Engine) Start(ctx context.Context) {
	for _, q := range e.queues {
		e.wg.Add(1)
		go e.dispatchLoop(q)
	}
	e.wg.Add(2)
	go e.sweepLoop()
	go e.distributeLoop()
}

// Stop stops the workers; safe to call twice.
func (e *Engine) Stop() {
	e.once.Do(func() {
		close(e.stop)
		e.wg.Wait()
		if e.committer != nil {
			e.committer.close()
			e.resolver.close()
			e.loader.close()
		}
	})
}

// ConversationIdentity is the grain identity of a conversation.
func ConversationIdentity(tenantID, connectionID, contactID uuid.UUID) string {
	return tenantID.String() + "/" + connectionID.String() + "/" + contactID.String()
}

func parseIdentity(identity string) (tenant, connection, contact uuid.UUID, err error) {
	parts := strings.Split(identity, "/")
	if len(parts) != 3 {
		return uuid.Nil, uuid.Nil, uuid.Nil, fmt.Errorf("bad conversation identity %q", identity)
	}
	if tenant, err = uuid.Parse(parts[0]); err != nil {
		return
	}
	if connection, err = uuid.Parse(parts[1]); err != nil {
		return
	}
	contact, err = uuid.Parse(parts[2])
	return
}

// request asks a grain through the cluster.
func (e *Engine) request(ctx context.Context, identity, kind string, msg any) (any, error) {
	if e.node == nil {
		return nil, errors.New("engine has no cluster node")
	}
	return e.node.Request(ctx, identity, kind, msg)
}

// Publish hands tenant events committed outside the engine (the API's
// changes to contacts, labels and quick replies) to the same publishers as
// the engine's own, so every open console hears of them live.
func (e *Engine) Publish(tenantID uuid.UUID, events []crm.TenantEvent) { e.publish(tenantID, events) }

// publish hands committed events to the publishers. Live delivery is the
// fast path: a console that misses one finds it by resuming from its last
// seq.
func (e *Engine) publish(tenantID uuid.UUID, events []crm.TenantEvent) {
	if len(events) == 0 {
		return
	}
	e.publishersMu.RLock()
	publishers := e.publishers
	e.publishersMu.RUnlock()
	for _, p := range publishers {
		p.Publish(tenantID, events)
	}
	if movesQueues(events) {
		e.KickDistribution(tenantID)
	}
}
