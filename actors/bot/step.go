package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Waiting says what a session waits for between inputs.
type Waiting string

const (
	WaitingNone     Waiting = ""
	WaitingQuestion Waiting = "question"
	WaitingDelay    Waiting = "delay"
	WaitingWebhook  Waiting = "webhook"
)

// State is one conversation's bot session: it is stored with the
// conversation, in the same transaction as the message it reacts to.
type State struct {
	Version   int               `json:"version"` // the flow version the session runs to its end
	Node      string            `json:"node"`    // the node it stands on
	Variables map[string]string `json:"variables"`
	Retries   int               `json:"retries"` // wrong answers to the current question
	Waiting   Waiting           `json:"waiting"`
	// WaitID numbers the waits; a timer or webhook answer carries the id
	// of the wait it ends, so a late or repeated one is ignored.
	WaitID int  `json:"wait_id"`
	Steps  int  `json:"steps"` // nodes run in the whole session
	Done   bool `json:"done"`
}

// Active reports whether the session runs (it has started and not ended).
func (s State) Active() bool { return s.Node != "" && !s.Done }

// InputKind names what moves a session.
type InputKind string

const (
	InputStart   InputKind = "start"   // the flow's trigger matched: begin
	InputReply   InputKind = "reply"   // the contact wrote or tapped a button
	InputTimeout InputKind = "timeout" // a question's answer time is over
	InputDelay   InputKind = "delay"   // a delay is over
	InputWebhook InputKind = "webhook" // a webhook call answered (or failed)
)

// Input is one event for the session.
type Input struct {
	Kind     InputKind
	Text     string // reply
	ButtonID string // reply: the id of the button or list row tapped
	WaitID   int    // timeout, delay, webhook: the wait it ends
	// Webhook: the answer's status (0 when the call failed) and body.
	Status int
	Body   []byte
}

// Contact is what a flow may read of the contact.
type Contact struct {
	Name   string
	Phone  string
	Email  string
	Fields map[string]string // custom fields
	Labels []uuid.UUID
}

// Env is the world as the grain sees it when it calls Step.
type Env struct {
	Contact     Contact
	Channel     string // whatsapp | instagram | messenger
	Interactive bool   // the channel and provider send reply buttons and lists
	InHours     bool   // within the business hours of the conversation's team (else the tenant's)
	MaxSteps    int    // nodes run per input without waiting; DefaultMaxStep when 0
}

// ActionKind names what the grain must do.
type ActionKind string

const (
	ActSendMessage     ActionKind = "send_message"
	ActSetContactField ActionKind = "set_contact_field"
	ActAddLabel        ActionKind = "add_label"
	ActRemoveLabel     ActionKind = "remove_label"
	ActScheduleDelay   ActionKind = "schedule_delay"
	ActScheduleTimeout ActionKind = "schedule_timeout"
	ActCallWebhook     ActionKind = "call_webhook"
	ActHandoff         ActionKind = "handoff"
	ActEnd             ActionKind = "end"
	ActError           ActionKind = "error"
)

// Outgoing is a message the bot sends. Without interactive support the
// buttons and list are folded into numbered text.
type Outgoing struct {
	Text    string   `json:"text"`
	Media   *Media   `json:"media,omitempty"`
	Buttons []Button `json:"buttons,omitempty"`
	List    *List    `json:"list,omitempty"`
}

// WebhookRequest is an HTTP call to make through the SSRF-safe client.
type WebhookRequest struct {
	Method  string
	URL     string
	Headers map[string]string
	Body    string
	Timeout time.Duration
}

// Action is one effect of a step, carried out by the grain in order.
type Action struct {
	Kind    ActionKind
	NodeID  string
	Message *Outgoing       // send_message
	Field   string          // set_contact_field: name | email | phone | custom.<key>
	Value   string          // set_contact_field
	LabelID uuid.UUID       // add_label, remove_label
	After   time.Duration   // schedule_delay, schedule_timeout
	WaitID  int             // schedule_*, call_webhook: what the answer must carry back
	Request *WebhookRequest // call_webhook
	TeamID  *uuid.UUID      // handoff
	AgentID *uuid.UUID      // handoff
	Resolve bool            // end
	Code    string          // error: step_limit, broken_flow
	Error   string          // error
}

// DefaultRetryMessage is said before asking again after a wrong answer.
const DefaultRetryMessage = "Não entendi sua resposta. Por favor, tente novamente."

