package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"crm/persistence"
)

// RateCounterPurge deletes the throttle counters in PostgreSQL whose windows
// have ended (rate_counters, migration 0025): readers already treat them as
// absent, so this only bounds the table under a spray of addresses. It runs
// every ten minutes on one node; deleting what is already gone is a no-op.
type RateCounterPurge struct{}

// Kind names the job.
func (RateCounterPurge) Kind() string { return "rate_counter_purge" }

type rateCounterPurgeWorker struct {
	river.WorkerDefaults[RateCounterPurge]
	db *persistence.DB
}

func (w *rateCounterPurgeWorker) Work(ctx context.Context, _ *river.Job[RateCounterPurge]) error {
	_, err := w.db.PurgeRateCounters(ctx, time.Now())
	return err
}
