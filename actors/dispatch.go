package actors

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"crm/channels"
	"crm/persistence"
	crmpb "crm/proto"
)

// InboxItem is one durable inbox event handed to the engine.
type InboxItem struct {
	InboxID      uuid.UUID
	TenantID     uuid.UUID
	ConnectionID uuid.UUID
	Event        *crmpb.ChannelEvent
	ReceivedAt   time.Time
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

func (e *Engine) markProcessed(ctx context.Context, in InboxItem, outcome string) error {
	e.metrics.processed.WithLabelValues(outcome).Inc()
	return e.store.InTenant(ctx, in.TenantID, func(tx TenantStore) error {
		return tx.MarkInboxProcessed(ctx, in.InboxID)
	})
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
	e.wakeCampaigns(ctx)
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
	e.metrics.swept.Add(float64(len(items)))
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
