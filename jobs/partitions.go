package jobs

import (
	"context"

	"github.com/riverqueue/river"

	"crm/persistence"
)

// MessagePartitions keeps the monthly message partitions one month back and
// three ahead. It runs daily on one node of the cluster (each node used to
// run it on a ticker of its own) and at start; creating partitions that exist
// is a no-op, so a retry or an extra run changes nothing.
type MessagePartitions struct{}

// Kind names the job.
func (MessagePartitions) Kind() string { return "message_partitions" }

type messagePartitionsWorker struct {
	river.WorkerDefaults[MessagePartitions]
	db *persistence.DB
}

func (w *messagePartitionsWorker) Work(ctx context.Context, _ *river.Job[MessagePartitions]) error {
	return w.db.EnsurePartitions(ctx)
}
