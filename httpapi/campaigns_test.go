package httpapi

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/actors"
	"crm/persistence"
)

// Campaigns end to end on one node: recipients written at start, handed to
// the conversation grains at the campaign's pace by the connection grain's
// lane, sent through the (fake) Graph API, and their statuses following the
// messages'.

// campaignContacts seeds n contacts with phones (+55119000000k), names
// "Cliente k" and custom field cidade; labelled ones get the label.
func (b *botEnv) campaignContacts(n int, prefix string, label *uuid.UUID, custom map[string]any) []uuid.UUID {
	b.t.Helper()
	ctx := context.Background()
	ids := make([]uuid.UUID, n)
	if custom == nil {
		custom = map[string]any{}
	}
	require.NoError(b.t, b.db.TenantTx(ctx, b.tenant.ID, func(tx pgx.Tx) error {
		for i := range ids {
			ids[i] = crm.NewID()
			phone := fmt.Sprintf("+55%s%05d", prefix, i)
			if _, err := tx.Exec(ctx, `INSERT INTO contacts (tenant_id, id, name, phone, custom_fields, created_at)
				VALUES ($1, $2, $3, $4, $5, now() - make_interval(secs => $6))`,
				b.tenant.ID, ids[i], fmt.Sprintf("Cliente %s-%d", prefix, i), phone, custom, n-i); err != nil {
				return err
			}
			if label != nil {
				if _, err := tx.Exec(ctx, `INSERT INTO contact_labels (tenant_id, contact_id, label_id) VALUES ($1, $2, $3)`,
					b.tenant.ID, ids[i], *label); err != nil {
					return err
				}
			}
		}
		return nil
	}))
	return ids
}

func (b *botEnv) label(name string) uuid.UUID {
	b.t.Helper()
	res := b.do(http.MethodPost, "/api/v1/labels", b.tenant.AdminToken, map[string]any{"name": name, "color": "#112233"})
	require.Equal(b.t, http.StatusCreated, res.Status, string(res.Body))
	return uuid.MustParse(res.JSON()["id"].(string))
}

func templateMessage(param string) map[string]any {
	return map[string]any{"type": "template", "template": map[string]any{"name": "promo", "language": map[string]any{"code": "pt_BR"},
		"components": []any{map[string]any{"type": "body", "parameters": []any{map[string]any{"type": "text", "text": param}}}}}}
}

func (b *botEnv) createCampaign(body map[string]any) string {
	b.t.Helper()
	if body["connection_id"] == nil {
		body["connection_id"] = b.connID
	}
	res := b.do(http.MethodPost, "/api/v1/campaigns", b.tenant.AdminToken, body)
	require.Equal(b.t, http.StatusCreated, res.Status, string(res.Body))
	require.Equal(b.t, "draft", res.JSON()["status"])
	return res.JSON()["id"].(string)
}

func (b *botEnv) campaign(id string) map[string]any {
	b.t.Helper()
	res := b.do(http.MethodGet, "/api/v1/campaigns/"+id, b.tenant.AdminToken, nil)
	require.Equal(b.t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON()
}

func (b *botEnv) campaignAction(id, action string, want int) map[string]any {
	b.t.Helper()
	res := b.do(http.MethodPost, "/api/v1/campaigns/"+id+"/"+action, b.tenant.AdminToken, nil)
	require.Equal(b.t, want, res.Status, "%s: %s", action, res.Body)
	return res.JSON()
}

func (b *botEnv) waitCampaign(id, status string, within time.Duration) map[string]any {
	b.t.Helper()
	var c map[string]any
	checkFor(b.t, within, func() error {
		if c = b.campaign(id); c["status"] != status {
			return fmt.Errorf("status %v, stats %v", c["status"], c["stats"])
		}
		return nil
	})
	return c
}

func stat(c map[string]any, name string) int {
	return int(c["stats"].(map[string]any)[name].(float64))
}

func (b *botEnv) recipients(id, query string) []map[string]any {
	b.t.Helper()
	var all []map[string]any
	cursor := ""
	for {
		res := b.do(http.MethodGet, "/api/v1/campaigns/"+id+"/recipients?limit=200"+query+cursor, b.tenant.AdminToken, nil)
		require.Equal(b.t, http.StatusOK, res.Status, string(res.Body))
		all = append(all, res.Items()...)
		next, _ := res.JSON()["next_cursor"].(string)
		if next == "" {
			return all
		}
		cursor = "&cursor=" + next
	}
}

// sentTo counts the Graph API's sends per recipient number.
func (g *fakeGraph) sentTo() map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for _, m := range g.sends {
		out[fmt.Sprint(m["to"])]++
	}
	return out
}

