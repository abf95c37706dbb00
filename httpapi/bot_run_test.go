package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm/actors"
	"crm/jobs"
)

// The chatbot end to end on one node: webhooks in, the flow run by the
// conversation grain, the bot's messages out through the (fake) Graph API,
// its waits as River jobs on the same PostgreSQL.

// botEnv is an engine node with a job client that runs the chatbot's kinds.
type botEnv struct {
	*engineEnv
	jobs *jobs.Client
}

func newBotEnv(t *testing.T, tune ...func(*actors.EngineConfig)) *botEnv {
	t.Helper()
	env := newEngineEnv(t, tune...)
	b := &botEnv{engineEnv: env}
	b.jobs = b.startJobs("node-1")
	return b
}

// startJobs starts a job client as crm serve does (here with a plain HTTP
// client: the webhook node's target is a local test server).
func (b *botEnv) startJobs(node string) *jobs.Client {
	b.t.Helper()
	ctx := context.Background()
	c, err := jobs.New(ctx, jobs.Config{DatabaseURL: b.db.Pool.Config().ConnString(), DB: b.db, Log: slog.New(slog.DiscardHandler),
		NodeID: node, Bots: b.engine, Sender: b.engine, BotHTTP: &http.Client{}})
	require.NoError(b.t, err)
	require.NoError(b.t, c.Start(ctx))
	b.t.Cleanup(func() { c.Stop(context.Background()) })
	b.db.SetJobInserter(c)
	return c
}

// publish creates and publishes a flow, answering its id.
func (b *botEnv) publish(body map[string]any) string {
	b.t.Helper()
	id := createdID(b.t.(*testing.T), b.do(http.MethodPost, "/api/v1/bot-flows", b.tenant.AdminToken, body))
	res := b.do(http.MethodPost, "/api/v1/bot-flows/"+id+"/publish", b.tenant.AdminToken, nil)
	require.Equal(b.t, http.StatusOK, res.Status, string(res.Body))
	return id
}

// sent is what the bot (or anyone) sent to the Graph API, in order: the
// text of text messages, "buttons:<body>" for interactive ones.
func (g *fakeGraph) sent() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]string, 0, len(g.sends))
	for _, m := range g.sends {
		switch m["type"] {
		case "text":
			out = append(out, m["text"].(map[string]any)["body"].(string))
		case "interactive":
			out = append(out, "buttons:"+m["interactive"].(map[string]any)["body"].(map[string]any)["text"].(string))
		default:
			out = append(out, fmt.Sprint(m["type"]))
		}
	}
	return out
}

func (b *botEnv) waitSent(want ...string) {
	b.t.Helper()
	checkFor(b.t, 15*time.Second, func() error {
		if got := b.graph.sent(); fmt.Sprint(got) != fmt.Sprint(want) {
			return fmt.Errorf("sent %q, want %q", got, want)
		}
		return nil
	})
}

func whatsappButton(from, id, buttonID, title string, at time.Time) []byte {
	return []byte(fmt.Sprintf(`{"object":"whatsapp_business_account","entry":[{"id":"WABA","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"display_phone_number":"5511900000000","phone_number_id":"123456123"},
		"contacts":[{"profile":{"name":"Maria"},"wa_id":%q}],
		"messages":[{"from":%q,"id":%q,"timestamp":"%d","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":%q,"title":%q}}}]}}]}]}`,
		from, from, id, at.Unix(), buttonID, title))
}

func (b *botEnv) onlyConversation() map[string]any {
	b.t.Helper()
	items := b.do(http.MethodGet, "/api/v1/conversations", b.tenant.AdminToken, nil).Items()
	require.Len(b.t, items, 1)
	return items[0]
}

