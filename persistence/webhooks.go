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

// WebhookSubscription is a URL that receives some of the tenant's events.
// Its secret is sealed at rest and never leaves in an answer: only whether
// there is one and its last characters.
type WebhookSubscription struct {
	ID             uuid.UUID  `json:"id"`
	URL            string     `json:"url"`
	Events         []string   `json:"events"`
	Status         string     `json:"status"` // active, disabled
	DisabledReason *string    `json:"disabled_reason"`
	DisabledAt     *time.Time `json:"disabled_at"`
	FailingSince   *time.Time `json:"failing_since"`
	HasSecret      bool       `json:"has_secret"`
	SecretHint     string     `json:"secret_hint"` // "…" + the last 4 characters
	CreatedBy      *uuid.UUID `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Reasons a subscription is disabled.
const (
	WebhookDisabledFailing = "failing"  // deliveries failed for crm.WebhookFailureWindow
	WebhookDisabledByUser  = "disabled" // an admin turned it off
)

// NewWebhookSubscription is a validated subscription to create; Secret is
// the plaintext, sealed here.
type NewWebhookSubscription struct {
	URL    string
	Events []string
	Secret string
}

// WebhookSubscriptionPatch changes only the fields that are not nil. Enabled
// true re-enables a disabled subscription (from now on: the events it
// missed while disabled are not sent); false disables it.
type WebhookSubscriptionPatch struct {
	URL     *string
	Events  []string // nil: unchanged
	Secret  *string
	Enabled *bool
}

// WebhookAttempt is one HTTP attempt of a delivery.
type WebhookAttempt struct {
	Attempt     int       `json:"attempt"`
	StatusCode  *int      `json:"status_code"`
	ResponseMS  int       `json:"response_ms"`
	Error       *string   `json:"error"`
	AttemptedAt time.Time `json:"attempted_at"`
}

// WebhookDelivery is one event sent (or being sent) to one subscription.
type WebhookDelivery struct {
	ID             uuid.UUID        `json:"id"`
	SubscriptionID uuid.UUID        `json:"subscription_id"`
	EventID        uuid.UUID        `json:"event_id"`
	EventSeq       int64            `json:"event_seq"`
	EventType      string           `json:"event_type"`
	Status         string           `json:"status"` // pending, succeeded, failed
	Attempts       int              `json:"attempts"`
	StatusCode     *int             `json:"status_code"`
	ResponseMS     *int             `json:"response_ms"`
	Error          *string          `json:"error"`
	LastAttemptAt  *time.Time       `json:"last_attempt_at"`
	ReplayOf       *uuid.UUID       `json:"replay_of"`
	CreatedAt      time.Time        `json:"created_at"`
	AttemptLog     []WebhookAttempt `json:"attempt_log"`
}

// MaxWebhookSubscriptions bounds a tenant's subscriptions: each event is
// sent once per subscription.
const MaxWebhookSubscriptions = 20

const webhookSubscriptionColumns = `s.id, s.url, s.events, s.status, s.disabled_reason, s.disabled_at, s.failing_since,
	length(s.secret) > 0, s.secret_hint, s.created_by, s.created_at, s.updated_at`

func scanWebhookSubscription(row pgx.Row) (WebhookSubscription, error) {
	var s WebhookSubscription
	err := row.Scan(&s.ID, &s.URL, &s.Events, &s.Status, &s.DisabledReason, &s.DisabledAt, &s.FailingSince,
		&s.HasSecret, &s.SecretHint, &s.CreatedBy, &s.CreatedAt, &s.UpdatedAt)
	return s, err
}

func loadWebhookSubscription(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (WebhookSubscription, error) {
	query := `SELECT ` + webhookSubscriptionColumns + ` FROM webhook_subscriptions s WHERE s.tenant_id = $1 AND s.id = $2`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	s, err := scanWebhookSubscription(tx.QueryRow(ctx, query, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return s, crm.NotFound("webhook subscription")
	}
	return s, err
}

// webhookSecretAAD binds a sealed secret to its subscription.
func webhookSecretAAD(tenantID, id uuid.UUID) []byte {
	return []byte("webhook_subscription:" + tenantID.String() + ":" + id.String())
}

func webhookSecretHint(secret string) string {
	if len(secret) <= 4 {
		return "…"
	}
	return "…" + secret[len(secret)-4:]
}

// currentTenantSeq is the seq of the tenant's latest committed event: a new
// or re-enabled subscription gets the events after it.
func currentTenantSeq(ctx context.Context, tx pgx.Tx, tenantID uuid.UUID) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT last_seq FROM tenant_event_counters WHERE tenant_id = $1), 0)`,
		tenantID).Scan(&seq)
	return seq, err
}

