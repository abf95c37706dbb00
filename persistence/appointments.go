package persistence

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// Agenda: appointments and their reminders. Each pending reminder has its
// durable job (crm.AppointmentReminder), inserted in the transaction that
// writes the reminder; moving an appointment replaces its pending
// reminders (the old jobs find them gone), cancelling it cancels them.

// Appointment is a booked time with a contact and an assignee.
type Appointment struct {
	ID               uuid.UUID       `json:"id"`
	Title            string          `json:"title"`
	Description      string          `json:"description"`
	ContactID        *uuid.UUID      `json:"contact_id"`
	ContactName      *string         `json:"contact_name"`
	AssigneeID       *uuid.UUID      `json:"assignee_id"`
	ConnectionID     *uuid.UUID      `json:"connection_id"`
	StartsAt         time.Time       `json:"starts_at"`
	DurationMin      int             `json:"duration_min"`
	Status           string          `json:"status"`
	ReminderTemplate json.RawMessage `json:"reminder_template"`
	Reminders        []Reminder      `json:"reminders"`
	// Overlaps are the assignee's other live appointments at the same time
	// (a warning: the booking is kept).
	Overlaps  []uuid.UUID `json:"overlaps"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

// Reminder is one reminder of an appointment.
type Reminder struct {
	ID            uuid.UUID       `json:"id"`
	MinutesBefore int             `json:"minutes_before"`
	To            string          `json:"to"` // contact or assignee
	RemindAt      time.Time       `json:"remind_at"`
	Status        string          `json:"status"` // pending, sent, failed, cancelled
	SentAt        *time.Time      `json:"sent_at"`
	Error         json.RawMessage `json:"error"`
}

// ReminderSpec asks for a reminder.
type ReminderSpec struct {
	MinutesBefore int    `json:"minutes_before"`
	To            string `json:"to"` // contact or assignee
}

// AppointmentInput is a validated appointment to create, or the whole of
// one to write (PATCH merges into the stored one first).
type AppointmentInput struct {
	Title, Description string
	ContactID          *uuid.UUID
	AssigneeID         *uuid.UUID
	ConnectionID       *uuid.UUID
	StartsAt           time.Time
	DurationMin        int
	Status             string
	ReminderTemplate   json.RawMessage
	Reminders          []ReminderSpec
}

const appointmentColumns = `a.id, a.title, a.description, a.contact_id,
	(SELECT ct.name FROM contacts ct WHERE ct.tenant_id = a.tenant_id AND ct.id = a.contact_id),
	a.user_id, a.connection_id, a.starts_at, (extract(epoch FROM a.ends_at - a.starts_at) / 60)::int, a.status,
	a.reminder_template, a.created_at, a.updated_at`

func scanAppointment(row pgx.Row) (Appointment, error) {
	var a Appointment
	var tmpl []byte
	err := row.Scan(&a.ID, &a.Title, &a.Description, &a.ContactID, &a.ContactName, &a.AssigneeID, &a.ConnectionID,
		&a.StartsAt, &a.DurationMin, &a.Status, &tmpl, &a.CreatedAt, &a.UpdatedAt)
	if len(tmpl) > 0 {
		a.ReminderTemplate = tmpl
	}
	return a, err
}

func loadAppointment(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (Appointment, error) {
	q := `SELECT ` + appointmentColumns + ` FROM appointments a WHERE a.tenant_id = $1 AND a.id = $2`
	if forUpdate {
		q += ` FOR UPDATE`
	}
	a, err := scanAppointment(tx.QueryRow(ctx, q, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, crm.NotFound("appointment")
	}
	if err != nil {
		return a, err
	}
	return a, fillAppointment(ctx, tx, tenantID, &a)
}

// fillAppointment reads an appointment's reminders and overlaps.
func fillAppointment(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, a *Appointment) error {
	rows, err := tx.Query(ctx, `SELECT id, minutes_before, target, remind_at, status, sent_at, error FROM reminders
		WHERE tenant_id = $1 AND appointment_id = $2 AND status <> 'cancelled' ORDER BY remind_at, id`, tenantID, a.ID)
	if err != nil {
		return err
	}
	a.Reminders = []Reminder{}
	for rows.Next() {
		var r Reminder
		var e []byte
		if err := rows.Scan(&r.ID, &r.MinutesBefore, &r.To, &r.RemindAt, &r.Status, &r.SentAt, &e); err != nil {
			rows.Close()
			return err
		}
		if len(e) > 0 {
			r.Error = e
		}
		a.Reminders = append(a.Reminders, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	a.Overlaps = []uuid.UUID{}
	if a.AssigneeID == nil || a.Status == "cancelled" {
		return nil
	}
	rows, err = tx.Query(ctx, `SELECT id FROM appointments WHERE tenant_id = $1 AND user_id = $2 AND id <> $3
		AND status IN ('scheduled', 'confirmed') AND tstzrange(starts_at, ends_at) && tstzrange($4, $5) ORDER BY starts_at, id`,
		tenantID, *a.AssigneeID, a.ID, a.StartsAt, a.StartsAt.Add(time.Duration(a.DurationMin)*time.Minute))
	if err != nil {
		return err
	}
	a.Overlaps, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	return err
}

// AppointmentFilter selects appointments starting in [From, To).
type AppointmentFilter struct {
	From, To   time.Time
	AssigneeID *uuid.UUID
	ContactID  *uuid.UUID
}

// ListAppointments lists the appointments in a time range, by start.
func (db *DB) ListAppointments(ctx context.Context, tenantID uuid.UUID, f AppointmentFilter) ([]Appointment, error) {
	out := []Appointment{}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		where := []string{"a.tenant_id = $1", "a.starts_at >= $2", "a.starts_at < $3"}
		args := []any{tenantID, f.From, f.To}
		if f.AssigneeID != nil {
			args = append(args, *f.AssigneeID)
			where = append(where, fmt.Sprintf("a.user_id = $%d", len(args)))
		}
		if f.ContactID != nil {
			args = append(args, *f.ContactID)
			where = append(where, fmt.Sprintf("a.contact_id = $%d", len(args)))
		}
		rows, err := tx.Query(ctx, `SELECT `+appointmentColumns+` FROM appointments a WHERE `+strings.Join(where, " AND ")+
			` ORDER BY a.starts_at, a.id LIMIT 2000`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			a, err := scanAppointment(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			if err := fillAppointment(ctx, tx, tenantID, &out[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, translate(err)
}

// GetAppointment loads one appointment.
func (db *DB) GetAppointment(ctx context.Context, tenantID, id uuid.UUID) (Appointment, error) {
	var out Appointment
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadAppointment(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

// checkAppointmentRefs makes sure the contact, assignee and connection are
// the tenant's.
func checkAppointmentRefs(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, in AppointmentInput) error {
	fields := crm.FieldErrors{}
	for _, r := range []struct {
		field, table, extra string
		id                  *uuid.UUID
	}{{"contact_id", "contacts", "", in.ContactID}, {"assignee_id", "users", " AND active", in.AssigneeID},
		{"connection_id", "connections", " AND deleted_at IS NULL", in.ConnectionID}} {
		if r.id == nil {
			continue
		}
		var ok bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+r.table+` WHERE tenant_id = $1 AND id = $2`+r.extra+`)`,
			tenantID, *r.id).Scan(&ok); err != nil {
			return err
		}
		if !ok {
			fields[r.field] = "does not exist"
		}
	}
	for i, r := range in.Reminders {
		if r.To == "contact" && (in.ContactID == nil || in.ConnectionID == nil) {
			fields[fmt.Sprintf("reminders[%d].to", i)] = "a reminder to the contact needs contact_id and connection_id"
		}
		if r.To == "assignee" && in.AssigneeID == nil {
			fields[fmt.Sprintf("reminders[%d].to", i)] = "a reminder to the assignee needs assignee_id"
		}
	}
	return fields.Err()
}

// writeReminders cancels the appointment's pending reminders and, unless it
// is cancelled or over, writes new ones (those still ahead) with their jobs.
func (db *DB) writeReminders(ctx context.Context, tx pgx.Tx, tenantID, appointmentID uuid.UUID, in AppointmentInput, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE reminders SET status = 'cancelled' WHERE tenant_id = $1 AND appointment_id = $2 AND status = 'pending'`,
		tenantID, appointmentID); err != nil {
		return err
	}
	if in.Status != "scheduled" && in.Status != "confirmed" {
		return nil
	}
	for _, r := range in.Reminders {
		at := in.StartsAt.Add(-time.Duration(r.MinutesBefore) * time.Minute)
		if !at.After(now) {
			continue // its time has passed
		}
		if db.jobs == nil {
			return crm.NewError(crm.ErrUnprocessable, "jobs_unavailable", "reminders cannot be scheduled on this node (no job client)", nil)
		}
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO reminders (tenant_id, id, appointment_id, remind_at, connection_id, minutes_before, target)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, tenantID, id, appointmentID, at, in.ConnectionID, r.MinutesBefore, r.To); err != nil {
			return err
		}
		if err := db.jobs.InsertTx(ctx, tx, crm.AppointmentReminder{TenantID: tenantID, ReminderID: id, At: at.UTC()}, JobOpts{RunAt: at}); err != nil {
			return err
		}
	}
	return nil
}

