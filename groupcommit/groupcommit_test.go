package groupcommit

import (
	"context"
	"sync"
	"testing"
	"time"
)

type item struct {
	n    int
	done chan struct{}
}

// TestEveryItemIsFlushedOnceInSharedBatches: concurrent callers' items are
// flushed exactly once, several to a batch, no batch heavier than MaxBatch,
// each shard's items by its own writer; after Close, Put refuses.
func TestEveryItemIsFlushedOnceInSharedBatches(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	var batches, heaviest int
	slow := make(chan struct{})
	q := New(Config{Writers: 2, MaxBatch: 10, MaxDelay: 2 * time.Millisecond}, nil, func(batch []*item) {
		<-slow // the first flush waits, so the queues fill behind it
		mu.Lock()
		batches++
		heaviest = max(heaviest, len(batch))
		for _, it := range batch {
			seen[it.n]++
		}
		mu.Unlock()
		for _, it := range batch {
			close(it.done)
		}
	})
	const n = 200
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			it := &item{n: i, done: make(chan struct{})}
			if err := q.Put(context.Background(), i, it); err != nil {
				t.Error(err)
				return
			}
			<-it.done
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(slow)
	wg.Wait()
	q.Close()
	if len(seen) != n {
		t.Fatalf("%d of %d items flushed", len(seen), n)
	}
	for k, v := range seen {
		if v != 1 {
			t.Fatalf("item %d flushed %d times", k, v)
		}
	}
	if heaviest > 10 {
		t.Fatalf("a batch of %d passed MaxBatch 10", heaviest)
	}
	if batches >= n {
		t.Fatalf("%d batches for %d items: nothing was shared", batches, n)
	}
	if err := q.Put(context.Background(), 0, &item{}); err != ErrClosed {
		t.Fatalf("Put after Close: %v", err)
	}
}

// TestWeightClosesABatch: with weights, a batch closes at MaxBatch weight.
func TestWeightClosesABatch(t *testing.T) {
	got := make(chan int, 10)
	q := New(Config{MaxBatch: 100, MaxDelay: time.Hour}, func(w int) int { return w }, func(batch []int) {
		sum := 0
		for _, w := range batch {
			sum += w
		}
		got <- sum
	})
	defer q.Close()
	for _, w := range []int{60, 50} {
		if err := q.Put(context.Background(), 0, w); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case sum := <-got:
		if sum != 110 {
			t.Fatalf("batch of weight %d", sum)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a batch past MaxBatch was not flushed at once")
	}
}
