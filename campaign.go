package crm

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Campaign statuses: draft → scheduled → running ⇄ paused → completed |
// cancelled. A draft started with a time ahead is scheduled; one started
// now runs. failed is a campaign that cannot go on (its connection is gone).
const (
	CampaignDraft     = "draft"
	CampaignScheduled = "scheduled"
	CampaignRunning   = "running"
	CampaignPaused    = "paused"
	CampaignCompleted = "completed"
	CampaignCancelled = "cancelled"
	CampaignFailed    = "failed"
)

// campaignActions are what a person does to a campaign: from which
// statuses, to which. (start and the scheduler's scheduled → running are
// their own paths.)
var campaignActions = map[string]struct {
	from []string
	to   string
}{
	"pause":  {[]string{CampaignRunning}, CampaignPaused},
	"resume": {[]string{CampaignPaused}, CampaignRunning},
	"cancel": {[]string{CampaignScheduled, CampaignRunning, CampaignPaused}, CampaignCancelled},
}

// CampaignAction is where an action takes a campaign in status from; ok is
// false when the action is unknown or not allowed from there.
func CampaignAction(action, from string) (to string, ok bool) {
	a, known := campaignActions[action]
	if !known {
		return "", false
	}
	for _, s := range a.from {
		if s == from {
			return a.to, true
		}
	}
	return "", false
}

// CampaignEditable: a draft, or a scheduled campaign not yet running.
func CampaignEditable(status string) bool {
	return status == CampaignDraft || status == CampaignScheduled
}

// Campaign is a bulk send to a segment of the tenant's contacts, paced on one
// connection.
type Campaign struct {
	ID            uuid.UUID        `json:"id"`
	Name          string           `json:"name"`
	ConnectionID  uuid.UUID        `json:"connection_id"`
	Status        string           `json:"status"`
	Message       ScheduledContent `json:"message"`
	Audience      Audience         `json:"audience"`
	ScheduledAt   *time.Time       `json:"scheduled_at"`
	RatePerMinute int              `json:"rate_per_minute"`
	JitterPct     int              `json:"jitter_pct"`
	QuietHours    *QuietHours      `json:"quiet_hours"`
	Stats         CampaignStats    `json:"stats"`
	// Progress is the share of recipients past pending, 0..1.
	Progress          float64         `json:"progress"`
	EstimatedFinishAt *time.Time      `json:"estimated_finish_at"`
	Error             json.RawMessage `json:"error"`
	LaunchedAt        *time.Time      `json:"launched_at"`
	StartedAt         *time.Time      `json:"started_at"`
	FinishedAt        *time.Time      `json:"finished_at"`
	CreatedBy         *uuid.UUID      `json:"created_by"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
}

// CampaignStats counts a campaign's recipients by their current status
// (each once).
type CampaignStats struct {
	Total     int `json:"total"`
	Pending   int `json:"pending"`
	Sent      int `json:"sent"`
	Delivered int `json:"delivered"`
	Read      int `json:"read"`
	Failed    int `json:"failed"`
	Skipped   int `json:"skipped"`
}

// Finish fills the figures derived from the stats: progress and, while
// running, when the last recipient is due at the campaign's pace.
func (c *Campaign) Finish(now time.Time) {
	c.Progress = 0
	if c.Stats.Total > 0 {
		c.Progress = float64(c.Stats.Total-c.Stats.Pending) / float64(c.Stats.Total)
	}
	c.EstimatedFinishAt = nil
	if c.Status == CampaignRunning && c.RatePerMinute > 0 {
		at := now.Add(time.Duration(float64(c.Stats.Pending) / float64(c.RatePerMinute) * float64(time.Minute))).UTC()
		c.EstimatedFinishAt = &at
	}
}

// Audience selects contacts; every field present narrows it, none is every
// contact.
type Audience struct {
	LabelIDs         []uuid.UUID       `json:"label_ids,omitempty"`
	ExcludeLabelIDs  []uuid.UUID       `json:"exclude_label_ids,omitempty"`
	CustomFields     map[string]string `json:"custom_fields,omitempty"`
	ContactIDs       []uuid.UUID       `json:"contact_ids,omitempty"`
	CreatedAfter     *time.Time        `json:"created_after,omitempty"`
	LastInboundAfter *time.Time        `json:"last_inbound_after,omitempty"`
}

// QuietHours is a daily window without sends, in a time zone: from 21:00
// to 08:00 spans midnight.
type QuietHours struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Timezone string `json:"timezone"`
}

// Check validates the window, adding what is wrong to fields under prefix.
func (q QuietHours) Check(fields FieldErrors, prefix string) {
	if _, ok := clockMinutes(q.From); !ok {
		fields.Add(prefix+".from", "must be a time of day, HH:MM")
	}
	if _, ok := clockMinutes(q.To); !ok {
		fields.Add(prefix+".to", "must be a time of day, HH:MM")
	}
	if q.From == q.To && q.From != "" {
		fields.Add(prefix+".to", "must differ from from")
	}
	if q.Timezone != "" {
		if _, err := time.LoadLocation(q.Timezone); err != nil {
			fields.Add(prefix+".timezone", "is not a known time zone")
		}
	}
}

// Until answers whether t falls in the quiet window and, if so, when it
// ends. A window that does not parse is never quiet (Check refuses it).
func (q QuietHours) Until(t time.Time) (time.Time, bool) {
	from, ok1 := clockMinutes(q.From)
	to, ok2 := clockMinutes(q.To)
	if !ok1 || !ok2 || from == to {
		return t, false
	}
	loc := time.UTC
	if q.Timezone != "" {
		if l, err := time.LoadLocation(q.Timezone); err == nil {
			loc = l
		}
	}
	local := t.In(loc)
	now := local.Hour()*60 + local.Minute()
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	at := func(d time.Time, minutes int) time.Time {
		return time.Date(d.Year(), d.Month(), d.Day(), minutes/60, minutes%60, 0, 0, loc)
	}
	if from < to { // 12:00–14:00
		if now >= from && now < to {
			return at(day, to), true
		}
		return t, false
	}
	// 21:00–08:00
	if now >= from {
		return at(day.AddDate(0, 0, 1), to), true
	}
	if now < to {
		return at(day, to), true
	}
	return t, false
}

// CampaignRecipient is one contact of a started campaign and how its message
// went: pending → sent → delivered → read | failed | skipped.
type CampaignRecipient struct {
	ContactID      uuid.UUID       `json:"contact_id"`
	ContactName    string          `json:"contact_name"`
	Phone          *string         `json:"phone"`
	Position       int             `json:"position"`
	Status         string          `json:"status"`
	Error          json.RawMessage `json:"error"`
	MessageID      *uuid.UUID      `json:"message_id"`
	ConversationID *uuid.UUID      `json:"conversation_id"`
	SentAt         *time.Time      `json:"sent_at"`
	DeliveredAt    *time.Time      `json:"delivered_at"`
	ReadAt         *time.Time      `json:"read_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
}