// CreateAppointment stores an appointment and its reminders' jobs.
func (db *DB) CreateAppointment(ctx context.Context, tenantID uuid.UUID, by AuditEntry, in AppointmentInput, now time.Time) (Appointment, crm.TenantEvent, error) {
	var out Appointment
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := checkAppointmentRefs(ctx, tx, tenantID, in); err != nil {
			return err
		}
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO appointments (tenant_id, id, title, description, contact_id, user_id, connection_id,
			starts_at, ends_at, status, reminder_template) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			tenantID, id, in.Title, in.Description, in.ContactID, in.AssigneeID, in.ConnectionID, in.StartsAt,
			in.StartsAt.Add(time.Duration(in.DurationMin)*time.Minute), in.Status, nullJSON(in.ReminderTemplate)); err != nil {
			return err
		}
		if err := db.writeReminders(ctx, tx, tenantID, id, in, now); err != nil {
			return err
		}
		var err error
		if out, err = loadAppointment(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "appointment", id, nil, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return []byte(b)
}

// UpdateAppointment writes the whole appointment (merge first); its
// pending reminders are replaced, so a move moves them and a cancellation
// cancels them.
func (db *DB) UpdateAppointment(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, merge func(Appointment) (AppointmentInput, error), now time.Time) (Appointment, crm.TenantEvent, error) {
	var out Appointment
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadAppointment(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		in, err := merge(before)
		if err != nil {
			return err
		}
		if err := checkAppointmentRefs(ctx, tx, tenantID, in); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE appointments SET title = $3, description = $4, contact_id = $5, user_id = $6, connection_id = $7,
			starts_at = $8, ends_at = $9, status = $10, reminder_template = $11, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, in.Title, in.Description, in.ContactID, in.AssigneeID, in.ConnectionID, in.StartsAt,
			in.StartsAt.Add(time.Duration(in.DurationMin)*time.Minute), in.Status, nullJSON(in.ReminderTemplate)); err != nil {
			return err
		}
		if err := db.writeReminders(ctx, tx, tenantID, id, in, now); err != nil {
			return err
		}
		if out, err = loadAppointment(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "appointment", id, before, out
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return out, ev, translate(err)
}

// DeleteAppointment deletes an appointment and its reminders.
func (db *DB) DeleteAppointment(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadAppointment(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM appointments WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "appointment", id, before, nil
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return ev, translate(err)
}

// DueReminder is a reminder whose job ran, with what sending it needs.
type DueReminder struct {
	Reminder
	Appointment Appointment
}

// DueReminder loads a pending reminder due at at; nil when it was sent,
// cancelled or moved since (its job has nothing to do).
func (db *DB) DueReminder(ctx context.Context, tenantID, reminderID uuid.UUID, at time.Time) (*DueReminder, error) {
	var out *DueReminder
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var r DueReminder
		var appointment uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id, minutes_before, target, remind_at, status, appointment_id FROM reminders
			WHERE tenant_id = $1 AND id = $2`, tenantID, reminderID).Scan(&r.ID, &r.MinutesBefore, &r.To, &r.RemindAt, &r.Status, &appointment)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && (r.Status != "pending" || !r.RemindAt.Equal(at)) {
			return nil
		}
		if err != nil {
			return err
		}
		if r.Appointment, err = loadAppointment(ctx, tx, tenantID, appointment, false); err != nil {
			return err
		}
		out = &r
		return nil
	})
	if errors.Is(err, crm.ErrNotFound) {
		return nil, nil
	}
	return out, translate(err)
}

// FinishReminder records a reminder's outcome (sent or failed, with the
// message sent or the error), and for a reminder to the assignee the
// appointment.reminder event their console shows; false when another run
// finished it first.
func (db *DB) FinishReminder(ctx context.Context, tenantID uuid.UUID, r DueReminder, status string, messageID *uuid.UUID, reason json.RawMessage) (*crm.TenantEvent, error) {
	var ev *crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE reminders SET status = $3, sent_message_id = $4, error = $5, sent_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'pending'`, tenantID, r.ID, status, messageID, nullJSON(reason))
		if err != nil || tag.RowsAffected() == 0 || status != "sent" || r.To != "assignee" {
			return err
		}
		payload, err := json.Marshal(map[string]any{"appointment": r.Appointment, "reminder_id": r.ID, "minutes_before": r.MinutesBefore})
		if err != nil {
			return err
		}
		e := crm.TenantEvent{Type: "appointment.reminder", Payload: payload, AssigneeID: r.Appointment.AssigneeID}
		if err := AppendTenantEvent(ctx, tx, tenantID, &e); err != nil {
			return err
		}
		ev = &e
		return nil
	})
	return ev, translate(err)
}