func TestBotMenuFlowRunsOnceAndHandsOff(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	b.publish(menuFlowBody("Menu", "Olá {{contact.name}}!"))
	now := time.Now()

	// A message that matches no trigger reaches the queue without a bot.
	b.postWebhook(whatsappText("5511987654321", "Maria", "wamid.b.0", "bom dia", now))
	checkFor(t, 10*time.Second, func() error {
		if items := b.do(http.MethodGet, "/api/v1/conversations", b.tenant.AdminToken, nil).Items(); len(items) != 1 {
			return fmt.Errorf("%d conversations", len(items))
		}
		return nil
	})
	require.Equal(t, false, b.onlyConversation()["bot_active"])

	// The keyword starts the flow: greeting, then the menu with buttons.
	// Meta's retry of the same webhook runs no second step.
	b.postWebhook(whatsappText("5511987654321", "Maria", "wamid.b.1", "quero ver o MENU", now.Add(time.Second)))
	b.postWebhook(whatsappText("5511987654321", "Maria", "wamid.b.1", "quero ver o MENU", now.Add(time.Second)))
	b.waitSent("Olá Maria!", "buttons:Escolha")
	conv := b.onlyConversation()
	require.Equal(t, true, conv["bot_active"])
	require.Equal(t, "open", conv["status"], "the bot's messages leave the conversation in the queue")
	convID := conv["id"].(string)
	bot := b.do(http.MethodGet, "/api/v1/conversations/"+convID+"/bot", b.tenant.AdminToken, nil).JSON()
	require.Equal(t, true, bot["active"])
	session := bot["session"].(map[string]any)
	require.Equal(t, "Menu", session["flow_name"])
	require.Equal(t, "waiting", session["status"])
	require.Equal(t, "question", session["waiting"])

	// The bot's messages are ordinary outbound messages, by the bot.
	msgs := b.do(http.MethodGet, "/api/v1/conversations/"+convID+"/messages", b.tenant.AdminToken, nil).Items()
	require.Len(t, msgs, 4)
	require.Equal(t, "bot", msgs[2]["via"])
	require.Nil(t, msgs[2]["sent_by"])
	require.Equal(t, "interactive", msgs[3]["type"])

	// Tapping "Vendas" takes the option's branch: the hand-off message, the
	// queue, the variable kept for the agent. Twice delivered, once answered.
	b.postWebhook(whatsappButton("5511987654321", "wamid.b.2", "sales", "Vendas", now.Add(2*time.Second)))
	b.postWebhook(whatsappButton("5511987654321", "wamid.b.2", "sales", "Vendas", now.Add(2*time.Second)))
	b.waitSent("Olá Maria!", "buttons:Escolha", "Já te atendemos")
	checkFor(t, 10*time.Second, func() error {
		if b.onlyConversation()["bot_active"] != false {
			return fmt.Errorf("bot still active")
		}
		return nil
	})
	bot = b.do(http.MethodGet, "/api/v1/conversations/"+convID+"/bot", b.tenant.AdminToken, nil).JSON()
	require.Equal(t, false, bot["active"])
	session = bot["session"].(map[string]any)
	require.Equal(t, "handed_off", session["status"])
	require.Equal(t, map[string]any{"choice": "sales"}, session["variables"])

	// A later keyword starts the flow again (the session ended).
	b.postWebhook(whatsappText("5511987654321", "Maria", "wamid.b.3", "menu", now.Add(3*time.Second)))
	b.waitSent("Olá Maria!", "buttons:Escolha", "Já te atendemos", "Olá Maria!", "buttons:Escolha")
	time.Sleep(300 * time.Millisecond)
	require.Len(t, b.graph.sent(), 5, "nothing was sent twice")
}

