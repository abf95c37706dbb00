package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/channels/providers"
	"crm/channels/sandbox"
	"crm/persistence"
)

// sandboxStore finds sandbox connections for the sandbox, on the platform
// path: Graph calls authenticate by bearer token alone, without a tenant.
type sandboxStore struct {
	db     *persistence.DB
	sealer *crm.Sealer
}

var _ sandbox.Store = sandboxStore{}

func (st sandboxStore) SandboxConnection(ctx context.Context, id uuid.UUID) (sandbox.Connection, error) {
	sec, err := persistence.LoadConnectionForWebhook(ctx, st.db, st.sealer, id)
	if err != nil {
		return sandbox.Connection{}, err
	}
	return sandboxConnection(sec)
}

func (st sandboxStore) SandboxConnectionByToken(ctx context.Context, token string) (sandbox.Connection, error) {
	id, ok := providers.SandboxConnectionID(token)
	if !ok {
		return sandbox.Connection{}, crm.NotFound("connection")
	}
	return st.SandboxConnection(ctx, id)
}

// sandboxConnection maps a sandbox connection's secrets and settings; other
// connections are not found.
func sandboxConnection(sec crm.ConnectionSecrets) (sandbox.Connection, error) {
	if sec.Provider != providers.Sandbox || sec.Deleted {
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

type sandboxOutboxResponse struct {
	Items []sandbox.OutboxEntry `json:"items"`
}

// sandboxRoutes mounts the fake Graph API at /sandbox/graph, the outbox at
// /sandbox/api/{connection_id}/outbox and the customer simulator. The
// sandbox's state lives in this process (see package sandbox).
func (s *Server) sandboxRoutes() {
	var sb *sandbox.Sandbox
	if s.cfg.Sealer != nil {
		var err error
		// The sandbox is this node: it posts its webhooks to our own
		// listener, never to the Host a request named.
		sb, err = sandbox.New(sandbox.Config{Store: sandboxStore{db: s.db, sealer: s.cfg.Sealer}, BaseURL: s.cfg.SelfURL,
			GraphPath: "/sandbox/graph", HTTPClient: s.cfg.SandboxHTTPClient, AllowPrivateURLs: s.cfg.Providers.AllowPrivate(),
			Logger: s.log, Now: s.now})
		if err != nil {
			s.log.Error("sandbox unavailable", "error", err)
		}
	}
	unavailable := errors.New("httpapi: the sandbox needs Config.Sealer")
	graph := func(c *gin.Context) {
		if sb == nil {
			writeError(c, s.log, unavailable)
			return
		}
		http.StripPrefix("/sandbox/graph", sb.GraphHandler()).ServeHTTP(c.Writer, c.Request)
	}
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		s.raw(op{Method: method, Path: "/sandbox/graph/*path", Summary: "Sandbox: a fake WhatsApp Cloud API (Graph wire format, bearer token)",
			Tag: "sandbox", Raw: "application/json"}, graph)
	}
	s.route(op{Method: http.MethodGet, Path: "/sandbox/api/:connection_id/outbox", Summary: "Sandbox: what was sent to a sandbox connection (this node's memory)",
		Tag: "sandbox", Access: accessTenant, Perm: crm.PermSandboxUse, Response: sandboxOutboxResponse{}},
		func(c *gin.Context, p crm.Principal) error {
			if sb == nil {
				return unavailable
			}
			conn, err := s.tenantSandboxConnection(c, p)
			if err != nil {
				return err
			}
			c.JSON(http.StatusOK, sandboxOutboxResponse{Items: sb.Outbox(conn.ID)})
			return nil
		})
	s.route(op{Method: http.MethodPost, Path: "/api/v1/sandbox/:connection_id/inbound", Summary: "Sandbox: simulate a customer's message (WhatsApp message shape, every type), posted as a signed webhook",
		Tag: "sandbox", Access: accessTenant, Perm: crm.PermSandboxUse, Request: sandbox.InboundRequest{},
		Response: sandbox.InboundResult{}, Status: http.StatusAccepted},
		func(c *gin.Context, p crm.Principal) error {
			if sb == nil {
				return unavailable
			}
			conn, err := s.tenantSandboxConnection(c, p)
			if err != nil {
				return err
			}
			var req sandbox.InboundRequest
			if err := bindJSON(c, &req); err != nil {
				return err
			}
			req.Type = strings.TrimSpace(req.Type)
			res, err := sb.Inbound(c, conn, req)
			if err != nil {
				return err
			}
			c.JSON(http.StatusAccepted, res)
			return nil
		})
}

// tenantSandboxConnection loads the path's connection within the caller's
// tenant: another tenant's, a deleted one or a non-sandbox one is 404.
func (s *Server) tenantSandboxConnection(c *gin.Context, p crm.Principal) (sandbox.Connection, error) {
	id, err := pathID(c, "connection_id")
	if err != nil {
		return sandbox.Connection{}, err
	}
	sec, err := persistence.LoadConnection(c, s.db, s.cfg.Sealer, p.TenantID, id)
	if err != nil {
		return sandbox.Connection{}, err
	}
	return sandboxConnection(sec)
}
