package actors

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
)

// TestOverflowKeepsOrder: events that find the queue full wait in order
// behind each other (a later event never overtakes an earlier one, even when
// the queue has room again), and one feeder moves them in as room frees.
// Expiry and taking deferred rows back need the inbox: see
// TestDeferredEventsAreTakenBackInOrder.
func TestOverflowKeepsOrder(t *testing.T) {
	t.Parallel()
	q := make(chan InboxItem, 2)
	e := &Engine{queues: []chan InboxItem{q}, overflows: make([]overflow, 1), takingBack: make(chan struct{}, 1), stop: make(chan struct{})}
	defer close(e.stop)
	o := &e.overflows[0]
	feeders := 0
	item := func(n int) InboxItem { return InboxItem{InboxID: crm.NewID(), ReceivedAt: time.Unix(int64(n), 0)} }
	later := time.Now().Add(time.Minute)
	add := func(n int) {
		switch o.add(q, item(n), later, true) {
		case addStartFeeder:
			feeders++
			go e.feed(0)
		case addDeferred, addNotRemembered:
			t.Fatalf("event %d deferred with nothing deferred", n)
		}
	}
	for n := 1; n <= 6; n++ {
		add(n) // 1 and 2 fill the queue; 3–6 overflow
	}
	require.Equal(t, 1, feeders, "one feeder for the whole burst")
	require.Equal(t, 1, int((<-q).ReceivedAt.Unix()))
	// Room for one more: the feeder fills it with 3, so a new event 7 must
	// still queue behind 4, 5 and 6.
	require.Eventually(t, func() bool { return len(q) == 2 }, time.Second, time.Millisecond)
	add(7)
	var got []int
	for len(got) < 6 {
		got = append(got, int((<-q).ReceivedAt.Unix()))
	}
	require.Equal(t, []int{2, 3, 4, 5, 6, 7}, got)
	require.Eventually(t, func() bool { o.mu.Lock(); defer o.mu.Unlock(); return !o.feeding }, time.Second, time.Millisecond)
	require.Equal(t, addQueued, o.add(q, item(8), later, true), "nothing waits: straight into the queue")
}