// CreateWebhookSubscription stores a subscription with its sealed secret.
// It receives the events appended after it commits.
func (db *DB) CreateWebhookSubscription(ctx context.Context, tenantID uuid.UUID, by AuditEntry, sealer *crm.Sealer, in NewWebhookSubscription) (WebhookSubscription, error) {
	if sealer == nil {
		return WebhookSubscription{}, errors.New("webhook subscriptions need the secret sealer")
	}
	var out WebhookSubscription
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM webhook_subscriptions WHERE tenant_id = $1`, tenantID).Scan(&n); err != nil {
			return err
		}
		if n >= MaxWebhookSubscriptions {
			return crm.NewError(crm.ErrUnprocessable, "webhook_subscription_limit",
				fmt.Sprintf("a tenant may have at most %d webhook subscriptions", MaxWebhookSubscriptions),
				map[string]any{"limit": MaxWebhookSubscriptions})
		}
		seq, err := currentTenantSeq(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		var createdBy *uuid.UUID
		if by.Actor.UserID != uuid.Nil {
			createdBy = &by.Actor.UserID
		}
		id := crm.NewID()
		sealed := sealer.Seal([]byte(in.Secret), webhookSecretAAD(tenantID, id))
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_subscriptions (tenant_id, id, url, events, secret, secret_hint, cursor_seq, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenantID, id, in.URL, in.Events, sealed, webhookSecretHint(in.Secret), seq, createdBy); err != nil {
			return err
		}
		if out, err = loadWebhookSubscription(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "webhook_subscription", id, nil, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// GetWebhookSubscription loads one subscription of the tenant.
func (db *DB) GetWebhookSubscription(ctx context.Context, tenantID, id uuid.UUID) (WebhookSubscription, error) {
	var out WebhookSubscription
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = loadWebhookSubscription(ctx, tx, tenantID, id, false)
		return err
	})
	return out, translate(err)
}

// ListWebhookSubscriptions returns a page of subscriptions, oldest first.
func (db *DB) ListWebhookSubscriptions(ctx context.Context, tenantID uuid.UUID, cursor string, limit int) (crm.Page[WebhookSubscription], error) {
	var after uuid.UUID
	hasCursor, err := crm.DecodeCursor(cursor, &after)
	if err != nil {
		return crm.Page[WebhookSubscription]{}, err
	}
	limit = crm.ClampLimit(limit)
	page := crm.Page[WebhookSubscription]{Items: []WebhookSubscription{}}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+webhookSubscriptionColumns+` FROM webhook_subscriptions s
			WHERE s.tenant_id = $1 AND (NOT $2 OR s.id > $3) ORDER BY s.id LIMIT $4`, tenantID, hasCursor, after, limit+1)
		if err != nil {
			return err
		}
		page.Items, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (WebhookSubscription, error) {
			return scanWebhookSubscription(row)
		})
		return err
	})
	if err != nil {
		return crm.Page[WebhookSubscription]{}, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next, err := crm.EncodeCursor(page.Items[limit-1].ID)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// UpdateWebhookSubscription applies the patch.
func (db *DB) UpdateWebhookSubscription(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry, sealer *crm.Sealer, patch WebhookSubscriptionPatch) (WebhookSubscription, error) {
	var out WebhookSubscription
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadWebhookSubscription(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		set := []string{"updated_at = now()"}
		args := []any{tenantID, id}
		arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
		if patch.URL != nil {
			set = append(set, "url = "+arg(*patch.URL))
		}
		if patch.Events != nil {
			set = append(set, "events = "+arg(patch.Events))
		}
		if patch.Secret != nil {
			if sealer == nil {
				return errors.New("webhook subscriptions need the secret sealer")
			}
			set = append(set, "secret = "+arg(sealer.Seal([]byte(*patch.Secret), webhookSecretAAD(tenantID, id))),
				"secret_hint = "+arg(webhookSecretHint(*patch.Secret)))
		}
		if patch.Enabled != nil {
			switch {
			case *patch.Enabled && before.Status != "active":
				seq, err := currentTenantSeq(ctx, tx, tenantID)
				if err != nil {
					return err
				}
				set = append(set, "status = 'active'", "disabled_reason = NULL", "disabled_at = NULL", "failing_since = NULL",
					"cursor_seq = "+arg(seq))
			case !*patch.Enabled && before.Status == "active":
				set = append(set, "status = 'disabled'", "disabled_reason = "+arg(WebhookDisabledByUser), "disabled_at = now()")
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET `+strings.Join(set, ", ")+
			` WHERE tenant_id = $1 AND id = $2`, args...); err != nil {
			return err
		}
		if out, err = loadWebhookSubscription(ctx, tx, tenantID, id, false); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "webhook_subscription", id, before, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// DeleteWebhookSubscription deletes a subscription with its deliveries;
