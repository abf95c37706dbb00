package actors

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"crm/groupcommit"
	"crm/persistence"
)

// committer is the engine's group commit of conversation writes: grains
// hand it what an inbound event made of their conversation and wait; it
// stores the writes of many grains (many conversations and tenants) in one
// transaction of a few round trips, instead of one transaction each. A batch
// closes when it is full or a moment after its first write; while one batch
// commits the next one fills, so under load batches grow by themselves.
type committer struct {
	db      *persistence.DB
	log     *slog.Logger
	batches *prometheus.CounterVec // by outcome: committed, fenced, failed, retried
	sizes   prometheus.Histogram
	seconds prometheus.Histogram
	// queue has one writer per shard; a tenant's writes always go to the
	// same writer, so two writers never wait on each other's locks (each
	// tenant's usage and event counter rows are locked until commit).
	queue *groupcommit.Queue[*commitCall]
}

type commitCall = groupcommit.Call[*persistence.InboundWrite, struct{}]

func newCommitter(db *persistence.DB, log *slog.Logger, reg prometheus.Registerer, writers, maxBatch int, maxDelay time.Duration) *committer {
	c := &committer{db: db, log: log,
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crm_commit_batches_total",
			Help: "Group-commit transactions of conversation writes, by outcome (committed, fenced, failed; retried: committed without the writes that failed a first try)."}, []string{"outcome"}),
		sizes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crm_commit_batch_writes",
			Help: "Conversation writes per group-commit transaction.", Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500}}),
		seconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crm_commit_batch_seconds",
			Help: "Time to store one group-commit transaction.", Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5}}),
	}
	if reg != nil {
		reg.MustRegister(c.batches, c.sizes, c.seconds)
	}
	c.queue = groupcommit.New(groupcommit.Config{Writers: writers, MaxBatch: maxBatch, MaxDelay: maxDelay}, nil, c.flush)
	return c
}

// write stores w with others and returns once its batch committed or failed.
// A failed batch stores nothing; the error is persistence.ErrFenced for a
// write whose conversation another activation saved meanwhile, and
// persistence.ErrBatchFailed (store it alone) for the others.
func (c *committer) write(ctx context.Context, w *persistence.InboundWrite) error {
	_, err := groupcommit.Do(ctx, c.queue, shardOf(w.Conv.TenantID), w)
	if errors.Is(err, groupcommit.ErrClosed) {
		return persistence.ErrBatchFailed
	}
	return err
}

func (c *committer) close() { c.queue.Close() }

func shardOf(tenant uuid.UUID) int { return int(binary.BigEndian.Uint32(tenant[12:]) & 0x7fffffff) }

func (c *committer) flush(batch []*commitCall) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	writes := make([]*persistence.InboundWrite, len(batch))
	for i, call := range batch {
		writes[i] = call.In
	}
	start := time.Now()
	err := c.db.WriteInbound(ctx, writes)
	c.seconds.Observe(time.Since(start).Seconds())
	c.sizes.Observe(float64(len(batch)))
	be, _ := err.(*persistence.InboundBatchError)
	switch {
	case err == nil:
		c.batches.WithLabelValues("committed").Inc()
	case be != nil && len(be.Stored) > 0:
		// Stored without the writes that failed it (a redelivered message,
		// a fenced conversation): those go their own way.
		c.batches.WithLabelValues("committed").Inc()
		c.batches.WithLabelValues("retried").Inc()
		c.log.Info("group commit stored a batch without some of its writes", "stored", len(be.Stored),
			"duplicates", len(be.Duplicates), "fenced", len(be.Fenced))
	case errors.Is(err, persistence.ErrFenced):
		c.batches.WithLabelValues("fenced").Inc()
	default:
		c.batches.WithLabelValues("failed").Inc()
		c.log.Warn("group commit failed; its writes are stored one by one", "writes", len(batch), "error", err)
	}
	for _, call := range batch {
		var callErr error
		if err != nil {
			callErr = persistence.ErrBatchFailed
			if be != nil {
				callErr = be.ErrOf(call.In)
			}
		}
		call.Answer(struct{}{}, callErr)
	}
}
