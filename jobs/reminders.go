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

// ReminderSender sends an appointment's reminder to its contact through the
// conversation grain (the reminder's id is the idempotency key, so a job
// run twice sends once) and tells the consoles of a reminder to the
// assignee. actors.Engine implements it.
type ReminderSender interface {
	ScheduledSender
	Publish(tenantID uuid.UUID, events []crm.TenantEvent)
}

type reminderWorker struct {
	river.WorkerDefaults[crm.AppointmentReminder]
	db     *persistence.DB
	sender ReminderSender
}

func (w *reminderWorker) Work(ctx context.Context, job *river.Job[crm.AppointmentReminder]) error {
	tenant := job.Args.TenantID
	r, err := w.db.DueReminder(ctx, tenant, job.Args.ReminderID, job.Args.At)
	if err != nil || r == nil {
		return err // nil: sent, cancelled or moved since
	}
	finish := func(status string, id *uuid.UUID, reason json.RawMessage) error {
		ev, err := w.db.FinishReminder(ctx, tenant, *r, status, id, reason)
		if err == nil && ev != nil {
			w.sender.Publish(tenant, []crm.TenantEvent{*ev})
		}
		return err
	}
	if r.To == "assignee" {
		return finish("sent", nil, nil)
	}
	a := r.Appointment
	if a.ContactID == nil || a.ConnectionID == nil {
		return finish("failed", nil, json.RawMessage(`{"code":"no_contact","message":"the appointment has no contact or connection"}`))
	}
	settings, err := w.db.GetServiceSettings(ctx, tenant)
	if err != nil {
		return err
	}
	zone := crm.DefaultTimezone
	if settings.BusinessHours != nil && settings.BusinessHours.Timezone != "" {
		zone = settings.BusinessHours.Timezone
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		loc = time.UTC
	}
	name := ""
	if a.ContactName != nil {
		name = *a.ContactName
	}
	msg := crm.ScheduledMessage{ID: r.ID, ConnectionID: *a.ConnectionID, ContactID: *a.ContactID,
		Message: crm.ScheduledContent{Type: "text", Text: crm.ReminderText(name, a.Title, a.StartsAt, loc)}}
	id, err := w.sender.SendScheduled(ctx, tenant, msg)
	var coded *crm.Error
	if errors.As(err, &coded) && coded.Code == "window_closed" && len(a.ReminderTemplate) > 0 {
		// Outside the 24-hour window only an approved template goes out.
		msg.Message = crm.ScheduledContent{Type: "template", Template: a.ReminderTemplate}
		id, err = w.sender.SendScheduled(ctx, tenant, msg)
	}
	if errors.As(err, &coded) {
		reason, merr := json.Marshal(map[string]string{"code": coded.Code, "message": coded.Message})
		if merr != nil {
			return fmt.Errorf("reminder %s: %w", r.ID, merr)
		}
		return finish("failed", nil, reason)
	}
	if err != nil {
		return err
	}
	return finish("sent", &id, nil)
}
