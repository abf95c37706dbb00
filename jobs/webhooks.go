package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"crm"
	"crm/persistence"
)

// Outbound webhooks: two kinds.
//
// webhook_fanout runs every WebhookFanOutEvery on one node: it finds the
// tenants whose active subscriptions are behind their event sequence and has
// the store fan each one out (persistence.DB.FanOutWebhooks: deliveries and
// their jobs inserted and cursors moved in one transaction, under a lock on
// the subscriptions, so neither a dead node nor a second node loses or
// doubles an event).
//
// webhook_send makes one HTTP attempt of one delivery per run. A failure is
// returned to River, which runs the job again on crm.WebhookRetryDelay's
// schedule (the worker's NextRetry) up to crm.WebhookMaxAttempts, about a
// day. Every attempt is logged with the delivery; a subscription that fails
// for crm.WebhookFailureWindow without a success is disabled.

// WebhookFanOutEvery is how often events are fanned out to subscriptions: a
// webhook leaves at most about this long after its event commits.
const WebhookFanOutEvery = 2 * time.Second

// webhookFanOutBatch is how many events one fan-out transaction reads.
const webhookFanOutBatch = 500

// webhookAttemptTimeout bounds one delivery attempt: connect, send, answer.
const webhookAttemptTimeout = 10 * time.Second

// EventPublisher sends committed tenant events to the consoles live
// (actors.Engine implements it).
type EventPublisher interface {
	Publish(tenantID uuid.UUID, events []crm.TenantEvent)
}

// WebhookFanOut is the periodic fan-out job.
type WebhookFanOut struct{}

// Kind names the job.
func (WebhookFanOut) Kind() string { return "webhook_fanout" }

type webhookFanOutWorker struct {
	river.WorkerDefaults[WebhookFanOut]
	db  *persistence.DB
	log *slog.Logger
}

func (w *webhookFanOutWorker) Work(ctx context.Context, _ *river.Job[WebhookFanOut]) error {
	tenants, err := w.db.WebhookTenantsBehind(ctx)
	if err != nil {
		return err
	}
	var failed error
	for _, tenant := range tenants {
		// A few batches per tenant and run, so one busy tenant does not
		// hold the others back; the next run carries on.
		for range 10 {
			n, err := w.db.FanOutWebhooks(ctx, tenant, webhookFanOutBatch)
			if err != nil {
				w.log.Warn("webhook fan-out failed", "tenant_id", tenant, "error", err)
				failed = err
				break
			}
			if n < webhookFanOutBatch {
				break
			}
		}
	}
	return failed
}

// webhookSendWorker makes a delivery's attempts.
type webhookSendWorker struct {
	river.WorkerDefaults[crm.WebhookSend]
	db     *persistence.DB
	sealer *crm.Sealer
	client *http.Client
	events EventPublisher
	log    *slog.Logger
	now    func() time.Time
	retry  func(attempt int) time.Duration
}

// NextRetry is River's retry policy for deliveries: crm.WebhookRetryDelay
// plus up to 10% jitter, so the retries of many deliveries to one receiver
// that came back do not arrive at once.
func (w *webhookSendWorker) NextRetry(job *river.Job[crm.WebhookSend]) time.Time {
	d := w.retry(job.Attempt)
	if d > 10*time.Second {
		d += rand.N(d / 10)
	}
	return time.Now().Add(d)
}

func (w *webhookSendWorker) Work(ctx context.Context, job *river.Job[crm.WebhookSend]) error {
	if w.sealer == nil || w.client == nil {
		return errors.New("this node cannot deliver webhooks: no secret sealer or HTTP client configured")
	}
	tenant := job.Args.TenantID
	out, err := w.db.WebhookOutgoingDelivery(ctx, tenant, job.Args.DeliveryID)
	if errors.Is(err, crm.ErrNotFound) {
		return nil // deleted with its subscription
	}
	if err != nil {
		return err
	}
	if out.Status != "pending" {
		return nil // done by an earlier run
	}
	if !out.Active {
		_, err := w.db.RecordWebhookAttempt(ctx, tenant, persistence.WebhookAttemptResult{DeliveryID: out.DeliveryID,
			At: w.now(), Error: "not sent: the subscription is disabled", Final: true})
		return err
	}
	secret, err := out.OpenSecret(w.sealer)
	if err != nil {
		return fmt.Errorf("webhook delivery %s: opening the secret: %w", out.DeliveryID, err)
	}
	result := w.attempt(ctx, out, secret)
	result.Final = !result.Succeeded && job.Attempt >= job.MaxAttempts
	ev, err := w.db.RecordWebhookAttempt(ctx, tenant, result)
	if err != nil {
		return err
	}
	if ev.Seq != 0 {
		w.log.Warn("webhook subscription disabled after failing for a day", "tenant_id", tenant,
			"subscription_id", out.SubscriptionID)
		if w.events != nil {
			w.events.Publish(tenant, []crm.TenantEvent{ev})
		}
		return nil
	}
	if result.Succeeded || result.Final {
		return nil
	}
	return &webhookFailure{msg: result.Error}
}

