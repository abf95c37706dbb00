package crm

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// TenantEvent is one entry of a tenant's durable, gap-free event sequence:
// what consoles receive live and replay on resume.
type TenantEvent struct {
	Seq            int64           `json:"seq"`
	Type           string          `json:"type"`
	ConversationID *uuid.UUID      `json:"conversation_id,omitempty"`
	AssigneeID     *uuid.UUID      `json:"-"`
	TeamID         *uuid.UUID      `json:"-"`
	Payload        json.RawMessage `json:"data"`
	CreatedAt      time.Time       `json:"created_at"`
}