// SetCalendarFeed replaces a user's ICS feed secret (its SHA-256 kept).
func (db *DB) SetCalendarFeed(ctx context.Context, tenantID, userID uuid.UUID, secret string) error {
	sum := sha256.Sum256([]byte(secret))
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO calendar_feeds (tenant_id, user_id, token_hash) VALUES ($1, $2, $3)
			ON CONFLICT (tenant_id, user_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()`, tenantID, userID, sum[:])
		return err
	}))
}

// CalendarFeedValid reports whether secret is the user's feed secret.
func (db *DB) CalendarFeedValid(ctx context.Context, tenantID, userID uuid.UUID, secret string) (bool, error) {
	sum := sha256.Sum256([]byte(secret))
	var ok bool
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM calendar_feeds f JOIN users u ON u.tenant_id = f.tenant_id AND u.id = f.user_id
			WHERE f.tenant_id = $1 AND f.user_id = $2 AND f.token_hash = $3 AND u.active)`, tenantID, userID, sum[:]).Scan(&ok)
	})
	return ok, translate(err)
}

// AnswerAppointment applies a contact's "1" (confirm) or "2" (cancel) to
// their next appointment that sent them a reminder in the last three days,
// in the caller's transaction; nil when there is none to answer. A
// cancellation cancels its pending reminders. The appointment.updated
// event names the assignee, whose console shows it.
func AnswerAppointment(ctx context.Context, tx pgx.Tx, tenantID, contactID uuid.UUID, confirm bool, now time.Time) (*Appointment, *crm.TenantEvent, error) {
	var id uuid.UUID
	err := tx.QueryRow(ctx, `SELECT a.id FROM appointments a WHERE a.tenant_id = $1 AND a.contact_id = $2
		AND a.starts_at > $3 AND a.status IN ('scheduled', 'confirmed')
		AND EXISTS (SELECT 1 FROM reminders r WHERE r.tenant_id = a.tenant_id AND r.appointment_id = a.id
		            AND r.target = 'contact' AND r.status = 'sent' AND r.sent_at > $3 - interval '3 days')
		ORDER BY a.starts_at, a.id LIMIT 1 FOR UPDATE`, tenantID, contactID, now).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	status := "confirmed"
	if !confirm {
		status = "cancelled"
		if _, err := tx.Exec(ctx, `UPDATE reminders SET status = 'cancelled' WHERE tenant_id = $1 AND appointment_id = $2 AND status = 'pending'`,
			tenantID, id); err != nil {
			return nil, nil, err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE appointments SET status = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, id, status); err != nil {
		return nil, nil, err
	}
	a, err := loadAppointment(ctx, tx, tenantID, id, false)
	if err != nil {
		return nil, nil, err
	}
	payload, err := json.Marshal(a)
	if err != nil {
		return nil, nil, err
	}
	ev := crm.TenantEvent{Type: "appointment.updated", Payload: payload, AssigneeID: a.AssigneeID}
	if err := AppendTenantEvent(ctx, tx, tenantID, &ev); err != nil {
		return nil, nil, err
	}
	return &a, &ev, nil
}

func (t *Tx) AnswerAppointment(ctx context.Context, contactID uuid.UUID, confirm bool, now time.Time) (*Appointment, *crm.TenantEvent, error) {
	return AnswerAppointment(ctx, t.tx, t.tenant, contactID, confirm, now)
}
