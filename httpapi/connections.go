package httpapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/channels/providers"
	"crm/persistence"
)

type createConnectionRequest struct {
	Name     string `json:"name" required:"true"`
	Channel  string `json:"channel" required:"true"`  // whatsapp, messenger, instagram
	Provider string `json:"provider" required:"true"` // meta, uazapi, evolution, sandbox
	// Credentials by provider: meta/whatsapp access_token, app_secret,
	// phone_number_id, waba_id; meta/messenger access_token, app_secret,
	// page_id; meta/instagram access_token, app_secret, ig_account_id; uazapi
	// base_url, instance_token; evolution base_url, api_key, instance;
	// sandbox none (generated).
	Credentials map[string]string `json:"credentials"`
	// Settings: api_version, timeout_seconds, display_phone_number,
	// sandbox_status_delays_ms, sandbox_failure. graph_base_url is the
	// platform owner's (PATCH /api/v1/admin/connections/{id}): 403
	// graph_base_url_forbidden here.
	Settings map[string]any `json:"settings"`
}

// updateConnectionRequest: credentials are merged key by key, settings too
// (null removes a setting).
type updateConnectionRequest struct {
	Name        *string           `json:"name"`
	Credentials map[string]string `json:"credentials"`
	Settings    map[string]any    `json:"settings"`
}

// adminConnectionRequest: the platform owner points a Meta connection at
// another Graph API (a proxy, a test double); null or absent removes it.
type adminConnectionRequest struct {
	GraphBaseURL *string `json:"graph_base_url"`
}

// errGraphBaseURLForbidden: graph_base_url decides where the server sends a
// connection's access token, so a tenant admin may not set it. Refused
// rather than dropped: an admin who sent it learns it was not applied. A
// sandbox connection's is this server's own, set by the server.
var errGraphBaseURLForbidden = crm.NewError(crm.ErrForbidden, "graph_base_url_forbidden",
	"settings.graph_base_url is set by the platform owner only", map[string]any{"field": "settings.graph_base_url"})

// checkTenantConnectionInput refuses what a tenant may not configure:
// graph_base_url (null, which removes it, is fine) and a base URL naming a
// non-public address outright.
func (s *Server) checkTenantConnectionInput(credentials map[string]string, settings map[string]any) error {
	if v, ok := settings["graph_base_url"]; ok && v != nil {
		return errGraphBaseURLForbidden
	}
	return s.cfg.Providers.CheckURLs(credentials)
}

type listConnectionsQuery struct {
	Channel  string `form:"channel"`
	Provider string `form:"provider"`
	Cursor   string `form:"cursor"`
	Limit    int    `form:"limit"`
}

// ConnectionResponse is a connection as the API shows it: credentials only by
// name (credentials_set), with the URL to give the provider.
type ConnectionResponse struct {
	persistence.Connection
	WebhookURL string `json:"webhook_url"`
}

// CreatedConnectionResponse adds, for a sandbox connection, its generated app
// secret: shown in this answer only.
type CreatedConnectionResponse struct {
	ConnectionResponse
	AppSecret string `json:"app_secret,omitempty"`
}

func (s *Server) connectionRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/connections", Summary: "List connections", Tag: "connections",
		Access: accessTenant, Perm: crm.PermConnectionsRead, Query: listConnectionsQuery{},
		Response: crm.Page[ConnectionResponse]{}}, s.listConnections)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/connections", Summary: "Create a connection (credentials are stored encrypted and never returned)",
		Tag: "connections", Access: accessTenant, Perm: crm.PermConnectionsWrite, Request: createConnectionRequest{},
		Response: CreatedConnectionResponse{}, Status: http.StatusCreated}, s.createConnection)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/connections/:id", Summary: "Get a connection", Tag: "connections",
		Access: accessTenant, Perm: crm.PermConnectionsRead, Response: ConnectionResponse{}}, s.getConnection)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/connections/:id", Summary: "Update a connection (credentials and settings merged key by key)",
		Tag: "connections", Access: accessTenant, Perm: crm.PermConnectionsWrite, Request: updateConnectionRequest{},
		Response: ConnectionResponse{}}, s.updateConnection)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/connections/:id", Summary: "Delete a connection (soft: conversations keep their history)",
		Tag: "connections", Access: accessTenant, Perm: crm.PermConnectionsWrite, Status: http.StatusNoContent}, s.deleteConnection)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/admin/connections/:id", Summary: "Point a tenant's Meta connection at another Graph API (platform owner only; private addresses still refused)",
		Tag: "admin", Access: accessPlatform, Request: adminConnectionRequest{}, Response: ConnectionResponse{}}, s.adminUpdateConnection)
}

