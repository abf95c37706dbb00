package crm

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// BotFlow is a chatbot flow's definition: what the console's builder
// saves as a draft, what is published as an immutable version, exported
// and imported. The engine (actors/bot) validates and runs it; it lives
// here because the store, the API and the grains all carry it.
type BotFlow struct {
	Trigger BotTrigger `json:"trigger"`
	Nodes   []BotNode  `json:"nodes"`
	Edges   []BotEdge  `json:"edges"`
}

// BotTrigger says which conversations a flow starts on.
type BotTrigger struct {
	On            string      `json:"on"` // first_message | keyword | always | outside_hours
	Keywords      []string    `json:"keywords"`
	ConnectionIDs []uuid.UUID `json:"connection_ids"` // empty: every connection
}

// BotPosition is where the builder draws a node; the engine ignores it.
type BotPosition struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// BotNode is one step of a flow. Config's shape depends on Type (see
// actors/bot: MessageConfig, QuestionConfig, …).
type BotNode struct {
	ID       string          `json:"id"`
	Type     string          `json:"type"`
	Name     string          `json:"name"`
	Config   json.RawMessage `json:"config"`
	Position BotPosition     `json:"position"`
}

// BotEdge connects an output handle of a node to another node.
type BotEdge struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Handle string `json:"handle"`
}

// BotSession is one conversation's run of a flow, as the console shows it:
// the live one, or the last one (the variables a bot collected before it
// handed the conversation to a person). The engine's own state travels in
// State; the other fields are read from it for people.
type BotSession struct {
	ID             uuid.UUID         `json:"id"`
	ConversationID uuid.UUID         `json:"conversation_id"`
	FlowID         uuid.UUID         `json:"flow_id"`
	FlowName       string            `json:"flow_name"`
	Version        int               `json:"version"`
	Status         string            `json:"status"` // active | waiting | completed | handed_off | stopped | failed
	Node           string            `json:"node"`
	Waiting        string            `json:"waiting"`
	Variables      map[string]string `json:"variables"`
	State          json.RawMessage   `json:"-"`
	StartedAt      time.Time         `json:"started_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	EndedAt        *time.Time        `json:"ended_at"`
}

// Live reports whether the session still runs.
func (s *BotSession) Live() bool { return s != nil && (s.Status == "active" || s.Status == "waiting") }

// BotWaitRef names one wait of one bot session: the job that ends the wait
// carries it back to the conversation grain, which ignores it unless the
// session still waits for exactly that (a late or repeated wake-up changes
// nothing).
type BotWaitRef struct {
	TenantID       uuid.UUID `json:"tenant_id"`
	ConnectionID   uuid.UUID `json:"connection_id"`
	ContactID      uuid.UUID `json:"contact_id"`
	ConversationID uuid.UUID `json:"conversation_id"`
	SessionID      uuid.UUID `json:"session_id"`
	WaitID         int       `json:"wait_id"`
}

// BotWake is the durable job of a delay node or a question's answer time:
// at its time it wakes the conversation grain with Input ("delay" or
// "timeout").
type BotWake struct {
	BotWaitRef
	Input string `json:"input"`
}

// Kind names the job kind (package jobs runs it).
func (BotWake) Kind() string { return "bot_wake" }

// BotWebhookCall is the durable job of a webhook node: the HTTP call, made
// through the egress-guarded client, whose answer (or failure) wakes the
// conversation grain. The request is rendered when the node runs, so the
// job carries it.
type BotWebhookCall struct {
	BotWaitRef
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      string            `json:"body,omitempty"`
	TimeoutMS int               `json:"timeout_ms"`
}

// Kind names the job kind (package jobs runs it).
func (BotWebhookCall) Kind() string { return "bot_webhook" }