// Step moves the session on one input and returns the new state and what
// to do. It is pure: the same state, input and env give the same result,
// so a grain that stores the state with the input's message never acts
// twice. An input the session does not wait for changes nothing.
func Step(f *Compiled, st State, in Input, env Env) (State, []Action) {
	r := &run{f: f, env: env, st: st}
	r.st.Variables = maps.Clone(st.Variables)
	if r.st.Variables == nil {
		r.st.Variables = map[string]string{}
	}
	r.env.Contact.Fields = maps.Clone(env.Contact.Fields)
	r.env.Contact.Labels = slices.Clone(env.Contact.Labels)
	if r.env.MaxSteps <= 0 {
		r.env.MaxSteps = DefaultMaxStep
	}

	if in.Kind == InputStart {
		if st.Active() {
			return st, nil // already in a flow: a trigger never restarts it
		}
		r.st = State{Version: f.Version, Variables: map[string]string{}, WaitID: st.WaitID}
		r.enter(f.Start)
		return r.st, r.actions
	}
	if !st.Active() {
		return st, nil
	}
	node, ok := f.nodes[st.Node]
	if !ok {
		r.fail("broken_flow", fmt.Sprintf("node %q is not in version %d", st.Node, f.Version))
		return r.st, r.actions
	}
	switch {
	case in.Kind == InputReply && st.Waiting == WaitingQuestion:
		r.answer(node, in)
	case in.Kind == InputTimeout && st.Waiting == WaitingQuestion && in.WaitID == st.WaitID:
		r.st.Waiting, r.st.Retries = WaitingNone, 0
		r.follow(node, HandleTimeout)
	case in.Kind == InputDelay && st.Waiting == WaitingDelay && in.WaitID == st.WaitID:
		r.st.Waiting = WaitingNone
		r.follow(node, HandleNext)
	case in.Kind == InputWebhook && st.Waiting == WaitingWebhook && in.WaitID == st.WaitID:
		r.st.Waiting = WaitingNone
		r.webhookAnswer(node, in)
	default:
		return st, nil
	}
	return r.st, r.actions
}

type run struct {
	f       *Compiled
	env     Env
	st      State
	actions []Action
	steps   int // nodes entered for this input
}

func (r *run) emit(a Action) { r.actions = append(r.actions, a) }

func (r *run) fail(code, msg string) {
	r.emit(Action{Kind: ActError, NodeID: r.st.Node, Code: code, Error: msg})
	r.st.Done, r.st.Waiting = true, WaitingNone
}

func (r *run) lookup(scope, name string) string {
	if scope == "var" {
		return r.st.Variables[name]
	}
	switch name {
	case "name":
		return r.env.Contact.Name
	case "phone":
		return r.env.Contact.Phone
	case "email":
		return r.env.Contact.Email
	}
	return r.env.Contact.Fields[name]
}

func (r *run) text(s string) string { return render(s, r.lookup, nil) }

// follow leaves node by the handle; an option handle not connected falls
// back to next.
func (r *run) follow(n *compiled, handle string) {
	to, ok := n.next[handle]
	if !ok && strings.HasPrefix(handle, HandleOptionPrefix) {
		to, ok = n.next[HandleNext]
	}
	if !ok {
		r.fail("broken_flow", fmt.Sprintf("output %q of node %q leads nowhere", handle, n.ID))
		return
	}
	r.enter(to)
}

// enter runs nodes from id until one waits or ends the flow, cutting a
// loop that never waits after env.MaxSteps nodes.
func (r *run) enter(id string) {
	for {
		n, ok := r.f.nodes[id]
		if !ok {
			r.fail("broken_flow", fmt.Sprintf("node %q is not in the flow", id))
			return
		}
		r.st.Node = id
		if r.steps >= r.env.MaxSteps {
			r.fail("step_limit", fmt.Sprintf("the flow ran %d steps without waiting for the contact and was stopped", r.steps))
			return
		}
		r.steps++
		r.st.Steps++
		next, handle := r.exec(n)
		if !next {
			return
		}
		to, ok := n.next[handle]
		if !ok && strings.HasPrefix(handle, HandleOptionPrefix) {
			to, ok = n.next[HandleNext]
		}
		if !ok {
			r.fail("broken_flow", fmt.Sprintf("output %q of node %q leads nowhere", handle, n.ID))
			return
		}
		id = to
	}
}