// jobs still waiting find no delivery and end.
func (db *DB) DeleteWebhookSubscription(ctx context.Context, tenantID, id uuid.UUID, by AuditEntry) error {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		before, err := loadWebhookSubscription(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "webhook_subscription", id, before, nil
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return translate(err)
}

const webhookDeliveryColumns = `d.id, d.subscription_id, d.event_id, d.event_seq, d.event_type, d.status, d.attempts,
	d.last_status_code, d.last_response_ms, d.last_error, d.last_attempt_at, d.replay_of, d.created_at`

func scanWebhookDelivery(row pgx.Row) (WebhookDelivery, error) {
	var d WebhookDelivery
	err := row.Scan(&d.ID, &d.SubscriptionID, &d.EventID, &d.EventSeq, &d.EventType, &d.Status, &d.Attempts,
		&d.StatusCode, &d.ResponseMS, &d.Error, &d.LastAttemptAt, &d.ReplayOf, &d.CreatedAt)
	return d, err
}

// webhookAttemptLogMax bounds the attempts listed with each delivery (a
// delivery has at most crm.WebhookMaxAttempts).
const webhookAttemptLogMax = 50

// ListWebhookDeliveries returns a page of a subscription's deliveries,
// newest first, each with its attempts.
func (db *DB) ListWebhookDeliveries(ctx context.Context, tenantID, subscriptionID uuid.UUID, cursor string, limit int) (crm.Page[WebhookDelivery], error) {
	var before uuid.UUID
	hasCursor, err := crm.DecodeCursor(cursor, &before)
	if err != nil {
		return crm.Page[WebhookDelivery]{}, err
	}
	limit = crm.ClampLimit(limit)
	page := crm.Page[WebhookDelivery]{Items: []WebhookDelivery{}}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := loadWebhookSubscription(ctx, tx, tenantID, subscriptionID, false); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries d
			WHERE d.tenant_id = $1 AND d.subscription_id = $2 AND (NOT $3 OR d.id < $4) ORDER BY d.id DESC LIMIT $5`,
			tenantID, subscriptionID, hasCursor, before, limit+1)
		if err != nil {
			return err
		}
		page.Items, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (WebhookDelivery, error) { return scanWebhookDelivery(row) })
		if err != nil || len(page.Items) == 0 {
			return err
		}
		ids := make([]uuid.UUID, len(page.Items))
		index := map[uuid.UUID]int{}
		for i, d := range page.Items {
			ids[i], index[d.ID] = d.ID, i
			page.Items[i].AttemptLog = []WebhookAttempt{}
		}
		rows, err = tx.Query(ctx, `SELECT delivery_id, attempt, status_code, response_ms, error, attempted_at FROM (
			SELECT a.*, row_number() OVER (PARTITION BY delivery_id ORDER BY attempt DESC) AS n
			FROM webhook_delivery_attempts a WHERE a.tenant_id = $1 AND a.delivery_id = ANY($2)) t
			WHERE n <= $3 ORDER BY delivery_id, attempt`, tenantID, ids, webhookAttemptLogMax)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id uuid.UUID
			var a WebhookAttempt
			if err := rows.Scan(&id, &a.Attempt, &a.StatusCode, &a.ResponseMS, &a.Error, &a.AttemptedAt); err != nil {
				return err
			}
			i := index[id]
			page.Items[i].AttemptLog = append(page.Items[i].AttemptLog, a)
		}
		return rows.Err()
	})
	if err != nil {
		return crm.Page[WebhookDelivery]{}, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next, err := crm.EncodeCursor(page.Items[limit-1].ID)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// ReplayWebhookDelivery sends a delivery's body again as a new delivery
// (same event id, so receivers can recognise it), with its own attempts and
// job, inserted together. A disabled subscription is not sent to.
func (db *DB) ReplayWebhookDelivery(ctx context.Context, tenantID, subscriptionID, deliveryID uuid.UUID, by AuditEntry) (WebhookDelivery, error) {
	var out WebhookDelivery
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		sub, err := loadWebhookSubscription(ctx, tx, tenantID, subscriptionID, false)
		if err != nil {
			return err
		}
		if sub.Status != "active" {
			return crm.NewError(crm.ErrConflict, "webhook_subscription_disabled",
				"the subscription is disabled: enable it before replaying", nil)
		}
		if db.jobs == nil {
			return errors.New("replaying a webhook delivery needs the job client")
		}
		id := crm.NewID()
		tag, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_seq, event_id, event_type, body, replay_of)
			SELECT tenant_id, $4, subscription_id, event_seq, event_id, event_type, body, id FROM webhook_deliveries
			WHERE tenant_id = $1 AND subscription_id = $2 AND id = $3`, tenantID, subscriptionID, deliveryID, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return crm.NotFound("webhook delivery")
		}
		if err := db.jobs.InsertTx(ctx, tx, crm.WebhookSend{TenantID: tenantID, DeliveryID: id}, JobOpts{}); err != nil {
			return err
		}
		if out, err = scanWebhookDelivery(tx.QueryRow(ctx, `SELECT `+webhookDeliveryColumns+` FROM webhook_deliveries d
			WHERE d.tenant_id = $1 AND d.id = $2`, tenantID, id)); err != nil {
			return err
		}
		out.AttemptLog = []WebhookAttempt{}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "replay", "webhook_delivery", deliveryID, nil, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// WebhookTenantsBehind lists the tenants with an active subscription that
// has not been given the tenant's latest event (platform path: it spans
// tenants, and reads only ids and sequence numbers).
func (db *DB) WebhookTenantsBehind(ctx context.Context) ([]uuid.UUID, error) {
	var out []uuid.UUID
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT s.tenant_id FROM webhook_subscriptions s
			JOIN tenant_event_counters c ON c.tenant_id = s.tenant_id
			WHERE s.status = 'active' AND s.cursor_seq < c.last_seq GROUP BY s.tenant_id`)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
		return err
	})
	return out, translate(err)
}

// webhookBody is what a delivery POSTs.
type webhookBody struct {
	ID        uuid.UUID       `json:"id"`
	Type      string          `json:"type"`
	TenantID  uuid.UUID       `json:"tenant_id"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// FanOutWebhooks gives the tenant's active subscriptions the events after
// their cursors, up to limit events: one delivery row and its job per
// matching event and subscription, and the cursors moved past what was
// read, in one transaction. The subscriptions are locked for it, so nodes
// fanning out the same tenant take turns and the second finds the cursors
// already moved; the unique index on (subscription, event) backs that up.
// It answers how many events it read (limit: there may be more).
func (db *DB) FanOutWebhooks(ctx context.Context, tenantID uuid.UUID, limit int) (int, error) {
	if db.jobs == nil {
		return 0, errors.New("webhook fan-out needs the job client")
	}
	if limit <= 0 {
		limit = 500
	}
	read := 0
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		type sub struct {
			id     uuid.UUID
			events []string
			cursor int64
		}
		rows, err := tx.Query(ctx, `SELECT id, events, cursor_seq FROM webhook_subscriptions
			WHERE tenant_id = $1 AND status = 'active' ORDER BY id FOR UPDATE`, tenantID)
		if err != nil {
			return err
		}
		subs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sub, error) {
			var s sub
			return s, row.Scan(&s.id, &s.events, &s.cursor)
		})
		if err != nil || len(subs) == 0 {
			return err
		}
		from := subs[0].cursor
		for _, s := range subs {
			from = min(from, s.cursor)
		}
		rows, err = tx.Query(ctx, `SELECT seq, type, payload::text, created_at FROM tenant_events
			WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, from, limit)
		if err != nil {
			return err
		}
		events, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (crm.TenantEvent, error) {
			var e crm.TenantEvent
			var payload string
			err := row.Scan(&e.Seq, &e.Type, &payload, &e.CreatedAt)
			e.Payload = json.RawMessage(payload)
			return e, err
		})
		if err != nil || len(events) == 0 {
			return err
		}
		read = len(events)
		last := events[len(events)-1].Seq
		for _, e := range events {
			var body []byte
			for _, s := range subs {
				if e.Seq <= s.cursor || !crm.WebhookEventMatches(s.events, e.Type) {
					continue
				}
				if body == nil {
					if body, err = json.Marshal(webhookBody{ID: crm.WebhookEventID(tenantID, e.Seq), Type: e.Type, TenantID: tenantID,
						CreatedAt: e.CreatedAt, Data: e.Payload}); err != nil {
						return fmt.Errorf("encoding webhook body of event %d: %w", e.Seq, err)
					}
				}
				id := crm.NewID()
				tag, err := tx.Exec(ctx, `INSERT INTO webhook_deliveries (tenant_id, id, subscription_id, event_seq, event_id, event_type, body)
					VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
					tenantID, id, s.id, e.Seq, crm.WebhookEventID(tenantID, e.Seq), e.Type, string(body))
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 0 {
					continue
				}
				if err := db.jobs.InsertTx(ctx, tx, crm.WebhookSend{TenantID: tenantID, DeliveryID: id}, JobOpts{}); err != nil {
					return err
				}
			}
		}
		ids := make([]uuid.UUID, len(subs))
		for i, s := range subs {
			ids[i] = s.id
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_subscriptions SET cursor_seq = $3
			WHERE tenant_id = $1 AND id = ANY($2) AND cursor_seq < $3`, tenantID, ids, last)
		return err
	})
	return read, translate(err)
}

// WebhookOutgoing is what a delivery attempt needs: the body, where it goes
// and the sealed secret, opened by the caller.
type WebhookOutgoing struct {
	DeliveryID     uuid.UUID
	SubscriptionID uuid.UUID
	EventType      string
	Body           []byte
	Status         string // the delivery's
	Attempts       int
	URL            string
	Active         bool // the subscription's status
	secret         []byte
	aad            []byte
}

// OpenSecret unseals the subscription's secret.
func (o WebhookOutgoing) OpenSecret(sealer *crm.Sealer) ([]byte, error) {
	return sealer.Open(o.secret, o.aad)
}

// WebhookOutgoingDelivery loads a delivery to attempt.
func (db *DB) WebhookOutgoingDelivery(ctx context.Context, tenantID, deliveryID uuid.UUID) (WebhookOutgoing, error) {
	var o WebhookOutgoing
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT d.id, d.subscription_id, d.event_type, d.body, d.status, d.attempts, s.url, s.status, s.secret
			FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id
			WHERE d.tenant_id = $1 AND d.id = $2`, tenantID, deliveryID).Scan(&o.DeliveryID, &o.SubscriptionID, &o.EventType,
			&o.Body, &o.Status, &o.Attempts, &o.URL, &status, &o.secret)
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("webhook delivery")
		}
		o.Active = status == "active"
		o.aad = webhookSecretAAD(tenantID, o.SubscriptionID)
		return err
	})
	return o, translate(err)
}