// TestCampaignSendsEachRecipientOnce: the audience (a label, minus an
// excluded one) is counted by the preview and written at start with the
// opted-out and unreachable contacts skipped; a text campaign on WhatsApp is
// refused while recipients are outside their window; the template goes out
// once per recipient with their name in it, at about the campaign's pace; the
// conversations it opens are not in the agents' queue; a delivery status
// moves the recipient; the CSV lists them; a finished campaign cannot be
// paused and can be deleted.
func TestCampaignSendsEachRecipientOnce(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t, func(c *actors.EngineConfig) { c.SendRate = 1000 })
	vip, excluded := b.label("VIP"), b.label("Fora")
	ids := b.campaignContacts(24, "11900", &vip, map[string]any{"cidade": "Recife"})
	b.campaignContacts(10, "11800", nil, nil) // not in the audience
	ctx := context.Background()
	require.NoError(t, b.db.TenantTx(ctx, b.tenant.ID, func(tx pgx.Tx) error {
		// 3 opted out, 2 excluded by label, 1 without a phone (no identity).
		if _, err := tx.Exec(ctx, `UPDATE contacts SET opted_out = true WHERE tenant_id = $1 AND id = ANY($2)`, b.tenant.ID, ids[:3]); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO contact_labels (tenant_id, contact_id, label_id) SELECT $1, unnest($2::uuid[]), $3`,
			b.tenant.ID, ids[3:5], excluded); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE contacts SET phone = NULL WHERE tenant_id = $1 AND id = $2`, b.tenant.ID, ids[5])
		return err
	}))
	audience := map[string]any{"label_ids": []uuid.UUID{vip}, "exclude_label_ids": []uuid.UUID{excluded}}
	res := b.do(http.MethodPost, "/api/v1/campaigns/audience-preview", b.tenant.AdminToken,
		map[string]any{"connection_id": b.connID, "audience": audience})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	preview := res.JSON()
	require.EqualValues(t, 18, preview["count"])
	require.EqualValues(t, 3, preview["opted_out"])
	require.EqualValues(t, 1, preview["no_identity"])
	require.EqualValues(t, 18, preview["outside_window"])
	require.Len(t, preview["sample"], 5)

	id := b.createCampaign(map[string]any{"name": "Black Friday", "audience": audience, "rate_per_minute": 600,
		"message": map[string]any{"type": "text", "text": "Oi {{contact.name}}"}})
	res = b.do(http.MethodPost, "/api/v1/campaigns/"+id+"/start", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	require.Equal(t, "template_required", res.ErrorCode())
	require.Equal(t, "draft", b.campaign(id)["status"], "a refused start changes nothing")

	res = b.do(http.MethodPatch, "/api/v1/campaigns/"+id, b.tenant.AdminToken, map[string]any{"message": templateMessage("{{contact.name}} de {{contact.cidade}}")})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	started := b.campaignAction(id, "start", http.StatusOK)
	require.Equal(t, "running", started["status"])
	require.EqualValues(t, 22, stat(started, "total"), "the 22 labelled and not excluded, skipped ones included")
	require.EqualValues(t, 4, stat(started, "skipped"))

	b.waitCampaign(id, "completed", 20*time.Second)
	var done map[string]any
	checkFor(t, 5*time.Second, func() error {
		if done = b.campaign(id); stat(done, "sent") != 18 {
			return fmt.Errorf("stats %v", done["stats"])
		}
		return nil
	})
	require.Equal(t, 1.0, done["progress"], "every recipient past pending once the provider answered")
	// The consoles were told as it went: progress beats while running, then
	// the completion.
	var beats, completed int
	for drained := false; !drained; {
		select {
		case ev := <-b.events:
			if ev.Type != "campaign.updated" || !strings.Contains(string(ev.Payload), id) {
				continue
			}
			var c crm.Campaign
			require.NoError(t, json.Unmarshal(ev.Payload, &c))
			switch {
			case c.Status == crm.CampaignRunning && c.Stats.Pending > 0 && c.Stats.Pending < 18:
				beats++
			case c.Status == crm.CampaignCompleted:
				completed++
			}
		default:
			drained = true
		}
	}
	require.Positive(t, beats, "progress while running")
	require.Positive(t, completed)
	to := b.graph.sentTo()
	require.Len(t, to, 18, "each reachable recipient")
	for phone, n := range to {
		require.Equal(t, 1, n, "sent to %s once", phone)
	}
	b.graph.mu.Lock()
	first, last := b.graph.times[0], b.graph.times[len(b.graph.times)-1]
	body := fmt.Sprint(b.graph.sends[0])
	b.graph.mu.Unlock()
	require.Contains(t, body, "de Recife", "the template's parameter has the contact's values")
	require.Contains(t, body, "Cliente 11900-")
	// 18 sends at 600/min: 17 intervals of 100 ms, never faster (the exact
	// pacing error is measured by make bench, not asserted here).
	require.GreaterOrEqual(t, last.Sub(first), 1600*time.Millisecond, "paced at 10 a second, not faster")

	recipients := b.recipients(id, "")
	require.Len(t, recipients, 22)
	reasons := map[string]int{}
	for i, r := range recipients {
		require.EqualValues(t, i+1, r["position"], "in send order")
		if r["status"] == "skipped" {
			reasons[r["error"].(map[string]any)["reason"].(string)]++
		} else {
			require.Equal(t, "sent", r["status"])
			require.NotNil(t, r["message_id"])
			require.NotNil(t, r["conversation_id"])
		}
	}
	require.Equal(t, map[string]int{"opted_out": 3, "no_identity": 1}, reasons)

	// The conversations the campaign opened wait for the customer: none in
	// the agents' open queue.
	require.Empty(t, b.do(http.MethodGet, "/api/v1/conversations?status=open", b.tenant.AdminToken, nil).Items())

	// A delivery status from the provider moves the recipient.
	sent := b.recipients(id, "&status=sent")
	var msgExternal string
	require.NoError(t, b.db.TenantTx(ctx, b.tenant.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT external_id FROM messages WHERE tenant_id = $1 AND id = $2`, b.tenant.ID, sent[0]["message_id"]).Scan(&msgExternal)
	}))
	b.postWebhook(whatsappStatus(msgExternal, "read", time.Now()))
	checkFor(t, 5*time.Second, func() error {
		if c := b.campaign(id); stat(c, "read") != 1 || stat(c, "sent") != 17 {
			return fmt.Errorf("stats %v", c["stats"])
		}
		return nil
	})
	read := b.recipients(id, "&status=read")
	require.Len(t, read, 1)
	require.NotNil(t, read[0]["read_at"])
	require.NotNil(t, read[0]["delivered_at"], "read implies delivered")

	// The CSV export.
	res = b.do(http.MethodGet, "/api/v1/campaigns/"+id+"/recipients.csv?status=skipped", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status)
	rows, err := csv.NewReader(strings.NewReader(string(res.Body))).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 5, "header and the 4 skipped")
	require.Equal(t, "opted_out", rows[1][5])

	// Sends over time.
	res = b.do(http.MethodGet, "/api/v1/campaigns/"+id+"/activity", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	total := 0
	for _, p := range res.JSON()["points"].([]any) {
		total += int(p.(map[string]any)["sent"].(float64))
	}
	require.Equal(t, 18, total)

	res = b.do(http.MethodPost, "/api/v1/campaigns/"+id+"/pause", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusConflict, res.Status)
	require.Equal(t, "invalid_transition", res.ErrorCode())
	res = b.do(http.MethodPatch, "/api/v1/campaigns/"+id, b.tenant.AdminToken, map[string]any{"name": "Outra"})
	require.Equal(t, http.StatusConflict, res.Status)
	require.Equal(t, "campaign_not_editable", res.ErrorCode())
	require.Equal(t, http.StatusNoContent, b.do(http.MethodDelete, "/api/v1/campaigns/"+id, b.tenant.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, b.do(http.MethodGet, "/api/v1/campaigns/"+id, b.tenant.AdminToken, nil).Status)
}

// TestCampaignPauseResumeAndProviderErrorsOnce: a campaign paused midway
// sends nothing more until resumed, then finishes; the provider refusing
// sends for a while (rate limit, then HTTP 500s: retried with backoff) and the lane being
// woken over and over change nothing: each recipient gets one message.
func TestCampaignPauseResumeAndProviderErrorsOnce(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t, func(c *actors.EngineConfig) { c.SendRate = 1000 })
	vip := b.label("VIP")
	b.campaignContacts(60, "11700", &vip, nil)
	b.graph.mu.Lock()
	b.graph.fail = 10  // the first 10 attempts answer 130429,
	b.graph.fail5 = 10 // the next 10 HTTP 500: all retried
	b.graph.mu.Unlock()
	id := b.createCampaign(map[string]any{"name": "Pausa", "audience": map[string]any{"label_ids": []uuid.UUID{vip}},
		"rate_per_minute": 1200, "message": templateMessage("{{contact.name}}")})
	b.campaignAction(id, "start", http.StatusOK)

	checkFor(t, 10*time.Second, func() error {
		if n := b.graph.count(); n < 10 {
			return fmt.Errorf("%d sent", n)
		}
		return nil
	})
	paused := b.campaignAction(id, "pause", http.StatusOK)
	require.Equal(t, "paused", paused["status"])
	require.Nil(t, paused["estimated_finish_at"])
	// Sends already handed over may still land; then nothing more.
	time.Sleep(1500 * time.Millisecond)
	atPause := b.graph.count()
	for range 5 { // a paused campaign's grain woken again does not send
		require.NoError(t, b.engine.WakeCampaign(context.Background(), b.tenant.ID, b.connID, uuid.MustParse(id)))
	}
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, atPause, b.graph.count(), "nothing sent while paused")
	require.Less(t, atPause, 60)
	res := b.do(http.MethodDelete, "/api/v1/campaigns/"+id, b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusConflict, res.Status)
	require.Equal(t, "campaign_running", res.ErrorCode())

	b.campaignAction(id, "resume", http.StatusOK)
	for range 5 { // wakes while running: still one lane
		require.NoError(t, b.engine.WakeCampaign(context.Background(), b.tenant.ID, b.connID, uuid.MustParse(id)))
	}
	b.waitCampaign(id, "completed", 30*time.Second)
	checkFor(t, 20*time.Second, func() error {
		if c := b.campaign(id); stat(c, "sent") != 60 {
			return fmt.Errorf("stats %v", c["stats"])
		}
		return nil
	})
	to := b.graph.sentTo()
	require.Len(t, to, 60)
	for phone, n := range to {
		require.Equal(t, 1, n, "sent to %s once", phone)
	}
	var messages int
	ctx := context.Background()
	require.NoError(t, b.db.TenantTx(ctx, b.tenant.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM messages WHERE tenant_id = $1 AND via = 'campaign'`, b.tenant.ID).Scan(&messages)
	}))
	require.Equal(t, 60, messages, "one stored message per recipient")
}

