package crm

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCampaignActions(t *testing.T) {
	cases := []struct {
		action, from, to string
		ok               bool
	}{
		{"pause", CampaignRunning, CampaignPaused, true},
		{"pause", CampaignPaused, "", false},
		{"pause", CampaignDraft, "", false},
		{"resume", CampaignPaused, CampaignRunning, true},
		{"resume", CampaignDraft, "", false}, // a draft is started, not resumed
		{"resume", CampaignCompleted, "", false},
		{"cancel", CampaignScheduled, CampaignCancelled, true},
		{"cancel", CampaignRunning, CampaignCancelled, true},
		{"cancel", CampaignPaused, CampaignCancelled, true},
		{"cancel", CampaignDraft, "", false},
		{"cancel", CampaignCompleted, "", false},
		{"cancel", CampaignCancelled, "", false},
		{"explode", CampaignRunning, "", false},
	}
	for _, c := range cases {
		to, ok := CampaignAction(c.action, c.from)
		require.Equal(t, c.ok, ok, "%s from %s", c.action, c.from)
		require.Equal(t, c.to, to, "%s from %s", c.action, c.from)
	}
	require.True(t, CampaignEditable(CampaignDraft))
	require.True(t, CampaignEditable(CampaignScheduled))
	require.False(t, CampaignEditable(CampaignRunning))
	require.False(t, CampaignEditable(CampaignPaused))
}

func TestQuietHoursUntil(t *testing.T) {
	sp, err := time.LoadLocation("America/Sao_Paulo")
	require.NoError(t, err)
	night := QuietHours{From: "21:00", To: "08:00", Timezone: "America/Sao_Paulo"}
	lunch := QuietHours{From: "12:00", To: "13:30", Timezone: "America/Sao_Paulo"}
	at := func(day, h, m int) time.Time { return time.Date(2026, 12, day, h, m, 0, 0, sp) }
	cases := []struct {
		q     QuietHours
		now   time.Time
		quiet bool
		until time.Time
	}{
		{night, at(7, 22, 15), true, at(8, 8, 0)}, // evening: until tomorrow morning
		{night, at(7, 3, 0), true, at(7, 8, 0)},   // after midnight: until this morning
		{night, at(7, 8, 0), false, time.Time{}},  // the end is not quiet
		{night, at(7, 20, 59), false, time.Time{}},
		{night, at(7, 21, 0), true, at(8, 8, 0)},
		{lunch, at(7, 12, 30), true, at(7, 13, 30)},
		{lunch, at(7, 13, 30), false, time.Time{}},
		{lunch, at(7, 11, 0), false, time.Time{}},
	}
	for _, c := range cases {
		until, quiet := c.q.Until(c.now.UTC()) // the zone comes from the window, not the clock
		require.Equal(t, c.quiet, quiet, "%v at %s", c.q, c.now)
		if quiet {
			require.True(t, until.Equal(c.until), "%v at %s: until %s, want %s", c.q, c.now, until, c.until)
		}
	}
	// A window that does not parse is never quiet.
	_, quiet := QuietHours{From: "25:00", To: "08:00"}.Until(time.Now())
	require.False(t, quiet)
}

func TestQuietHoursCheck(t *testing.T) {
	for _, c := range []struct {
		q      QuietHours
		fields []string
	}{
		{QuietHours{From: "21:00", To: "08:00", Timezone: "America/Sao_Paulo"}, nil},
		{QuietHours{From: "9", To: "08:00"}, []string{"q.from"}},
		{QuietHours{From: "21:00", To: "21:00"}, []string{"q.to"}},
		{QuietHours{From: "21:00", To: "08:00", Timezone: "Mars/Olympus"}, []string{"q.timezone"}},
	} {
		fields := FieldErrors{}
		c.q.Check(fields, "q")
		got := []string{}
		for k := range fields {
			got = append(got, k)
		}
		if c.fields == nil {
			require.Empty(t, got, "%v", c.q)
		} else {
			require.ElementsMatch(t, c.fields, got, "%v", c.q)
		}
	}
}

func TestRenderCampaign(t *testing.T) {
	c := CampaignContact{Name: `Zé "Bala"`, Phone: "+5511912345678", Email: "ze@x.test", Custom: map[string]any{"cidade": "Recife", "pontos": 42.0}}
	require.Equal(t, `Oi Zé "Bala", de Recife (42 pontos) +5511912345678`,
		RenderCampaignText("Oi {{contact.name}}, de {{ contact.cidade }} ({{contact.pontos}} pontos) {{contact.phone}}", c))
	require.Equal(t, "sem  campo", RenderCampaignText("sem {{contact.nada}} campo", c), "an unknown field is empty")
	require.Equal(t, "{{var.x}} fica", RenderCampaignText("{{var.x}} fica", c), "not a contact variable: left as written")
	require.Equal(t, "aberto {{contact.name", RenderCampaignText("aberto {{contact.name", c))

	raw := json.RawMessage(`{"name":"promo","language":{"code":"pt_BR"},"components":[{"type":"body","parameters":[{"type":"text","text":"{{contact.name}}"}]}]}`)
	out, err := RenderCampaignTemplate(raw, c)
	require.NoError(t, err)
	var tpl struct {
		Name       string `json:"name"`
		Components []struct {
			Parameters []struct {
				Text string `json:"text"`
			} `json:"parameters"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(out, &tpl), "a name with quotes stays valid JSON")
	require.Equal(t, "promo", tpl.Name)
	require.Equal(t, `Zé "Bala"`, tpl.Components[0].Parameters[0].Text)
}

func TestCampaignFinish(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	c := Campaign{Status: CampaignRunning, RatePerMinute: 20, Stats: CampaignStats{Total: 100, Pending: 40, Sent: 50, Skipped: 10}}
	c.Finish(now)
	require.InDelta(t, 0.6, c.Progress, 1e-9)
	require.NotNil(t, c.EstimatedFinishAt)
	require.Equal(t, now.Add(2*time.Minute), *c.EstimatedFinishAt, "40 left at 20 a minute")
	c.Status = CampaignPaused
	c.Finish(now)
	require.Nil(t, c.EstimatedFinishAt, "no estimate while paused")
	empty := Campaign{Status: CampaignRunning, RatePerMinute: 20}
	empty.Finish(now)
	require.Zero(t, empty.Progress)
}
