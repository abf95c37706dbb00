package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// node builds a node with its config written as a Go value.
func node(id string, typ NodeType, config any) Node {
	raw, err := json.Marshal(config)
	if err != nil {
		panic(err)
	}
	return Node{ID: id, Type: typ, Config: raw}
}

func edge(from, handle, to string) Edge { return Edge{From: from, To: to, Handle: handle} }

func mustCompile(t *testing.T, f Flow) *Compiled {
	t.Helper()
	c, err := Compile(f, 7)
	require.NoError(t, err, "%v", Validate(f))
	return c
}

var labelA = uuid.MustParse("0190a0a0-0000-7000-8000-00000000000a")

// menuFlow: greet, ask a menu question, branch by option, hand off or end.
func menuFlow() Flow {
	return Flow{
		Trigger: Trigger{On: TriggerFirstMessage},
		Nodes: []Node{
			node("start", NodeStart, map[string]any{}),
			node("hello", NodeMessage, map[string]any{"text": "Olá {{contact.name}}!"}),
			node("menu", NodeQuestion, map[string]any{"text": "Escolha:", "answer_type": "option", "retries": 1,
				"buttons":  []map[string]any{{"id": "sales", "title": "Vendas"}, {"id": "support", "title": "Suporte"}},
				"keywords": map[string]any{"sales": []string{"comprar"}}, "variable": "choice", "timeout_s": 60}),
			node("to_sales", NodeHandoff, map[string]any{"team_id": labelA, "message": "Um vendedor vai te atender ({{var.choice}})."}),
			node("bye", NodeEnd, map[string]any{"resolve": true, "message": "Tchau"}),
			node("lost", NodeEnd, map[string]any{}),
		},
		Edges: []Edge{
			edge("start", "next", "hello"), edge("hello", "next", "menu"),
			edge("menu", "option:sales", "to_sales"), edge("menu", "next", "bye"),
			edge("menu", "invalid", "lost"), edge("menu", "timeout", "lost"),
		},
	}
}

func kinds(actions []Action) []ActionKind {
	out := make([]ActionKind, len(actions))
	for i, a := range actions {
		out[i] = a.Kind
	}
	return out
}

func TestMenuFlow(t *testing.T) {
	t.Parallel()
	c := mustCompile(t, menuFlow())
	env := Env{Contact: Contact{Name: "Maria"}, Channel: "whatsapp", Interactive: true}

	st, acts := Step(c, State{}, Input{Kind: InputStart}, env)
	require.Equal(t, []ActionKind{ActSendMessage, ActSendMessage, ActScheduleTimeout}, kinds(acts))
	require.Equal(t, "Olá Maria!", acts[0].Message.Text)
	require.Equal(t, []Button{{"sales", "Vendas"}, {"support", "Suporte"}}, acts[1].Message.Buttons)
	require.Equal(t, 60*time.Second, acts[2].After)
	require.Equal(t, WaitingQuestion, st.Waiting)
	require.Equal(t, "menu", st.Node)
	require.Equal(t, 7, st.Version)

	t.Run("a second start does not restart", func(t *testing.T) {
		again, acts := Step(c, st, Input{Kind: InputStart}, env)
		require.Empty(t, acts)
		require.Equal(t, st, again)
	})
	t.Run("button id takes its branch", func(t *testing.T) {
		next, acts := Step(c, st, Input{Kind: InputReply, ButtonID: "sales"}, env)
		require.Equal(t, []ActionKind{ActSendMessage, ActHandoff}, kinds(acts))
		require.Equal(t, "Um vendedor vai te atender (sales).", acts[0].Message.Text)
		require.Equal(t, labelA, *acts[1].TeamID)
		require.True(t, next.Done)
		require.Equal(t, "sales", next.Variables["choice"])
		require.Empty(t, st.Variables["choice"], "the input state is not changed")
	})
	for _, answer := range []string{"2", "suporte", "  SUPORTE! "} {
		t.Run("unconnected option falls back to next: "+answer, func(t *testing.T) {
			_, acts := Step(c, st, Input{Kind: InputReply, Text: answer}, env)
			require.Equal(t, []ActionKind{ActSendMessage, ActEnd}, kinds(acts))
			require.True(t, acts[1].Resolve)
		})
	}
	t.Run("keyword", func(t *testing.T) {
		_, acts := Step(c, st, Input{Kind: InputReply, Text: "Comprar"}, env)
		require.Equal(t, ActHandoff, acts[len(acts)-1].Kind)
	})
	t.Run("retries then invalid", func(t *testing.T) {
		s1, acts := Step(c, st, Input{Kind: InputReply, Text: "banana"}, env)
		require.Equal(t, []ActionKind{ActSendMessage, ActSendMessage}, kinds(acts))
		require.Equal(t, DefaultRetryMessage, acts[0].Message.Text)
		require.Equal(t, 1, s1.Retries)
		s2, acts := Step(c, s1, Input{Kind: InputReply, Text: "banana"}, env)
		require.Equal(t, []ActionKind{ActEnd}, kinds(acts))
		require.Equal(t, "lost", s2.Node)
		require.True(t, s2.Done)
	})
	t.Run("timeout of this wait only", func(t *testing.T) {
		_, acts := Step(c, st, Input{Kind: InputTimeout, WaitID: st.WaitID - 1}, env)
		require.Empty(t, acts, "a stale timer is ignored")
		s, acts := Step(c, st, Input{Kind: InputTimeout, WaitID: st.WaitID}, env)
		require.Equal(t, []ActionKind{ActEnd}, kinds(acts))
		require.Equal(t, "lost", s.Node)
	})
	t.Run("after the end nothing happens", func(t *testing.T) {
		done, _ := Step(c, st, Input{Kind: InputReply, Text: "2"}, env)
		again, acts := Step(c, done, Input{Kind: InputReply, Text: "2"}, env)
		require.Empty(t, acts)
		require.Equal(t, done, again)
	})
	t.Run("numbered text without interactive messages", func(t *testing.T) {
		_, acts := Step(c, State{}, Input{Kind: InputStart}, Env{Contact: Contact{Name: "Ana"}})
		require.Equal(t, "Escolha:\n\n1. Vendas\n2. Suporte", acts[1].Message.Text)
		require.Nil(t, acts[1].Message.Buttons)
	})
}

