package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// Campaigns (issue 17). A campaign's recipients are written in one
// statement when it starts; from then on each recipient's status is its
// message's (the messages_campaign_status trigger), and the stats are counts
// over the recipients, never a counter to keep in step.

const campaignColumns = `id, name, connection_id, status, message, audience, scheduled_at, rate_per_minute, jitter_pct,
	quiet_hours, total_count, error, launched_at, started_at, finished_at, created_by, created_at, updated_at`

func scanCampaign(row pgx.Row) (crm.Campaign, error) {
	var c crm.Campaign
	var message, audience, quiet []byte
	if err := row.Scan(&c.ID, &c.Name, &c.ConnectionID, &c.Status, &message, &audience, &c.ScheduledAt, &c.RatePerMinute,
		&c.JitterPct, &quiet, &c.Stats.Total, &c.Error, &c.LaunchedAt, &c.StartedAt, &c.FinishedAt, &c.CreatedBy,
		&c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	if err := json.Unmarshal(message, &c.Message); err != nil {
		return c, fmt.Errorf("campaign %s message: %w", c.ID, err)
	}
	if err := json.Unmarshal(audience, &c.Audience); err != nil {
		return c, fmt.Errorf("campaign %s audience: %w", c.ID, err)
	}
	if len(quiet) > 0 && string(quiet) != "null" {
		c.QuietHours = &crm.QuietHours{}
		if err := json.Unmarshal(quiet, c.QuietHours); err != nil {
			return c, fmt.Errorf("campaign %s quiet hours: %w", c.ID, err)
		}
	}
	return c, nil
}

// CampaignFields are what a person writes of a campaign.
type CampaignFields struct {
	Name          string
	ConnectionID  uuid.UUID
	Message       crm.ScheduledContent
	Audience      crm.Audience
	ScheduledAt   *time.Time
	RatePerMinute int
	JitterPct     int
	QuietHours    *crm.QuietHours
}

func campaignJSON(f CampaignFields) (message, audience, quiet []byte, err error) {
	if message, err = json.Marshal(f.Message); err != nil {
		return
	}
	if audience, err = json.Marshal(f.Audience); err != nil {
		return
	}
	if f.QuietHours != nil {
		quiet, err = json.Marshal(f.QuietHours)
	}
	return
}

// CreateCampaign stores a draft; crm's not-found error when the tenant has
// no such connection.
func (db *DB) CreateCampaign(ctx context.Context, tenantID uuid.UUID, by AuditEntry, f CampaignFields) (crm.Campaign, crm.TenantEvent, error) {
	var out crm.Campaign
	var ev crm.TenantEvent
	message, audience, quiet, err := campaignJSON(f)
	if err != nil {
		return out, ev, err
	}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := connectionExists(ctx, tx, tenantID, f.ConnectionID); err != nil {
			return err
		}
		id := crm.NewID()
		if _, err := tx.Exec(ctx, `INSERT INTO campaigns (tenant_id, id, name, connection_id, message, audience, scheduled_at,
			rate_per_minute, jitter_pct, quiet_hours, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			tenantID, id, f.Name, f.ConnectionID, message, audience, f.ScheduledAt, f.RatePerMinute, f.JitterPct, quiet,
			actorID(by)); err != nil {
			return err
		}
		out, ev, err = campaignChanged(ctx, tx, tenantID, id, by, "create", nil)
		return err
	})
	return out, ev, translate(err)
}

func actorID(by AuditEntry) *uuid.UUID {
	if by.Actor.UserID == uuid.Nil {
		return nil
	}
	id := by.Actor.UserID
	return &id
}

func connectionExists(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM connections WHERE tenant_id = $1 AND id = $2)`, tenantID, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		fields := crm.FieldErrors{}
		fields.Add("connection_id", "is not one of this company's connections")
		return fields.Err()
	}
	return nil
}

// campaignChanged reads the campaign with its stats after a change, writes
// the audit entry (when by names an action) and appends campaign.updated.
func campaignChanged(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, by AuditEntry, action string, before any) (crm.Campaign, crm.TenantEvent, error) {
	c, err := loadCampaign(ctx, tx, tenantID, id, false)
	if err != nil {
		return c, crm.TenantEvent{}, err
	}
	if action != "" {
		by.Action, by.Entity, by.EntityID, by.Before, by.After = action, "campaign", id, before, c
		if err := WriteAudit(ctx, tx, tenantID, by); err != nil {
			return c, crm.TenantEvent{}, err
		}
	}
	ev, err := campaignEvent(ctx, tx, tenantID, c)
	return c, ev, err
}

func campaignEvent(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, c crm.Campaign) (crm.TenantEvent, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return crm.TenantEvent{}, err
	}
	ev := crm.TenantEvent{Type: "campaign.updated", Payload: payload}
	if err := AppendTenantEvent(ctx, tx, tenantID, &ev); err != nil {
		return crm.TenantEvent{}, err
	}
	return ev, nil
}

