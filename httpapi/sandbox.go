package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/channels/providers"
	"crm/channels/sandbox"
	"crm/persistence"
)

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
		sb, err = sandbox.New(sandbox.Config{Store: providers.SandboxStore{Store: persistence.NewConnectionStore(s.db, s.cfg.Sealer)}, BaseURL: s.cfg.SelfURL,
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
	return providers.SandboxConnection(sec)
}
