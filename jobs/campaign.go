package jobs

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"crm"
	"crm/persistence"
)

// CampaignWaker runs started campaigns on the engine (actors.Engine): their
// connection grain's lane starts, and the consoles hear of the change.
type CampaignWaker interface {
	WakeCampaign(ctx context.Context, tenantID, connectionID, campaignID uuid.UUID) error
	Publish(tenantID uuid.UUID, events []crm.TenantEvent)
}

// campaignStartWorker starts a scheduled campaign at its time: its
// recipients are written and it runs. A campaign cancelled, moved or
// started meanwhile is left as it is.
type campaignStartWorker struct {
	river.WorkerDefaults[crm.CampaignStart]
	db     *persistence.DB
	engine CampaignWaker
}

func (w *campaignStartWorker) Work(ctx context.Context, job *river.Job[crm.CampaignStart]) error {
	started, ev, err := w.db.StartDueCampaign(ctx, job.Args.TenantID, job.Args.ID, job.Args.ScheduledAt, time.Now())
	if err != nil || !started || w.engine == nil {
		return err // without an engine here, the sweep of a node with one starts the lane
	}
	w.engine.Publish(job.Args.TenantID, []crm.TenantEvent{ev})
	c, err := w.db.GetCampaign(ctx, job.Args.TenantID, job.Args.ID)
	if err != nil {
		return nil // started; the sweep wakes its lane
	}
	_ = w.engine.WakeCampaign(ctx, job.Args.TenantID, c.ConnectionID, c.ID) // the sweep wakes it otherwise
	return nil
}