// WebhookAttemptResult is the outcome of one attempt.
type WebhookAttemptResult struct {
	DeliveryID uuid.UUID
	At         time.Time
	StatusCode int // 0: no answer
	ResponseMS int
	Error      string // empty on success
	Succeeded  bool
	// Final: no attempt follows (the last of the schedule, or the
	// subscription is no longer active); a failure fails the delivery.
	Final bool
}

// RecordWebhookAttempt logs an attempt and moves the delivery and its
// subscription on: a success clears the subscription's failure streak, a
// failure starts one, and a failure ending a streak of
// crm.WebhookFailureWindow disables the subscription and appends the
// webhook_subscription.disabled event (returned, zero when not disabled).
// An attempt on a delivery that is no longer pending records nothing.
func (db *DB) RecordWebhookAttempt(ctx context.Context, tenantID uuid.UUID, r WebhookAttemptResult) (crm.TenantEvent, error) {
	var ev crm.TenantEvent
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var subID uuid.UUID
		var attempts int
		var status, subStatus string
		var failingSince *time.Time
		// The subscription is locked before the delivery, in the order a
		// delete (subscription, then its deliveries by cascade) takes them.
		err := tx.QueryRow(ctx, `SELECT s.id, s.status, s.failing_since FROM webhook_subscriptions s
			JOIN webhook_deliveries d ON d.tenant_id = s.tenant_id AND d.subscription_id = s.id
			WHERE d.tenant_id = $1 AND d.id = $2 FOR UPDATE OF s`, tenantID, r.DeliveryID).Scan(&subID, &subStatus, &failingSince)
		if err == nil {
			err = tx.QueryRow(ctx, `SELECT attempts, status FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2 FOR UPDATE`,
				tenantID, r.DeliveryID).Scan(&attempts, &status)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // deleted with its subscription
		}
		if err != nil || status != "pending" {
			return err
		}
		var code *int
		if r.StatusCode != 0 {
			code = &r.StatusCode
		}
		var errText *string
		if r.Error != "" {
			errText = &r.Error
		}
		attempt := attempts + 1
		if _, err := tx.Exec(ctx, `INSERT INTO webhook_delivery_attempts (tenant_id, id, delivery_id, attempt, status_code, response_ms, error, attempted_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, tenantID, crm.NewID(), r.DeliveryID, attempt, code, r.ResponseMS, errText, r.At); err != nil {
			return err
		}
		next := "pending"
		switch {
		case r.Succeeded:
			next = "succeeded"
		case r.Final:
			next = "failed"
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET attempts = $3, status = $4, last_status_code = $5,
			last_response_ms = $6, last_error = $7, last_attempt_at = $8 WHERE tenant_id = $1 AND id = $2`,
			tenantID, r.DeliveryID, attempt, next, code, r.ResponseMS, errText, r.At); err != nil {
			return err
		}
		if r.Succeeded {
			_, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET failing_since = NULL
				WHERE tenant_id = $1 AND id = $2 AND failing_since IS NOT NULL`, tenantID, subID)
			return err
		}
		if failingSince == nil {
			failingSince = &r.At
		}
		if subStatus != "active" || r.At.Sub(*failingSince) < crm.WebhookFailureWindow {
			_, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET failing_since = $3
				WHERE tenant_id = $1 AND id = $2 AND failing_since IS NULL`, tenantID, subID, *failingSince)
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET status = 'disabled', disabled_reason = $3, disabled_at = $4,
			updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, subID, WebhookDisabledFailing, r.At); err != nil {
			return err
		}
		// No attempt follows for this delivery: its job ends here.
		if _, err := tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'failed' WHERE tenant_id = $1 AND id = $2`,
			tenantID, r.DeliveryID); err != nil {
			return err
		}
		sub, err := loadWebhookSubscription(ctx, tx, tenantID, subID, false)
		if err != nil {
			return err
		}
		// Every user of the tenant receives tenant events that name no
		// conversation: the event says which subscription and why, not its
		// URL (which may carry the receiver's token).
		payload, err := json.Marshal(map[string]any{"id": sub.ID, "status": sub.Status, "disabled_reason": sub.DisabledReason,
			"disabled_at": sub.DisabledAt, "failing_since": sub.FailingSince})
		if err != nil {
			return err
		}
		ev = crm.TenantEvent{Type: crm.WebhookDisabledEvent, Payload: payload}
		if err := WriteAudit(ctx, tx, tenantID, AuditEntry{Action: "disable", Entity: "webhook_subscription", EntityID: subID,
			After: sub}); err != nil {
			return err
		}
		return AppendTenantEvent(ctx, tx, tenantID, &ev)
	})
	return ev, translate(err)
}

// PurgeWebhookDeliveries deletes deliveries (and their attempts) older than
// before, across tenants: the log is for finding out what happened lately.
func (db *DB) PurgeWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_deliveries WHERE created_at < $1 AND status <> 'pending'`, before)
		n = tag.RowsAffected()
		return err
	})
	return n, translate(err)
}

