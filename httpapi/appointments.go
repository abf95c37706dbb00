package httpapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// Agenda routes, gated by the plan's agenda feature. Reminders are durable
// jobs (jobs/reminders.go): to the contact by WhatsApp (text inside the
// 24-hour window, the appointment's template outside it), to the assignee
// as an appointment.reminder event. Each user may publish their agenda as
// a secret ICS feed for Google Calendar or a phone.

const agendaFeature = "agenda"

type appointmentRequest struct {
	Title            *string                     `json:"title"` // required on create
	Description      *string                     `json:"description"`
	ContactID        *json.RawMessage            `json:"contact_id"`  // uuid or null
	AssigneeID       *json.RawMessage            `json:"assignee_id"` // uuid or null
	ConnectionID     *json.RawMessage            `json:"connection_id"`
	StartsAt         *time.Time                  `json:"starts_at"`    // required on create
	DurationMin      *int                        `json:"duration_min"` // 5–1440, default 30
	Status           *string                     `json:"status"`       // scheduled, confirmed, cancelled, done, no_show
	Reminders        *[]persistence.ReminderSpec `json:"reminders"`    // [{minutes_before, to: contact | assignee}]
	ReminderTemplate *json.RawMessage            `json:"reminder_template"`
}

type appointmentsQuery struct {
	From       string `form:"from"` // RFC 3339; default now
	To         string `form:"to"`   // default from + 31 days; at most 93 days after from
	AssigneeID string `form:"assignee_id"`
	ContactID  string `form:"contact_id"`
}

type appointmentsResponse struct {
	Items []persistence.Appointment `json:"items"`
}

type calendarFeedResponse struct {
	URL string `json:"url"` // shown once: whoever has it reads the agenda
}

func (s *Server) appointmentRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/appointments", Summary: "Appointments starting in a time range", Tag: "agenda",
		Access: accessTenant, Perm: crm.PermAppointmentsRead, Query: appointmentsQuery{}, Response: appointmentsResponse{}}, s.listAppointments)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/appointments",
		Summary: "Book an appointment with its reminders (overlaps with the assignee's others are listed, not refused)",
		Tag:     "agenda", Access: accessTenant, Perm: crm.PermAppointmentsWrite, Request: appointmentRequest{},
		Response: persistence.Appointment{}, Status: http.StatusCreated}, s.createAppointment)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/appointments/:id", Summary: "Get an appointment", Tag: "agenda",
		Access: accessTenant, Perm: crm.PermAppointmentsRead, Response: persistence.Appointment{}}, s.getAppointment)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/appointments/:id",
		Summary: "Change, move or cancel an appointment (its pending reminders follow)", Tag: "agenda",
		Access: accessTenant, Perm: crm.PermAppointmentsWrite, Request: appointmentRequest{}, Response: persistence.Appointment{}}, s.updateAppointment)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/appointments/:id", Summary: "Delete an appointment and its reminders",
		Tag: "agenda", Access: accessTenant, Perm: crm.PermAppointmentsWrite, Status: http.StatusNoContent}, s.deleteAppointment)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/auth/me/calendar-feed",
		Summary: "A new secret ICS feed URL of your agenda (the previous one stops working)", Tag: "agenda",
		Access: accessTenant, Perm: crm.PermAppointmentsRead, SessionOnly: true, Response: calendarFeedResponse{}}, s.newCalendarFeed)
	s.raw(op{Method: http.MethodGet, Path: "/ics/:tenant/:user/:secret", Summary: "A user's agenda as iCalendar (the secret URL from POST /api/v1/auth/me/calendar-feed)",
		Tag: "agenda"}, s.calendarFeed)
}