func loadCampaign(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, lock bool) (crm.Campaign, error) {
	q := `SELECT ` + campaignColumns + ` FROM campaigns WHERE tenant_id = $1 AND id = $2`
	if lock {
		q += ` FOR UPDATE`
	}
	c, err := scanCampaign(tx.QueryRow(ctx, q, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, crm.NotFound("campaign")
	}
	if err != nil {
		return c, err
	}
	if !lock {
		err = fillCampaignStats(ctx, tx, tenantID, []*crm.Campaign{&c})
	}
	return c, err
}

// fillCampaignStats counts the campaigns' recipients by status (the total is
// the row's, written when the recipients were).
func fillCampaignStats(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, cs []*crm.Campaign) error {
	ids := make([]uuid.UUID, 0, len(cs))
	byID := make(map[uuid.UUID]*crm.Campaign, len(cs))
	for _, c := range cs {
		if c.Status != crm.CampaignDraft && c.Status != crm.CampaignScheduled {
			ids = append(ids, c.ID)
		}
		byID[c.ID] = c
	}
	if len(ids) > 0 {
		rows, err := tx.Query(ctx, `SELECT campaign_id, status, count(*) FROM campaign_recipients
			WHERE tenant_id = $1 AND campaign_id = ANY($2) GROUP BY campaign_id, status`, tenantID, ids)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var status string
			var n int
			if err := rows.Scan(&id, &status, &n); err != nil {
				return err
			}
			s := &byID[id].Stats
			switch status {
			case "pending":
				s.Pending = n
			case "sent":
				s.Sent = n
			case "delivered":
				s.Delivered = n
			case "read":
				s.Read = n
			case "failed":
				s.Failed = n
			case "skipped":
				s.Skipped = n
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	now := time.Now()
	for _, c := range cs {
		c.Finish(now)
	}
	return nil
}

func campaignExists(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) error {
	var ok bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaigns WHERE tenant_id = $1 AND id = $2)`, tenantID, id).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return crm.NotFound("campaign")
	}
	return nil
}

// GetCampaign is one campaign with its stats.
func (db *DB) GetCampaign(ctx context.Context, tenantID, id uuid.UUID) (crm.Campaign, error) {
	var out crm.Campaign
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		out, err = loadCampaign(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

// CampaignFilter pages the campaign list, newest first.
type CampaignFilter struct {
	Status string
	Cursor string
	Limit  int
}

// ListCampaigns is a page of campaigns with their stats.
func (db *DB) ListCampaigns(ctx context.Context, tenantID uuid.UUID, f CampaignFilter) (crm.Page[crm.Campaign], error) {
	page := crm.Page[crm.Campaign]{Items: []crm.Campaign{}}
	limit := crm.ClampLimit(f.Limit)
	var beforeAt time.Time
	var beforeID uuid.UUID
	hasCursor, err := crm.DecodeCursor(f.Cursor, &beforeAt, &beforeID)
	if err != nil {
		return page, err
	}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+campaignColumns+` FROM campaigns
			WHERE tenant_id = $1 AND ($2 = '' OR status = $2) AND (NOT $3 OR (created_at, id) < ($4, $5))
			ORDER BY created_at DESC, id DESC LIMIT $6`, tenantID, f.Status, hasCursor, beforeAt, beforeID, limit+1)
		if err != nil {
			return err
		}
		page.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.Campaign, error) { return scanCampaign(r) })
		if err != nil {
			return err
		}
		if len(page.Items) > limit {
			page.Items = page.Items[:limit]
			last := page.Items[limit-1]
			next, err := crm.EncodeCursor(last.CreatedAt, last.ID)
			if err != nil {
				return err
			}
			page.NextCursor = &next
		}
		ptrs := make([]*crm.Campaign, len(page.Items))
		for i := range page.Items {
			ptrs[i] = &page.Items[i]
		}
		return fillCampaignStats(ctx, tx, tenantID, ptrs)
	})
	return page, translate(err)
}

// UpdateCampaign lets edit change a draft or scheduled campaign (crm's
// conflict error campaign_not_editable otherwise). A scheduled campaign
// moved to another time gets a new start job.
func (db *DB) UpdateCampaign(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, edit func(*CampaignFields) error) (crm.Campaign, crm.TenantEvent, error) {
	var out crm.Campaign
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadCampaign(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if !crm.CampaignEditable(before.Status) {
			return crm.NewError(crm.ErrConflict, "campaign_not_editable", "only a draft or a scheduled campaign can be changed", nil)
		}
		f := CampaignFields{Name: before.Name, ConnectionID: before.ConnectionID, Message: before.Message, Audience: before.Audience,
			ScheduledAt: before.ScheduledAt, RatePerMinute: before.RatePerMinute, JitterPct: before.JitterPct, QuietHours: before.QuietHours}
		if err := edit(&f); err != nil {
			return err
		}
		if f.ConnectionID != before.ConnectionID {
			if err := connectionExists(ctx, tx, tenantID, f.ConnectionID); err != nil {
				return err
			}
		}
		message, audience, quiet, err := campaignJSON(f)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET name = $3, connection_id = $4, message = $5, audience = $6, scheduled_at = $7,
			rate_per_minute = $8, jitter_pct = $9, quiet_hours = $10, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, f.Name, f.ConnectionID, message, audience, f.ScheduledAt, f.RatePerMinute, f.JitterPct, quiet); err != nil {
			return err
		}
		if before.Status == crm.CampaignScheduled && !sameTime(before.ScheduledAt, f.ScheduledAt) {
			if f.ScheduledAt == nil || !f.ScheduledAt.After(time.Now()) {
				fields := crm.FieldErrors{}
				fields.Add("scheduled_at", "a scheduled campaign needs a time ahead (cancel it to start now)")
				return fields.Err()
			}
			if err := db.scheduleCampaign(ctx, tx, tenantID, id, *f.ScheduledAt); err != nil {
				return err
			}
		}
		out, ev, err = campaignChanged(ctx, tx, tenantID, id, by, "update", before)
		return err
	})
	return out, ev, translate(err)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// DeleteCampaign removes a campaign that is not running or paused (crm's
// conflict error campaign_running), with its recipients.
func (db *DB) DeleteCampaign(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadCampaign(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if before.Status == crm.CampaignRunning || before.Status == crm.CampaignPaused {
			return crm.NewError(crm.ErrConflict, "campaign_running", "cancel the campaign before deleting it", nil)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM campaigns WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "campaign", id, before, nil
		ev, err = writeDirectoryChange(ctx, tx, tenantID, by)
		return err
	})
	return ev, translate(err)
}

func (db *DB) scheduleCampaign(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, at time.Time) error {
	if db.jobs == nil {
		return crm.NewError(crm.ErrUnprocessable, "jobs_unavailable", "timed work cannot be scheduled on this node (it runs no job client)", nil)
	}
	return db.jobs.InsertTx(ctx, tx, crm.CampaignStart{TenantID: tenantID, ID: id, ScheduledAt: at.UTC()}, JobOpts{RunAt: at})
}

// StartCheck looks at a campaign about to start, in the starting
// transaction, with its audience counted: the caller's rules (a template
// outside the 24-hour window) refuse it with an error.
type StartCheck func(c crm.Campaign, preview AudiencePreview) error

// StartCampaign starts a draft: scheduled when its time is ahead (a start
// job is inserted), otherwise running with its recipients written. It
// counts toward the month's plan limit (402 plan_limit beyond it).
func (db *DB) StartCampaign(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, now time.Time, check StartCheck) (crm.Campaign, crm.TenantEvent, error) {
	var out crm.Campaign
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadCampaign(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if before.Status != crm.CampaignDraft {
			return invalidTransition(before.Status, "start")
		}
		later := before.ScheduledAt != nil && before.ScheduledAt.After(now)
		// A template reaches every window, so a template campaign starting
		// now is checked by writing its recipients (one pass over the
		// audience, not two); the others are counted first.
		if later || before.Message.Type != "template" {
			preview, err := previewAudience(ctx, tx, tenantID, before.ConnectionID, before.Audience, 0)
			if err != nil {
				return err
			}
			if preview.Count == 0 {
				return emptyAudience(preview)
			}
			if check != nil {
				if err := check(before, preview); err != nil {
					return err
				}
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET launched_at = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, now); err != nil {
			return err
		}
		if later {
			if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'scheduled' WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
				return err
			}
			if err := db.scheduleCampaign(ctx, tx, tenantID, id, *before.ScheduledAt); err != nil {
				return err
			}
		} else if err := materializeRecipients(ctx, tx, tenantID, before, now); err != nil {
			return err
		}
		out, ev, err = campaignChanged(ctx, tx, tenantID, id, by, "start", before)
		return err
	})
	return out, ev, translate(err)
}

// StartDueCampaign runs a scheduled campaign whose time has come (its start
// job): false when it was cancelled, moved or already started.
func (db *DB) StartDueCampaign(ctx context.Context, tenantID, id uuid.UUID, scheduledAt, now time.Time) (bool, crm.TenantEvent, error) {
	var ev crm.TenantEvent
	started := false
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		c, err := loadCampaign(ctx, tx, tenantID, id, true)
		if errors.Is(err, crm.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if c.Status != crm.CampaignScheduled || c.ScheduledAt == nil || !c.ScheduledAt.Equal(scheduledAt) {
			return nil
		}
		if err := materializeRecipients(ctx, tx, tenantID, c, now); err != nil {
			return err
		}
		started = true
		_, ev, err = campaignChanged(ctx, tx, tenantID, id, AuditEntry{}, "", nil)
		return err
	})
	var coded *crm.Error
	if errors.As(err, &coded) && coded.Code == "empty_audience" {
		// Nobody of the audience can receive it any more (opted out,
		// removed since it was scheduled): it fails with the reason.
		ev, err = db.failScheduled(ctx, tenantID, id, coded)
	}
	return started, ev, translate(err)
}

func (db *DB) failScheduled(ctx context.Context, tenantID, id uuid.UUID, reason *crm.Error) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	raw, err := json.Marshal(map[string]string{"code": reason.Code, "message": reason.Message})
	if err != nil {
		return ev, err
	}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'failed', error = $3, finished_at = now(), updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'scheduled'`, tenantID, id, raw)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, ev, err = campaignChanged(ctx, tx, tenantID, id, AuditEntry{}, "", nil)
		return err
	})
	return ev, err
}