// linear builds start → the node → end, connecting the node's outputs to
// their own end nodes named after the handle.
func linear(n Node, handles ...string) Flow {
	f := Flow{Trigger: Trigger{On: TriggerAlways}, Nodes: []Node{node("start", NodeStart, nil), n},
		Edges: []Edge{edge("start", "next", n.ID)}}
	for _, h := range handles {
		end := "end_" + strings.ReplaceAll(h, ":", "_")
		f.Nodes = append(f.Nodes, node(end, NodeEnd, map[string]any{"message": h}))
		f.Edges = append(f.Edges, edge(n.ID, h, end))
	}
	return f
}

// branch is the message of the end node reached.
func branch(acts []Action) string {
	for i := len(acts) - 1; i >= 0; i-- {
		if acts[i].Kind == ActSendMessage {
			return acts[i].Message.Text
		}
	}
	return ""
}

func TestQuestionAnswerTypes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		answerType, contactField, reply string
		valid                           bool
		saved                           string
	}{
		{"text", "", "  qualquer coisa ", true, "qualquer coisa"},
		{"number", "", "1.234,56", true, "1234.56"},
		{"number", "", "12,5", true, "12.5"},
		{"number", "", "doze", false, ""},
		{"number", "", "NaN", false, ""},
		{"email", "email", "Ana@Example.com", true, "ana@example.com"},
		{"email", "", "ana@", false, ""},
		{"email", "", "Ana <ana@example.com>", false, ""},
		{"phone", "phone", "(11) 98765-4321", true, "+5511987654321"},
		{"phone", "", "(20) 98765-4321", false, ""},
		{"date", "", "5/3/2024", true, "05/03/2024"},
		{"date", "", "31/02/2024", false, ""},
		{"date", "", "2024-03-05", false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.answerType+" "+tc.reply, func(t *testing.T) {
			q := map[string]any{"text": "?", "answer_type": tc.answerType, "variable": "answer"}
			if tc.contactField != "" {
				q["contact_field"] = tc.contactField
			}
			c := mustCompile(t, linear(node("q", NodeQuestion, q), "next", "invalid"))
			st, acts := Step(c, State{}, Input{Kind: InputStart}, Env{})
			require.Equal(t, []ActionKind{ActSendMessage}, kinds(acts), "no timeout_s, no timer")
			st, acts = Step(c, st, Input{Kind: InputReply, Text: tc.reply}, Env{})
			if !tc.valid {
				require.Equal(t, "invalid", branch(acts), "retries 0: straight to invalid")
				require.Empty(t, st.Variables["answer"])
				return
			}
			require.Equal(t, "next", branch(acts))
			require.Equal(t, tc.saved, st.Variables["answer"])
			if tc.contactField != "" {
				require.Equal(t, Action{Kind: ActSetContactField, NodeID: "q", Field: tc.contactField, Value: tc.saved}, acts[0])
			}
		})
	}
}

