package actors

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
)

// TestOverflowKeepsOrderAndExpires: events that find the queue full wait in
// order behind each other (a later event never overtakes an earlier one,
// even when the queue has room again), one feeder moves them in as room
// frees, and those that waited past their deadline are handed to expired
// instead.
func TestOverflowKeepsOrderAndExpires(t *testing.T) {
	t.Parallel()
	q := make(chan InboxItem, 2)
	stop := make(chan struct{})
	var o overflow
	var mu sync.Mutex
	var expired []int
	feeders := 0
	item := func(n int) InboxItem { return InboxItem{InboxID: crm.NewID(), ReceivedAt: time.Unix(int64(n), 0)} }
	add := func(n int, deadline time.Time) {
		if o.add(q, item(n), deadline) {
			feeders++
			go o.feed(q, stop, func(ev InboxItem) { mu.Lock(); expired = append(expired, int(ev.ReceivedAt.Unix())); mu.Unlock() })
		}
	}
	later := time.Now().Add(time.Minute)
	for n := 1; n <= 6; n++ {
		add(n, later) // 1 and 2 fill the queue; 3–6 overflow
	}
	require.Equal(t, 1, feeders, "one feeder for the whole burst")
	require.Equal(t, 1, int((<-q).ReceivedAt.Unix()))
	// Room for one more: the feeder fills it with 3, so a new event 7 must
	// still queue behind 4, 5 and 6.
	require.Eventually(t, func() bool { return len(q) == 2 }, time.Second, time.Millisecond)
	add(7, later)
	var got []int
	for len(got) < 6 {
		got = append(got, int((<-q).ReceivedAt.Unix()))
	}
	require.Equal(t, []int{2, 3, 4, 5, 6, 7}, got)
	require.Eventually(t, func() bool { o.mu.Lock(); defer o.mu.Unlock(); return !o.feeding }, time.Second, time.Millisecond)

	// A full queue nobody drains: the waiting events expire at their deadline.
	q <- item(100)
	q <- item(101)
	soon := time.Now().Add(50 * time.Millisecond)
	add(8, soon)
	add(9, soon)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(expired) == 2 }, 2*time.Second, time.Millisecond)
	require.Equal(t, []int{8, 9}, expired)
	require.Len(t, q, 2, "expired events did not go in")
	close(stop)
}