func emptyAudience(p AudiencePreview) error {
	return crm.NewError(crm.ErrUnprocessable, "empty_audience", "no contact of the audience can receive this campaign",
		map[string]any{"opted_out": p.OptedOut, "blocked": p.Blocked, "no_identity": p.NoIdentity, "duplicate": p.Duplicate})
}

func invalidTransition(from, action string) error {
	return crm.NewError(crm.ErrConflict, "invalid_transition", fmt.Sprintf("a %s campaign cannot %s", from, action),
		map[string]any{"status": from})
}

// audienceWhere is the audience as conditions on contacts c; args holds
// the tenant as $1 and gets the rest.
func audienceWhere(a crm.Audience, args *[]any) string {
	arg := func(v any) string { *args = append(*args, v); return fmt.Sprintf("$%d", len(*args)) }
	conds := []string{"c.tenant_id = $1"}
	if len(a.LabelIDs) > 0 {
		conds = append(conds, `EXISTS (SELECT 1 FROM contact_labels cl WHERE cl.tenant_id = c.tenant_id AND cl.contact_id = c.id
			AND cl.label_id = ANY(`+arg(a.LabelIDs)+`))`)
	}
	if len(a.ExcludeLabelIDs) > 0 {
		conds = append(conds, `NOT EXISTS (SELECT 1 FROM contact_labels cl WHERE cl.tenant_id = c.tenant_id AND cl.contact_id = c.id
			AND cl.label_id = ANY(`+arg(a.ExcludeLabelIDs)+`))`)
	}
	for k, v := range a.CustomFields {
		conds = append(conds, `c.custom_fields ->> `+arg(k)+` = `+arg(v))
	}
	if len(a.ContactIDs) > 0 {
		conds = append(conds, `c.id = ANY(`+arg(a.ContactIDs)+`)`)
	}
	if a.CreatedAfter != nil {
		conds = append(conds, `c.created_at >= `+arg(*a.CreatedAfter))
	}
	if a.LastInboundAfter != nil {
		conds = append(conds, `EXISTS (SELECT 1 FROM conversations cv WHERE cv.tenant_id = c.tenant_id AND cv.contact_id = c.id
			AND cv.last_inbound_at >= `+arg(*a.LastInboundAfter)+`)`)
	}
	return strings.Join(conds, " AND ")
}