func TestBotStopsForAPersonAndIsHandedBack(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	flowID := b.publish(menuFlowBody("Menu", "Olá!"))
	now := time.Now()
	b.postWebhook(whatsappText("5511911112222", "João", "wamid.s.1", "menu", now))
	b.waitSent("Olá!", "buttons:Escolha")
	convID := b.onlyConversation()["id"].(string)

	// An agent's reply stops the bot: the customer's next answer reaches the agent, not the flow.
	res := b.do(http.MethodPost, "/api/v1/conversations/"+convID+"/messages", b.tenant.AdminToken,
		map[string]any{"type": "text", "text": "Oi, aqui é a Ana", "idempotency_key": "ana-1"})
	require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
	require.Equal(t, false, b.onlyConversation()["bot_active"])
	b.postWebhook(whatsappButton("5511911112222", "wamid.s.2", "sales", "Vendas", now.Add(time.Second)))
	b.waitSent("Olá!", "buttons:Escolha", "Oi, aqui é a Ana")
	session := b.do(http.MethodGet, "/api/v1/conversations/"+convID+"/bot", b.tenant.AdminToken, nil).JSON()["session"].(map[string]any)
	require.Equal(t, "stopped", session["status"])
	stop := b.do(http.MethodPost, "/api/v1/conversations/"+convID+"/bot/stop", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusConflict, stop.Status, string(stop.Body))
	require.Equal(t, "bot_not_active", stop.ErrorCode())

	// The agent hands the conversation back to the flow: it starts over.
	start := b.do(http.MethodPost, "/api/v1/conversations/"+convID+"/bot/start", b.tenant.AdminToken, map[string]any{"flow_id": flowID})
	require.Equal(t, http.StatusOK, start.Status, string(start.Body))
	require.Equal(t, true, start.JSON()["bot_active"])
	b.waitSent("Olá!", "buttons:Escolha", "Oi, aqui é a Ana", "Olá!", "buttons:Escolha")
	again := b.do(http.MethodPost, "/api/v1/conversations/"+convID+"/bot/start", b.tenant.AdminToken, map[string]any{"flow_id": flowID})
	require.Equal(t, http.StatusConflict, again.Status)
	require.Equal(t, "bot_active", again.ErrorCode())

	// "Parar bot": stopped, and the conversation stays in the queue.
	stop = b.do(http.MethodPost, "/api/v1/conversations/"+convID+"/bot/stop", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusOK, stop.Status, string(stop.Body))
	require.Equal(t, false, stop.JSON()["bot_active"])

	// Taking the conversation stops a running bot too.
	require.Equal(t, http.StatusOK, b.do(http.MethodPost, "/api/v1/conversations/"+convID+"/bot/start", b.tenant.AdminToken,
		map[string]any{"flow_id": flowID}).Status)
	patch := b.do(http.MethodPatch, "/api/v1/conversations/"+convID, b.tenant.AdminToken, map[string]any{"assignee_id": b.tenant.AdminID})
	require.Equal(t, http.StatusOK, patch.Status, string(patch.Body))
	require.Equal(t, false, patch.JSON()["bot_active"])

	// A flow that is not published cannot be started.
	draft := createdID(t, b.do(http.MethodPost, "/api/v1/bot-flows", b.tenant.AdminToken, map[string]any{"name": "Rascunho"}))
	res = b.do(http.MethodPost, "/api/v1/conversations/"+convID+"/bot/start", b.tenant.AdminToken, map[string]any{"flow_id": draft})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	require.Contains(t, res.JSON()["error"].(map[string]any)["details"].(map[string]any)["fields"], "flow_id")
}

// delayWebhookFlow waits 2 s, calls url, says what it learned or that the
// call failed.
func delayWebhookFlow(url string) map[string]any {
	pos := map[string]any{"x": 0, "y": 0}
	return map[string]any{
		"name": "Pedido", "trigger": map[string]any{"on": "first_message"},
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "name": "Início", "config": map[string]any{}, "position": pos},
			{"id": "wait", "type": "delay", "name": "Espera", "config": map[string]any{"duration_s": 2}, "position": pos},
			{"id": "call", "type": "webhook", "name": "Consulta", "config": map[string]any{"method": "POST", "url": url,
				"body": `{"phone": "{{contact.phone}}"}`, "timeout_s": 5, "save": []map[string]any{{"variable": "status", "path": "order.status"}}},
				"position": pos},
			{"id": "ok", "type": "message", "name": "Ok", "config": map[string]any{"text": "Seu pedido: {{var.status}}"}, "position": pos},
			{"id": "fail", "type": "message", "name": "Falha", "config": map[string]any{"text": "Sistema fora do ar"}, "position": pos},
			{"id": "end", "type": "end", "name": "Fim", "config": map[string]any{}, "position": pos},
		},
		"edges": []map[string]any{
			{"from": "start", "to": "wait", "handle": "next"}, {"from": "wait", "to": "call", "handle": "next"},
			{"from": "call", "to": "ok", "handle": "ok"}, {"from": "call", "to": "fail", "handle": "error"},
			{"from": "ok", "to": "end", "handle": "next"}, {"from": "fail", "to": "end", "handle": "next"},
		},
	}
}