// TestCampaignScheduledQuietAndCancelled: a campaign started with a time
// ahead waits as scheduled and runs at its time (the durable job); one in
// its quiet hours sends nothing; cancelling it skips the recipients not yet
// sent.
func TestCampaignScheduledQuietAndCancelled(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t, func(c *actors.EngineConfig) { c.SendRate = 1000 })
	vip := b.label("VIP")
	b.campaignContacts(5, "11600", &vip, nil)
	audience := map[string]any{"label_ids": []uuid.UUID{vip}}

	at := time.Now().Add(2 * time.Second).UTC()
	id := b.createCampaign(map[string]any{"name": "Agendada", "audience": audience, "rate_per_minute": 6000,
		"message": templateMessage("oi"), "scheduled_at": at})
	scheduled := b.campaignAction(id, "start", http.StatusOK)
	require.Equal(t, "scheduled", scheduled["status"])
	require.NotNil(t, scheduled["launched_at"])
	// The job runner restarts before its time: the job is durable.
	b.jobs.Stop(context.Background())
	b.jobs = b.startJobs("node-2")
	b.waitCampaign(id, "completed", 15*time.Second)
	b.graph.mu.Lock()
	first := b.graph.times[0]
	b.graph.mu.Unlock()
	require.False(t, first.Before(at), "not before its time")
	require.Less(t, first.Sub(at), 15*time.Second, "soon after its time (job poll and the lane's start)")
	require.Equal(t, 5, b.graph.count())

	// Quiet hours around now: nothing goes out.
	now := time.Now().UTC()
	quiet := map[string]any{"from": now.Add(-time.Hour).Format("15:04"), "to": now.Add(time.Hour).Format("15:04"), "timezone": "UTC"}
	id = b.createCampaign(map[string]any{"name": "Silêncio", "audience": audience, "rate_per_minute": 6000,
		"message": templateMessage("oi"), "quiet_hours": quiet})
	running := b.campaignAction(id, "start", http.StatusOK)
	require.Equal(t, "running", running["status"])
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, 5, b.graph.count(), "nothing sent in the quiet hours")
	cancelled := b.campaignAction(id, "cancel", http.StatusOK)
	require.Equal(t, "cancelled", cancelled["status"])
	require.NotNil(t, cancelled["finished_at"])
	require.Equal(t, 5, stat(cancelled, "skipped"))
	for _, r := range b.recipients(id, "") {
		require.Equal(t, "cancelled", r["error"].(map[string]any)["reason"])
	}
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, 5, b.graph.count())
	b.campaignAction(id, "resume", http.StatusConflict)
}

