package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/jobs"
)

// An appointment's reminder reaches the contact on WhatsApp at its time,
// once, and the assignee's console; the contact's "1" confirms it; moving
// it moves its reminders; an overlapping booking is flagged; the secret ICS
// feed parses back; bad input names its fields.
func TestAgendaRemindersConfirmAndFeed(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	conv := env.openConversation("5511987653333", "Paula", "wamid.ag1", "Quero marcar um horário")
	contact := conv["contact_id"].(string)
	c, err := jobs.New(context.Background(), jobs.Config{DatabaseURL: env.db.Pool.Config().ConnString(), DB: env.db,
		Log: slog.New(slog.DiscardHandler), NodeID: "agenda", Reminders: env.engine, Sender: env.engine})
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() { c.Stop(context.Background()) })
	env.db.SetJobInserter(c)
	admin := env.tenant.AdminToken
	adminID := env.tenant.AdminID.String()

	bad := env.do(http.MethodPost, "/api/v1/appointments", admin, map[string]any{"title": "", "duration_min": 2,
		"reminders": []map[string]any{{"minutes_before": -1, "to": "everyone"}}})
	require.Equal(t, http.StatusBadRequest, bad.Status, string(bad.Body))
	for _, f := range []string{"title", "starts_at", "duration_min", "reminders[0].minutes_before", "reminders[0].to"} {
		require.Contains(t, bad.Fields(), f)
	}
	bad = env.do(http.MethodPost, "/api/v1/appointments", admin, map[string]any{"title": "Corte", "starts_at": time.Now().Add(time.Hour),
		"reminders": []map[string]any{{"minutes_before": 10, "to": "contact"}}})
	require.Equal(t, http.StatusBadRequest, bad.Status, "a reminder to nobody")
	require.Contains(t, bad.Fields(), "reminders[0].to")

	sends := env.graph.count()
	starts := time.Now().Add(time.Hour + 2*time.Second).Truncate(time.Second)
	res := env.do(http.MethodPost, "/api/v1/appointments", admin, map[string]any{
		"title": "Corte de cabelo", "contact_id": contact, "assignee_id": adminID, "connection_id": env.connID,
		"starts_at": starts, "duration_min": 45,
		"reminders": []map[string]any{{"minutes_before": 60, "to": "contact"}, {"minutes_before": 60, "to": "assignee"}, {"minutes_before": 24 * 60, "to": "contact"}},
	})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	id := res.JSON()["id"].(string)
	require.Len(t, res.JSON()["reminders"], 2, "a reminder whose time has passed is not written")

	// At its time: the contact's WhatsApp reminder, once, and the assignee's.
	checkFor(t, 15*time.Second, func() error {
		if env.graph.count() != sends+1 {
			return fmt.Errorf("%d sends", env.graph.count()-sends)
		}
		return nil
	})
	sent := time.Now()
	require.WithinDuration(t, starts.Add(-time.Hour), sent, 2*time.Second, "on time")
	waitEventType(t, env.events, "appointment.reminder")
	var text string
	for _, m := range env.messages(conv["id"].(string)) {
		if strings.HasPrefix(fmt.Sprint(m["text"]), "Olá, Paula! Lembrete: Corte de cabelo") {
			text = m["text"].(string)
		}
	}
	require.Contains(t, text, "Responda 1 para confirmar")
	got := env.do(http.MethodGet, "/api/v1/appointments/"+id, admin, nil).JSON()
	for _, r := range got["reminders"].([]any) {
		require.Equal(t, "sent", r.(map[string]any)["status"])
	}
	time.Sleep(time.Second)
	require.Equal(t, sends+1, env.graph.count(), "exactly once")

	// The contact answers 1: confirmed, and thanked.
	env.postWebhook(whatsappText("5511987653333", "Paula", "wamid.ag2", "1", time.Now()))
	checkFor(t, 10*time.Second, func() error {
		if s := env.do(http.MethodGet, "/api/v1/appointments/"+id, admin, nil).JSON()["status"]; s != "confirmed" {
			return fmt.Errorf("status %v", s)
		}
		return nil
	})
	waitEventType(t, env.events, "appointment.updated")

	// Moved to tomorrow: its reminders move with it.
	res = env.do(http.MethodPatch, "/api/v1/appointments/"+id, admin, map[string]any{"starts_at": starts.Add(24 * time.Hour),
		"reminders": []map[string]any{{"minutes_before": 120, "to": "contact"}}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var pending []any
	for _, r := range res.JSON()["reminders"].([]any) {
		if r.(map[string]any)["status"] == "pending" {
			pending = append(pending, r)
		}
	}
	require.Len(t, pending, 1)
	require.Equal(t, starts.Add(22*time.Hour).UTC().Format(time.RFC3339), pending[0].(map[string]any)["remind_at"].(string)[:19]+"Z")

	// The same assignee booked at the same time: kept, with a warning.
	res = env.do(http.MethodPost, "/api/v1/appointments", admin, map[string]any{"title": "Escova", "assignee_id": adminID,
		"starts_at": starts.Add(24*time.Hour + 15*time.Minute), "duration_min": 30})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	require.Equal(t, []any{id}, res.JSON()["overlaps"])

	list := env.do(http.MethodGet, "/api/v1/appointments?assignee_id=me&from="+time.Now().UTC().Format(time.RFC3339), admin, nil)
	require.Equal(t, http.StatusOK, list.Status, string(list.Body))
	require.Len(t, list.Items(), 2)

	// The ICS feed parses back; a wrong secret is not found.
	feed := env.do(http.MethodPost, "/api/v1/auth/me/calendar-feed", admin, nil)
	require.Equal(t, http.StatusOK, feed.Status, string(feed.Body))
	url := feed.JSON()["url"].(string)
	path := strings.TrimPrefix(url, env.ts.URL)
	raw := env.do(http.MethodGet, path, "", nil)
	require.Equal(t, http.StatusOK, raw.Status, string(raw.Body))
	require.Contains(t, raw.Header.Get("Content-Type"), "text/calendar")
	cal, err := ics.ParseCalendar(strings.NewReader(string(raw.Body)))
	require.NoError(t, err)
	require.Len(t, cal.Events(), 2)
	summaries := []string{}
	for _, e := range cal.Events() {
		summaries = append(summaries, e.GetProperty(ics.ComponentPropertySummary).Value)
		at, err := e.GetStartAt()
		require.NoError(t, err)
		require.True(t, at.Equal(starts.Add(24*time.Hour)) || at.Equal(starts.Add(24*time.Hour+15*time.Minute)))
	}
	require.Contains(t, summaries, "Corte de cabelo — Paula")
	wrong := env.do(http.MethodGet, path[:len(path)-8]+"AAAA.ics", "", nil)
	require.Equal(t, http.StatusNotFound, wrong.Status)
}

// waitEventType waits for a published event of a type.
func waitEventType(t *testing.T, events chan crm.TenantEvent, typ string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Type == typ {
				return
			}
		case <-deadline:
			t.Fatalf("no %s event", typ)
		}
	}
}
