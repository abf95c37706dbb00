package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/channels"
	"crm/persistence"
	crmpb "crm/proto"
)

type connectRequest struct {
	// Phone asks for a pairing code to type on the phone instead of a QR code.
	Phone string `json:"phone,omitempty"`
}

// PairingResponse is a gateway instance's state as the admin's screen shows it.
type PairingResponse struct {
	Status         string `json:"status"` // connected, connecting, disconnected
	ProviderStatus string `json:"provider_status"`
	QRCode         string `json:"qr_code,omitempty"`
	PairingCode    string `json:"pairing_code,omitempty"`
	Owner          string `json:"owner,omitempty"`
	ProfileName    string `json:"profile_name,omitempty"`
}

func (s *Server) pairingRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/connections/:id/connect", Summary: "Unofficial gateways (uazapi, Evolution): point the instance's webhook here and start pairing (QR code, or a pairing code for a phone)",
		Tag: "connections", Access: accessTenant, Perm: crm.PermConnectionsWrite, Request: connectRequest{},
		Response: PairingResponse{}}, s.connectInstance)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/connections/:id/pairing", Summary: "Unofficial gateways: poll the instance's state (and a fresh QR code while pairing)",
		Tag: "connections", Access: accessTenant, Perm: crm.PermConnectionsRead, Response: PairingResponse{}}, s.instanceStatus)
}

// instanceManager loads a tenant's connection and its gateway adapter.
func (s *Server) instanceManager(c *gin.Context, p crm.Principal) (persistence.Connection, channels.InstanceManager, error) {
	id, err := pathID(c, "id")
	if err != nil {
		return persistence.Connection{}, nil, err
	}
	if s.cfg.Sealer == nil {
		return persistence.Connection{}, nil, crm.NewError(crm.ErrUnprocessable, "unavailable", "connections need the secret key", nil)
	}
	conn, err := persistence.GetConnection(c, s.db, s.cfg.Sealer, p.TenantID, id)
	if err != nil {
		return conn, nil, err
	}
	sec, err := persistence.LoadConnection(c, s.db, s.cfg.Sealer, p.TenantID, id)
	if err != nil {
		return conn, nil, err
	}
	adapter, err := s.cfg.Providers.For(sec)
	if err != nil {
		return conn, nil, err
	}
	manager, ok := adapter.(channels.InstanceManager)
	if !ok {
		return conn, nil, crm.NewError(crm.ErrUnprocessable, "not_a_gateway",
			"only uazapi and Evolution connections pair with a QR code", nil)
	}
	return conn, manager, nil
}

func (s *Server) connectInstance(c *gin.Context, p crm.Principal) error {
	var req connectRequest
	if c.Request.ContentLength != 0 {
		if err := bindJSON(c, &req); err != nil {
			return err
		}
	}
	conn, manager, err := s.instanceManager(c, p)
	if err != nil {
		return err
	}
	if err := manager.ConfigureWebhook(c, connectionWebhookURL(s.publicBase(), conn)); err != nil {
		return gatewayError(err)
	}
	state, err := manager.Connect(c, strings.TrimSpace(req.Phone))
	if err != nil {
		return gatewayError(err)
	}
	return s.answerPairing(c, p, conn, state)
}

func (s *Server) instanceStatus(c *gin.Context, p crm.Principal) error {
	conn, manager, err := s.instanceManager(c, p)
	if err != nil {
		return err
	}
	state, err := manager.Status(c)
	if err != nil {
		return gatewayError(err)
	}
	return s.answerPairing(c, p, conn, state)
}

func (s *Server) answerPairing(c *gin.Context, p crm.Principal, conn persistence.Connection, state *channels.InstanceState) error {
	res := PairingResponse{Status: pairingStatus(state.Status), ProviderStatus: state.ProviderStatus, QRCode: state.QRCode,
		PairingCode: state.PairingCode, Owner: state.Owner, ProfileName: state.ProfileName}
	if s.cfg.Engine != nil && res.Status != conn.Status {
		extra := map[string]any{}
		if res.QRCode != "" {
			extra["qr_code"] = res.QRCode
		}
		if err := s.cfg.Engine.RecordConnectionState(c, p.TenantID, conn.ID, res.Status, "", extra); err != nil {
			return err
		}
	}
	c.JSON(http.StatusOK, res)
	return nil
}

func pairingStatus(st crmpb.ConnectionStatus) string {
	switch st {
	case crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED:
		return "connected"
	case crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING:
		return "connecting"
	}
	return "disconnected"
}

// gatewayError reports a gateway that failed to answer without leaking its details.
func gatewayError(err error) error {
	if errors.Is(err, channels.ErrForbiddenAddress) {
		return channels.ErrForbiddenAddress // 422 provider_address_forbidden: the admin can fix the base URL
	}
	return crm.NewError(crm.ErrUnprocessable, "gateway_error", "the gateway did not accept the request: "+channels.KindOf(err).String(),
		nil)
}