// appointmentInput merges a request into an appointment (the zero one on
// create) and checks it.
func appointmentInput(req appointmentRequest, base persistence.AppointmentInput, create bool) (persistence.AppointmentInput, error) {
	fields := crm.FieldErrors{}
	in := base
	if req.Title != nil || create {
		title := ""
		if req.Title != nil {
			title = *req.Title
		}
		in.Title = directoryText(fields, "title", title, 1, 200)
	}
	if req.Description != nil {
		in.Description = directoryText(fields, "description", *req.Description, 0, 10000)
	}
	for _, r := range []struct {
		field string
		raw   *json.RawMessage
		dst   **uuid.UUID
	}{{"contact_id", req.ContactID, &in.ContactID}, {"assignee_id", req.AssigneeID, &in.AssigneeID}, {"connection_id", req.ConnectionID, &in.ConnectionID}} {
		id, clear, err := rawID(r.field, r.raw)
		if err != nil {
			return in, err
		}
		switch {
		case clear:
			*r.dst = nil
		case id != nil:
			*r.dst = id
		}
	}
	if req.StartsAt != nil {
		in.StartsAt = *req.StartsAt
	} else if create {
		fields.Add("starts_at", "is required")
	}
	if req.DurationMin != nil {
		in.DurationMin = *req.DurationMin
	}
	if in.DurationMin == 0 {
		in.DurationMin = 30
	}
	if in.DurationMin < 5 || in.DurationMin > 1440 {
		fields.Add("duration_min", "must be between 5 and 1440 minutes")
	}
	if req.Status != nil {
		in.Status = *req.Status
	}
	if in.Status == "" {
		in.Status = "scheduled"
	}
	if !slices.Contains(crm.AppointmentStatuses, in.Status) {
		fields.Add("status", "must be scheduled, confirmed, cancelled, done or no_show")
	}
	if req.Reminders != nil {
		in.Reminders = *req.Reminders
	}
	if len(in.Reminders) > 10 {
		fields.Add("reminders", "must have at most 10 reminders")
	}
	for i, r := range in.Reminders {
		if r.MinutesBefore < 0 || r.MinutesBefore > 43200 {
			fields.Add(fmt.Sprintf("reminders[%d].minutes_before", i), "must be between 0 and 43200 (30 days)")
		}
		if r.To != "contact" && r.To != "assignee" {
			fields.Add(fmt.Sprintf("reminders[%d].to", i), "must be contact or assignee")
		}
	}
	if req.ReminderTemplate != nil {
		in.ReminderTemplate = nil
		if string(*req.ReminderTemplate) != "null" {
			var t struct {
				Name     string `json:"name"`
				Language struct {
					Code string `json:"code"`
				} `json:"language"`
			}
			if err := json.Unmarshal(*req.ReminderTemplate, &t); err != nil || t.Name == "" || t.Language.Code == "" {
				fields.Add("reminder_template", `must be {"name": "...", "language": {"code": "pt_BR"}, "components": [...]} or null`)
			} else {
				in.ReminderTemplate = *req.ReminderTemplate
			}
		}
	}
	return in, fields.Err()
}

// inputOf is the stored appointment as an input to merge into.
func inputOf(a persistence.Appointment) persistence.AppointmentInput {
	in := persistence.AppointmentInput{Title: a.Title, Description: a.Description, ContactID: a.ContactID, AssigneeID: a.AssigneeID,
		ConnectionID: a.ConnectionID, StartsAt: a.StartsAt, DurationMin: a.DurationMin, Status: a.Status, ReminderTemplate: a.ReminderTemplate}
	for _, r := range a.Reminders {
		if r.Status == "pending" {
			in.Reminders = append(in.Reminders, persistence.ReminderSpec{MinutesBefore: r.MinutesBefore, To: r.To})
		}
	}
	return in
}

func (s *Server) listAppointments(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, agendaFeature); err != nil {
		return err
	}
	var q appointmentsQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	f := persistence.AppointmentFilter{From: s.now()}
	if q.From != "" {
		at, err := time.Parse(time.RFC3339, q.From)
		if err != nil {
			return fieldError("from", "must be an RFC 3339 time")
		}
		f.From = at
	}
	f.To = f.From.AddDate(0, 0, 31)
	if q.To != "" {
		at, err := time.Parse(time.RFC3339, q.To)
		if err != nil || !at.After(f.From) || at.Sub(f.From) > 93*24*time.Hour {
			return fieldError("to", "must be an RFC 3339 time after from, at most 93 days later")
		}
		f.To = at
	}
	var err error
	if q.AssigneeID == "me" {
		f.AssigneeID = &p.UserID
	} else if f.AssigneeID, err = optionalID("assignee_id", q.AssigneeID); err != nil {
		return err
	}
	if f.ContactID, err = optionalID("contact_id", q.ContactID); err != nil {
		return err
	}
	items, err := s.db.ListAppointments(c, p.TenantID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, appointmentsResponse{Items: items})
	return nil
}

