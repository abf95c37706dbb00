package providers

import (
	"context"
	"time"

	"github.com/google/uuid"

	"crm"
	"crm/channels/sandbox"
)

// SandboxStore finds sandbox connections for the sandbox, on the platform
// path: Graph calls authenticate by bearer token alone, without a tenant.
type SandboxStore struct {
	Store Store
}

var _ sandbox.Store = SandboxStore{}

// SandboxConnection finds a live sandbox connection by id.
func (st SandboxStore) SandboxConnection(ctx context.Context, id uuid.UUID) (sandbox.Connection, error) {
	sec, err := st.Store.LoadConnectionForWebhook(ctx, id)
	if err != nil {
		return sandbox.Connection{}, err
	}
	return SandboxConnection(sec)
}

// SandboxConnectionByToken finds the live sandbox connection an access token
// names.
func (st SandboxStore) SandboxConnectionByToken(ctx context.Context, token string) (sandbox.Connection, error) {
	id, ok := SandboxConnectionID(token)
	if !ok {
		return sandbox.Connection{}, crm.NotFound("connection")
	}
	return st.SandboxConnection(ctx, id)
}

// SandboxConnection maps a sandbox connection's secrets and settings; other
// connections, and deleted ones, are not found.
func SandboxConnection(sec crm.ConnectionSecrets) (sandbox.Connection, error) {
	if sec.Provider != Sandbox || sec.Deleted {
		return sandbox.Connection{}, crm.NotFound("connection")
	}
	c := sandbox.Connection{ID: sec.ID, TenantID: sec.TenantID, AccessToken: sec.Credentials["access_token"],
		AppSecret: sec.Credentials["app_secret"], PhoneNumberID: sec.Credentials["phone_number_id"],
		WABAID: sec.Credentials["waba_id"]}
	c.DisplayPhoneNumber, _ = sec.Settings["display_phone_number"].(string)
	if c.DisplayPhoneNumber == "" && len(c.PhoneNumberID) >= 7 {
		c.DisplayPhoneNumber = "1555" + c.PhoneNumberID[len(c.PhoneNumberID)-7:]
	}
	c.Failure, _ = sec.Settings["sandbox_failure"].(string)
	if delays, ok := sec.Settings["sandbox_status_delays_ms"].([]any); ok {
		for _, d := range delays {
			if ms, ok := d.(float64); ok && ms >= 0 {
				c.StatusDelays = append(c.StatusDelays, time.Duration(ms*float64(time.Millisecond)))
			}
		}
	}
	return c, nil
}