func TestBotDelayAndWebhookAsDurableJobs(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	var calls atomic.Int32
	var mu sync.Mutex
	var got string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = string(body)
		mu.Unlock()
		calls.Add(1)
		_, _ = w.Write([]byte(`{"order": {"status": "enviado"}}`))
	}))
	t.Cleanup(api.Close)
	b.publish(delayWebhookFlow(api.URL + "/pedidos"))

	started := time.Now()
	b.postWebhook(whatsappText("5511933334444", "Rui", "wamid.d.1", "oi", started))
	// The delay holds the flow: nothing is called or sent before it ends,
	// even when the job runner restarts meanwhile (the wait is a row).
	time.Sleep(500 * time.Millisecond)
	b.jobs.Stop(context.Background())
	require.Zero(t, calls.Load())
	b.jobs = b.startJobs("node-2")
	b.waitSent("Seu pedido: enviado")
	require.GreaterOrEqual(t, time.Since(started), 2*time.Second, "not before the delay ends")
	require.EqualValues(t, 1, calls.Load())
	mu.Lock()
	require.JSONEq(t, `{"phone": "+5511933334444"}`, got, "the body is rendered from the contact")
	mu.Unlock()
	checkFor(t, 5*time.Second, func() error {
		if b.onlyConversation()["bot_active"] != false {
			return fmt.Errorf("the flow has not ended")
		}
		return nil
	})
}

func TestBotWebhookFailureTakesTheErrorBranch(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(down.Close)
	b.publish(delayWebhookFlow(down.URL))
	b.postWebhook(whatsappText("5511955556666", "Ana", "wamid.e.1", "oi", time.Now()))
	b.waitSent("Sistema fora do ar")
}

// TestBotStepLostMidTransactionRunsOnce: the node fails after the bot's
// step was written but before the commit (here a trigger on the session
// row raises once, as a lost connection would). Nothing of the message or
// the step survives; the sweeper takes the event back and the step runs
// again, whole: every bot message sent exactly once, none skipped.
func TestBotStepLostMidTransactionRunsOnce(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t, func(c *actors.EngineConfig) { c.ClaimTimeout = time.Second })
	ctx := context.Background()
	_, err := b.db.Pool.Exec(ctx, `CREATE SEQUENCE bot_fail_once;
		CREATE FUNCTION bot_fail_once() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
		BEGIN
		  IF nextval('bot_fail_once') = 1 THEN RAISE EXCEPTION 'connection lost mid-step'; END IF;
		  RETURN NEW;
		END $$;
		CREATE TRIGGER bot_fail_once BEFORE INSERT ON bot_sessions FOR EACH ROW EXECUTE FUNCTION bot_fail_once();`)
	require.NoError(t, err)
	b.publish(menuFlowBody("Menu", "Olá!"))
	b.postWebhook(whatsappText("5511977778888", "Bia", "wamid.k.1", "menu", time.Now()))
	b.waitSent("Olá!", "buttons:Escolha")
	var failures int64
	require.NoError(t, b.db.Pool.QueryRow(ctx, `SELECT last_value FROM bot_fail_once`).Scan(&failures))
	require.EqualValues(t, 2, failures, "the first attempt failed, the second went through")
	convID := b.onlyConversation()["id"].(string)
	msgs := b.do(http.MethodGet, "/api/v1/conversations/"+convID+"/messages", b.tenant.AdminToken, nil).Items()
	require.Len(t, msgs, 3, "one customer message, two bot messages")
	var sessions int
	require.NoError(t, b.db.Pool.QueryRow(ctx, `SELECT count(*) FROM bot_sessions`).Scan(&sessions))
	require.Equal(t, 1, sessions)
	time.Sleep(500 * time.Millisecond)
	require.Len(t, b.graph.sent(), 2, "nothing sent twice")
}

