package crm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWebhookRetryScheduleSpansADay: a delivery's attempts span about a day
// (the window after which a failing subscription is disabled), the first
// retries come quickly and no wait exceeds 4 hours.
func TestWebhookRetryScheduleSpansADay(t *testing.T) {
	t.Parallel()
	var total time.Duration
	for attempt := 1; attempt < WebhookMaxAttempts; attempt++ {
		d := WebhookRetryDelay(attempt)
		require.LessOrEqual(t, d, 4*time.Hour)
		total += d
	}
	require.Equal(t, 30*time.Second, WebhookRetryDelay(1))
	require.Equal(t, time.Minute, WebhookRetryDelay(2))
	require.Equal(t, 4*time.Hour, WebhookRetryDelay(100))
	require.GreaterOrEqual(t, total, WebhookFailureWindow, "retries last at least the failure window")
	require.Less(t, total, 26*time.Hour)
}

func TestWebhookSignature(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec_test")
	body := []byte(`{"id":"1","type":"message.created"}`)
	at := time.Unix(1_800_000_000, 0)
	header := WebhookSignature(secret, at, body)
	// The documented recipe: hex HMAC-SHA256 of "<t>.<body>".
	require.Equal(t, "t=1800000000,v1="+webhookMAC(secret, "1800000000", body), header)
	require.NoError(t, VerifyWebhookSignature(secret, header, body, at.Add(time.Minute), 5*time.Minute))
	require.Error(t, VerifyWebhookSignature(secret, header, append(body, ' '), at, 0), "another body")
	require.Error(t, VerifyWebhookSignature([]byte("other"), header, body, at, 0), "another secret")
	require.Error(t, VerifyWebhookSignature(secret, header, body, at.Add(time.Hour), 5*time.Minute), "too old")
	require.Error(t, VerifyWebhookSignature(secret, "garbage", body, at, 0))
}

func TestWebhookEventMatches(t *testing.T) {
	t.Parallel()
	require.True(t, WebhookEventMatches([]string{"*"}, "anything.new"))
	require.True(t, WebhookEventMatches([]string{"message.created"}, "message.created"))
	require.False(t, WebhookEventMatches([]string{"message.created"}, "message.updated"))
	require.True(t, KnownWebhookEvent("contact.created"))
	require.False(t, KnownWebhookEvent("contact.exploded"))
	tenant := NewID()
	require.Equal(t, WebhookEventID(tenant, 7), WebhookEventID(tenant, 7))
	require.NotEqual(t, WebhookEventID(tenant, 7), WebhookEventID(tenant, 8))
}

// FuzzVerifyWebhookSignature: any header a receiver is handed is judged
// without panicking, and only the right one passes.
func FuzzVerifyWebhookSignature(f *testing.F) {
	secret := []byte("s")
	body := []byte(`{}`)
	f.Add(WebhookSignature(secret, time.Unix(1, 0), body))
	f.Add("t=1,v1=00")
	f.Add("t=,v1=")
	f.Add(",,,=")
	f.Add("t=99999999999999999999,v1=ab")
	f.Fuzz(func(t *testing.T, header string) {
		err := VerifyWebhookSignature(secret, header, body, time.Unix(1, 0), 0)
		if err == nil && header != WebhookSignature(secret, time.Unix(1, 0), body) {
			// Other spellings of the same (extra parts, spaces) may pass; a
			// passing header must carry the right MAC.
			require.Contains(t, header, webhookMAC(secret, "1", body))
		}
	})
}
