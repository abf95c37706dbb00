package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// fieldDetails is error.details.fields of an error body.
func fieldDetails(t *testing.T, res response) map[string]any {
	t.Helper()
	details, _ := res.JSON()["error"].(map[string]any)["details"].(map[string]any)
	fields, _ := details["fields"].(map[string]any)
	return fields
}

// A NUL character in API input is refused with 400 and the field named, not
// a 500 from PostgreSQL (which stores no NUL in text); the same request
// without it works.
func TestNULInAPIInputIsRefusedWithTheField(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	convID := env.openConversation("5511955550000", "Rita", "wamid.nul.api", "Oi")["id"].(string)
	cases := []struct {
		name, method, path, token string
		bad, good                 any
		field                     string
		goodStatus                int
	}{
		{"note", http.MethodPost, "/api/v1/conversations/" + convID + "/notes", env.tenant.AdminToken,
			map[string]any{"text": "cliente\x00VIP"}, map[string]any{"text": "cliente VIP"}, "text", http.StatusCreated},
		{"message text", http.MethodPost, "/api/v1/conversations/" + convID + "/messages", env.tenant.AdminToken,
			map[string]any{"type": "text", "text": "Olá\x00", "idempotency_key": "nul-1"},
			map[string]any{"type": "text", "text": "Olá", "idempotency_key": "nul-1"}, "text", http.StatusAccepted},
		{"login email", http.MethodPost, "/api/v1/auth/login", "",
			map[string]any{"email": env.tenant.AdminEmail + "\x00", "password": testPassword},
			map[string]any{"email": env.tenant.AdminEmail, "password": testPassword}, "email", http.StatusOK},
		{"nested field", http.MethodPost, "/api/v1/contacts", env.tenant.AdminToken,
			map[string]any{"name": "Zé", "custom_fields": map[string]any{"cidade": "Sã\x00o Paulo"}},
			map[string]any{"name": "Zé", "custom_fields": map[string]any{"cidade": "São Paulo"}}, "custom_fields.cidade", http.StatusCreated},
		{"object key", http.MethodPost, "/api/v1/labels", env.tenant.AdminToken,
			map[string]any{"name": "VIP", "co\x00lor": "#00a884"}, map[string]any{"name": "VIP", "color": "#00a884"}, "co\x00lor", http.StatusCreated},
	}
	for _, tc := range cases {
		res := env.do(tc.method, tc.path, tc.token, tc.bad)
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", tc.name, res.Body)
		require.Equal(t, "validation_failed", res.ErrorCode(), tc.name)
		require.Contains(t, fieldDetails(t, res), tc.field, "%s: %s", tc.name, res.Body)
		res = env.do(tc.method, tc.path, tc.token, tc.good)
		require.Equal(t, tc.goodStatus, res.Status, "%s without NUL: %s", tc.name, res.Body)
	}

	// Bytes that are not UTF-8 are refused the same way (encoding/json would
	// silently turn them into U+FFFD).
	res := env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/notes", env.tenant.AdminToken, []byte("{\"text\": \"ol\xe1\"}"))
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))
	require.Contains(t, fieldDetails(t, res), "text", string(res.Body))

	// Query parameters: the conversation search, and any other.
	for _, path := range []string{"/api/v1/conversations?q=", "/api/v1/contacts?q=", "/api/v1/users?q=", "/api/v1/conversations?status="} {
		res := env.do(http.MethodGet, path+url.QueryEscape("Ri\x00ta"), env.tenant.AdminToken, nil)
		require.Equal(t, http.StatusBadRequest, res.Status, "%s: %s", path, res.Body)
		field, _ := url.Parse(path)
		for name := range field.Query() {
			require.Contains(t, fieldDetails(t, res), name, "%s: %s", path, res.Body)
		}
	}
	res = env.do(http.MethodGet, "/api/v1/conversations?q=Rita", env.tenant.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Len(t, res.Items(), 1)
	res = env.do(http.MethodGet, "/api/v1/conversations?q=%FF", env.tenant.AdminToken, nil)
	require.Equal(t, http.StatusBadRequest, res.Status, string(res.Body))

	// Nothing with a NUL was stored meanwhile.
	var n int
	require.NoError(t, env.db.TenantTx(context.Background(), env.tenant.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM internal_notes`).Scan(&n)
	}))
	require.Equal(t, 1, n)
}

// An inbound message whose text and profile name carry NUL characters (in a
// signed Meta webhook) is acknowledged, processed and stored without them,
// instead of failing its batch at every attempt.
func TestInboundNULIsStrippedEndToEnd(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	body := strings.NewReplacer(`"Maria Silva"`, `"Ma\u0000ria Silva"`, `"Tudo bem?"`, `"Tudo\u0000 bem?\u0000"`).
		Replace(string(whatsappText("5511944440000", "Maria Silva", "wamid.nul.in", "Tudo bem?", time.Now())))
	require.Contains(t, body, `\u0000`)
	env.postWebhook([]byte(body))
	env.postWebhook(whatsappText("5511944440001", "Pedro", "wamid.nul.other", "Oi", time.Now()))

	conv := env.waitConversations("?q=Maria", 1)[0]
	require.Equal(t, "Maria Silva", conv["contact"].(map[string]any)["name"])
	require.Equal(t, "Tudo bem?", conv["last_message_preview"])
	msgs := env.messages(conv["id"].(string))
	require.Len(t, msgs, 1)
	require.Equal(t, "Tudo bem?", msgs[0]["text"])
	env.waitConversations("", 2)
	var pending int
	require.NoError(t, env.db.TenantTx(context.Background(), env.tenant.ID, func(tx pgx.Tx) error {
		return tx.QueryRow(context.Background(), `SELECT count(*) FROM inbound_events`).Scan(&pending)
	}))
	require.Zero(t, pending, "every inbox row was processed")
}

// A provider's refusal of a send whose error text carries a NUL character
// is still recorded: the message fails with the text, instead of staying
// pending because the outcome could not be stored (and then being sent again).
func TestSendErrorWithNULIsRecorded(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	env.graph.mu.Lock()
	env.graph.error = `{"error":{"message":"(#131009) Parameter\u0000 value is not valid","type":"OAuthException","code":131009,"fbtrace_id":"A"}}`
	env.graph.mu.Unlock()
	convID := env.openConversation("5511933330000", "Lia", "wamid.nul.send", "Oi")["id"].(string)
	res := env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", env.tenant.AdminToken,
		map[string]any{"text": "Olá", "idempotency_key": "nul-send"})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	checkFor(t, 10*time.Second, func() error {
		msgs := env.messages(convID)
		if len(msgs) != 2 || msgs[1]["status"] != "failed" {
			return fmt.Errorf("messages %v", msgs)
		}
		if msg := msgs[1]["error"].(map[string]any)["message"]; msg != "(#131009) Parameter value is not valid" {
			return fmt.Errorf("error message %q", msg)
		}
		return nil
	})
}
