package jobs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"crm"
	"crm/channels"
)

// TestBotWebhookGoesThroughTheEgressGuard: a webhook node's call uses the
// node's egress-guarded client: a flow aimed at a private address gets no
// answer (status 0, the error branch), unless the operator allowed private
// provider URLs; the answer's body is bounded.
func TestBotWebhookGoesThroughTheEgressGuard(t *testing.T) {
	t.Parallel()
	hits, auth := 0, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		auth = r.Header.Get("Authorization")
		_, _ = w.Write(make([]byte, MaxBotWebhookBody+100))
	}))
	t.Cleanup(srv.Close)
	call := crm.BotWebhookCall{Method: "post", URL: srv.URL, Headers: map[string]string{"Authorization": "Bearer s3cr3t"}, Body: `{}`, TimeoutMS: 2000}

	guarded := &botWebhookWorker{client: &http.Client{Transport: channels.NewEgressTransport(channels.EgressConfig{})}}
	status, body := guarded.call(context.Background(), call)
	require.Zero(t, status, "a loopback address is refused")
	require.Nil(t, body)
	require.Zero(t, hits)

	allowed := &botWebhookWorker{client: &http.Client{Transport: channels.NewEgressTransport(channels.EgressConfig{AllowPrivate: true})}}
	status, body = allowed.call(context.Background(), call)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body, MaxBotWebhookBody, "the answer is read up to the bound")
	require.Equal(t, 1, hits)
	require.Equal(t, "Bearer s3cr3t", auth, "the node's headers are sent")
}