// audienceRows is the audience on a connection's channel, each contact with
// why it would be skipped (” when it is sent to) and its order. $1 is the
// tenant and the channel comes as an argument.
func audienceRows(a crm.Audience, channel string, connectionID *uuid.UUID, args *[]any) string {
	where := audienceWhere(a, args)
	*args = append(*args, channel)
	ch := fmt.Sprintf("$%d", len(*args))
	window := "false"
	if connectionID != nil { // the preview's count of closed windows
		*args = append(*args, *connectionID)
		window = `EXISTS (SELECT 1 FROM conversations cv WHERE cv.tenant_id = c.tenant_id AND cv.connection_id = ` + fmt.Sprintf("$%d", len(*args)) + `
		                 AND cv.contact_id = c.id AND cv.status <> 'archived' AND cv.window_expires_at > now())`
	}
	return `WITH aud AS (
		SELECT c.id, c.opted_out, c.blocked, c.created_at, ` + window + ` AS window_open,
		       coalesce((SELECT ci.external_id FROM contact_identities ci WHERE ci.tenant_id = c.tenant_id AND ci.contact_id = c.id
		                   AND ci.channel = ` + ch + ` ORDER BY ci.created_at LIMIT 1),
		                CASE WHEN ` + ch + ` = 'whatsapp' THEN ltrim(c.phone, '+') END) AS address
		  FROM contacts c WHERE ` + where + `
	), ranked AS (
		SELECT aud.*, CASE WHEN address IS NULL THEN 1
		                   ELSE row_number() OVER (PARTITION BY address ORDER BY created_at, id) END AS nth
		  FROM aud
	)
	SELECT id, created_at, window_open,
	       CASE WHEN opted_out THEN 'opted_out' WHEN blocked THEN 'blocked' WHEN address IS NULL THEN 'no_identity'
	            WHEN nth > 1 THEN 'duplicate' ELSE '' END AS skip
	  FROM ranked`
}