func TestConditionRules(t *testing.T) {
	t.Parallel()
	env := Env{Channel: "instagram", InHours: true, Contact: Contact{Name: "José", Email: "j@x.com",
		Fields: map[string]string{"city": "São Paulo"}, Labels: []uuid.UUID{labelA}}}
	cases := []struct {
		match string
		rules []Rule
		want  bool
	}{
		{"all", []Rule{{Source: "variable", Key: "age", Op: "gte", Value: "18"}}, true},
		{"all", []Rule{{Source: "variable", Key: "age", Op: "lt", Value: "18"}}, false},
		{"all", []Rule{{Source: "variable", Key: "missing", Op: "is_not_set"}}, true},
		{"all", []Rule{{Source: "variable", Key: "age", Op: "is_set"}}, true},
		{"all", []Rule{{Source: "contact_field", Key: "name", Op: "eq", Value: "jose"}}, true},
		{"all", []Rule{{Source: "contact_field", Key: "custom.city", Op: "contains", Value: "paulo"}}, true},
		{"all", []Rule{{Source: "contact_field", Key: "email", Op: "starts_with", Value: "x"}}, false},
		{"all", []Rule{{Source: "label", Op: "has", Value: labelA.String()}}, true},
		{"all", []Rule{{Source: "label", Op: "has_not", Value: labelA.String()}}, false},
		{"all", []Rule{{Source: "channel", Op: "eq", Value: "instagram"}}, true},
		{"all", []Rule{{Source: "channel", Op: "neq", Value: "instagram"}}, false},
		{"all", []Rule{{Source: "business_hours", Op: "in"}}, true},
		{"all", []Rule{{Source: "business_hours", Op: "out"}}, false},
		{"all", []Rule{{Source: "business_hours", Op: "in"}, {Source: "channel", Op: "eq", Value: "whatsapp"}}, false},
		{"any", []Rule{{Source: "business_hours", Op: "out"}, {Source: "channel", Op: "eq", Value: "instagram"}}, true},
		{"any", []Rule{{Source: "business_hours", Op: "out"}, {Source: "channel", Op: "eq", Value: "whatsapp"}}, false},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			// A question saves the variable the rules read.
			f := linear(node("c", NodeCondition, ConditionConfig{Match: tc.match, Rules: tc.rules}), "true", "false")
			f.Nodes = append(f.Nodes, node("q", NodeQuestion, map[string]any{"text": "Idade?", "answer_type": "number", "variable": "age"}))
			f.Edges[0] = edge("start", "next", "q")
			f.Edges = append(f.Edges, edge("q", "next", "c"), edge("q", "invalid", "end_false"))
			c := mustCompile(t, f)
			st, _ := Step(c, State{}, Input{Kind: InputStart}, env)
			_, acts := Step(c, st, Input{Kind: InputReply, Text: "21"}, env)
			require.Equal(t, fmt.Sprint(tc.want), branch(acts))
		})
	}
}