// TestCampaignRulesAndIsolation: field errors; agents cannot see campaigns;
// another tenant's campaign is not found; an empty audience cannot start;
// the plan's monthly campaigns are counted at start, not at writing; a plan
// without the feature refuses the module; consoles hear of changes.
func TestCampaignRulesAndIsolation(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	res := b.do(http.MethodPost, "/api/v1/campaigns", b.tenant.AdminToken, map[string]any{"name": "", "connection_id": b.connID,
		"message": map[string]any{"type": "text"}, "rate_per_minute": 0, "jitter_pct": 90,
		"quiet_hours":  map[string]any{"from": "21h", "to": "08:00", "timezone": "Nowhere/City"},
		"scheduled_at": time.Now().Add(-time.Hour)})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	fields := res.JSON()["error"].(map[string]any)["details"].(map[string]any)["fields"].(map[string]any)
	for _, f := range []string{"name", "message.text", "rate_per_minute", "jitter_pct", "quiet_hours.from", "quiet_hours.timezone", "scheduled_at"} {
		require.Contains(t, fields, f)
	}
	res = b.do(http.MethodPost, "/api/v1/campaigns", b.tenant.AdminToken, map[string]any{"name": "X", "connection_id": crm.NewID(),
		"message": map[string]any{"type": "text", "text": "oi"}})
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, string(res.Body), "connection_id")

	vip := b.label("VIP")
	b.campaignContacts(2, "11500", &vip, nil)
	id := b.createCampaign(map[string]any{"name": "Teste", "audience": map[string]any{"label_ids": []uuid.UUID{vip}},
		"message": templateMessage("oi")})
	select {
	case <-time.After(5 * time.Second):
		t.Fatal("no campaign.updated event")
	case ev := <-b.events:
		for ev.Type != "campaign.updated" {
			ev = <-b.events
		}
		require.Contains(t, string(ev.Payload), id)
	}

	_, agent := b.user(b.tenant, crm.RoleAgent, "Agente")
	require.Equal(t, http.StatusForbidden, b.do(http.MethodGet, "/api/v1/campaigns", agent, nil).Status)
	other := b.testEnv.tenant("outra")
	require.Equal(t, http.StatusNotFound, b.do(http.MethodGet, "/api/v1/campaigns/"+id, other.AdminToken, nil).Status)
	require.Equal(t, http.StatusNotFound, b.do(http.MethodPost, "/api/v1/campaigns/"+id+"/start", other.AdminToken, nil).Status)
	require.Empty(t, b.do(http.MethodGet, "/api/v1/campaigns", other.AdminToken, nil).Items())

	empty := b.createCampaign(map[string]any{"name": "Ninguém", "audience": map[string]any{"label_ids": []uuid.UUID{b.label("Vazio")}},
		"message": templateMessage("oi")})
	res = b.do(http.MethodPost, "/api/v1/campaigns/"+empty+"/start", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)
	require.Equal(t, "empty_audience", res.ErrorCode())

	// A plan of one campaign a month: drafts are free, the second start is refused.
	ctx := context.Background()
	limits := planLimitsGenerous
	limits.MonthlyCampaigns = 1
	planID, err := b.db.CreatePlan(ctx, persistence.NewPlan{Name: "one-campaign", MonthlyPrice: "10.00",
		Limits: limits, Features: crm.PlanFeatures{Campaigns: true}})
	require.NoError(t, err)
	_, err = b.db.Pool.Exec(ctx, `UPDATE tenants SET plan_id = $2 WHERE id = $1`, b.tenant.ID, planID)
	require.NoError(t, err)
	second := b.createCampaign(map[string]any{"name": "Segunda", "audience": map[string]any{"label_ids": []uuid.UUID{vip}},
		"message": templateMessage("oi")})
	b.campaignAction(id, "start", http.StatusOK)
	res = b.do(http.MethodPost, "/api/v1/campaigns/"+second+"/start", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusPaymentRequired, res.Status, string(res.Body))
	require.Equal(t, "plan_limit", res.ErrorCode())
	require.Equal(t, "draft", b.campaign(second)["status"])

	_, err = b.db.Pool.Exec(ctx, `UPDATE plans SET features = '{}' WHERE id = $1`, planID)
	require.NoError(t, err)
	res = b.do(http.MethodGet, "/api/v1/campaigns", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusPaymentRequired, res.Status)
	require.Equal(t, "feature_disabled", res.ErrorCode())
}

