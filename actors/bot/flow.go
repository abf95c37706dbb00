// Package bot is the chatbot's flow engine: the flow definition the console
// builds, its validation, and Step, the pure function that moves one
// conversation's bot state forward on one input and says what to do (send,
// wait, call, hand off). It does no I/O: the conversation grain stores the
// State with the message it reacts to and carries out the Actions, so a
// redelivered input or a failover replays nothing twice.
package bot

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"crm"
)

// NodeType names one of the nine kinds of node.
type NodeType = string

const (
	NodeStart     NodeType = "start"
	NodeMessage   NodeType = "message"
	NodeQuestion  NodeType = "question"
	NodeCondition NodeType = "condition"
	NodeDelay     NodeType = "delay"
	NodeWebhook   NodeType = "webhook"
	NodeAddLabel  NodeType = "add_label"
	NodeHandoff   NodeType = "handoff"
	NodeEnd       NodeType = "end"
)

// NodeTypes are the node types in the order the builder's palette shows them.
var NodeTypes = []NodeType{NodeStart, NodeMessage, NodeQuestion, NodeCondition, NodeDelay, NodeWebhook,
	NodeAddLabel, NodeHandoff, NodeEnd}

// The definition's types are the root package's, shared with the store
// and the API.
type (
	Trigger  = crm.BotTrigger
	Position = crm.BotPosition
	Node     = crm.BotNode
	Edge     = crm.BotEdge
	Flow     = crm.BotFlow
)

// Trigger kinds.
const (
	TriggerFirstMessage = "first_message"
	TriggerKeyword      = "keyword"
	TriggerAlways       = "always"
	TriggerOutsideHours = "outside_hours"
)

// Output handles.
const (
	HandleNext    = "next"
	HandleInvalid = "invalid"
	HandleTimeout = "timeout"
	HandleTrue    = "true"
	HandleFalse   = "false"
	HandleOK      = "ok"
	HandleError   = "error"
	// HandleOptionPrefix + an option's id is the branch a question of type
	// option takes for that answer; unconnected options take next.
	HandleOptionPrefix = "option:"
)

// Button is a WhatsApp reply button (at most 3 per message).
type Button struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// ListRow is one choice of a list message.
type ListRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// ListSection groups rows of a list message.
type ListSection struct {
	Title string    `json:"title,omitempty"`
	Rows  []ListRow `json:"rows"`
}

// List is a WhatsApp list message: a button that opens the sections.
type List struct {
	Button   string        `json:"button"`
	Sections []ListSection `json:"sections"`
}

// Media is an attachment: an uploaded media id or a public URL.
type Media struct {
	Type    string     `json:"type"` // image | video | audio | document
	MediaID *uuid.UUID `json:"media_id,omitempty"`
	URL     string     `json:"url,omitempty"`
	Caption string     `json:"caption,omitempty"`
}

// MessageConfig is a message node's config, and a question's prompt.
type MessageConfig struct {
	Text    string   `json:"text"`
	Media   *Media   `json:"media,omitempty"`
	Buttons []Button `json:"buttons,omitempty"`
	List    *List    `json:"list,omitempty"`
}

// Answer types a question validates.
const (
	AnswerText   = "text"
	AnswerNumber = "number"
	AnswerEmail  = "email"
	AnswerPhone  = "phone"
	AnswerDate   = "date"
	AnswerOption = "option"
)

// QuestionConfig asks, waits, validates and saves the answer.
type QuestionConfig struct {
	MessageConfig
	AnswerType string `json:"answer_type"`
	// Keywords are more words accepted for an option, by option id (the
	// options are the buttons and list rows, in that order).
	Keywords     map[string][]string `json:"keywords,omitempty"`
	Variable     string              `json:"variable,omitempty"`      // var.<name> to save to
	ContactField string              `json:"contact_field,omitempty"` // name | email | phone | custom.<key>
	Retries      int                 `json:"retries"`                 // re-asks before taking invalid
	RetryMessage string              `json:"retry_message,omitempty"`
	TimeoutS     int                 `json:"timeout_s"` // 0: wait forever
}

