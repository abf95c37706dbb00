package crm

import (
	"time"

	"github.com/google/uuid"
)

// AppointmentStatuses are the states of an appointment.
var AppointmentStatuses = []string{"scheduled", "confirmed", "cancelled", "done", "no_show"}

// AppointmentReminder is the durable job of one reminder, inserted with it:
// at At it reminds the contact (a WhatsApp message through the conversation
// grain, the reminder's id its idempotency key) or the assignee (a console
// notification). A reminder moved or cancelled since leaves its old job
// nothing to do: the job checks the reminder is still pending and still due
// at At.
type AppointmentReminder struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	ReminderID uuid.UUID `json:"reminder_id"`
	At         time.Time `json:"at"`
}

// Kind names the job kind (package jobs runs it).
func (AppointmentReminder) Kind() string { return "appointment_reminder" }

// ReminderText is the reminder sent to a contact inside the 24-hour window:
// the date and time in pt-BR, in the tenant's time zone, and how to answer.
func ReminderText(name, title string, at time.Time, loc *time.Location) string {
	local := at.In(loc)
	weekdays := [...]string{"domingo", "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado"}
	greeting := "Olá"
	if name != "" {
		greeting += ", " + name
	}
	return greeting + "! Lembrete: " + title + " em " + weekdays[local.Weekday()] + ", " + local.Format("02/01/2006") +
		" às " + local.Format("15:04") + ".\nResponda 1 para confirmar ou 2 para cancelar."
}