// exec runs one node: it says whether the flow goes on at once, and by
// which handle.
func (r *run) exec(n *compiled) (bool, string) {
	switch c := n.config.(type) {
	case *StartConfig:
		return true, HandleNext
	case *MessageConfig:
		r.send(n.ID, *c)
		return true, HandleNext
	case *QuestionConfig:
		r.send(n.ID, c.MessageConfig)
		r.st.Waiting, r.st.Retries = WaitingQuestion, 0
		r.st.WaitID++
		if c.TimeoutS > 0 {
			r.emit(Action{Kind: ActScheduleTimeout, NodeID: n.ID, After: time.Duration(c.TimeoutS) * time.Second, WaitID: r.st.WaitID})
		}
		return false, ""
	case *ConditionConfig:
		if r.condition(c) {
			return true, HandleTrue
		}
		return true, HandleFalse
	case *DelayConfig:
		r.st.Waiting = WaitingDelay
		r.st.WaitID++
		r.emit(Action{Kind: ActScheduleDelay, NodeID: n.ID, After: time.Duration(c.DurationS) * time.Second, WaitID: r.st.WaitID})
		return false, ""
	case *WebhookConfig:
		r.st.Waiting = WaitingWebhook
		r.st.WaitID++
		req := &WebhookRequest{Method: c.Method, URL: renderURL(c.URL, r.lookup), Headers: map[string]string{},
			Timeout: time.Duration(c.TimeoutS) * time.Second}
		for k, v := range c.Headers {
			req.Headers[k] = r.text(v)
		}
		body := strings.TrimSpace(c.Body)
		if strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") {
			req.Body = render(c.Body, r.lookup, jsonEscape) // values stay inside their JSON strings
		} else {
			req.Body = r.text(c.Body)
		}
		r.emit(Action{Kind: ActCallWebhook, NodeID: n.ID, WaitID: r.st.WaitID, Request: req})
		return false, ""
	case *LabelConfig:
		for _, id := range c.LabelIDs {
			has := slices.Contains(r.env.Contact.Labels, id)
			if c.Action == "remove" {
				r.emit(Action{Kind: ActRemoveLabel, NodeID: n.ID, LabelID: id})
				r.env.Contact.Labels = slices.DeleteFunc(r.env.Contact.Labels, func(l uuid.UUID) bool { return l == id })
			} else {
				r.emit(Action{Kind: ActAddLabel, NodeID: n.ID, LabelID: id})
				if !has {
					r.env.Contact.Labels = append(r.env.Contact.Labels, id)
				}
			}
		}
		return true, HandleNext
	case *HandoffConfig:
		if strings.TrimSpace(c.Message) != "" {
			r.emit(Action{Kind: ActSendMessage, NodeID: n.ID, Message: &Outgoing{Text: r.text(c.Message)}})
		}
		r.emit(Action{Kind: ActHandoff, NodeID: n.ID, TeamID: c.TeamID, AgentID: c.AgentID})
		r.st.Done = true
		return false, ""
	case *EndConfig:
		if strings.TrimSpace(c.Message) != "" {
			r.emit(Action{Kind: ActSendMessage, NodeID: n.ID, Message: &Outgoing{Text: r.text(c.Message)}})
		}
		r.emit(Action{Kind: ActEnd, NodeID: n.ID, Resolve: c.Resolve})
		r.st.Done = true
		return false, ""
	}
	r.fail("broken_flow", fmt.Sprintf("node %q has no config", n.ID))
	return false, ""
}

// send renders a message: variables filled, buttons and lists kept when
// the channel shows them, else numbered in the text.
func (r *run) send(nodeID string, m MessageConfig) {
	out := &Outgoing{Text: r.text(m.Text)}
	if m.Media != nil {
		media := *m.Media
		media.Caption = r.text(media.Caption)
		out.Media = &media
	}
	opts := m.options()
	for i := range opts {
		opts[i].Title = r.text(opts[i].Title)
	}
	switch {
	case len(opts) == 0:
	case r.env.Interactive && len(m.Buttons) > 0:
		out.Buttons = opts
	case r.env.Interactive:
		list := *m.List
		list.Sections = make([]ListSection, len(m.List.Sections))
		for i, s := range m.List.Sections {
			list.Sections[i] = ListSection{Title: s.Title, Rows: slices.Clone(s.Rows)}
			for j := range list.Sections[i].Rows {
				list.Sections[i].Rows[j].Title = r.text(list.Sections[i].Rows[j].Title)
			}
		}
		out.List = &list
	default:
		out.Text = numbered(out.Text, opts)
	}
	r.emit(Action{Kind: ActSendMessage, NodeID: nodeID, Message: out})
}

