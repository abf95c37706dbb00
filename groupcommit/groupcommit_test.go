package groupcommit

import (
	"context"
	"errors"
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

// TestDoWaitsForTheAnswer: Do returns each call's own answer from its
// batch, still waits for it when the caller's context ends after queueing,
// and refuses once the queue is closed.
func TestDoWaitsForTheAnswer(t *testing.T) {
	release := make(chan struct{})
	q := New(Config{MaxBatch: 10, MaxDelay: time.Millisecond}, nil, func(batch []*Call[int, int]) {
		<-release
		for _, c := range batch {
			if c.In < 0 {
				c.Answer(0, errNegative)
				continue
			}
			c.Answer(c.In*2, nil)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	type result struct {
		out int
		err error
	}
	results := make(chan result, 2)
	for _, in := range []int{21, -1} {
		go func() {
			out, err := Do(ctx, q, 0, in)
			results <- result{out, err}
		}()
	}
	time.Sleep(20 * time.Millisecond) // both queued (their batch waits on release)
	cancel()
	select {
	case r := <-results:
		t.Fatalf("Do returned %+v before its batch was flushed", r)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	got := map[int]error{}
	for range 2 {
		r := <-results
		got[r.out] = r.err
	}
	if err, ok := got[42]; !ok || err != nil {
		t.Fatalf("21 was not answered 42: %v", got)
	}
	if err := got[0]; err != errNegative {
		t.Fatalf("-1 was not answered its error: %v", got)
	}
	q.Close()
	if _, err := Do(context.Background(), q, 0, 1); err != ErrClosed {
		t.Fatalf("after Close: %v", err)
	}
}

var errNegative = errors.New("negative")

// TestABatchIsWhatQueuedDuringTheLastFlush: with no delay configured (the
// default) a lone item is flushed alone, and what queues up while a flush
// runs is the next batch, whole.
func TestABatchIsWhatQueuedDuringTheLastFlush(t *testing.T) {
	flushing := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var got [][]int
	q := New(Config{MaxBatch: 100}, nil, func(batch []int) {
		mu.Lock()
		got = append(got, append([]int(nil), batch...))
		first := len(got) == 1
		mu.Unlock()
		if first {
			close(flushing)
			<-release
		}
	})
	defer q.Close()
	ctx := context.Background()
	if err := q.Put(ctx, 0, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case <-flushing: // flushed alone, with no delay configured to wait out
	case <-time.After(5 * time.Second):
		t.Fatal("a lone item was not flushed")
	}
	for i := 2; i <= 6; i++ {
		if err := q.Put(ctx, 0, i); err != nil {
			t.Fatal(err)
		}
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || len(got[0]) != 1 || len(got[1]) != 5 {
		t.Fatalf("batches %v, want [[1] [2 3 4 5 6]]", got)
	}
}
