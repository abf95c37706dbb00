package actors

import (
	"context"
	"sync"
	"time"

	"github.com/google/uuid"

	"crm/persistence"
)

// overflow is one dispatch shard's waiting room, in arrival order. Events
// that find the shard's queue full wait in items; one feeder goroutine at a
// time (started when the first event overflows, gone when nothing waits)
// moves them into the queue as the shard's worker frees room. A burst then
// costs one goroutine and one timer per shard, not per event.
//
// When the event at the head has waited past its deadline, the feeder leaves
// every waiting event to be taken back later: their inbox rows stay pending
// and only their keys are kept, in deferred. While any are deferred, the
// shard's new events join the end of that list too, and the feeder takes
// rows back from its head, in order, as the worker frees room. So memory
// stays bounded however far processing falls behind, and a contact's later
// event never overtakes an earlier one that was deferred (DESIGN §5.3).
type overflow struct {
	mu       sync.Mutex
	items    []overflowItem
	deferred []persistence.InboxKey // oldest first; a chunk being taken back stays here until it is in the queue
	feeding  bool
}

type overflowItem struct {
	ev       InboxItem
	deadline time.Time
}

// addResult says what add did with an event.
type addResult int

const (
	addQueued        addResult = iota // in the shard's queue
	addWaiting                        // waiting in items; a feeder is running
	addStartFeeder                    // waiting in items; the caller starts the feeder
	addDeferred                       // behind deferred events: its key joins them
	addNotRemembered                  // behind deferred events, but past the bound on remembered keys
)

// add queues ev directly when nothing waits before it and the queue has
// room; otherwise it waits behind the others (in items, or by key in
// deferred while any are deferred). remember says whether another deferred
// key may be kept.
func (o *overflow) add(q chan InboxItem, ev InboxItem, deadline time.Time, remember bool) addResult {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.deferred) > 0 {
		if !remember || ev.InboxID == uuid.Nil {
			return addNotRemembered
		}
		o.deferred = append(o.deferred, persistence.InboxKey{TenantID: ev.TenantID, ID: ev.InboxID})
		return addDeferred
	}
	if len(o.items) == 0 {
		select {
		case q <- ev:
			return addQueued
		default:
		}
	}
	o.items = append(o.items, overflowItem{ev: ev, deadline: deadline})
	if o.feeding {
		return addWaiting
	}
	o.feeding = true
	return addStartFeeder
}

// feed runs shard i's feeder: it moves waiting events into the queue, defers
// them all when the head one expires, and takes deferred rows back, in
// order, until nothing waits. It stops early when the engine stops; what it
// held stays in the inbox for the sweeper.
func (e *Engine) feed(i int) {
	o, q := &e.overflows[i], e.queues[i]
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		o.mu.Lock()
		switch {
		case len(o.items) == 0 && len(o.deferred) == 0:
			o.feeding, o.items, o.deferred = false, nil, nil
			o.mu.Unlock()
			return
		case len(o.items) == 0:
			// As many as the queue holds: a row claimed back waits in this
			// process at most one queue's worth of processing, well inside
			// its claim, so no sweeper takes it over meanwhile.
			keys := append([]persistence.InboxKey(nil), o.deferred[:min(len(o.deferred), max(cap(q), 1))]...)
			o.mu.Unlock()
			if !e.takeBack(q, keys) {
				return
			}
			o.mu.Lock()
			o.deferred = o.deferred[len(keys):]
			o.mu.Unlock()
			e.deferredN.Add(-int64(len(keys)))
			continue
		}
		it := o.items[0]
		o.mu.Unlock()

		sent := false
		if wait := time.Until(it.deadline); wait > 0 {
			t.Reset(wait)
			select {
			case q <- it.ev:
				sent = true
			case <-t.C:
			case <-e.stop:
				return
			}
		} else {
			select {
			case q <- it.ev:
				sent = true
			default:
			}
		}
		if sent {
			o.mu.Lock()
			o.items[0] = overflowItem{}
			o.items = o.items[1:]
			o.mu.Unlock()
			continue
		}
		// The head waited too long: it and everything behind it leave for
		// the inbox, in order (only keys are kept).
		o.mu.Lock()
		keys := make([]persistence.InboxKey, 0, len(o.items))
		for _, w := range o.items {
			e.gaveUp()
			if w.ev.InboxID != uuid.Nil && e.deferredN.Load() < maxDeferred {
				keys = append(keys, persistence.InboxKey{TenantID: w.ev.TenantID, ID: w.ev.InboxID})
				e.deferredN.Add(1)
			}
		}
		o.deferred = append(keys, o.deferred...)
		o.items = nil
		o.mu.Unlock()
	}
}

// takeBack claims the deferred rows named by keys again and hands them to
// the shard's queue in their order, waiting for room. Rows processed
// meanwhile (a redelivery, another node) are simply absent. It answers false
// when the engine stopped; a database error is retried after a pause.
func (e *Engine) takeBack(q chan InboxItem, keys []persistence.InboxKey) bool {
	for {
		select { // a few shards at a time: the webhooks' inbox writes share the pool
		case e.takingBack <- struct{}{}:
		case <-e.stop:
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		rows, err := e.db.ReclaimInbox(ctx, keys)
		cancel()
		<-e.takingBack
		if err == nil {
			for _, p := range rows {
				item, ok := e.inboxItem(p)
				if !ok {
					continue
				}
				e.backlog.Add(1)
				select {
				case q <- item:
				case <-e.stop:
					e.backlog.Add(-1)
					return false
				}
			}
			return true
		}
		e.log.Warn("taking back deferred inbox rows", "error", err)
		select {
		case <-time.After(time.Second):
		case <-e.stop:
			return false
		}
	}
}