// materializeRecipients writes a campaign's recipients in one statement,
// in a stable order (the position the lane sends them in), the ones that
// cannot receive it already skipped with the reason, and sets it running.
func materializeRecipients(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID, c crm.Campaign, now time.Time) error {
	var channel string
	if err := tx.QueryRow(ctx, `SELECT channel FROM connections WHERE tenant_id = $1 AND id = $2`, tenantID, c.ConnectionID).Scan(&channel); err != nil {
		return translate(err)
	}
	args := []any{tenantID}
	rows := audienceRows(c.Audience, channel, nil, &args)
	args = append(args, c.ID)
	campaign := fmt.Sprintf("$%d", len(args))
	var total int
	var skips AudiencePreview
	err := tx.QueryRow(ctx, `WITH written AS (
		INSERT INTO campaign_recipients (tenant_id, campaign_id, contact_id, position, status, error)
		SELECT $1, `+campaign+`, a.id, row_number() OVER (ORDER BY a.created_at, a.id),
		       CASE WHEN a.skip = '' THEN 'pending' ELSE 'skipped' END,
		       CASE WHEN a.skip = '' THEN NULL ELSE jsonb_build_object('reason', a.skip) END
		  FROM (`+rows+`) a
		RETURNING status, error ->> 'reason' AS reason)
		SELECT count(*), count(*) FILTER (WHERE status = 'pending'), count(*) FILTER (WHERE reason = 'opted_out'),
		       count(*) FILTER (WHERE reason = 'blocked'), count(*) FILTER (WHERE reason = 'no_identity'),
		       count(*) FILTER (WHERE reason = 'duplicate') FROM written`, args...).Scan(&total, &skips.Count, &skips.OptedOut,
		&skips.Blocked, &skips.NoIdentity, &skips.Duplicate)
	if err != nil {
		return err
	}
	if skips.Count == 0 {
		return emptyAudience(skips) // the transaction rolls back what was written
	}
	_, err = tx.Exec(ctx, `UPDATE campaigns SET status = 'running', total_count = $3, started_at = $4, updated_at = now()
		WHERE tenant_id = $1 AND id = $2`, tenantID, c.ID, total, now)
	return err
}

// AudiencePreview counts an audience: how many would be sent to, and how
// many skipped and why, with a few of the contacts.
type AudiencePreview struct {
	Count      int `json:"count"`
	OptedOut   int `json:"opted_out"`
	Blocked    int `json:"blocked"`
	NoIdentity int `json:"no_identity"`
	Duplicate  int `json:"duplicate"`
	// OutsideWindow counts those to send to whose 24-hour window is closed
	// on this connection (on WhatsApp only a template reaches them).
	OutsideWindow int              `json:"outside_window"`
	Sample        []AudienceSample `json:"sample"`
}

// AudienceSample is one contact of an audience preview.
type AudienceSample struct {
	ID     uuid.UUID      `json:"id"`
	Name   string         `json:"name"`
	Phone  *string        `json:"phone"`
	Email  *string        `json:"email"`
	Custom map[string]any `json:"custom_fields"`
}

// PreviewAudience counts the audience on the connection (crm's not-found
// error when the tenant has no such connection).
func (db *DB) PreviewAudience(ctx context.Context, tenantID, connectionID uuid.UUID, a crm.Audience) (AudiencePreview, error) {
	var out AudiencePreview
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		out, err = previewAudience(ctx, tx, tenantID, connectionID, a, 5)
		return err
	})
	return out, translate(err)
}

