package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
	"crm/actors"
	"crm/jobs"
)

// A tenant closed now: the customer's first message gets the tenant's
// outside-hours reply and the second none (once per closed period); a new
// closed period replies again. The connection's default team takes the
// conversation; the team's first-response SLA is breached once, with an
// event; and the durable job resolves the idle conversation with the
// closing message.
func TestOutsideHoursSLAAndAutoClose(t *testing.T) {
	t.Parallel()
	var offset atomic.Int64 // the engine's clock runs this far ahead
	env := newEngineEnv(t, func(c *actors.EngineConfig) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
		c.DistributeEvery = -1
	})
	sp, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	now := time.Now().In(sp)
	days := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	openDay := days[(int(now.Weekday())+3)%7] // open one hour, three days from today: closed now
	settings := map[string]any{
		"business_hours":      map[string]any{"timezone": "America/Sao_Paulo", "days": map[string]any{openDay: [][]string{{"08:00", "09:00"}}}},
		"outside_hours_reply": map[string]any{"enabled": true, "text": "Estamos fechados; voltamos quinta às 8h."},
		"auto_close":          map[string]any{"idle_hours": 1, "message": "Encerramos este atendimento por inatividade."},
	}
	res := env.do(http.MethodPut, "/api/v1/tenant/service-settings", env.tenant.AdminToken, settings)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	got := env.do(http.MethodGet, "/api/v1/tenant/service-settings", env.tenant.AdminToken, nil)
	require.Equal(t, http.StatusOK, got.Status)
	require.Equal(t, float64(1), got.JSON()["auto_close"].(map[string]any)["idle_hours"])

	bad := env.do(http.MethodPut, "/api/v1/tenant/service-settings", env.tenant.AdminToken, map[string]any{
		"business_hours":      map[string]any{"timezone": "Lua/Crater", "days": map[string]any{"mon": [][]string{{"18:00", "08:00"}}}},
		"outside_hours_reply": map[string]any{"enabled": true},
		"auto_close":          map[string]any{"idle_hours": -1},
	})
	require.Equal(t, http.StatusBadRequest, bad.Status, string(bad.Body))
	for _, field := range []string{"business_hours.timezone", "business_hours.days.mon[0]", "auto_close.idle_hours"} {
		require.Contains(t, bad.Fields(), field)
	}
	require.Equal(t, float64(1), env.do(http.MethodGet, "/api/v1/tenant/service-settings", env.tenant.AdminToken, nil).
		JSON()["auto_close"].(map[string]any)["idle_hours"], "a refused change loses nothing")

	team := createdID(t, env.do(http.MethodPost, "/api/v1/teams", env.tenant.AdminToken,
		map[string]any{"name": "Suporte", "sla_first_response_minutes": 1}))
	res = env.do(http.MethodPut, "/api/v1/connections/"+env.connID.String()+"/default-team", env.tenant.AdminToken,
		map[string]any{"team_id": team})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	res = env.do(http.MethodPut, "/api/v1/connections/"+env.connID.String()+"/default-team", env.tenant.AdminToken,
		map[string]any{"team_id": crm.NewID()})
	require.Equal(t, http.StatusBadRequest, res.Status, "another tenant's or no team")

	conv := env.openConversation("5511987650001", "Maria", "wamid.oh1", "Oi, alguém aí?")
	id := conv["id"].(string)
	require.Equal(t, team, conv["team_id"], "the connection's default team takes the conversation")
	systemReplies := func() []string {
		var out []string
		for _, m := range env.messages(id) {
			if m["via"] == "system" {
				out = append(out, m["text"].(string))
			}
		}
		return out
	}
	checkFor(t, 10*time.Second, func() error {
		if n := len(systemReplies()); n != 1 {
			return fmt.Errorf("%d outside-hours replies", n)
		}
		return nil
	})
	require.Equal(t, "Estamos fechados; voltamos quinta às 8h.", systemReplies()[0])
	checkFor(t, 10*time.Second, func() error {
		if env.graph.count() != 1 {
			return fmt.Errorf("%d sends reached the provider", env.graph.count())
		}
		return nil
	})

	env.postWebhook(whatsappText("5511987650001", "Maria", "wamid.oh2", "Olá?", time.Now()))
	checkFor(t, 10*time.Second, func() error {
		if n := len(env.messages(id)); n != 3 {
			return fmt.Errorf("%d messages", n)
		}
		return nil
	})
	require.Len(t, systemReplies(), 1, "one reply per closed period")

	// A new closed period: the tenant was open until a minute ago today.
	if now.Hour() > 0 || now.Minute() > 2 {
		open := fmt.Sprintf("%02d:%02d", now.Add(-time.Minute).Hour(), now.Add(-time.Minute).Minute())
		settings["business_hours"] = map[string]any{"timezone": "America/Sao_Paulo",
			"days": map[string]any{days[now.Weekday()]: [][]string{{"00:00", open}}}}
		res = env.do(http.MethodPut, "/api/v1/tenant/service-settings", env.tenant.AdminToken, settings)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		env.postWebhook(whatsappText("5511987650001", "Maria", "wamid.oh3", "Ainda fechado?", time.Now()))
		checkFor(t, 10*time.Second, func() error {
			if n := len(systemReplies()); n != 2 {
				return fmt.Errorf("%d outside-hours replies", n)
			}
			return nil
		})
	}

	// The SLA counts business time: by the tenant's calendar, a minute of
	// it is days away. The team opens round the clock: two minutes on,
	// nobody has answered.
	swept, err := env.engine.ServiceSweep(context.Background())
	require.NoError(t, err)
	require.Zero(t, swept.Breached, "closed hours do not count against the SLA")
	always := map[string]any{}
	for _, d := range days {
		always[d] = [][]string{{"00:00", "24:00"}}
	}
	res = env.do(http.MethodPatch, "/api/v1/teams/"+team, env.tenant.AdminToken,
		map[string]any{"business_hours": map[string]any{"timezone": "America/Sao_Paulo", "days": always}})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	offset.Store(int64(2 * time.Minute))
	swept, err = env.engine.ServiceSweep(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, swept.Breached)
	require.Zero(t, swept.Closed)
	waitEvent(t, env.events, "conversation.sla_breached", id)
	swept, err = env.engine.ServiceSweep(context.Background())
	require.NoError(t, err)
	require.Zero(t, swept.Breached, "a breach is recorded once")

	// Two hours on: the durable job closes it, with its message.
	offset.Store(int64(2 * time.Hour))
	sends := env.graph.count()
	c, err := jobs.New(context.Background(), jobs.Config{DatabaseURL: env.db.Pool.Config().ConnString(), DB: env.db,
		Log: slog.New(slog.DiscardHandler), NodeID: "service", Service: env.engine})
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background()))
	t.Cleanup(func() { c.Stop(context.Background()) })
	checkFor(t, 20*time.Second, func() error {
		got := env.do(http.MethodGet, "/api/v1/conversations/"+id, env.tenant.AdminToken, nil).JSON()
		if got["status"] != "resolved" {
			return fmt.Errorf("status %v", got["status"])
		}
		return nil
	})
	replies := systemReplies()
	require.Equal(t, "Encerramos este atendimento por inatividade.", replies[len(replies)-1])
	checkFor(t, 10*time.Second, func() error {
		if env.graph.count() != sends+1 {
			return fmt.Errorf("%d sends, want %d", env.graph.count(), sends+1)
		}
		return nil
	})

	// Time to first response counts business time: the team back on the
	// company's calendar (closed now), an answer minutes later took none.
	res = env.do(http.MethodPatch, "/api/v1/teams/"+team, env.tenant.AdminToken, map[string]any{"business_hours": nil})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Nil(t, res.JSON()["business_hours"])
	env.postWebhook(whatsappText("5511987650002", "João", "wamid.oh4", "Bom dia", time.Now()))
	second := env.waitConversations("?q=Jo%C3%A3o", 1)[0]["id"].(string)
	offset.Add(int64(3 * time.Minute))
	res = env.do(http.MethodPost, "/api/v1/conversations/"+second+"/messages", env.tenant.AdminToken,
		map[string]any{"type": "text", "text": "Bom dia, João!", "idempotency_key": "first-answer"})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	answered := env.do(http.MethodGet, "/api/v1/conversations/"+second, env.tenant.AdminToken, nil).JSON()
	require.NotNil(t, answered["first_response_at"])
	require.Equal(t, float64(0), answered["first_response_business_seconds"], "closed hours are not counted")
	require.Nil(t, answered["sla_due_at"], "answered: no SLA left")
}

// waitEvent waits for a published event of a type about a conversation.
func waitEvent(t *testing.T, events chan crm.TenantEvent, typ, conversation string) crm.TenantEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev.Type == typ && ev.ConversationID != nil && ev.ConversationID.String() == conversation {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event for %s", typ, conversation)
		}
	}
}