// TestCampaignTemplateMustBeApproved: on a connection with templates (the
// sandbox's), a campaign's template is checked at start: a rejected one
// and an unknown one are refused, an approved one starts.
func TestCampaignTemplateMustBeApproved(t *testing.T) {
	t.Parallel()
	env := newSandboxEnv(t)
	connID := env.createSandbox("Sandbox")
	res := env.do(http.MethodPost, "/api/v1/contacts", env.acme.AdminToken, map[string]any{"name": "Ana", "phone": "+5511955550101"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	contactID := res.JSON()["id"].(string)
	tpl := func(name string) map[string]any {
		return map[string]any{"type": "template", "template": map[string]any{"name": name, "language": map[string]any{"code": "pt_BR"}}}
	}
	for name, code := range map[string]string{"promo_mensal": "template_not_approved", "nao_existe": "template_not_approved"} {
		res := env.do(http.MethodPost, "/api/v1/campaigns", env.acme.AdminToken, map[string]any{"name": name, "connection_id": connID,
			"audience": map[string]any{"contact_ids": []string{contactID}}, "message": tpl(name)})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		id := res.JSON()["id"].(string)
		res = env.do(http.MethodPost, "/api/v1/campaigns/"+id+"/start", env.acme.AdminToken, nil)
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
		require.Equal(t, code, res.ErrorCode(), name)
	}
	res = env.do(http.MethodPost, "/api/v1/campaigns", env.acme.AdminToken, map[string]any{"name": "Boas-vindas", "connection_id": connID,
		"audience": map[string]any{"contact_ids": []string{contactID}}, "message": tpl("boas_vindas")})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	res = env.do(http.MethodPost, "/api/v1/campaigns/"+res.JSON()["id"].(string)+"/start", env.acme.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "running", res.JSON()["status"])
}