func (r *run) answer(n *compiled, in Input) {
	q, ok := n.config.(*QuestionConfig)
	if !ok {
		r.fail("broken_flow", fmt.Sprintf("node %q waits for an answer but is no question", n.ID))
		return
	}
	value, valid := checkAnswer(q, in)
	if !valid {
		r.st.Retries++
		if r.st.Retries > q.Retries {
			r.st.Waiting, r.st.Retries = WaitingNone, 0
			r.follow(n, HandleInvalid)
			return
		}
		msg := q.RetryMessage
		if strings.TrimSpace(msg) == "" {
			msg = DefaultRetryMessage
		}
		r.emit(Action{Kind: ActSendMessage, NodeID: n.ID, Message: &Outgoing{Text: r.text(msg)}})
		r.send(n.ID, q.MessageConfig)
		return
	}
	r.st.Waiting, r.st.Retries = WaitingNone, 0
	if q.Variable != "" {
		r.st.Variables[q.Variable] = value
	}
	if q.ContactField != "" {
		r.emit(Action{Kind: ActSetContactField, NodeID: n.ID, Field: q.ContactField, Value: value})
		switch q.ContactField {
		case "name":
			r.env.Contact.Name = value
		case "email":
			r.env.Contact.Email = value
		case "phone":
			r.env.Contact.Phone = value
		default:
			if r.env.Contact.Fields == nil {
				r.env.Contact.Fields = map[string]string{}
			}
			r.env.Contact.Fields[strings.TrimPrefix(q.ContactField, "custom.")] = value
		}
	}
	if q.AnswerType == AnswerOption {
		r.follow(n, HandleOptionPrefix+value)
		return
	}
	r.follow(n, HandleNext)
}

func (r *run) webhookAnswer(n *compiled, in Input) {
	w, ok := n.config.(*WebhookConfig)
	if !ok {
		r.fail("broken_flow", fmt.Sprintf("node %q waits for a webhook but is no webhook", n.ID))
		return
	}
	if in.Status < 200 || in.Status > 299 {
		r.follow(n, HandleError)
		return
	}
	if len(w.Save) > 0 {
		dec := json.NewDecoder(bytes.NewReader(in.Body))
		dec.UseNumber()
		var doc any
		if err := dec.Decode(&doc); err != nil {
			r.follow(n, HandleError) // a 2xx we cannot read is no answer
			return
		}
		for _, s := range w.Save {
			if v, found := extract(doc, s.Path); found {
				r.st.Variables[s.Variable] = v
			}
		}
	}
	r.follow(n, HandleOK)
}

func (r *run) condition(c *ConditionConfig) bool {
	for _, rule := range c.Rules {
		ok := r.rule(rule)
		if c.Match == "any" && ok {
			return true
		}
		if c.Match != "any" && !ok {
			return false
		}
	}
	return c.Match != "any"
}

func (r *run) rule(rule Rule) bool {
	switch rule.Source {
	case SourceVariable:
		v, set := r.st.Variables[rule.Key]
		return compare(v, set, rule.Op, rule.Value)
	case SourceContactField:
		var v string
		switch rule.Key {
		case "name":
			v = r.env.Contact.Name
		case "email":
			v = r.env.Contact.Email
		case "phone":
			v = r.env.Contact.Phone
		default:
			v = r.env.Contact.Fields[strings.TrimPrefix(rule.Key, "custom.")]
		}
		return compare(v, v != "", rule.Op, rule.Value)
	case SourceLabel:
		id, err := uuid.Parse(rule.Value)
		has := err == nil && slices.Contains(r.env.Contact.Labels, id)
		return has == (rule.Op == "has")
	case SourceChannel:
		return (r.env.Channel == rule.Value) == (rule.Op == "eq")
	case SourceBusinessHours:
		return r.env.InHours == (rule.Op == "in")
	}
	return false
}

// compare applies an operator; text compares without case or accents.
func compare(v string, set bool, op, want string) bool {
	switch op {
	case "is_set":
		return set && strings.TrimSpace(v) != ""
	case "is_not_set":
		return !set || strings.TrimSpace(v) == ""
	case "eq":
		return fold(v) == fold(want)
	case "neq":
		return fold(v) != fold(want)
	case "contains":
		return strings.Contains(fold(v), fold(want))
	case "not_contains":
		return !strings.Contains(fold(v), fold(want))
	case "starts_with":
		return strings.HasPrefix(fold(v), fold(want))
	case "gt", "gte", "lt", "lte":
		a, ok1 := parseNumber(v)
		b, ok2 := parseNumber(want)
		if !ok1 || !ok2 {
			return false
		}
		switch op {
		case "gt":
			return a > b
		case "gte":
			return a >= b
		case "lt":
			return a < b
		}
		return a <= b
	}
	return false
}

// String is for logs and test failures.
func (a Action) String() string {
	switch a.Kind {
	case ActSendMessage:
		return "send " + strconv.Quote(a.Message.Text)
	case ActError:
		return "error " + a.Code
	}
	return string(a.Kind)
}
