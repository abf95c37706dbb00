package actors

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"crm"
	"crm/channels"
	"crm/cluster"
	"crm/persistence"
	crmpb "crm/proto"
)

// Grain kinds.
const (
	KindConversation = "conversation"
	KindConnection   = "connection"
)

// InboxItem is one durable inbox event handed to the engine.
type InboxItem struct {
	InboxID      uuid.UUID
	TenantID     uuid.UUID
	ConnectionID uuid.UUID
	Event        *crmpb.ChannelEvent
	ReceivedAt   time.Time
}

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
}

// Engine runs the grains and is what the HTTP layer asks to ingest, send and
// change conversations.
type Engine struct {
	cfg  EngineConfig
	db   *persistence.DB
	log  *slog.Logger
	node *cluster.Node
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
	// publishers take every batch of committed events (live delivery, and
	// tests' listeners).
	publishersMu sync.RWMutex
	publishers   []Publisher
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
	activations  *prometheus.CounterVec
	processed    *prometheus.CounterVec
	ingestLag    prometheus.Histogram
	sends        *prometheus.CounterVec
	dropped      prometheus.Counter
	deadLettered prometheus.Counter
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
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crm_sends_total",
			Help: "Provider send outcomes."}, []string{"outcome"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "crm_dispatch_deferred_total",
			Help: "Inbox events deferred to their inbox row (taken back in order by their dispatch shard) because its queue stayed full."}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "crm_inbox_dead_lettered_total",
			Help: "Inbox events dead-lettered by this node after their last failed attempt (CRM_INBOX_MAX_ATTEMPTS)."}),
	}
	if cfg.Registry != nil {
		cfg.Registry.MustRegister(m.activations, m.processed, m.ingestLag, m.sends, m.dropped, m.deadLettered)
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
	e := &Engine{cfg: cfg, db: cfg.DB, log: cfg.Log, metrics: m, queues: queues, overflows: make([]overflow, len(queues)), takingBack: make(chan struct{}, 2), stop: make(chan struct{}),
		contacts: newContactCache(200_000), grainRetry: defaultGrainRetry()}
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
	e.wg.Add(1)
	go e.sweepLoop()
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

// Dispatch queues durable events for their grains without blocking the
// caller (a webhook about to answer 200). Events that find their shard's
// queue full wait in its overflow, in order, up to two seconds; past that
// the shard defers them, and its later events, to its inbox rows and takes
// them back in order as its worker frees room (see overflow).
func (e *Engine) Dispatch(_ context.Context, events []InboxItem) {
	deadline := time.Now().Add(2 * time.Second)
	for _, ev := range events {
		i := e.shard(ev)
		e.backlog.Add(1)
		switch e.overflows[i].add(e.queues[i], ev, deadline, e.deferredN.Load() < maxDeferred) {
		case addStartFeeder:
			go e.feed(i)
		case addDeferred:
			e.deferredN.Add(1)
			e.gaveUp()
		case addNotRemembered:
			e.gaveUp()
		}
	}
}

// gaveUp counts an event the dispatch queues did not take in time.
func (e *Engine) gaveUp() {
	e.backlog.Add(-1)
	e.deferredAt.Store(time.Now().UnixNano())
	e.metrics.dropped.Inc() // last: who sees the count sees the backlog without the event
}

// maxDeferred bounds the deferred rows a node remembers to take back (32
// bytes each).
const maxDeferred = 100_000

// shard picks the dispatch shard of an event: by contact for messages, so a
// conversation's events keep their arrival order.
func (e *Engine) shard(ev InboxItem) int {
	h := fnv.New32a()
	h.Write(ev.ConnectionID[:])
	var key string
	switch body := ev.Event.GetEvent().(type) {
	case *crmpb.ChannelEvent_InboundMessage:
		key = contactKey(body.InboundMessage.GetContact())
	case *crmpb.ChannelEvent_OutboundEcho:
		key = contactKey(body.OutboundEcho.GetContact())
	case *crmpb.ChannelEvent_Reaction:
		key = contactKey(body.Reaction.GetContact())
	case *crmpb.ChannelEvent_StatusUpdate:
		key = body.StatusUpdate.GetExternalMessageId()
	default:
		key = ev.Event.GetDedupeKey()
	}
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(e.queues)))
}

func (e *Engine) dispatchLoop(queue chan InboxItem) {
	defer e.wg.Done()
	for {
		select {
		case <-e.stop:
			return
		case ev := <-queue:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := e.process(ctx, ev); err != nil {
				e.metrics.processed.WithLabelValues("error").Inc()
				e.recordFailure(ev.TenantID, ev.InboxID, err)
			}
			cancel()
			e.backlog.Add(-1)
		}
	}
}

