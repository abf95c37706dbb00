package crm

import (
	"fmt"

	"github.com/google/uuid"
)

// ConnectionSecrets is a stored connection with its opened credentials: what
// the engine, the webhook ingest and the sandbox need to build its adapter
// (the store opens the credentials, channels/providers knows what they mean).
// Never serialise it.
type ConnectionSecrets struct {
	ID            uuid.UUID
	TenantID      uuid.UUID
	Channel       string
	Provider      string
	ExternalID    string
	Status        string
	Credentials   map[string]string
	Settings      map[string]any
	VerifyToken   string
	WebhookSecret string
	Deleted       bool
}

// String keeps the secrets out of logs and %v.
func (s ConnectionSecrets) String() string {
	return fmt.Sprintf("connection %s (%s/%s, tenant %s)", s.ID, s.Provider, s.Channel, s.TenantID)
}