// Recipient statuses, and why one was skipped.
const (
	RecipientPending   = "pending"
	SkipOptedOut       = "opted_out"
	SkipNoIdentity     = "no_identity"
	SkipDuplicate      = "duplicate"
	RecipientSkipped   = "skipped"
	campaignVarsPrefix = "contact."
)

// CampaignStart is the durable job that starts a scheduled campaign at its
// time. A campaign moved to another time gets a new job; the old one finds
// the time changed and does nothing.
type CampaignStart struct {
	TenantID    uuid.UUID `json:"tenant_id"`
	ID          uuid.UUID `json:"id"`
	ScheduledAt time.Time `json:"scheduled_at"`
}

// Kind names the job kind (package jobs runs it).
func (CampaignStart) Kind() string { return "campaign_start" }

// CampaignContact is what a campaign's variables read of a recipient.
type CampaignContact struct {
	ID     uuid.UUID
	Name   string
	Phone  string
	Email  string
	Custom map[string]any
}

// RenderCampaignText puts a recipient's values into {{contact.name}},
// {{contact.phone}}, {{contact.email}} and {{contact.<custom field>}}; an
// unknown variable becomes empty text.
func RenderCampaignText(s string, c CampaignContact) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		ref := strings.TrimSpace(s[i+2 : i+j])
		s = s[i+j+2:]
		if !strings.HasPrefix(ref, campaignVarsPrefix) {
			b.WriteString("{{" + ref + "}}")
			continue
		}
		switch field := ref[len(campaignVarsPrefix):]; field {
		case "name":
			b.WriteString(c.Name)
		case "phone":
			b.WriteString(c.Phone)
		case "email":
			b.WriteString(c.Email)
		default:
			if v, ok := c.Custom[field]; ok && v != nil {
				b.WriteString(fmt.Sprint(v))
			}
		}
	}
}

// RenderCampaignTemplate puts a recipient's values into every text of a
// template message (its parameters), leaving the rest as it is.
func RenderCampaignTemplate(raw json.RawMessage, c CampaignContact) (json.RawMessage, error) {
	if !strings.Contains(string(raw), "{{") {
		return raw, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var walk func(any) any
	walk = func(x any) any {
		switch t := x.(type) {
		case string:
			return RenderCampaignText(t, c)
		case []any:
			for i := range t {
				t[i] = walk(t[i])
			}
		case map[string]any:
			for k := range t {
				t[k] = walk(t[k])
			}
		}
		return x
	}
	return json.Marshal(walk(v))
}