// RotateWebhookSecrets re-seals, under the sealer's current key, every
// webhook subscription's secret sealed with an older key (`crm secrets
// rotate`, with RotateConnectionSecrets). It returns how many were re-sealed.
func RotateWebhookSecrets(ctx context.Context, db *DB, sealer *crm.Sealer) (int, error) {
	if sealer == nil {
		return 0, errors.New("rotation needs the secret sealer")
	}
	n := 0
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id, id, secret FROM webhook_subscriptions ORDER BY tenant_id, id FOR UPDATE`)
		if err != nil {
			return err
		}
		type sealedRow struct {
			tenantID, id uuid.UUID
			sealed       []byte
		}
		list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sealedRow, error) {
			var r sealedRow
			err := row.Scan(&r.tenantID, &r.id, &r.sealed)
			return r, err
		})
		if err != nil {
			return err
		}
		for _, r := range list {
			if !sealer.NeedsRotation(r.sealed) {
				continue
			}
			aad := webhookSecretAAD(r.tenantID, r.id)
			plain, err := sealer.Open(r.sealed, aad)
			if err != nil {
				return fmt.Errorf("opening the secret of webhook subscription %s: %w", r.id, err)
			}
			if _, err := tx.Exec(ctx, `UPDATE webhook_subscriptions SET secret = $3 WHERE tenant_id = $1 AND id = $2`,
				r.tenantID, r.id, sealer.Seal(plain, aad)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, translate(err)
}