func previewAudience(ctx context.Context, tx pgx.Tx, tenantID, connectionID uuid.UUID, a crm.Audience, sample int) (AudiencePreview, error) {
	out := AudiencePreview{Sample: []AudienceSample{}}
	var channel string
	err := tx.QueryRow(ctx, `SELECT channel FROM connections WHERE tenant_id = $1 AND id = $2`, tenantID, connectionID).Scan(&channel)
	if errors.Is(err, pgx.ErrNoRows) {
		return out, crm.NotFound("connection")
	}
	if err != nil {
		return out, err
	}
	args := []any{tenantID}
	rows := audienceRows(a, channel, &connectionID, &args)
	if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE skip = ''), count(*) FILTER (WHERE skip = 'opted_out'),
		count(*) FILTER (WHERE skip = 'blocked'), count(*) FILTER (WHERE skip = 'no_identity'), count(*) FILTER (WHERE skip = 'duplicate'),
		count(*) FILTER (WHERE skip = '' AND NOT window_open)
		FROM (`+rows+`) a`, args...).Scan(&out.Count, &out.OptedOut, &out.Blocked, &out.NoIdentity, &out.Duplicate, &out.OutsideWindow); err != nil {
		return out, err
	}
	if sample == 0 {
		return out, nil
	}
	args = append(args, sample)
	r, err := tx.Query(ctx, `SELECT c.id, c.name, c.phone, c.email, c.custom_fields FROM (`+rows+`) a
		JOIN contacts c ON c.tenant_id = $1 AND c.id = a.id WHERE a.skip = '' ORDER BY a.created_at, a.id LIMIT `+fmt.Sprintf("$%d", len(args)), args...)
	if err != nil {
		return out, err
	}
	out.Sample, err = pgx.CollectRows(r, func(row pgx.CollectableRow) (AudienceSample, error) {
		var s AudienceSample
		err := row.Scan(&s.ID, &s.Name, &s.Phone, &s.Email, &s.Custom)
		return s, err
	})
	return out, err
}

// MoveCampaign makes a person's transition: pause, resume, cancel. A
// cancelled campaign's recipients not yet handed to a conversation are
// skipped (reason cancelled).
func (db *DB) MoveCampaign(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, action string) (crm.Campaign, crm.TenantEvent, error) {
	var out crm.Campaign
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadCampaign(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		to, ok := crm.CampaignAction(action, before.Status)
		if !ok {
			return invalidTransition(before.Status, action)
		}
		finished := to == crm.CampaignCancelled || to == crm.CampaignCompleted
		if _, err := tx.Exec(ctx, `UPDATE campaigns SET status = $3, updated_at = now(),
			finished_at = CASE WHEN $4 THEN now() ELSE finished_at END WHERE tenant_id = $1 AND id = $2`,
			tenantID, id, to, finished); err != nil {
			return err
		}
		if to == crm.CampaignCancelled {
			if _, err := tx.Exec(ctx, `UPDATE campaign_recipients SET status = 'skipped', error = '{"reason":"cancelled"}', updated_at = now()
				WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'pending' AND message_id IS NULL`, tenantID, id); err != nil {
				return err
			}
		}
		out, ev, err = campaignChanged(ctx, tx, tenantID, id, by, action, before)
		return err
	})
	return out, ev, translate(err)
}

// CompleteCampaign ends a running campaign whose every recipient has been
// handed over: false when some are still to send, or it is no longer
// running.
func (db *DB) CompleteCampaign(ctx context.Context, tenantID, id uuid.UUID) (bool, crm.TenantEvent, error) {
	var ev crm.TenantEvent
	done := false
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'completed', finished_at = now(), updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status = 'running' AND NOT EXISTS (SELECT 1 FROM campaign_recipients
			  WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'pending' AND message_id IS NULL)`, tenantID, id)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		done = true
		_, ev, err = campaignChanged(ctx, tx, tenantID, id, AuditEntry{}, "", nil)
		return err
	})
	return done, ev, translate(err)
}