func TestDelayWebhookLabelNodes(t *testing.T) {
	t.Parallel()
	t.Run("delay", func(t *testing.T) {
		c := mustCompile(t, linear(node("d", NodeDelay, map[string]any{"duration_s": 90}), "next"))
		st, acts := Step(c, State{}, Input{Kind: InputStart}, Env{})
		require.Equal(t, []Action{{Kind: ActScheduleDelay, NodeID: "d", After: 90 * time.Second, WaitID: 1}}, acts)
		require.Equal(t, WaitingDelay, st.Waiting)
		_, acts = Step(c, st, Input{Kind: InputReply, Text: "oi"}, Env{})
		require.Empty(t, acts, "a message during a delay does not end it")
		_, acts = Step(c, st, Input{Kind: InputDelay, WaitID: 99}, Env{})
		require.Empty(t, acts)
		_, acts = Step(c, st, Input{Kind: InputDelay, WaitID: 1}, Env{})
		require.Equal(t, "next", branch(acts))
	})
	t.Run("webhook", func(t *testing.T) {
		c := mustCompile(t, linear(node("w", NodeWebhook, map[string]any{
			"method": "POST", "url": "https://api.example.com/orders/{{contact.order}}?q={{contact.name}}",
			"headers": map[string]string{"X-Name": "{{contact.name}}"}, "body": `{"name": "{{contact.name}}"}`,
			"save": []map[string]string{{"variable": "status", "path": "data.items[1].status"}, {"variable": "n", "path": "count"}},
		}), "ok", "error"))
		env := Env{Contact: Contact{Name: `Ana "A" & B`, Fields: map[string]string{"order": "a/b"}}}
		st, acts := Step(c, State{}, Input{Kind: InputStart}, env)
		require.Len(t, acts, 1)
		req := acts[0].Request
		require.Equal(t, "https://api.example.com/orders/a%2Fb?q=Ana+%22A%22+%26+B", req.URL)
		require.Equal(t, `{"name": "Ana \"A\" & B"}`, req.Body)
		require.JSONEq(t, `{"name": "Ana \"A\" & B"}`, req.Body)
		require.Equal(t, `Ana "A" & B`, req.Headers["X-Name"])
		require.Equal(t, 10*time.Second, req.Timeout)
		ok, acts := Step(c, st, Input{Kind: InputWebhook, WaitID: st.WaitID, Status: 200,
			Body: []byte(`{"data": {"items": [{}, {"status": "paid"}]}, "count": 3}`)}, env)
		require.Equal(t, "ok", branch(acts))
		require.Equal(t, "paid", ok.Variables["status"])
		require.Equal(t, "3", ok.Variables["n"])
		_, acts = Step(c, st, Input{Kind: InputWebhook, WaitID: st.WaitID, Status: 500}, env)
		require.Equal(t, "error", branch(acts))
		_, acts = Step(c, st, Input{Kind: InputWebhook, WaitID: st.WaitID, Status: 0}, env)
		require.Equal(t, "error", branch(acts), "a failed call")
		_, acts = Step(c, st, Input{Kind: InputWebhook, WaitID: st.WaitID, Status: 200, Body: []byte("<html>")}, env)
		require.Equal(t, "error", branch(acts), "an answer that is not JSON")
	})
	t.Run("labels then condition sees them", func(t *testing.T) {
		f := linear(node("c", NodeCondition, ConditionConfig{Rules: []Rule{{Source: "label", Op: "has", Value: labelA.String()}}}), "true", "false")
		f.Nodes = append(f.Nodes, node("l", NodeAddLabel, map[string]any{"label_ids": []uuid.UUID{labelA}}))
		f.Edges[0] = edge("start", "next", "l")
		f.Edges = append(f.Edges, edge("l", "next", "c"))
		c := mustCompile(t, f)
		_, acts := Step(c, State{}, Input{Kind: InputStart}, Env{})
		require.Equal(t, Action{Kind: ActAddLabel, NodeID: "l", LabelID: labelA}, acts[0])
		require.Equal(t, "true", branch(acts))

		f.Nodes[len(f.Nodes)-1] = node("l", NodeAddLabel, map[string]any{"action": "remove", "label_ids": []uuid.UUID{labelA}})
		c = mustCompile(t, f)
		_, acts = Step(c, State{}, Input{Kind: InputStart}, Env{Contact: Contact{Labels: []uuid.UUID{labelA}}})
		require.Equal(t, ActRemoveLabel, acts[0].Kind)
		require.Equal(t, "false", branch(acts))
	})
	t.Run("list message", func(t *testing.T) {
		c := mustCompile(t, linear(node("m", NodeMessage, map[string]any{"text": "Menu", "list": map[string]any{
			"button": "Ver", "sections": []map[string]any{{"title": "A", "rows": []map[string]any{{"id": "r1", "title": "Um"}, {"id": "r2", "title": "Dois"}}}}}}), "next"))
		_, acts := Step(c, State{}, Input{Kind: InputStart}, Env{Interactive: true})
		require.Equal(t, "Ver", acts[0].Message.List.Button)
		require.Len(t, acts[0].Message.List.Sections[0].Rows, 2)
		_, acts = Step(c, State{}, Input{Kind: InputStart}, Env{})
		require.Equal(t, "Menu\n\n1. Um\n2. Dois", acts[0].Message.Text)
	})
}