func (s *Server) createAppointment(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, agendaFeature); err != nil {
		return err
	}
	var req appointmentRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in, err := appointmentInput(req, persistence.AppointmentInput{}, true)
	if err != nil {
		return err
	}
	a, ev, err := s.db.CreateAppointment(c, p.TenantID, directoryActor(c, p), in, s.now())
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusCreated, a)
	return nil
}

func (s *Server) getAppointment(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, agendaFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	a, err := s.db.GetAppointment(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, a)
	return nil
}

func (s *Server) updateAppointment(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, agendaFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req appointmentRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if _, err := appointmentInput(req, persistence.AppointmentInput{Title: "x", StartsAt: s.now(), DurationMin: 30}, false); err != nil {
		return err // the request's own errors, before any look-up
	}
	a, ev, err := s.db.UpdateAppointment(c, p.TenantID, id, directoryActor(c, p), func(before persistence.Appointment) (persistence.AppointmentInput, error) {
		return appointmentInput(req, inputOf(before), false)
	}, s.now())
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusOK, a)
	return nil
}

func (s *Server) deleteAppointment(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, agendaFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.db.DeleteAppointment(c, p.TenantID, id, directoryActor(c, p))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) newCalendarFeed(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, agendaFeature); err != nil {
		return err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	if err := s.db.SetCalendarFeed(c, p.TenantID, p.UserID, secret); err != nil {
		return err
	}
	c.JSON(http.StatusOK, calendarFeedResponse{URL: fmt.Sprintf("%s/ics/%s/%s/%s.ics", s.cfg.PublicURL, p.TenantID, p.UserID, secret)})
	return nil
}

// calendarFeed serves a user's appointments (30 days back, a year ahead)
// as iCalendar; a wrong secret is a plain 404.
func (s *Server) calendarFeed(c *gin.Context) {
	notFound := func() {
		c.JSON(http.StatusNotFound, gin.H{"error": gin.H{"code": "not_found", "message": "no such calendar"}})
	}
	tenant, err1 := uuid.Parse(c.Param("tenant"))
	user, err2 := uuid.Parse(c.Param("user"))
	secret := strings.TrimSuffix(c.Param("secret"), ".ics")
	if err1 != nil || err2 != nil || len(secret) != 43 {
		notFound()
		return
	}
	ok, err := s.db.CalendarFeedValid(c, tenant, user, secret)
	if err != nil || !ok {
		notFound()
		return
	}
	state, err := s.db.TenantState(c, tenant)
	if err != nil || !state.Features.Enabled(agendaFeature) {
		notFound()
		return
	}
	now := s.now()
	items, err := s.db.ListAppointments(c, tenant, persistence.AppointmentFilter{From: now.AddDate(0, 0, -30), To: now.AddDate(1, 0, 0), AssigneeID: &user})
	if err != nil {
		c.JSON(http.StatusInternalServerError, gin.H{"error": gin.H{"code": "internal", "message": "internal error"}})
		return
	}
	cal := ics.NewCalendarFor("CRM")
	cal.SetMethod(ics.MethodPublish)
	cal.SetName("Agenda")
	for _, a := range items {
		ev := cal.AddEvent(a.ID.String() + "@crm")
		ev.SetDtStampTime(a.UpdatedAt)
		ev.SetStartAt(a.StartsAt)
		ev.SetEndAt(a.StartsAt.Add(time.Duration(a.DurationMin) * time.Minute))
		summary := a.Title
		if a.ContactName != nil {
			summary += " — " + *a.ContactName
		}
		ev.SetSummary(summary)
		if a.Description != "" {
			ev.SetDescription(a.Description)
		}
		switch a.Status {
		case "cancelled":
			ev.SetStatus(ics.ObjectStatusCancelled)
		case "confirmed", "done":
			ev.SetStatus(ics.ObjectStatusConfirmed)
		default:
			ev.SetStatus(ics.ObjectStatusTentative)
		}
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.Data(http.StatusOK, "text/calendar; charset=utf-8", []byte(cal.Serialize()))
}
