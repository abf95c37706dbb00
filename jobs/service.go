package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"
)

// ServiceSweeper resolves the conversations idle past their tenant's
// auto-close and records breached first-response SLAs (actors.Engine
// implements it, through the conversation grains).
type ServiceSweeper interface {
	ServiceSweepOnce(ctx context.Context) error
}

// ServiceSweep is the periodic job of auto-close and the SLA watch: one
// per minute across the cluster, run by whichever node fetches it. A node
// that dies mid-pass leaves the rest to the next minute's job: closing and
// recording a breach are each idempotent.
type ServiceSweep struct{}

// Kind names the job.
func (ServiceSweep) Kind() string { return "service_sweep" }

// serviceSweepEvery is how often the sweep runs: auto-close counts in
// hours and SLAs in minutes, so a minute late is on time.
const serviceSweepEvery = time.Minute

type serviceSweepWorker struct {
	river.WorkerDefaults[ServiceSweep]
	sweeper ServiceSweeper
}

func (w *serviceSweepWorker) Work(ctx context.Context, _ *river.Job[ServiceSweep]) error {
	return w.sweeper.ServiceSweepOnce(ctx)
}