// publicBase is the base URL the outside world reaches this server at
// (Config.PublicURL, fixed at start), never the request's Host header.
func (s *Server) publicBase() string { return s.cfg.PublicURL }

// connectionWebhookURL is the callback URL to configure at the provider.
func connectionWebhookURL(base string, conn persistence.Connection) string {
	id := conn.ID.String()
	switch conn.Provider {
	case providers.UazAPI:
		return base + "/webhooks/uazapi/" + id + "/" + conn.WebhookSecret
	case providers.Evolution:
		return base + "/webhooks/evolution/" + id + "/" + conn.WebhookSecret
	case providers.Sandbox:
		return base + "/webhooks/sandbox/" + id
	}
	return base + "/webhooks/meta/" + id
}

func (s *Server) connectionResponse(conn persistence.Connection) ConnectionResponse {
	if conn.CredentialsSet == nil {
		conn.CredentialsSet = []string{}
	}
	return ConnectionResponse{Connection: conn, WebhookURL: connectionWebhookURL(s.publicBase(), conn)}
}

func (s *Server) sealer() (*crm.Sealer, error) {
	if s.cfg.Sealer == nil {
		return nil, errors.New("httpapi: Config.Sealer is not set; connections are unavailable")
	}
	return s.cfg.Sealer, nil
}

