package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func (b *botEnv) schedule(body map[string]any) map[string]any {
	b.t.Helper()
	res := b.do(http.MethodPost, "/api/v1/scheduled-messages", b.tenant.AdminToken, body)
	require.Equal(b.t, http.StatusCreated, res.Status, string(res.Body))
	return res.JSON()
}

func (b *botEnv) scheduled(id string) map[string]any {
	b.t.Helper()
	for _, m := range b.do(http.MethodGet, "/api/v1/scheduled-messages", b.tenant.AdminToken, nil).Items() {
		if m["id"] == id {
			return m
		}
	}
	b.t.Fatalf("scheduled message %s not listed", id)
	return nil
}

func (b *botEnv) waitScheduled(id, status string) map[string]any {
	b.t.Helper()
	var m map[string]any
	checkFor(b.t, 15*time.Second, func() error {
		if m = b.scheduled(id); m["status"] != status {
			return fmt.Errorf("status %v", m["status"])
		}
		return nil
	})
	return m
}

// TestScheduledMessageSentOnTimeOnce: a message scheduled 2 s ahead goes
// out at its time, not before, once, through the job runner even when it
// restarts in between; it is the agent's message, marked as scheduled.
func TestScheduledMessageSentOnTimeOnce(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	convID := b.openConversation("5511912340000", "Lia", "wamid.sc.1", "oi")["id"].(string)
	sendAt := time.Now().Add(2 * time.Second).UTC()
	m := b.schedule(map[string]any{"conversation_id": convID, "text": "Lembrete: sua consulta é amanhã", "send_at": sendAt})
	require.Equal(t, "pending", m["status"])
	require.Equal(t, "text", m["message"].(map[string]any)["type"])

	b.jobs.Stop(context.Background())
	b.jobs = b.startJobs("node-2")
	b.waitSent("Lembrete: sua consulta é amanhã")
	b.graph.mu.Lock()
	at := b.graph.times[0]
	b.graph.mu.Unlock()
	require.False(t, at.Before(sendAt), "not before its time")
	require.Less(t, at.Sub(sendAt), 1500*time.Millisecond, "within about a second of its time")
	t.Logf("sent %s after send_at", at.Sub(sendAt))
	done := b.waitScheduled(m["id"].(string), "sent")
	require.NotNil(t, done["sent_message_id"])

	msgs := b.do(http.MethodGet, "/api/v1/conversations/"+convID+"/messages", b.tenant.AdminToken, nil).Items()
	require.Len(t, msgs, 2)
	require.Equal(t, "schedule", msgs[1]["via"])
	require.Equal(t, b.tenant.AdminID.String(), msgs[1]["sent_by"])
	require.Equal(t, done["sent_message_id"], msgs[1]["id"])
	time.Sleep(time.Second)
	require.Len(t, b.graph.sent(), 1, "sent once")
}

