package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzRoute is one route of the API the fuzzer sends input to: a valid body
// (or query) whose fields it replaces, one at a time, with what it likes.
type fuzzRoute struct {
	method, path, token string
	// fields are the body's fields (or, with query, the query parameters),
	// each with a valid value: raw JSON, or the query value.
	fields [][2]string
	query  bool
}

// request builds the route's request with the field at index replaced by
// value; index len(fields) replaces the whole body (or query string).
func (r fuzzRoute) request(base string, index int, value []byte) (*http.Request, error) {
	if r.query {
		q := url.Values{}
		for i, f := range r.fields {
			if i == index {
				q.Set(f[0], string(value))
			} else {
				q.Set(f[0], f[1])
			}
		}
		raw := q.Encode()
		if index == len(r.fields) {
			raw = string(value)
		}
		return http.NewRequest(r.method, base+r.path+"?"+raw, nil)
	}
	body := value
	if index < len(r.fields) {
		var b bytes.Buffer
		b.WriteByte('{')
		for i, f := range r.fields {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%q:", f[0])
			if i == index {
				b.Write(value)
			} else {
				b.WriteString(f[1])
			}
		}
		b.WriteByte('}')
		body = b.Bytes()
	}
	req, err := http.NewRequest(r.method, base+r.path, bytes.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, err
}

// fuzzValues are the seeds put in every field of every route: text the
// database cannot store, numbers no column holds, wrong types, nesting
// deeper than any decoder likes, and malformed JSON.
var fuzzValues = []string{
	`"a\u0000b"`,
	"a\x00b", // raw: malformed JSON in a body, a NUL in a query parameter
	"\"ol\xe1 \xff\xfe\"",
	`"\ud800"`,
	`""`,
	`"   "`,
	`"` + strings.Repeat("x", 70_000) + `"`,
	`"00000000-0000-0000-0000-000000000000"`,
	`"2024-13-45T99:99:99Z"`,
	`1e309`,
	`-99999999999999999999999999`,
	`9223372036854775808`,
	`2147483648`,
	`-1`,
	`1.5`,
	`true`,
	`null`,
	`[]`,
	`{}`,
	`[null, 1, "x", {"a": "\u0000"}]`,
	`{"a": {"b": {"c": "\u0000"}}, "k": 1e400}`,
	strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000),
	`{"x":`,
	`"unterminated`,
}

