package httpapi

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"crm"
	"crm/channels/providers"
	"crm/persistence"
)

// Connections are rows to persistence (credentials sealed, settings as
// JSON) and provider knowledge to channels/providers (which credentials and
// settings a provider takes, what the sandbox generates). Neither package
// knows the other; these functions combine them, for the connection routes,
// the demo seed and the load harness.

// NewConnection is a connection to create.
type NewConnection struct {
	Name        string
	Channel     string
	Provider    string
	Credentials map[string]string
	Settings    map[string]any
	// SandboxBaseURL is the server's public base URL, for a sandbox
	// connection's graph_base_url ({base}/sandbox/graph).
	SandboxBaseURL string
}

// CreatedConnection is a new connection plus, for the sandbox, its app
// secret: shown once, in the create answer.
type CreatedConnection struct {
	persistence.Connection
	AppSecret string
}

// CreateConnection validates a connection by its provider's rules and stores
// it, its credentials sealed.
func CreateConnection(ctx context.Context, db *persistence.DB, sealer *crm.Sealer, tenantID uuid.UUID, by persistence.AuditEntry,
	in NewConnection) (CreatedConnection, error) {
	prepared, err := providers.Prepare(providers.NewConnection{Channel: in.Channel, Provider: in.Provider,
		Credentials: in.Credentials, Settings: in.Settings, SandboxBaseURL: in.SandboxBaseURL})
	if err != nil {
		return CreatedConnection{}, err
	}
	conn, err := persistence.InsertConnection(ctx, db, sealer, tenantID, by, persistence.NewConnectionRow{ID: prepared.ID,
		Name: in.Name, Channel: prepared.Channel, Provider: prepared.Provider, Status: prepared.Status,
		ExternalID: prepared.ExternalID, Credentials: prepared.Credentials, Settings: prepared.Settings})
	if err != nil {
		return CreatedConnection{}, err
	}
	return CreatedConnection{Connection: conn, AppSecret: prepared.AppSecret}, nil
}

// ConnectionPatch changes a connection. Credentials are merged key by key
// (an empty value removes nothing: every credential is required); Settings
// too, a nil value removing the setting.
type ConnectionPatch struct {
	Name        *string
	Credentials map[string]string
	Settings    map[string]any
}

// UpdateConnection applies the patch by the provider's rules, in the
// transaction that locks the connection.
func UpdateConnection(ctx context.Context, db *persistence.DB, sealer *crm.Sealer, tenantID, id uuid.UUID, by persistence.AuditEntry,
	patch ConnectionPatch) (persistence.Connection, error) {
	return persistence.UpdateConnection(ctx, db, sealer, tenantID, id, by, persistence.ConnectionUpdate{Name: patch.Name,
		Apply: func(c *crm.ConnectionSecrets) error { return providers.Patch(c, patch.Credentials, patch.Settings) }})
}

// DemoSandboxConnectionName names the demo tenant's sandbox connection.
const DemoSandboxConnectionName = "WhatsApp Sandbox"

// EnsureDemoSandboxConnection makes sure the tenant has a live sandbox
// connection (make run's demo) and returns its id; an existing one is kept,
// its graph base URL pointed at publicURL.
func EnsureDemoSandboxConnection(ctx context.Context, db *persistence.DB, sealer *crm.Sealer, tenantID uuid.UUID, publicURL string) (uuid.UUID, error) {
	existing, err := persistence.FirstLiveConnection(ctx, db, tenantID, providers.Sandbox)
	graph := providers.SandboxGraphURL(publicURL)
	switch {
	case err == nil:
		sec, err := persistence.LoadConnection(ctx, db, sealer, tenantID, existing)
		if errors.Is(err, crm.ErrUnseal) {
			// Sealed under another CRM_SECRET_KEY (./var/secret.key was
			// replaced while the database stayed): the demo sandbox holds no
			// real secrets, so retire it and make a fresh one below.
			if err := persistence.RetireConnection(ctx, db, tenantID, existing); err != nil {
				return uuid.Nil, err
			}
			break
		}
		if err != nil {
			return uuid.Nil, err
		}
		if sec.Settings["graph_base_url"] != graph {
			_, err = UpdateConnection(ctx, db, sealer, tenantID, existing, persistence.AuditEntry{},
				ConnectionPatch{Settings: map[string]any{"graph_base_url": graph}})
		}
		return existing, err
	case !errors.Is(err, crm.ErrNotFound):
		return uuid.Nil, err
	}
	created, err := CreateConnection(ctx, db, sealer, tenantID, persistence.AuditEntry{}, NewConnection{
		Name: DemoSandboxConnectionName, Channel: "whatsapp", Provider: providers.Sandbox, SandboxBaseURL: publicURL})
	if err != nil {
		return uuid.Nil, err
	}
	return created.ID, nil
}