// TestScheduledMessageCancelMoveAndFail: a cancelled message never goes
// out; one moved later goes out at its new time (its first job does
// nothing); one to a contact without a conversation opens one with a
// template, and a text the closed window refuses is recorded as failed.
func TestScheduledMessageCancelMoveAndFail(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	conv := b.openConversation("5511912341111", "Rui", "wamid.sc.2", "oi")
	convID := conv["id"].(string)

	cancelled := b.schedule(map[string]any{"conversation_id": convID, "text": "nunca", "send_at": time.Now().Add(2 * time.Second)})
	res := b.do(http.MethodDelete, "/api/v1/scheduled-messages/"+cancelled["id"].(string), b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.Equal(t, "cancelled", res.JSON()["status"])
	res = b.do(http.MethodDelete, "/api/v1/scheduled-messages/"+cancelled["id"].(string), b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusConflict, res.Status)
	require.Equal(t, "not_pending", res.ErrorCode())

	moved := b.schedule(map[string]any{"conversation_id": convID, "text": "mais tarde", "send_at": time.Now().Add(2 * time.Second)})
	newAt := time.Now().Add(5 * time.Second).UTC()
	res = b.do(http.MethodPatch, "/api/v1/scheduled-messages/"+moved["id"].(string), b.tenant.AdminToken, map[string]any{"send_at": newAt, "text": "bem mais tarde"})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	time.Sleep(3500 * time.Millisecond)
	require.Empty(t, b.graph.sent(), "neither the cancelled nor the moved one went out at the first time")
	b.waitSent("bem mais tarde")
	b.waitScheduled(moved["id"].(string), "sent")

	// A contact on the connection without a conversation: a template opens one.
	contact := b.do(http.MethodPost, "/api/v1/contacts", b.tenant.AdminToken, map[string]any{"name": "Nova", "phone": "+5511955550000"})
	require.Equal(t, http.StatusCreated, contact.Status, string(contact.Body))
	contactID := contact.JSON()["id"].(string)
	_, err := b.db.Pool.Exec(context.Background(), `INSERT INTO contact_identities (tenant_id, id, contact_id, channel, external_id)
		VALUES ($1, gen_random_uuid(), $2, 'whatsapp', '5511955550000')`, b.tenant.ID, contactID)
	require.NoError(t, err)
	text := b.schedule(map[string]any{"contact_id": contactID, "connection_id": b.connID, "text": "oi", "send_at": time.Now()})
	failed := b.waitScheduled(text["id"].(string), "failed")
	require.Contains(t, fmt.Sprint(failed["error"]), "window_closed")
	tmpl := b.schedule(map[string]any{"contact_id": contactID, "connection_id": b.connID, "type": "template",
		"template": map[string]any{"name": "boas_vindas", "language": map[string]any{"code": "pt_BR"}}, "send_at": time.Now()})
	b.waitScheduled(tmpl["id"].(string), "sent")
	require.Len(t, b.do(http.MethodGet, "/api/v1/conversations", b.tenant.AdminToken, nil).Items(), 2, "the template opened a conversation")
}

// TestScheduledMessageValidationAndIsolation: bad input gets field errors;
// another tenant neither sees nor cancels a tenant's scheduled messages.
func TestScheduledMessageValidationAndIsolation(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	convID := b.openConversation("5511912342222", "Ivo", "wamid.sc.3", "oi")["id"].(string)
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"conversation_id": convID, "send_at": time.Now().Add(time.Hour)}, "text"},
		{map[string]any{"conversation_id": convID, "text": "x", "send_at": time.Now().Add(-time.Hour)}, "send_at"},
		{map[string]any{"conversation_id": convID, "text": "x", "send_at": time.Now().Add(400 * 24 * time.Hour)}, "send_at"},
		{map[string]any{"text": "x", "send_at": time.Now().Add(time.Hour)}, "conversation_id"},
		{map[string]any{"conversation_id": convID, "type": "image", "send_at": time.Now().Add(time.Hour)}, "media_id"},
		{map[string]any{"conversation_id": convID, "type": "sticker", "send_at": time.Now().Add(time.Hour)}, "type"},
	} {
		res := b.do(http.MethodPost, "/api/v1/scheduled-messages", b.tenant.AdminToken, c.body)
		require.Equal(t, "validation_failed", res.ErrorCode(), string(res.Body))
		require.Contains(t, res.JSON()["error"].(map[string]any)["details"].(map[string]any)["fields"], c.field, string(res.Body))
	}
	m := b.schedule(map[string]any{"conversation_id": convID, "text": "x", "send_at": time.Now().Add(time.Hour)})
	other := b.testEnv.tenant("outra")
	require.Empty(t, b.do(http.MethodGet, "/api/v1/scheduled-messages", other.AdminToken, nil).Items())
	res := b.do(http.MethodDelete, "/api/v1/scheduled-messages/"+m["id"].(string), other.AdminToken, nil)
	require.Equal(t, http.StatusNotFound, res.Status)
	res = b.do(http.MethodPost, "/api/v1/scheduled-messages", other.AdminToken, map[string]any{"conversation_id": convID, "text": "x",
		"send_at": time.Now().Add(time.Hour)})
	require.Equal(t, http.StatusNotFound, res.Status, "another tenant's conversation is not found")
	require.Equal(t, "pending", b.scheduled(m["id"].(string))["status"])
}
