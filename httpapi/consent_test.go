package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func (b *botEnv) contactOptedOut(contactID string) bool {
	b.t.Helper()
	return b.do(http.MethodGet, "/api/v1/contacts/"+contactID, b.tenant.AdminToken, nil).JSON()["opted_out"].(bool)
}

func (b *botEnv) audit(action string) []string {
	b.t.Helper()
	var reasons []string
	rows, err := b.db.Pool.Query(context.Background(), `SELECT coalesce(after->>'reason', '') || '|' || coalesce(after->>'note', '')
		FROM audit_log WHERE tenant_id = $1 AND entity = 'contact' AND action = $2 ORDER BY created_at`, b.tenant.ID, action)
	require.NoError(b.t, err)
	defer rows.Close()
	for rows.Next() {
		var r string
		require.NoError(b.t, rows.Scan(&r))
		reasons = append(reasons, r)
	}
	return reasons
}

// TestOptOutKeywordStopsMarketingOnce: "Parar!" opts the contact out in the
// message's transaction, stops a running bot, confirms once (a second
// "parar" is stored, not answered again); an agent records the opt-in again
// with a note; both are in the audit log. A tenant's own keywords replace
// the defaults.
func TestOptOutKeywordStopsMarketingOnce(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	b.publish(menuFlowBody("Menu", "Olá!"))
	b.postWebhook(whatsappText("5511931310000", "Rita", "wamid.o.1", "menu", time.Now()))
	b.waitSent("Olá!", "buttons:Escolha")
	conv := b.onlyConversation()
	contactID := conv["contact_id"].(string)
	require.False(t, b.contactOptedOut(contactID))

	b.postWebhook(whatsappText("5511931310000", "Rita", "wamid.o.2", "Parar!", time.Now()))
	b.waitSent("Olá!", "buttons:Escolha", "Pronto! Você não receberá mais nossas mensagens promocionais. Se mudar de ideia, é só nos avisar por aqui.")
	require.True(t, b.contactOptedOut(contactID))
	require.Equal(t, false, b.onlyConversation()["bot_active"], "the bot stopped")
	b.postWebhook(whatsappText("5511931310000", "Rita", "wamid.o.3", "parar", time.Now()))
	checkFor(t, 10*time.Second, func() error {
		if n := len(b.messages(conv["id"].(string))); n != 6 {
			return fmt.Errorf("%d messages", n)
		}
		return nil
	})
	require.Len(t, b.graph.sent(), 3, "confirmed once")
	require.Equal(t, "consent", b.messages(conv["id"].(string))[4]["via"])
	require.Equal(t, []string{"keyword|"}, b.audit("opt_out"))

	res := b.do(http.MethodPost, "/api/v1/contacts/"+contactID+"/consent", b.tenant.AdminToken, map[string]any{"opted_out": false})
	require.Equal(t, "validation_failed", res.ErrorCode(), "the note is required")
	res = b.do(http.MethodPost, "/api/v1/contacts/"+contactID+"/consent", b.tenant.AdminToken,
		map[string]any{"opted_out": false, "note": "Pediu para voltar a receber ofertas por telefone"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, true, res.JSON()["changed"])
	require.False(t, b.contactOptedOut(contactID))
	require.Equal(t, []string{"agent|Pediu para voltar a receber ofertas por telefone"}, b.audit("opt_in"))
	other := b.testEnv.tenant("outra")
	res = b.do(http.MethodPost, "/api/v1/contacts/"+contactID+"/consent", other.AdminToken, map[string]any{"opted_out": true, "note": "x"})
	require.Equal(t, http.StatusNotFound, res.Status)

	// The tenant's own keyword list: "stop" is a word like any other now.
	_, err := b.db.Pool.Exec(context.Background(), `UPDATE tenants SET settings = settings || '{"opt_out_keywords": ["DESCADASTRAR"]}' WHERE id = $1`, b.tenant.ID)
	require.NoError(t, err)
	b.engine.ForgetBotFlows(b.tenant.ID)
	b.postWebhook(whatsappText("5511931310000", "Rita", "wamid.o.4", "stop", time.Now()))
	b.postWebhook(whatsappText("5511931310000", "Rita", "wamid.o.5", "descadastrar", time.Now()))
	checkFor(t, 10*time.Second, func() error {
		if !b.contactOptedOut(contactID) {
			return fmt.Errorf("not opted out")
		}
		return nil
	})
	require.Equal(t, []string{"keyword|", "keyword|"}, b.audit("opt_out"))
}

// TestWhatsApp131050OptsOut: a send refused with 131050 (the customer
// stopped marketing messages) opts the contact out.
func TestWhatsApp131050OptsOut(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	conv := b.openConversation("5511931311111", "Téo", "wamid.o.6", "oi")
	b.graph.mu.Lock()
	b.graph.error = `{"error":{"message":"(#131050) Unable to deliver the message","type":"OAuthException","code":131050,"fbtrace_id":"B"}}`
	b.graph.mu.Unlock()
	res := b.do(http.MethodPost, "/api/v1/conversations/"+conv["id"].(string)+"/messages", b.tenant.AdminToken,
		map[string]any{"type": "text", "text": "Oferta!", "idempotency_key": "o-1"})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	checkFor(t, 10*time.Second, func() error {
		if !b.contactOptedOut(conv["contact_id"].(string)) {
			return fmt.Errorf("not opted out")
		}
		return nil
	})
	require.Equal(t, []string{"whatsapp 131050|"}, b.audit("opt_out"))
}