// recordFailure counts a failed attempt at an inbox event; at
// InboxMaxAttempts the event is dead-lettered, for a tenant admin to see and
// retry. It has its own deadline: the attempt may have used up its own (a
// grain that timed out), and a failure left uncounted is retried for ever.
func (e *Engine) recordFailure(tenantID, inboxID uuid.UUID, cause error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dead, err := e.db.RecordInboxFailure(ctx, persistence.InboxFailure{TenantID: tenantID, ID: inboxID, Cause: cause,
		MaxAttempts: max(e.cfg.InboxMaxAttempts, 0), Backoff: e.cfg.ClaimTimeout})
	switch {
	case err != nil:
		e.log.Error("recording a failed inbox event", "inbox_id", inboxID, "error", err, "cause", cause)
	case dead:
		e.metrics.deadLettered.Inc()
		e.log.Error("inbox event dead-lettered after its last attempt; an admin may retry it", "tenant_id", tenantID,
			"inbox_id", inboxID, "attempts", e.cfg.InboxMaxAttempts, "error", cause)
	default:
		e.log.Warn("processing inbox event failed; the sweeper will retry", "inbox_id", inboxID, "error", cause)
	}
}

// Backlog is how many inbox events wait for processing on this node.
func (e *Engine) Backlog() int64 { return e.backlog.Load() }

// Overloaded reports a backlog (deferred events included) past MaxBacklog,
// or past half of it with an event deferred in the last five seconds because
// the queues stayed full: processing is behind, and webhooks from providers that retry
// (Meta's) are better answered 503 than stored faster than they can be
// processed. Below half the backlog it takes webhooks again even right
// after a deferral, so the queues never run dry while providers wait to
// retry: shedding for the whole five seconds let sustained processing drain
// the backlog to nothing and idle (make bench: inbox depth swinging between
// 9,000 and 13).
func (e *Engine) Overloaded() bool {
	if e.cfg.MaxBacklog <= 0 {
		return false
	}
	b := e.backlog.Load() + e.deferredN.Load()
	return b > int64(e.cfg.MaxBacklog) ||
		(b > int64(e.cfg.MaxBacklog)/2 && time.Since(time.Unix(0, e.deferredAt.Load())) < 5*time.Second)
}

// process routes one inbox event: messages to their conversation grain,
// statuses and connection events straight to the database.
func (e *Engine) process(ctx context.Context, in InboxItem) error {
	ev := in.Event
	switch body := ev.GetEvent().(type) {
	case *crmpb.ChannelEvent_InboundMessage:
		return e.toConversation(ctx, in, body.InboundMessage.GetContact())
	case *crmpb.ChannelEvent_OutboundEcho:
		if body.OutboundEcho.GetSentByApi() {
			return e.markProcessed(ctx, in, "echo_of_api_send")
		}
		return e.toConversation(ctx, in, body.OutboundEcho.GetContact())
	case *crmpb.ChannelEvent_Reaction:
		return e.toConversation(ctx, in, body.Reaction.GetContact())
	case *crmpb.ChannelEvent_StatusUpdate:
		return e.applyStatus(ctx, in, body.StatusUpdate)
	case *crmpb.ChannelEvent_ReadWatermark:
		return e.applyWatermark(ctx, in, body.ReadWatermark)
	case *crmpb.ChannelEvent_ConnectionState, *crmpb.ChannelEvent_AccountError:
		return e.connectionEvent(ctx, in)
	}
	return e.markProcessed(ctx, in, "unknown")
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

func (e *Engine) toConversation(ctx context.Context, in InboxItem, profile *crmpb.ContactProfile) error {
	key := contactKey(profile)
	if key == "" {
		return e.markProcessed(ctx, in, "no_contact")
	}
	channel := ChannelName(in.Event.GetChannel())
	contactID, created, err := e.resolveContact(ctx, in.TenantID, channel, key, profile.GetName(), contactPhone(in.Event.GetChannel(), profile))
	if err != nil {
		return fmt.Errorf("resolving contact: %w", err)
	}
	req := &crmpb.InboundEvent{
		Conversation:     &crmpb.ConversationRef{TenantId: in.TenantID.String(), ConnectionId: in.ConnectionID.String(), ContactId: contactID.String()},
		InboxEventId:     in.InboxID.String(),
		Event:            in.Event,
		ReceivedAtUnixMs: in.ReceivedAt.UnixMilli(),
		NewContact:       created,
	}
	// A fenced, stale activation stops itself: ask retries on a fresh one.
	res, err := ask[*crmpb.InboundEventResult](ctx, e, ConversationIdentity(in.TenantID, in.ConnectionID, contactID), KindConversation, req)
	if err != nil {
		return err
	}
	if res.GetError() != nil {
		if res.GetError().GetCode() == "invalid_reference" {
			// The cached contact was deleted: resolve it afresh on the retry.
			e.contacts.forget(contactCacheKey{tenant: in.TenantID, channel: channel, key: key})
		}
		return fmt.Errorf("conversation grain: %s: %s", res.GetError().GetCode(), res.GetError().GetMessage())
	}
	outcome := "stored"
	if res.GetDuplicate() {
		outcome = "duplicate"
	}
	e.metrics.processed.WithLabelValues(outcome).Inc()
	if !in.ReceivedAt.IsZero() {
		e.metrics.ingestLag.Observe(time.Since(in.ReceivedAt).Seconds())
	}
	return nil
}

// request asks a grain through the cluster.
func (e *Engine) request(ctx context.Context, identity, kind string, msg any) (any, error) {
	if e.node == nil {
		return nil, errors.New("engine has no cluster node")
	}
	return e.node.Request(ctx, identity, kind, msg)
}

func (e *Engine) markProcessed(ctx context.Context, in InboxItem, outcome string) error {
	e.metrics.processed.WithLabelValues(outcome).Inc()
	return e.db.TenantTx(ctx, in.TenantID, func(tx pgxTx) error {
		return persistence.MarkInboxProcessed(ctx, tx, in.TenantID, in.InboxID)
	})
}

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
}