// FuzzAPIJSON sends the main JSON-accepting routes of a real server (and
// the query parameters of its lists), on a real database, bodies whose
// fields, one at a time, hold whatever the fuzzer makes: no input may
// answer 5xx. Its seeds (every value above in every field) run with the
// other tests; `go test -fuzz FuzzAPIJSON ./httpapi` searches further.
func FuzzAPIJSON(f *testing.F) {
	env := newEngineEnv(f)
	env.srv.cfg.Sealer = testSealer(f, 'z') // connections need one; set before any request
	admin := env.tenant.AdminToken
	owner := env.superAdmin()
	convID := env.openConversation("5511911110000", "Fuzz", "wamid.fuzz", "Oi")["id"].(string)
	create := func(path, token string, body any) string {
		res := env.do(http.MethodPost, path, token, body)
		require.Less(f, res.Status, 300, "%s: %s", path, res.Body)
		return res.JSON()["id"].(string)
	}
	userID := create("/api/v1/users", admin, map[string]any{"name": "Fuzz Agent", "email": "agent@fuzz.test",
		"password": testPassword, "role": "AGENT"})
	teamID := create("/api/v1/teams", admin, map[string]any{"name": "Fuzz team"})
	labelID := create("/api/v1/labels", admin, map[string]any{"name": "Fuzz label"})
	quickID := create("/api/v1/quick-replies", admin, map[string]any{"shortcut": "fuzz", "title": "Fuzz", "text": "Olá"})
	contactID := create("/api/v1/contacts", admin, map[string]any{"name": "Fuzz contact", "phone": "+5511911112222"})
	connID := create("/api/v1/connections", admin, map[string]any{"name": "Fuzz sandbox", "channel": "whatsapp", "provider": "sandbox"})
	flowID := create("/api/v1/bot-flows", admin, menuFlowBody("Fuzz flow", "Olá {{contact.name}}"))
	campaignID := create("/api/v1/campaigns", admin, map[string]any{"name": "Fuzz campaign", "connection_id": connID,
		"message": map[string]any{"type": "text", "text": "Oi"}})
	boardRes := env.do(http.MethodPost, "/api/v1/boards", admin, map[string]any{"name": "Fuzz board"})
	require.Equal(f, http.StatusCreated, boardRes.Status, string(boardRes.Body))
	boardID := boardRes.JSON()["id"].(string)
	columnID := boardRes.JSON()["columns"].([]any)[1].(map[string]any)["id"].(string)
	cardID := create("/api/v1/cards", admin, map[string]any{"board_id": boardID, "title": "Fuzz card"})
	planID := create("/api/v1/admin/plans", owner, map[string]any{"name": "Fuzz plan", "monthly_price": "10.00",
		"limits": map[string]any{"users": 5, "connections": 1, "contacts": 100, "monthly_conversations": 100, "monthly_campaigns": 1}})
	hookID := create("/api/v1/webhook-subscriptions", admin, map[string]any{"url": "https://hooks.example.com/fuzz", "events": []string{"*"}})
	tenantID := create("/api/v1/admin/tenants", owner, map[string]any{"name": "Fuzz Co", "email": "owner@fuzzco.test",
		"plan_id": planID, "admin": map[string]any{"name": "Fuzz Admin", "email": "admin@fuzzco.test", "password": testPassword}})

	q := func(s string) string { return fmt.Sprintf("%q", s) }
	routes := []fuzzRoute{
		{"POST", "/api/v1/auth/login", "", [][2]string{{"email", q(env.tenant.AdminEmail)}, {"password", q(testPassword)}}, false},
		{"POST", "/api/v1/auth/refresh", "", [][2]string{{"refresh_token", q("not-a-token")}}, false},
		{"POST", "/api/v1/conversations/" + convID + "/notes", admin, [][2]string{{"text", q("nota")}}, false},
		{"POST", "/api/v1/conversations/" + convID + "/messages", admin, [][2]string{{"type", q("text")}, {"text", q("Olá")},
			{"idempotency_key", q("fuzz-1")}, {"reply_to_id", "null"}}, false},
		{"POST", "/api/v1/conversations/" + convID + "/messages", admin, [][2]string{{"type", q("location")},
			{"location", `{"latitude": -23.5, "longitude": -46.6, "name": "Sé"}`}, {"idempotency_key", q("fuzz-2")}}, false},
		{"POST", "/api/v1/conversations/" + convID + "/messages", admin, [][2]string{{"type", q("interactive")},
			{"interactive", `{"type": "button", "body": "Escolha", "buttons": [{"id": "a", "title": "A"}]}`}, {"idempotency_key", q("fuzz-3")}}, false},
		{"POST", "/api/v1/conversations/" + convID + "/messages", admin, [][2]string{{"type", q("contacts")},
			{"contacts", `[{"name": {"formatted_name": "Zé"}, "phones": [{"phone": "+5511911113333"}]}]`}, {"idempotency_key", q("fuzz-4")}}, false},
		{"POST", "/api/v1/conversations/" + convID + "/messages", admin, [][2]string{{"type", q("template")},
			{"template", `{"name": "hello", "language": {"code": "pt_BR"}}`}, {"idempotency_key", q("fuzz-5")}}, false},
		{"PATCH", "/api/v1/conversations/" + convID, admin, [][2]string{{"status", q("in_progress")}, {"assignee_id", q(userID)},
			{"team_id", q(teamID)}, {"label_ids", `["` + labelID + `"]`}}, false},
		{"POST", "/api/v1/contacts", admin, [][2]string{{"name", q("Zé")}, {"phone", q("+5511911114444")}, {"email", q("ze@fuzz.test")},
			{"custom_fields", `{"cidade": "Recife", "idade": 41}`}, {"label_ids", `["` + labelID + `"]`}, {"blocked", "false"}}, false},
		{"PATCH", "/api/v1/contacts/" + contactID, admin, [][2]string{{"name", q("Zé")}, {"phone", q("+5511911112222")},
			{"email", q("ze@fuzz.test")}, {"custom_fields", `{"vip": true}`}, {"label_ids", "[]"}, {"opted_out", "true"}}, false},
		{"POST", "/api/v1/labels", admin, [][2]string{{"name", q("Outra")}, {"color", q("#00a884")}}, false},
		{"PATCH", "/api/v1/labels/" + labelID, admin, [][2]string{{"name", q("Fuzz label")}, {"color", q("#64748b")}}, false},
		{"POST", "/api/v1/quick-replies", admin, [][2]string{{"shortcut", q("oi")}, {"title", q("Oi")}, {"text", q("Olá!")}, {"media_id", "null"}}, false},
		{"PATCH", "/api/v1/quick-replies/" + quickID, admin, [][2]string{{"shortcut", q("fuzz")}, {"title", q("Fuzz")}, {"text", q("Olá")},
			{"media_id", "null"}}, false},
		{"POST", "/api/v1/teams", admin, [][2]string{{"name", q("Vendas")}, {"description", q("time")}, {"member_ids", `["` + userID + `"]`}}, false},
		{"PATCH", "/api/v1/teams/" + teamID, admin, [][2]string{{"name", q("Fuzz team")}, {"description", q("d")}, {"member_ids", "[]"}}, false},
		{"POST", "/api/v1/users", admin, [][2]string{{"name", q("Bia")}, {"email", q("bia@fuzz.test")}, {"password", q(testPassword)},
			{"role", q("SUPERVISOR")}, {"team_ids", `["` + teamID + `"]`}}, false},
		{"PATCH", "/api/v1/users/" + userID, admin, [][2]string{{"name", q("Fuzz Agent")}, {"email", q("agent@fuzz.test")},
			{"password", q(testPassword)}, {"role", q("AGENT")}, {"active", "true"}, {"team_ids", "[]"}}, false},
		{"POST", "/api/v1/connections", admin, [][2]string{{"name", q("Outra")}, {"channel", q("whatsapp")}, {"provider", q("meta")},
			{"credentials", `{"access_token": "t", "app_secret": "s", "phone_number_id": "1", "waba_id": "2"}`},
			{"settings", `{"api_version": "v21.0", "timeout_seconds": 5}`}}, false},
		{"PATCH", "/api/v1/connections/" + connID, admin, [][2]string{{"name", q("Fuzz sandbox")}, {"credentials", "{}"},
			{"settings", `{"sandbox_status_delays_ms": [10, 20]}`}}, false},
		{"POST", "/api/v1/admin/plans", owner, [][2]string{{"name", q("Outro")}, {"monthly_price", q("99.90")},
			{"limits", `{"users": 5, "connections": 2, "contacts": 10, "monthly_conversations": 10, "monthly_campaigns": 1}`},
			{"features", `{"chatbot": true}`}}, false},
		{"PATCH", "/api/v1/admin/plans/" + planID, owner, [][2]string{{"name", q("Fuzz plan")}, {"monthly_price", "12.5"},
			{"limits", `{"users": 6}`}}, false},
		{"POST", "/api/v1/admin/tenants", owner, [][2]string{{"name", q("Outra Co")}, {"email", q("o@outra.test")}, {"plan_id", q(planID)},
			{"admin", `{"name": "A", "email": "a@outra.test", "password": "` + testPassword + `"}`}}, false},
		{"PATCH", "/api/v1/admin/tenants/" + tenantID, owner, [][2]string{{"name", q("Fuzz Co")}, {"document", q("12.345.678/0001-90")},
			{"plan_id", q(planID)}}, false},
		{"POST", "/api/v1/admin/tenants/" + tenantID + "/licenses", owner, [][2]string{{"server_ip", q("10.0.0.1")},
			{"hostname", q("crm")}, {"expires_at", q("2099-01-01T00:00:00Z")}}, false},
		{"POST", "/api/v1/bot-flows/import", admin, botFlowFuzzFields(f, "Fuzz import"), false},
		{"PATCH", "/api/v1/bot-flows/" + flowID, admin, botFlowFuzzFields(f, "Fuzz flow"), false},
		{"POST", "/api/v1/campaigns", admin, [][2]string{{"name", q("Promo")}, {"connection_id", q(connID)},
			{"message", `{"type": "template", "template": {"name": "promo", "language": {"code": "pt_BR"}}}`},
			{"audience", `{"label_ids": ["` + labelID + `"], "custom_fields": {"cidade": "Recife"}, "created_after": "2024-01-01T00:00:00Z"}`},
			{"scheduled_at", "null"}, {"rate_per_minute", "20"}, {"jitter_pct", "10"},
			{"quiet_hours", `{"from": "21:00", "to": "08:00", "timezone": "America/Sao_Paulo"}`}}, false},
		{"PATCH", "/api/v1/campaigns/" + campaignID, admin, [][2]string{{"name", q("Fuzz campaign")}, {"rate_per_minute", "60"},
			{"audience", `{"exclude_label_ids": ["` + labelID + `"], "last_inbound_after": "2024-01-01T00:00:00Z"}`},
			{"quiet_hours", "null"}}, false},
		{"POST", "/api/v1/campaigns/audience-preview", admin, [][2]string{{"connection_id", q(connID)},
			{"audience", `{"label_ids": ["` + labelID + `"], "contact_ids": ["` + contactID + `"]}`}}, false},
		{"GET", "/api/v1/campaigns/" + campaignID + "/recipients", admin, [][2]string{{"status", "sent"}, {"cursor", ""}, {"limit", "10"}}, true},
		{"GET", "/api/v1/campaigns", admin, [][2]string{{"status", "draft"}, {"cursor", ""}, {"limit", "10"}}, true},
		{"GET", "/api/v1/conversations", admin, [][2]string{{"q", "Fuzz"}, {"status", "open"}, {"assignee_id", "me"},
			{"label_id", labelID}, {"cursor", ""}, {"limit", "10"}}, true},
		{"GET", "/api/v1/conversations/" + convID + "/messages", admin, [][2]string{{"cursor", ""}, {"limit", "10"}}, true},
		{"GET", "/api/v1/contacts", admin, [][2]string{{"q", "Zé"}, {"label_id", labelID}, {"cursor", ""}, {"limit", "5"}}, true},
		{"GET", "/api/v1/users", admin, [][2]string{{"q", "a"}, {"role", "AGENT"}, {"active", "true"}, {"team_id", teamID}}, true},
		{"GET", "/api/v1/audit-log", admin, [][2]string{{"entity", "label"}, {"since", "2024-01-01T00:00:00Z"}, {"cursor", ""}}, true},
		{"GET", "/api/v1/admin/tenants", owner, [][2]string{{"q", "Fuzz"}, {"status", "active"}, {"cursor", ""}}, true},
		{"GET", "/api/v1/admin/metrics", owner, [][2]string{{"days", "30"}}, true},
		{"POST", "/api/v1/api-tokens", admin, [][2]string{{"name", q("Fuzz token")}, {"scope", q("write")}}, false},
		{"GET", "/api/v1/api-tokens", admin, [][2]string{{"cursor", ""}, {"limit", "10"}}, true},
		{"PUT", "/api/v1/tenant/service-settings", admin, [][2]string{
			{"business_hours", `{"timezone": "America/Sao_Paulo", "days": {"mon": [["08:00", "12:00"], ["13:00", "18:00"]]}, "holidays": [{"date": "12-25", "name": "Natal"}]}`},
			{"outside_hours_reply", `{"enabled": true, "text": "Fechados"}`}, {"auto_close", `{"idle_hours": 24, "message": "Tchau"}`}}, false},
		{"PATCH", "/api/v1/teams/" + teamID, admin, [][2]string{{"auto_assign", q("round_robin")}, {"max_open_per_agent", "5"},
			{"sla_first_response_minutes", "30"}, {"business_hours", `{"timezone": "America/Sao_Paulo", "days": {"sat": [["09:00", "13:00"]]}}`}}, false},
		{"PUT", "/api/v1/connections/" + connID + "/default-team", admin, [][2]string{{"team_id", q(teamID)}}, false},
		{"PUT", "/api/v1/auth/me/availability", admin, [][2]string{{"availability", q("away")}}, false},
		{"PATCH", "/api/v1/conversations/" + convID, admin, [][2]string{{"team_id", q(teamID)}, {"note", q("transferido")}}, false},
		{"GET", "/api/v1/queues", admin, [][2]string{{"per_team", "10"}}, true},
		{"POST", "/api/v1/appointments", admin, [][2]string{{"title", q("Consulta")}, {"starts_at", q("2030-01-02T13:00:00Z")},
			{"duration_min", "45"}, {"contact_id", q(contactID)}, {"connection_id", q(connID)}, {"assignee_id", "null"}, {"status", q("scheduled")},
			{"reminders", `[]`}, {"reminder_template", `{"name": "lembrete", "language": {"code": "pt_BR"}}`}}, false},
		{"GET", "/api/v1/appointments", admin, [][2]string{{"from", "2030-01-01T00:00:00Z"}, {"to", "2030-02-01T00:00:00Z"},
			{"assignee_id", "me"}, {"contact_id", contactID}}, true},
		{"POST", "/api/v1/boards", admin, [][2]string{{"name", q("Vendas")}, {"description", q("funil")},
			{"columns", `[{"name": "Novo", "color": "#64748b", "kind": "open"}, {"name": "Ganho", "kind": "won"}]`}}, false},
		{"POST", "/api/v1/cards", admin, [][2]string{{"board_id", q(boardID)}, {"title", q("Proposta")}, {"value", q("1234.50")},
			{"due_at", q("2027-01-01T12:00:00Z")}, {"contact_id", q(contactID)}, {"label_ids", `["` + labelID + `"]`}}, false},
		{"PATCH", "/api/v1/cards/" + cardID, admin, [][2]string{{"title", q("Proposta")}, {"value", q("99.90")}, {"due_at", "null"},
			{"assignee_id", "null"}, {"column_id", q(columnID)}, {"after_id", "null"}}, false},
		{"GET", "/api/v1/boards/" + boardID, admin, [][2]string{{"assignee_id", "none"}, {"label_id", labelID},
			{"due_before", "2030-01-01T00:00:00Z"}}, true},
		{"POST", "/api/v1/webhook-subscriptions", admin, [][2]string{{"url", q("https://hooks.example.com/x")},
			{"events", `["message.created", "contact.created"]`}, {"secret", q("fuzz-secret-0123456789")}}, false},
		{"PATCH", "/api/v1/webhook-subscriptions/" + hookID, admin, [][2]string{{"url", q("https://hooks.example.com/fuzz")},
			{"events", `["*"]`}, {"secret", q("fuzz-secret-0123456789")}, {"enabled", "true"}}, false},
		{"GET", "/api/v1/webhook-subscriptions/" + hookID + "/deliveries", admin, [][2]string{{"cursor", ""}, {"limit", "10"}}, true},
		{"GET", "/api/v1/webhook-subscriptions", admin, [][2]string{{"cursor", ""}, {"limit", "10"}}, true},
		{"POST", "/api/v1/auth/password/forgot", "", [][2]string{{"email", q("agent@fuzz.test")}}, false},
		{"POST", "/api/v1/auth/password/reset", "", [][2]string{{"token", q("p.not-a-real-token-but-long-enough-to-be-parsed-as-one")},
			{"password", q(testPassword)}}, false},
		{"POST", "/api/v1/auth/me/password", admin, [][2]string{{"current_password", q(testPassword)}, {"new_password", q(testPassword)}}, false},
	}

	// Each route's own body is valid (or fails only where this server
	// cannot go further), so a changed field is checked deep in its handler.
	unreachable := map[string]int{"/api/v1/auth/refresh": http.StatusUnauthorized, "/api/v1/auth/password/reset": http.StatusBadRequest,
		"/api/v1/admin/tenants/" + tenantID + "/licenses": http.StatusUnprocessableEntity}
	for _, route := range routes {
		req, err := route.request(env.ts.URL, -1, nil)
		require.NoError(f, err)
		if route.token != "" {
			req.Header.Set("Authorization", "Bearer "+route.token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(f, err)
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if want, ok := unreachable[route.path]; ok {
			require.Equal(f, want, res.StatusCode, "%s %s: %s", route.method, route.path, answer)
		} else {
			require.Less(f, res.StatusCode, 300, "%s %s: %s", route.method, route.path, answer)
		}
	}

	for r, route := range routes {
		for i := 0; i <= len(route.fields); i++ {
			for _, v := range fuzzValues {
				f.Add(uint8(r), uint8(i), []byte(v))
			}
		}
	}
	f.Fuzz(func(t *testing.T, r, i uint8, value []byte) {
		route := routes[int(r)%len(routes)]
		index := int(i) % (len(route.fields) + 1)
		req, err := route.request(env.ts.URL, index, value)
		if err != nil {
			return // not even a request (a query string net/http refuses)
		}
		if route.token != "" {
			req.Header.Set("Authorization", "Bearer "+route.token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		answer, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s (field %d = %.200q) answered %d: %s", route.method, route.path, index, value, res.StatusCode, answer)
		}
	})
}

// botFlowFuzzFields is a valid flow body as fuzz fields: the fuzzer
// replaces the trigger, the node list or the edge list whole.
func botFlowFuzzFields(f *testing.F, name string) [][2]string {
	body := menuFlowBody(name, "Olá {{contact.name}}")
	var out [][2]string
	for _, k := range []string{"name", "description", "trigger", "nodes", "edges"} {
		raw, err := json.Marshal(body[k])
		require.NoError(f, err)
		out = append(out, [2]string{k, string(raw)})
	}
	return out
}