func TestLoopIsCut(t *testing.T) {
	t.Parallel()
	f := Flow{Trigger: Trigger{On: TriggerAlways}, Nodes: []Node{
		node("start", NodeStart, nil),
		node("a", NodeMessage, map[string]any{"text": "a"}),
		node("b", NodeMessage, map[string]any{"text": "b"}),
	}, Edges: []Edge{edge("start", "next", "a"), edge("a", "next", "b"), edge("b", "next", "a")}}
	c := mustCompile(t, f)
	st, acts := Step(c, State{}, Input{Kind: InputStart}, Env{MaxSteps: 10})
	require.Len(t, acts, 10, "9 messages and the error: the start node counts as a step")
	require.Equal(t, ActError, acts[9].Kind)
	require.Equal(t, "step_limit", acts[9].Code)
	require.True(t, st.Done)
	_, acts = Step(c, State{}, Input{Kind: InputStart}, Env{})
	require.Len(t, acts, DefaultMaxStep)
}

func TestMatches(t *testing.T) {
	t.Parallel()
	conn, other := uuid.New(), uuid.New()
	cases := []struct {
		trigger Trigger
		event   Event
		want    bool
	}{
		{Trigger{On: "always"}, Event{}, true},
		{Trigger{On: "first_message"}, Event{FirstMessage: true}, true},
		{Trigger{On: "first_message"}, Event{}, false},
		{Trigger{On: "outside_hours"}, Event{InHours: false}, true},
		{Trigger{On: "outside_hours"}, Event{InHours: true}, false},
		{Trigger{On: "keyword", Keywords: []string{"comprar"}}, Event{Text: "Quero COMPRAR, por favor"}, true},
		{Trigger{On: "keyword", Keywords: []string{"preço"}}, Event{Text: "qual o PRECO?"}, true},
		{Trigger{On: "keyword", Keywords: []string{"oi"}}, Event{Text: "oito"}, false},
		{Trigger{On: "keyword", Keywords: []string{"segunda via"}}, Event{Text: "quero a segunda via"}, true},
		{Trigger{On: "always", ConnectionIDs: []uuid.UUID{conn}}, Event{ConnectionID: conn}, true},
		{Trigger{On: "always", ConnectionIDs: []uuid.UUID{conn}}, Event{ConnectionID: other}, false},
		{Trigger{On: "nonsense"}, Event{}, false},
	}
	for i, tc := range cases {
		require.Equal(t, tc.want, Matches(tc.trigger, tc.event), "case %d: %+v", i, tc)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	base := menuFlow
	cases := []struct {
		name   string
		mutate func(f *Flow)
		fields []string // the problems expected, exactly
	}{
		{"valid", func(*Flow) {}, nil},
		{"no start", func(f *Flow) { f.Nodes = f.Nodes[1:]; f.Edges = f.Edges[1:] },
			[]string{"nodes"}},
		{"two starts", func(f *Flow) { f.Nodes = append(f.Nodes, node("s2", NodeStart, nil)) },
			[]string{"nodes[6].type", "nodes[6].handles.next", "nodes[6]"}},
		{"dangling edge", func(f *Flow) { f.Edges = append(f.Edges, edge("hello", "next", "nowhere")) }, []string{"edges[6].to"}},
		{"unknown source", func(f *Flow) { f.Edges = append(f.Edges, edge("ghost", "next", "hello")) }, []string{"edges[6].from"}},
		{"missing handle", func(f *Flow) { f.Edges = f.Edges[:4] }, []string{"nodes[2].handles.invalid", "nodes[2].handles.timeout", "nodes[5]"}},
		{"wrong handle", func(f *Flow) { f.Edges = append(f.Edges, edge("hello", "true", "bye")) }, []string{"edges[6].handle"}},
		{"unknown option handle", func(f *Flow) { f.Edges = append(f.Edges, edge("menu", "option:nope", "bye")) }, []string{"edges[6].handle"}},
		{"doubled handle", func(f *Flow) { f.Edges = append(f.Edges, edge("hello", "next", "bye")) }, []string{"edges[6].handle"}},
		{"back to start", func(f *Flow) { f.Edges[3] = edge("menu", "next", "start") }, []string{"edges[3].to", "nodes[2].handles.next", "nodes[4]"}},
		{"unreachable", func(f *Flow) { f.Nodes = append(f.Nodes, node("island", NodeEnd, nil)) }, []string{"nodes[6]"}},
		{"repeated id", func(f *Flow) { f.Nodes[5].ID = "bye" },
			[]string{"nodes[5].id", "edges[4].to", "edges[5].to", "nodes[2].handles.invalid", "nodes[2].handles.timeout"}},
		{"bad id", func(f *Flow) { f.Nodes[5].ID = "a b" },
			[]string{"nodes[5].id", "edges[4].to", "edges[5].to", "nodes[2].handles.invalid", "nodes[2].handles.timeout"}},
		{"unknown type", func(f *Flow) { f.Nodes[5].Type = "goto" }, []string{"nodes[5].type"}},
		{"four buttons", func(f *Flow) {
			f.Nodes[2] = node("menu", NodeQuestion, map[string]any{"text": "?", "answer_type": "option", "buttons": []Button{{"a", "A"}, {"b", "B"}, {"c", "C"}, {"d", "D"}}})
			f.Edges = f.Edges[:2]
			f.Edges = append(f.Edges, edge("menu", "next", "bye"), edge("menu", "invalid", "lost"), edge("menu", "option:a", "to_sales"))
		}, []string{"nodes[2].config.buttons"}},
		{"button title too long", func(f *Flow) {
			f.Nodes[1] = node("hello", NodeMessage, map[string]any{"text": "x", "buttons": []Button{{"a", strings.Repeat("x", 21)}}})
		}, []string{"nodes[1].config.buttons[0].title"}},
		{"buttons and list", func(f *Flow) {
			f.Nodes[1] = node("hello", NodeMessage, map[string]any{"text": "x", "buttons": []Button{{"a", "A"}},
				"list": map[string]any{"button": "B", "sections": []map[string]any{{"rows": []map[string]any{{"id": "r", "title": "R"}}}}}})
		}, []string{"nodes[1].config.list"}},
		{"eleven list rows", func(f *Flow) {
			rows := []map[string]any{}
			for i := range 11 {
				rows = append(rows, map[string]any{"id": fmt.Sprint(i), "title": "R"})
			}
			f.Nodes[1] = node("hello", NodeMessage, map[string]any{"text": "x", "list": map[string]any{"button": "B", "sections": []map[string]any{{"rows": rows}}}})
		}, []string{"nodes[1].config.list.sections"}},
		{"bad variable", func(f *Flow) {
			f.Nodes[1] = node("hello", NodeMessage, map[string]any{"text": "Olá {{var.1x}}"})
		}, []string{"nodes[1].config.text"}},
		{"unclosed template", func(f *Flow) { f.Nodes[1] = node("hello", NodeMessage, map[string]any{"text": "Olá {{contact.name"}) },
			[]string{"nodes[1].config.text"}},
		{"unknown config field", func(f *Flow) { f.Nodes[1] = node("hello", NodeMessage, map[string]any{"txt": "x"}) },
			[]string{"nodes[1].config"}},
		{"question saves to a bad variable", func(f *Flow) {
			var q QuestionConfig
			require.NoError(t, json.Unmarshal(f.Nodes[2].Config, &q))
			q.Variable = "my var"
			f.Nodes[2] = node("menu", NodeQuestion, q)
		}, []string{"nodes[2].config.variable"}},
		{"email field needs an email answer", func(f *Flow) {
			f.Nodes = append(f.Nodes, node("q2", NodeQuestion, map[string]any{"text": "?", "contact_field": "email"}))
			f.Edges[1] = edge("hello", "next", "q2")
			f.Edges = append(f.Edges, edge("q2", "next", "menu"))
		}, []string{"nodes[6].config.contact_field"}},
		{"webhook host from a variable", func(f *Flow) {
			f.Nodes[1] = node("hello", NodeWebhook, map[string]any{"url": "https://{{var.host}}/x"})
			f.Edges[1] = edge("hello", "ok", "menu")
			f.Edges = append(f.Edges, edge("hello", "error", "lost"))
		}, []string{"nodes[1].config.url"}},
		{"webhook ftp", func(f *Flow) {
			f.Nodes[1] = node("hello", NodeWebhook, map[string]any{"url": "ftp://x/y"})
			f.Edges[1] = edge("hello", "ok", "menu")
			f.Edges = append(f.Edges, edge("hello", "error", "lost"))
		}, []string{"nodes[1].config.url"}},
		{"webhook path", func(f *Flow) {
			f.Nodes[1] = node("hello", NodeWebhook, map[string]any{"url": "https://x/y", "save": []Extract{{Variable: "v", Path: "a..b"}}})
			f.Edges[1] = edge("hello", "ok", "menu")
			f.Edges = append(f.Edges, edge("hello", "error", "lost"))
		}, []string{"nodes[1].config.save[0].path"}},
		{"delay zero", func(f *Flow) { f.Nodes[1] = node("hello", NodeDelay, map[string]any{}) }, []string{"nodes[1].config.duration_s"}},
		{"condition rule", func(f *Flow) {
			f.Nodes[1] = node("hello", NodeCondition, map[string]any{"rules": []Rule{{Source: "label", Op: "has", Value: "x"}}})
			f.Edges[1] = edge("hello", "true", "menu")
		}, []string{"nodes[1].config.rules[0].value", "nodes[1].handles.false"}},
		{"label without labels", func(f *Flow) { f.Nodes[1] = node("hello", NodeAddLabel, map[string]any{"action": "toggle"}) },
			[]string{"nodes[1].config.action", "nodes[1].config.label_ids"}},
		{"keyword trigger without keywords", func(f *Flow) { f.Trigger = Trigger{On: "keyword"} }, []string{"trigger.keywords"}},
		{"bad trigger", func(f *Flow) { f.Trigger = Trigger{On: "sometimes"} }, []string{"trigger.on"}},
		{"handoff to both", func(f *Flow) {
			f.Nodes[3] = node("to_sales", NodeHandoff, map[string]any{"team_id": labelA, "agent_id": labelA})
		}, []string{"nodes[3].config.agent_id"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			tc.mutate(&f)
			got := Validate(f)
			keys := make([]string, 0, len(got))
			for k := range got {
				keys = append(keys, k)
			}
			want := tc.fields
			if want == nil {
				want = []string{}
			}
			require.ElementsMatch(t, want, keys, "%v", got)
		})
	}
}

func TestInvalidFlowErrorNamesNodes(t *testing.T) {
	t.Parallel()
	f := menuFlow()
	f.Nodes[1] = node("hello", NodeMessage, map[string]any{"text": ""})
	fields := Validate(f)
	err := InvalidFlowError(f, fields)
	require.ErrorContains(t, err, "flow_invalid")
	raw, jerr := json.Marshal(err)
	require.NoError(t, jerr)
	require.Contains(t, string(raw), `"node_errors":[{"node_id":"hello","index":1,"field":"config.text","message":"is required"}]`)
}

// FuzzFlowImport feeds flow JSON to the decoder and the validator: neither
// may panic, and a flow that validates must compile and run from its start
// without panicking either.
func FuzzFlowImport(f *testing.F) {
	good, err := json.Marshal(menuFlow())
	require.NoError(f, err)
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"nodes": [{"id": "s", "type": "start"}], "edges": [{"from": "s", "to": "s"}]}`))
	f.Add([]byte(`{"trigger": {"on": "keyword", "keywords": ["{{"]}, "nodes": [{"id": "s", "type": "question", "config": {"answer_type": "option"}}]}`))
	f.Add([]byte(`{"nodes": [{"id": "w", "type": "webhook", "config": {"url": "https://x/{{var.a}}?{{var.b", "save": [{"variable": "v", "path": "a[99999999999999999999]"}]}}]}`))
	f.Add([]byte(`{"nodes": null, "edges": [null]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		flow, err := DecodeFlow(raw)
		if err != nil {
			return
		}
		ValidateShape(flow)
		c, err := Compile(flow, 1)
		if err != nil {
			return
		}
		st, _ := Step(c, State{}, Input{Kind: InputStart}, Env{Contact: Contact{Name: "x"}})
		for _, in := range []Input{{Kind: InputReply, Text: "1"}, {Kind: InputTimeout, WaitID: st.WaitID},
			{Kind: InputDelay, WaitID: st.WaitID}, {Kind: InputWebhook, WaitID: st.WaitID, Status: 200, Body: []byte(`{"a":[1]}`)}} {
			Step(c, st, in, Env{})
		}
	})
}