// TestBotLoopIsCutWithANoteOnTheTimeline: a flow that never waits is cut
// after DefaultMaxStep steps of one input; the conversation's timeline says
// why (an internal note by nobody), the session is failed, the conversation
// stays in the queue for a person.
func TestBotLoopIsCutWithANoteOnTheTimeline(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	pos := map[string]any{"x": 0, "y": 0}
	b.publish(map[string]any{"name": "Laço", "trigger": map[string]any{"on": "always"},
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "name": "Início", "config": map[string]any{}, "position": pos},
			{"id": "a", "type": "message", "name": "A", "config": map[string]any{"text": "a"}, "position": pos},
			{"id": "b", "type": "message", "name": "B", "config": map[string]any{"text": "b"}, "position": pos},
		},
		"edges": []map[string]any{{"from": "start", "to": "a", "handle": "next"}, {"from": "a", "to": "b", "handle": "next"},
			{"from": "b", "to": "a", "handle": "next"}}})
	b.postWebhook(whatsappText("5511944445555", "Leo", "wamid.l.1", "oi", time.Now()))
	checkFor(t, 15*time.Second, func() error {
		if n := len(b.graph.sent()); n != 49 {
			return fmt.Errorf("%d sent", n)
		}
		return nil
	})
	conv := b.onlyConversation()
	require.Equal(t, false, conv["bot_active"])
	notes := b.do(http.MethodGet, "/api/v1/conversations/"+conv["id"].(string)+"/notes", b.tenant.AdminToken, nil).Items()
	require.Len(t, notes, 1)
	require.Nil(t, notes[0]["author_id"])
	require.Contains(t, notes[0]["text"], "Chatbot: the flow ran 50 steps without waiting")
	session := b.do(http.MethodGet, "/api/v1/conversations/"+conv["id"].(string)+"/bot", b.tenant.AdminToken, nil).JSON()["session"].(map[string]any)
	require.Equal(t, "failed", session["status"])
}