// FailCampaign stops a campaign that cannot go on (its connection is gone),
// with the reason.
func (db *DB) FailCampaign(ctx context.Context, tenantID, id uuid.UUID, code, message string) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	reason, err := json.Marshal(map[string]string{"code": code, "message": message})
	if err != nil {
		return ev, err
	}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE campaigns SET status = 'failed', error = $3, finished_at = now(), updated_at = now()
			WHERE tenant_id = $1 AND id = $2 AND status IN ('running', 'paused')`, tenantID, id, reason)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, ev, err = campaignChanged(ctx, tx, tenantID, id, AuditEntry{}, "", nil)
		return err
	})
	return ev, translate(err)
}

// CampaignProgress reads the campaign and, when its status or stats differ
// from last (the lane's previous beat), appends campaign.updated for the
// consoles' progress bars; ev has no type when nothing changed.
func (db *DB) CampaignProgress(ctx context.Context, tenantID, id uuid.UUID, last crm.Campaign) (crm.Campaign, crm.TenantEvent, error) {
	var out crm.Campaign
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) (err error) {
		if out, err = loadCampaign(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		if out.Status == last.Status && out.Stats == last.Stats {
			return nil
		}
		ev, err = campaignEvent(ctx, tx, tenantID, out)
		return err
	})
	return out, ev, translate(err)
}

// RunningCampaign names a running campaign across tenants.
type RunningCampaign struct {
	TenantID, ID, ConnectionID uuid.UUID
}

// RunningCampaigns lists every tenant's running campaigns (the engine's
// sweep wakes their lanes).
func (db *DB) RunningCampaigns(ctx context.Context) ([]RunningCampaign, error) {
	var out []RunningCampaign
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id, id, connection_id FROM campaigns WHERE status = 'running'`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (RunningCampaign, error) {
			var c RunningCampaign
			err := r.Scan(&c.TenantID, &c.ID, &c.ConnectionID)
			return c, err
		})
		return err
	})
	return out, translate(err)
}

// CampaignSend is one recipient still to send, with what the message's
// variables read.
type CampaignSend struct {
	Position int
	Contact  crm.CampaignContact
}

// NextCampaignSends are the campaign's next recipients still to hand over,
// after position, in order.
func (db *DB) NextCampaignSends(ctx context.Context, tenantID, id uuid.UUID, after, limit int) ([]CampaignSend, error) {
	var out []CampaignSend
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT r.position, c.id, c.name, coalesce(c.phone, ''), coalesce(c.email, ''), c.custom_fields
			FROM campaign_recipients r JOIN contacts c ON c.tenant_id = r.tenant_id AND c.id = r.contact_id
			WHERE r.tenant_id = $1 AND r.campaign_id = $2 AND r.status = 'pending' AND r.message_id IS NULL AND r.position > $3
			ORDER BY r.position LIMIT $4`, tenantID, id, after, limit)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (CampaignSend, error) {
			var s CampaignSend
			err := r.Scan(&s.Position, &s.Contact.ID, &s.Contact.Name, &s.Contact.Phone, &s.Contact.Email, &s.Contact.Custom)
			return s, err
		})
		return err
	})
	return out, translate(err)
}

// LinkCampaignRecipient records the message a recipient was sent, in the
// transaction that stored it: the message exists if and only if its
// recipient names it.
func (t *Tx) LinkCampaignRecipient(ctx context.Context, campaignID, contactID, messageID, conversationID uuid.UUID) error {
	_, err := t.tx.Exec(ctx, `UPDATE campaign_recipients SET message_id = $4, conversation_id = $5, updated_at = now()
		WHERE tenant_id = $1 AND campaign_id = $2 AND contact_id = $3 AND message_id IS NULL`,
		t.tenant, campaignID, contactID, messageID, conversationID)
	return err
}

// FailCampaignRecipient records why a recipient could not be sent to
// (refused before a message was stored: no identity, a closed window).
func (db *DB) FailCampaignRecipient(ctx context.Context, tenantID, campaignID, contactID uuid.UUID, code, message string) error {
	reason, err := json.Marshal(map[string]string{"code": code, "message": message})
	if err != nil {
		return err
	}
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE campaign_recipients SET status = 'failed', error = $4, updated_at = now()
			WHERE tenant_id = $1 AND campaign_id = $2 AND contact_id = $3 AND status = 'pending' AND message_id IS NULL`,
			tenantID, campaignID, contactID, reason)
		return err
	}))
}

// RecipientFilter pages a campaign's recipients in send order.
type RecipientFilter struct {
	Status string
	Cursor string
	Limit  int
}

const recipientColumns = `r.contact_id, c.name, c.phone, r.position, r.status, r.error, r.message_id, r.conversation_id,
	r.sent_at, r.delivered_at, r.read_at, r.updated_at`

func scanRecipient(row pgx.Row) (crm.CampaignRecipient, error) {
	var r crm.CampaignRecipient
	err := row.Scan(&r.ContactID, &r.ContactName, &r.Phone, &r.Position, &r.Status, &r.Error, &r.MessageID, &r.ConversationID,
		&r.SentAt, &r.DeliveredAt, &r.ReadAt, &r.UpdatedAt)
	return r, err
}

