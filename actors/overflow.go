package actors

import (
	"sync"
	"time"
)

// overflow holds, in arrival order, the events that found their dispatch
// shard's queue full. One goroutine at a time (started when the first event
// overflows, gone when the list is empty) moves them into the queue as the
// shard's worker frees room, and leaves to the sweeper each one that waited
// past its deadline. A burst then costs one goroutine and one timer per
// shard, not per event, and a contact's later events never overtake its
// earlier ones.
type overflow struct {
	mu      sync.Mutex
	items   []overflowItem
	feeding bool
}

type overflowItem struct {
	ev       InboxItem
	deadline time.Time
}

// add queues ev directly when nothing is waiting before it and the queue
// has room; otherwise it appends ev to the overflow and reports whether the
// caller must start the feeder.
func (o *overflow) add(q chan InboxItem, ev InboxItem, deadline time.Time) (startFeeder bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.items) == 0 {
		select {
		case q <- ev:
			return false
		default:
		}
	}
	o.items = append(o.items, overflowItem{ev: ev, deadline: deadline})
	if o.feeding {
		return false
	}
	o.feeding = true
	return true
}

// feed moves the overflow into q until it is empty; expired is called for
// each event that waited past its deadline (or was waiting when the engine
// stopped).
func (o *overflow) feed(q chan InboxItem, stop <-chan struct{}, expired func(InboxItem)) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		o.mu.Lock()
		if len(o.items) == 0 {
			o.feeding = false
			o.items = nil
			o.mu.Unlock()
			return
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
			case <-stop:
			}
		} else {
			select {
			case q <- it.ev:
				sent = true
			default:
			}
		}

		o.mu.Lock()
		o.items[0] = overflowItem{}
		o.items = o.items[1:]
		o.mu.Unlock()
		if !sent {
			expired(it.ev)
		}
	}
}