// sweepLoop re-dispatches inbox rows left unprocessed (a node died after the
// 200, the queue was full, a grain failed), at start and then periodically.
func (e *Engine) sweepLoop() {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.SweepAfter)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		e.Sweep(ctx)
		cancel()
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
	}
}

// Sweep takes over inbox rows whose claim went stale (their node died, or
// dropped them under overload), hands them to the dispatch workers, and
// applies parked statuses whose message has since appeared. It returns how
// many rows it took.
func (e *Engine) Sweep(ctx context.Context) int {
	// Rows this node deferred under overload are taken back by their
	// shard's feeder, in order; these are rows whose claim went stale.
	pending, err := e.db.ClaimPendingInbox(ctx, e.cfg.Now().Add(-e.cfg.ClaimTimeout), 1000)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("sweeping inbox", "error", err)
		}
		return 0
	}
	taken := e.redispatch(pending)
	e.applyParked(ctx)
	e.resendStale(ctx)
	return taken
}

// redispatch hands claimed inbox rows, in order, to their shards (the
// way a webhook's events go) and returns how many it handed over.
func (e *Engine) redispatch(pending []persistence.PendingInboxEvent) int {
	items := make([]InboxItem, 0, len(pending))
	for _, p := range pending {
		if item, ok := e.inboxItem(p); ok {
			items = append(items, item)
		}
	}
	e.Dispatch(context.Background(), items)
	return len(items)
}

// inboxItem is a claimed inbox row as the dispatch workers take it; false
// for a row whose event cannot be decoded, which counts as a failed attempt
// (it is dead-lettered in the end, not taken again for ever).
func (e *Engine) inboxItem(p persistence.PendingInboxEvent) (InboxItem, bool) {
	ev, err := inboxEvent(p)
	if err != nil {
		e.recordFailure(p.TenantID, p.ID, fmt.Errorf("inbox row is not a channel event: %w", err))
		return InboxItem{}, false
	}
	return InboxItem{InboxID: p.ID, TenantID: p.TenantID, ConnectionID: p.ConnectionID, Event: ev, ReceivedAt: p.ReceivedAt}, true
}

// inboxEvent decodes an inbox row's event: binary protobuf, or protojson
// in rows stored before migration 0008. Its strings are made storable again:
// rows stored before the webhook route did so may hold NUL characters.
func inboxEvent(p persistence.PendingInboxEvent) (*crmpb.ChannelEvent, error) {
	ev := &crmpb.ChannelEvent{}
	var err error
	if p.Event == nil && p.PayloadJSON != nil {
		err = protojson.Unmarshal(p.PayloadJSON, ev)
	} else {
		err = proto.Unmarshal(p.Event, ev)
	}
	if err != nil {
		return nil, err
	}
	channels.MakeStorable(ev)
	return ev, nil
}

// Process handles one inbox event now, in the caller's goroutine (tests
// that drive grains without the dispatch workers).
func (e *Engine) Process(ctx context.Context, item InboxItem) error { return e.process(ctx, item) }