// TestBotQuestionLabelConditionEndAndTimeout: the nodes that talk to the
// contact's record, against PostgreSQL. A question that validates an email
// (a wrong answer asks again, then takes "invalid"), saves it to the
// contact; a label node tags the contact; a condition reads the label and
// the business hours; an end node resolves the conversation. A second flow's
// question times out through its River job.
func TestBotQuestionLabelConditionEndAndTimeout(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	label := createdID(t, b.do(http.MethodPost, "/api/v1/labels", b.tenant.AdminToken, map[string]any{"name": "VIP", "color": "#16a34a"}))
	pos := map[string]any{"x": 0, "y": 0}
	b.publish(map[string]any{"name": "Cadastro", "trigger": map[string]any{"on": "keyword", "keywords": []string{"cadastro"}},
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "name": "Início", "config": map[string]any{}, "position": pos},
			{"id": "ask", "type": "question", "name": "E-mail", "config": map[string]any{"text": "Qual seu e-mail?", "answer_type": "email",
				"contact_field": "email", "retries": 1, "retry_message": "E-mail inválido"}, "position": pos},
			{"id": "tag", "type": "add_label", "name": "VIP", "config": map[string]any{"action": "add", "label_ids": []string{label}}, "position": pos},
			{"id": "check", "type": "condition", "name": "É VIP?", "config": map[string]any{"match": "all", "rules": []map[string]any{
				{"source": "label", "op": "has", "value": label}, {"source": "business_hours", "op": "in"}}}, "position": pos},
			{"id": "bye", "type": "end", "name": "Fim", "config": map[string]any{"resolve": true, "message": "Obrigado, {{contact.email}}"}, "position": pos},
			{"id": "odd", "type": "end", "name": "Estranho", "config": map[string]any{"message": "Algo deu errado"}, "position": pos},
			{"id": "lost", "type": "end", "name": "Sem e-mail", "config": map[string]any{"message": "Sem e-mail, sem cadastro"}, "position": pos},
		},
		"edges": []map[string]any{{"from": "start", "to": "ask", "handle": "next"}, {"from": "ask", "to": "tag", "handle": "next"},
			{"from": "ask", "to": "lost", "handle": "invalid"}, {"from": "tag", "to": "check", "handle": "next"},
			{"from": "check", "to": "bye", "handle": "true"}, {"from": "check", "to": "odd", "handle": "false"}}})
	b.publish(map[string]any{"name": "Paciência", "trigger": map[string]any{"on": "keyword", "keywords": []string{"horario"}},
		"nodes": []map[string]any{
			{"id": "start", "type": "start", "name": "Início", "config": map[string]any{}, "position": pos},
			{"id": "ask", "type": "question", "name": "Dia", "config": map[string]any{"text": "Que dia?", "answer_type": "date",
				"timeout_s": 2}, "position": pos},
			{"id": "ok", "type": "end", "name": "Fim", "config": map[string]any{"message": "Anotado"}, "position": pos},
			{"id": "late", "type": "end", "name": "Tempo", "config": map[string]any{"message": "Ainda está aí? Chame de novo quando quiser."}, "position": pos},
		},
		"edges": []map[string]any{{"from": "start", "to": "ask", "handle": "next"}, {"from": "ask", "to": "ok", "handle": "next"},
			{"from": "ask", "to": "late", "handle": "timeout"}, {"from": "ask", "to": "late", "handle": "invalid"}}})

	now := time.Now()
	b.postWebhook(whatsappText("5511966667777", "Caio", "wamid.q.1", "cadastro", now))
	b.waitSent("Qual seu e-mail?")
	b.postWebhook(whatsappText("5511966667777", "Caio", "wamid.q.2", "não tenho", now.Add(time.Second)))
	b.waitSent("Qual seu e-mail?", "E-mail inválido", "Qual seu e-mail?")
	b.postWebhook(whatsappText("5511966667777", "Caio", "wamid.q.3", "Caio@Exemplo.com.br", now.Add(2*time.Second)))
	b.waitSent("Qual seu e-mail?", "E-mail inválido", "Qual seu e-mail?", "Obrigado, caio@exemplo.com.br")
	conv := b.onlyConversation()
	require.Equal(t, "resolved", conv["status"], "the end node resolved it")
	contact := b.do(http.MethodGet, "/api/v1/contacts/"+conv["contact_id"].(string), b.tenant.AdminToken, nil).JSON()
	require.Equal(t, "caio@exemplo.com.br", contact["email"])
	require.Contains(t, fmt.Sprint(contact["label_ids"]), label)

	// Another customer never answers: the answer time ends the question.
	b.postWebhook(whatsappText("5511988889999", "Duda", "wamid.q.4", "horario", time.Now()))
	checkFor(t, 15*time.Second, func() error {
		sent := b.graph.sent()
		if len(sent) < 6 || sent[4] != "Que dia?" || sent[5] != "Ainda está aí? Chame de novo quando quiser." {
			return fmt.Errorf("sent %q", sent)
		}
		return nil
	})
}

// TestBotSessionFinishesOnItsVersion: a conversation in a flow finishes on
// the version it started with, though a new version is published meanwhile;
// the next conversation starts on the new one.
func TestBotSessionFinishesOnItsVersion(t *testing.T) {
	t.Parallel()
	b := newBotEnv(t)
	id := b.publish(menuFlowBody("Menu", "Olá!"))
	b.postWebhook(whatsappText("5511922223333", "Eva", "wamid.v.1", "menu", time.Now()))
	b.waitSent("Olá!", "buttons:Escolha")

	v2 := menuFlowBody("Menu", "Oi, versão 2!")
	v2["nodes"].([]map[string]any)[3]["config"] = map[string]any{"message": "Versão 2 transfere"}
	res := b.do(http.MethodPatch, "/api/v1/bot-flows/"+id, b.tenant.AdminToken, map[string]any{"nodes": v2["nodes"], "edges": v2["edges"]})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	res = b.do(http.MethodPost, "/api/v1/bot-flows/"+id+"/publish", b.tenant.AdminToken, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	require.EqualValues(t, 2, res.JSON()["active_version"])

	b.postWebhook(whatsappButton("5511922223333", "wamid.v.2", "sales", "Vendas", time.Now()))
	b.waitSent("Olá!", "buttons:Escolha", "Já te atendemos")
	b.postWebhook(whatsappText("5511944443333", "Gil", "wamid.v.3", "menu", time.Now()))
	b.waitSent("Olá!", "buttons:Escolha", "Já te atendemos", "Oi, versão 2!", "buttons:Escolha")
}
