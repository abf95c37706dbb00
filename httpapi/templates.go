package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/channels"
	"crm/persistence"
)

// TemplateResponse is an approved message template, for the composer's
// template picker when the 24-hour window is closed.
type TemplateResponse struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Language   string          `json:"language"`
	Status     string          `json:"status"`
	Category   string          `json:"category"`
	Components json.RawMessage `json:"components"`
}

type templatesResponse struct {
	Items      []TemplateResponse `json:"items"`
	NextCursor *string            `json:"next_cursor"`
}

func (s *Server) templateRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/connections/:id/templates", Summary: "The connection's message templates (WhatsApp Cloud API)",
		Tag: "connections", Access: accessTenant, Perm: crm.PermMessagesSend, Response: templatesResponse{}}, s.listTemplates)
}

func (s *Server) listTemplates(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if s.cfg.Sealer == nil {
		return crm.NewError(crm.ErrUnprocessable, "unavailable", "connections need the secret key", nil)
	}
	sec, err := persistence.LoadConnection(c, s.db, s.cfg.Sealer, p.TenantID, id)
	if err != nil {
		return err
	}
	if sec.Deleted {
		return crm.NotFound("connection")
	}
	adapter, err := s.cfg.Providers.For(sec)
	if err != nil {
		return err
	}
	templates, err := adapter.ListTemplates(c)
	if errors.Is(err, channels.ErrUnsupported) {
		c.JSON(http.StatusOK, templatesResponse{Items: []TemplateResponse{}})
		return nil
	}
	if err != nil {
		return gatewayError(err)
	}
	out := templatesResponse{Items: make([]TemplateResponse, 0, len(templates))}
	for _, t := range templates {
		components := json.RawMessage(t.Components)
		if len(components) == 0 {
			components = json.RawMessage("[]")
		}
		out.Items = append(out.Items, TemplateResponse{ID: t.ID, Name: t.Name, Language: t.Language, Status: t.Status,
			Category: t.Category, Components: components})
	}
	c.JSON(http.StatusOK, out)
	return nil
}
