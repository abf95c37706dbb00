package crm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Outbound webhooks: a tenant subscribes a URL to some of its event types
// and each matching tenant event is POSTed there, signed, retried for about
// a day. The store fans events out (persistence), package jobs delivers them.

// WebhookEventTypes are the tenant event types a subscription may name (or
// "*" for all, present and future). They are the types the engine and the
// stores append to the tenant's event sequence.
var WebhookEventTypes = []string{
	"conversation.created", "conversation.updated",
	"message.created", "message.updated",
	"note.created",
	"contact.created", "contact.updated", "contact.deleted",
	"label.created", "label.updated", "label.deleted",
	"quick_reply.created", "quick_reply.updated", "quick_reply.deleted",
	"connection.updated",
	"campaign.updated", "campaign.deleted",
	"user.availability",
	WebhookDisabledEvent,
	"conversation.sla_breached",
	"board.created", "board.updated", "board.deleted",
	"column.created", "column.updated", "column.deleted",
	"card.created", "card.updated", "card.deleted",
}

// WebhookAllEvents subscribes to every event type.
const WebhookAllEvents = "*"

// WebhookDisabledEvent is appended when a subscription is disabled after its
// deliveries failed for WebhookFailureWindow.
const WebhookDisabledEvent = "webhook_subscription.disabled"

// WebhookFailureWindow is how long a subscription's deliveries may fail
// without a single success before it is disabled.
const WebhookFailureWindow = 24 * time.Hour

// WebhookMaxAttempts and WebhookRetryDelay make a delivery's retry schedule:
// 30 s after the first failure, doubling up to 4 h between attempts, so the
// 15th and last attempt comes about 24 h after the first
// (TestWebhookRetryScheduleSpansADay).
const WebhookMaxAttempts = 15

// WebhookRetryDelay is the wait after the attempt-th failed attempt (1-based).
func WebhookRetryDelay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 10 {
		return 4 * time.Hour
	}
	return min(30*time.Second<<(attempt-1), 4*time.Hour)
}

// WebhookEventMatches reports whether a subscription to events wants typ.
func WebhookEventMatches(events []string, typ string) bool {
	return slices.Contains(events, WebhookAllEvents) || slices.Contains(events, typ)
}

// KnownWebhookEvent reports whether a subscription may name e.
func KnownWebhookEvent(e string) bool {
	return e == WebhookAllEvents || slices.Contains(WebhookEventTypes, e)
}

// WebhookEventID is the stable id of a tenant event in webhook bodies: the
// same for every subscription and every replay, so a receiver can drop
// duplicates by it.
func WebhookEventID(tenantID uuid.UUID, seq int64) uuid.UUID {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return uuid.NewSHA1(tenantID, b[:])
}

// Webhook delivery headers.
const (
	WebhookSignatureHeader = "X-CRM-Signature"
	WebhookEventHeader     = "X-CRM-Event"
	WebhookDeliveryHeader  = "X-CRM-Delivery"
)

// WebhookSignature is the X-CRM-Signature value of body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 over "<t>.<body>" keyed by the
// subscription's secret>". Signing the time with the body lets a receiver
// refuse old requests replayed by someone who captured one.
func WebhookSignature(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + webhookMAC(secret, ts, body)
}

func webhookMAC(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyWebhookSignature is what a receiver does (and what our tests do):
// it checks header against body and refuses a signature older than
// tolerance (0: no age check).
func VerifyWebhookSignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("webhook signature: malformed header")
	}
	if tolerance > 0 && now.Sub(time.Unix(sec, 0)).Abs() > tolerance {
		return fmt.Errorf("webhook signature: timestamp outside the tolerance")
	}
	want := webhookMAC(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("webhook signature: mismatch")
}

// WebhookSend is the durable job of one delivery: one HTTP attempt per run,
// retried by River on WebhookRetryDelay's schedule (package jobs runs it).
type WebhookSend struct {
	TenantID   uuid.UUID `json:"tenant_id"`
	DeliveryID uuid.UUID `json:"delivery_id"`
}

// Kind names the job kind.
func (WebhookSend) Kind() string { return "webhook_send" }