// CampaignRecipients is a page of the campaign's recipients (crm's
// not-found error when the tenant has no such campaign).
func (db *DB) CampaignRecipients(ctx context.Context, tenantID, id uuid.UUID, f RecipientFilter) (crm.Page[crm.CampaignRecipient], error) {
	page := crm.Page[crm.CampaignRecipient]{Items: []crm.CampaignRecipient{}}
	limit := crm.ClampLimit(f.Limit)
	var after int
	if _, err := crm.DecodeCursor(f.Cursor, &after); err != nil {
		return page, err
	}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := campaignExists(ctx, tx, tenantID, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+recipientColumns+` FROM campaign_recipients r
			JOIN contacts c ON c.tenant_id = r.tenant_id AND c.id = r.contact_id
			WHERE r.tenant_id = $1 AND r.campaign_id = $2 AND ($3 = '' OR r.status = $3) AND r.position > $4
			ORDER BY r.position LIMIT $5`, tenantID, id, f.Status, after, limit+1)
		if err != nil {
			return err
		}
		page.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (crm.CampaignRecipient, error) { return scanRecipient(r) })
		return err
	})
	if err != nil {
		return page, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next, err := crm.EncodeCursor(page.Items[limit-1].Position)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// EachCampaignRecipient calls fn for every recipient (of a status, or all)
// in send order, streaming the rows of one query so that memory stays flat
// (the CSV export).
func (db *DB) EachCampaignRecipient(ctx context.Context, tenantID, id uuid.UUID, status string, fn func(crm.CampaignRecipient) error) error {
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := campaignExists(ctx, tx, tenantID, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+recipientColumns+` FROM campaign_recipients r
			JOIN contacts c ON c.tenant_id = r.tenant_id AND c.id = r.contact_id
			WHERE r.tenant_id = $1 AND r.campaign_id = $2 AND ($3 = '' OR r.status = $3) ORDER BY r.position`, tenantID, id, status)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			r, err := scanRecipient(rows)
			if err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		return rows.Err()
	}))
}

// ActivityPoint is one bucket of a campaign's activity.
type ActivityPoint struct {
	At        time.Time `json:"at"`
	Sent      int       `json:"sent"`
	Delivered int       `json:"delivered"`
	Read      int       `json:"read"`
	Failed    int       `json:"failed"`
}

// CampaignActivity counts the campaign's sends, deliveries, reads and
// failures per minute or hour.
func (db *DB) CampaignActivity(ctx context.Context, tenantID, id uuid.UUID, bucket string) ([]ActivityPoint, error) {
	out := []ActivityPoint{}
	if bucket != "minute" && bucket != "hour" {
		return out, fmt.Errorf("campaign activity: bucket %q", bucket)
	}
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if err := campaignExists(ctx, tx, tenantID, id); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT b, sum(s)::int, sum(d)::int, sum(rd)::int, sum(f)::int FROM (
			  SELECT date_trunc($3, sent_at) b, 1 s, 0 d, 0 rd, 0 f FROM campaign_recipients
			   WHERE tenant_id = $1 AND campaign_id = $2 AND sent_at IS NOT NULL
			  UNION ALL SELECT date_trunc($3, delivered_at), 0, 1, 0, 0 FROM campaign_recipients
			   WHERE tenant_id = $1 AND campaign_id = $2 AND delivered_at IS NOT NULL
			  UNION ALL SELECT date_trunc($3, read_at), 0, 0, 1, 0 FROM campaign_recipients
			   WHERE tenant_id = $1 AND campaign_id = $2 AND read_at IS NOT NULL
			  UNION ALL SELECT date_trunc($3, updated_at), 0, 0, 0, 1 FROM campaign_recipients
			   WHERE tenant_id = $1 AND campaign_id = $2 AND status = 'failed') x
			GROUP BY b ORDER BY b`, tenantID, id, bucket)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ActivityPoint, error) {
			var p ActivityPoint
			err := r.Scan(&p.At, &p.Sent, &p.Delivered, &p.Read, &p.Failed)
			return p, err
		})
		return err
	})
	return out, translate(err)
}

// ConnectionChannel is a connection's channel (whatsapp, instagram,
// messenger); crm's not-found error when the tenant has none such.
func (db *DB) ConnectionChannel(ctx context.Context, tenantID, id uuid.UUID) (string, error) {
	var channel string
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT channel FROM connections WHERE tenant_id = $1 AND id = $2`, tenantID, id).Scan(&channel)
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("connection")
		}
		return err
	})
	return channel, translate(err)
}