func (s *Server) listConnections(c *gin.Context, p crm.Principal) error {
	sealer, err := s.sealer()
	if err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := persistence.ListConnections(c, s.db, sealer, p.TenantID, persistence.ConnectionFilter{
		Channel: c.Query("channel"), Provider: c.Query("provider"), Cursor: c.Query("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	out := crm.Page[ConnectionResponse]{Items: make([]ConnectionResponse, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, conn := range page.Items {
		out.Items = append(out.Items, s.connectionResponse(conn))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) createConnection(c *gin.Context, p crm.Principal) error {
	sealer, err := s.sealer()
	if err != nil {
		return err
	}
	var req createConnectionRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	name := directoryText(fields, "name", req.Name, 1, 120)
	if err := fields.Err(); err != nil {
		return err
	}
	if err := s.checkTenantConnectionInput(req.Credentials, req.Settings); err != nil {
		return err
	}
	if req.Channel == "instagram" || req.Channel == "messenger" {
		if err := s.requireFeature(c, p, req.Channel); err != nil {
			return err
		}
	}
	created, err := CreateConnection(c, s.db, sealer, p.TenantID, directoryActor(c, p), NewConnection{
		Name: name, Channel: req.Channel, Provider: req.Provider, Credentials: req.Credentials, Settings: req.Settings,
		SandboxBaseURL: s.publicBase()})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, CreatedConnectionResponse{ConnectionResponse: s.connectionResponse(created.Connection),
		AppSecret: created.AppSecret})
	return nil
}

func (s *Server) getConnection(c *gin.Context, p crm.Principal) error {
	sealer, err := s.sealer()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	conn, err := persistence.GetConnection(c, s.db, sealer, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.connectionResponse(conn))
	return nil
}

func (s *Server) updateConnection(c *gin.Context, p crm.Principal) error {
	return patchConnection(s, c, p, func(_ uuid.UUID, req updateConnectionRequest, _ *crm.Sealer) (uuid.UUID, ConnectionPatch, error) {
		fields := crm.FieldErrors{}
		patch := ConnectionPatch{Credentials: req.Credentials, Settings: req.Settings}
		if req.Name != nil {
			name := directoryText(fields, "name", *req.Name, 1, 120)
			patch.Name = &name
		}
		if err := fields.Err(); err != nil {
			return uuid.Nil, patch, err
		}
		if err := s.checkTenantConnectionInput(req.Credentials, req.Settings); err != nil {
			return uuid.Nil, patch, err
		}
		return p.TenantID, patch, nil
	})
}

// adminUpdateConnection sets or removes a Meta connection's graph_base_url,
// in the connection's tenant (its audit log shows the platform owner did).
func (s *Server) adminUpdateConnection(c *gin.Context, p crm.Principal) error {
	return patchConnection(s, c, p, func(id uuid.UUID, req adminConnectionRequest, sealer *crm.Sealer) (uuid.UUID, ConnectionPatch, error) {
		sec, err := persistence.LoadConnectionForWebhook(c, s.db, sealer, id)
		if err != nil {
			return uuid.Nil, ConnectionPatch{}, err
		}
		if sec.Deleted {
			return uuid.Nil, ConnectionPatch{}, crm.NotFound("connection")
		}
		if sec.Provider != providers.Meta {
			return uuid.Nil, ConnectionPatch{}, crm.NewError(crm.ErrUnprocessable, "not_a_meta_connection",
				"only Meta connections take a graph_base_url (a sandbox connection's is this server's own)", nil)
		}
		var value any
		if req.GraphBaseURL != nil && strings.TrimSpace(*req.GraphBaseURL) != "" {
			value = strings.TrimSpace(*req.GraphBaseURL)
		}
		return sec.TenantID, ConnectionPatch{Settings: map[string]any{"graph_base_url": value}}, nil
	})
}

// patchConnection is what both PATCH routes share: the path id and the body
// decoded, the patch applied in its tenant, this node's cached adapter
// forgotten and the connection answered. prepare checks the body and says
// which tenant the connection is patched in (the caller's, or for the
// platform owner the connection's own).
func patchConnection[Req any](s *Server, c *gin.Context, p crm.Principal,
	prepare func(id uuid.UUID, req Req, sealer *crm.Sealer) (uuid.UUID, ConnectionPatch, error)) error {
	sealer, err := s.sealer()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req Req
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	tenantID, patch, err := prepare(id, req, sealer)
	if err != nil {
		return err
	}
	conn, err := UpdateConnection(c, s.db, sealer, tenantID, id, directoryActor(c, p), patch)
	if err != nil {
		return err
	}
	s.forgetConnection(id)
	c.JSON(http.StatusOK, s.connectionResponse(conn))
	return nil
}

func (s *Server) deleteConnection(c *gin.Context, p crm.Principal) error {
	sealer, err := s.sealer()
	if err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := persistence.DeleteConnection(c, s.db, sealer, p.TenantID, id, directoryActor(c, p)); err != nil {
		return err
	}
	s.forgetConnection(id)
	c.Status(http.StatusNoContent)
	return nil
}

// forgetConnection drops this node's cached webhook adapter, so new
// credentials or a deletion apply at once here (other nodes within the
// cache's few seconds).
func (s *Server) forgetConnection(id uuid.UUID) {
	if s.hooks != nil {
		s.ForgetWebhookConnection(id)
	}
}

// WebhookConnectionsFromDB is the Config.WebhookConnections lookup over the
// connections table: the connection by id on the platform path, its
// credentials opened and its adapter built by adapters. Deleted connections
// are not found.
func WebhookConnectionsFromDB(db *persistence.DB, sealer *crm.Sealer, adapters *providers.Registry) providers.WebhookLookup {
	return providers.WebhookConnections(persistence.NewConnectionStore(db, sealer), adapters)
}

// persistence's connection store is what channels/providers loads
// connections from.
var _ providers.Store = (*persistence.ConnectionStore)(nil)