// webhookFailure is a failed attempt handed to River for a retry (its text
// lands in river_job's errors; the attempt log has the details).
type webhookFailure struct{ msg string }

func (e *webhookFailure) Error() string { return "webhook delivery failed: " + e.msg }

func (w *webhookSendWorker) attempt(ctx context.Context, out persistence.WebhookOutgoing, secret []byte) persistence.WebhookAttemptResult {
	ctx, cancel := context.WithTimeout(ctx, webhookAttemptTimeout)
	defer cancel()
	at := w.now()
	res := persistence.WebhookAttemptResult{DeliveryID: out.DeliveryID, At: at}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, out.URL, strings.NewReader(string(out.Body)))
	if err != nil {
		res.Error = "invalid URL"
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "crm-webhooks/1")
	req.Header.Set(crm.WebhookSignatureHeader, crm.WebhookSignature(secret, at, out.Body))
	req.Header.Set(crm.WebhookEventHeader, out.EventType)
	req.Header.Set(crm.WebhookDeliveryHeader, out.DeliveryID.String())
	started := time.Now()
	answer, err := w.client.Do(req)
	res.ResponseMS = int(time.Since(started).Milliseconds())
	if err != nil {
		res.Error = webhookErrorText(err)
		return res
	}
	defer answer.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(answer.Body, 64<<10))
	res.ResponseMS = int(time.Since(started).Milliseconds())
	res.StatusCode = answer.StatusCode
	if answer.StatusCode >= 200 && answer.StatusCode < 300 {
		res.Succeeded = true
		return res
	}
	res.Error = fmt.Sprintf("HTTP %d", answer.StatusCode)
	return res
}

// webhookErrorText describes a failed request without its URL (which may
// carry a token of the receiver's in its query).
func webhookErrorText(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	// Without the resolver's address, which is the server's business.
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "lookup " + dnsErr.Name + ": " + dnsErr.Err
	}
	text := err.Error()
	if len(text) > 300 {
		text = text[:300]
	}
	return text
}

// webhookKinds are the outbound webhooks' kinds. Every node registers them
// (stores insert their jobs); a node without a sealer or client fails the
// sends it picks up, and River retries them elsewhere or later.
func webhookKinds(cfg Config) []Kind {
	client := cfg.WebhookHTTP
	if client != nil {
		// A redirect is an answer that is not 2xx: following it would send
		// the signed body somewhere the admin did not name.
		c := *client
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		client = &c
	}
	retry := cfg.WebhookRetryDelay
	if retry == nil {
		retry = crm.WebhookRetryDelay
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	send := newKind[crm.WebhookSend](&webhookSendWorker{db: cfg.DB, sealer: cfg.Sealer, client: client, events: cfg.Events,
		log: cfg.Log, now: now, retry: retry})
	send.opts.MaxAttempts = crm.WebhookMaxAttempts
	every := cfg.WebhookFanOutEvery
	if every <= 0 {
		every = WebhookFanOutEvery
	}
	every = max(every, time.Second) // River's least unique period

	return []Kind{
		periodicKind[WebhookFanOut](&webhookFanOutWorker{db: cfg.DB, log: cfg.Log}, every),
		send,
		periodicKind[WebhookDeliveryPurge](&webhookDeliveryPurgeWorker{db: cfg.DB}, 24*time.Hour),
	}
}

// WebhookDeliveryRetention is how long the delivery log keeps a finished
// delivery.
const WebhookDeliveryRetention = 30 * 24 * time.Hour

// WebhookDeliveryPurge deletes finished deliveries older than
// WebhookDeliveryRetention, once a day cluster-wide; deleting what is gone
// is a no-op, so a retry changes nothing.
type WebhookDeliveryPurge struct{}

// Kind names the job.
func (WebhookDeliveryPurge) Kind() string { return "webhook_delivery_purge" }

type webhookDeliveryPurgeWorker struct {
	river.WorkerDefaults[WebhookDeliveryPurge]
	db *persistence.DB
}

func (w *webhookDeliveryPurgeWorker) Work(ctx context.Context, _ *river.Job[WebhookDeliveryPurge]) error {
	_, err := w.db.PurgeWebhookDeliveries(ctx, time.Now().Add(-WebhookDeliveryRetention))
	return err
}
