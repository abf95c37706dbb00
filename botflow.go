package crm

import (
	"encoding/json"

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
