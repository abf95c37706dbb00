package httpapi

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
)

// Agent signature: off until the company turns it on; then an agent's text
// reaches the customer as "*Name:*\n…", unless that agent turned theirs off.
// Only an admin changes the company's switch; everyone changes their own.
func TestAgentSignature(t *testing.T) {
	t.Parallel()
	env := newEngineEnv(t)
	_, agent := env.user(env.tenant, crm.RoleAgent, "Bruno")
	env.postWebhook(whatsappText("5511987654321", "Maria Silva", "wamid.sig.1", "Oi", time.Now()))
	var convID string
	checkFor(t, 10*time.Second, func() error {
		items := env.do(http.MethodGet, "/api/v1/conversations", env.tenant.AdminToken, nil).Items()
		if len(items) != 1 {
			return fmt.Errorf("%d conversations", len(items))
		}
		convID = items[0]["id"].(string)
		return nil
	})
	n := 0
	send := func(token, text string) string {
		t.Helper()
		n++
		res := env.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", token,
			map[string]any{"type": "text", "text": text, "idempotency_key": fmt.Sprintf("sig-%d", n)})
		require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
		checkFor(t, 10*time.Second, func() error {
			if env.graph.count() < n {
				return fmt.Errorf("%d sends", env.graph.count())
			}
			return nil
		})
		env.graph.mu.Lock()
		defer env.graph.mu.Unlock()
		require.Equal(t, res.JSON()["text"], env.graph.sends[n-1]["text"].(map[string]any)["body"], "stored as sent")
		return res.JSON()["text"].(string)
	}

	tenantSettings := func() map[string]any {
		return env.do(http.MethodGet, "/api/v1/tenant", agent, nil).JSON()["settings"].(map[string]any)
	}
	require.Equal(t, false, tenantSettings()["agent_signature"], "off by default")
	require.Equal(t, true, env.do(http.MethodGet, "/api/v1/auth/me", agent, nil).JSON()["signature"], "each user's own switch is on")
	require.Equal(t, "Bom dia!", send(agent, "Bom dia!"))

	res := env.do(http.MethodPatch, "/api/v1/tenant/settings", agent, map[string]any{"agent_signature": true})
	require.Equal(t, http.StatusForbidden, res.Status, "an agent cannot sign the whole company")
	res = env.do(http.MethodPatch, "/api/v1/tenant/settings", env.tenant.AdminToken, map[string]any{"agent_signature": true})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, true, tenantSettings()["agent_signature"])

	require.Equal(t, "*Bruno:*\nPosso ajudar?", send(agent, "Posso ajudar?"))

	res = env.do(http.MethodPatch, "/api/v1/auth/me", agent, map[string]any{"signature": false})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, false, res.JSON()["signature"])
	require.Equal(t, "Sem assinatura", send(agent, "Sem assinatura"))
	require.Equal(t, "*Admin engine:*\nE eu assino", send(env.tenant.AdminToken, "E eu assino"), "the admin's own switch is still on")
}
