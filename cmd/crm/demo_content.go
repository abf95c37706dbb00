package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/google/uuid"

	"crm"
	"crm/channels/providers"
	"crm/persistence"
)

// ensureDemoContent gives the demo company labels, quick replies and a
// sales team (the agent and the supervisor), so its settings and the "/"
// picker are not empty on the first visit.
func ensureDemoContent(ctx context.Context, db *persistence.DB, tenantID uuid.UUID) error {
	var members []uuid.UUID
	for _, email := range []string{demoAgentEmail, demoSupEmail} {
		id, err := db.DemoUserID(ctx, tenantID, email)
		if err != nil {
			return fmt.Errorf("finding %s: %w", email, err)
		}
		members = append(members, id)
	}
	return db.EnsureDemoContent(ctx, tenantID, persistence.DemoContent{
		Labels: []persistence.NewLabel{
			{Name: "Novo cliente", Color: "#16a34a"},
			{Name: "Orçamento", Color: "#2563eb"},
			{Name: "Urgente", Color: "#dc2626"},
		},
		QuickReplies: []persistence.NewQuickReply{
			{Shortcut: "ola", Title: "Saudação", Text: "Olá! Obrigado por falar com a Loja Demo. Em que posso ajudar?"},
			{Shortcut: "horario", Title: "Horário de atendimento", Text: "Atendemos de segunda a sexta, das 9h às 18h, e aos sábados, das 9h às 13h."},
			{Shortcut: "pix", Title: "Pagamento por Pix", Text: "Você pode pagar por Pix com a chave pagamentos@lojademo.com.br. Depois é só mandar o comprovante aqui."},
		},
		Team:        "Vendas",
		TeamMembers: members,
	})
}

// demoCustomers write to the demo company's sandbox number the first time
// it is seeded, so the first inbox has conversations to open.
var demoCustomers = []struct{ phone, name, text string }{
	{"5511987650001", "Maria Oliveira", "Oi! Vocês entregam em Campinas? Queria o tênis azul no 38."},
	{"5521987650002", "João Souza", "Bom dia, preciso de um orçamento de 10 camisetas com a logo da empresa."},
}

// seedDemoConversations has the sandbox's simulated customers write to the
// demo company (`crm serve --demo`), through this node's own API as someone
// playing the customer would: the messages take the real path (signed
// webhook, inbox, conversation grain). Only when the company has no
// conversation yet, so a restart adds none.
func seedDemoConversations(ctx context.Context, n *node) error {
	db := n.db
	tenantID, err := db.TenantBySlug(ctx, "demo")
	if err != nil {
		return err
	}
	sandboxID, err := persistence.FirstLiveConnection(ctx, db, tenantID, providers.Sandbox)
	if err != nil {
		return fmt.Errorf("the demo sandbox connection: %w", err)
	}
	var every []string
	for _, st := range crm.ConversationStatuses() {
		every = append(every, string(st))
	}
	existing, err := db.ListConversations(ctx, tenantID, crm.Visibility{All: true},
		persistence.ConversationFilter{Limit: 1, Status: every})
	if err != nil {
		return err
	}
	if len(existing.Items) > 0 {
		return nil
	}
	base := selfURL(n.Addr())
	var login struct {
		AccessToken string `json:"access_token"`
	}
	if err := demoCall(ctx, base, "", "/api/v1/auth/login", map[string]string{"email": demoAdminEmail, "password": demoPassword}, &login); err != nil {
		return fmt.Errorf("signing in as %s: %w", demoAdminEmail, err)
	}
	for _, c := range demoCustomers {
		if err := demoCall(ctx, base, login.AccessToken, "/api/v1/sandbox/"+sandboxID.String()+"/inbound",
			map[string]string{"from": c.phone, "name": c.name, "type": "text", "text": c.text}, nil); err != nil {
			return fmt.Errorf("a message from %s: %w", c.name, err)
		}
	}
	return nil
}

func demoCall(ctx context.Context, base, token, path string, body, into any) error {
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s answered %d: %s", path, res.StatusCode, answer)
	}
	if into != nil {
		return json.Unmarshal(answer, into)
	}
	return nil
}