// Condition sources and operators.
const (
	SourceVariable      = "variable"
	SourceContactField  = "contact_field"
	SourceLabel         = "label"
	SourceChannel       = "channel"
	SourceBusinessHours = "business_hours"
)

// Rule is one test of a condition.
type Rule struct {
	Source string `json:"source"` // variable | contact_field | label | channel | business_hours
	Key    string `json:"key,omitempty"`
	// Op: eq, neq, contains, not_contains, starts_with, gt, gte, lt, lte,
	// is_set, is_not_set (variable, contact_field); has, has_not (label:
	// value is the label id); eq, neq (channel); in, out (business_hours).
	Op    string `json:"op"`
	Value string `json:"value,omitempty"`
}

// ConditionConfig takes true when all (or any) of its rules hold.
type ConditionConfig struct {
	Match string `json:"match"` // all | any
	Rules []Rule `json:"rules"`
}

// DelayConfig waits durably.
type DelayConfig struct {
	DurationS int `json:"duration_s"`
}

// Extract saves a value of a webhook's JSON answer to a variable.
type Extract struct {
	Variable string `json:"variable"`
	Path     string `json:"path"` // data.items[0].name
}

// WebhookConfig calls an HTTP endpoint; URL, header values and body are
// templates.
type WebhookConfig struct {
	Method   string            `json:"method"`
	URL      string            `json:"url"`
	Headers  map[string]string `json:"headers,omitempty"`
	Body     string            `json:"body,omitempty"`
	TimeoutS int               `json:"timeout_s"`
	Save     []Extract         `json:"save,omitempty"`
}

// LabelConfig adds or removes labels of the contact.
type LabelConfig struct {
	Action   string      `json:"action"` // add | remove
	LabelIDs []uuid.UUID `json:"label_ids"`
}

// HandoffConfig puts the conversation in the queue of a team or an agent.
type HandoffConfig struct {
	TeamID  *uuid.UUID `json:"team_id,omitempty"`
	AgentID *uuid.UUID `json:"agent_id,omitempty"`
	Message string     `json:"message,omitempty"`
}

// EndConfig ends the flow.
type EndConfig struct {
	Resolve bool   `json:"resolve"`
	Message string `json:"message,omitempty"`
}

// StartConfig has nothing yet.
type StartConfig struct{}

// Limits of a definition.
const (
	MaxNodes       = 300
	MaxEdges       = 1000
	MaxTextLength  = 4096
	MaxButtons     = 3
	MaxListRows    = 10
	MaxSections    = 10
	MaxRetries     = 10
	MaxTimeoutS    = 7 * 24 * 3600
	MaxDelayS      = 30 * 24 * 3600
	MaxWebhookS    = 30
	MaxKeywords    = 50
	MaxRules       = 20
	MaxDefinition  = 1 << 20
	DefaultMaxStep = 50
)

// DecodeFlow reads a flow's JSON strictly (unknown fields are errors), as
// an import does. It does not validate the graph: Validate does.
func DecodeFlow(raw []byte) (Flow, error) {
	var f Flow
	if len(raw) > MaxDefinition {
		return f, crm.NewError(crm.ErrTooLarge, "body_too_large", "the flow is too large", nil)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return f, crm.NewError(crm.ErrInvalid, "invalid_json", fmt.Sprintf("the flow is not valid JSON: %v", err), nil)
	}
	if dec.More() {
		return f, crm.NewError(crm.ErrInvalid, "invalid_json", "unexpected data after the flow", nil)
	}
	return f, nil
}

// decodeConfig decodes a node's config strictly into dst; an absent or null
// config is an empty one.
func decodeConfig(raw json.RawMessage, dst any) error {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		raw = json.RawMessage("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the config")
	}
	return nil
}

// options are a prompt's choices: buttons then list rows, numbered from 1.
func (m MessageConfig) options() []Button {
	out := append([]Button(nil), m.Buttons...)
	if m.List != nil {
		for _, s := range m.List.Sections {
			for _, r := range s.Rows {
				out = append(out, Button{ID: r.ID, Title: r.Title})
			}
		}
	}
	return out
}
