package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"crm"
	"crm/persistence"
)

// ScheduledSender sends a scheduled message through the conversation grain
// (actors.Engine implements it): the message's id is the idempotency key,
// so a job run twice sends once. crm's coded errors are final refusals.
type ScheduledSender interface {
	SendScheduled(ctx context.Context, tenantID uuid.UUID, m crm.ScheduledMessage) (uuid.UUID, error)
}

// scheduledSendWorker sends a scheduled message at its time.
type scheduledSendWorker struct {
	river.WorkerDefaults[crm.ScheduledSend]
	db     *persistence.DB
	sender ScheduledSender
}

func (w *scheduledSendWorker) Work(ctx context.Context, job *river.Job[crm.ScheduledSend]) error {
	m, err := w.db.GetScheduledMessage(ctx, job.Args.TenantID, job.Args.ID)
	if errors.Is(err, crm.ErrNotFound) {
		return nil // deleted with its contact
	}
	if err != nil {
		return err
	}
	if m.Status != "pending" || !m.SendAt.Equal(job.Args.SendAt) && m.SendAt.After(time.Now()) {
		return nil // sent, cancelled, or moved to later (its new job sends it)
	}
	id, err := w.sender.SendScheduled(ctx, job.Args.TenantID, m)
	var coded *crm.Error
	if errors.As(err, &coded) {
		reason, merr := json.Marshal(map[string]string{"code": coded.Code, "message": coded.Message})
		if merr != nil {
			return fmt.Errorf("scheduled message %s: %w", m.ID, merr)
		}
		_, err = w.db.FinishScheduledMessage(ctx, job.Args.TenantID, m.ID, "failed", nil, reason)
		return err
	}
	if err != nil {
		return err
	}
	_, err = w.db.FinishScheduledMessage(ctx, job.Args.TenantID, m.ID, "sent", &id, nil)
	return err
}
