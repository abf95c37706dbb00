package httpapi

import (
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/persistence"
)

type createLabelRequest struct {
	Name  string `json:"name" required:"true"`
	Color string `json:"color"` // #rrggbb, default #64748b
}

// updateLabelRequest: only the fields present change.
type updateLabelRequest struct {
	Name  *string `json:"name"`
	Color *string `json:"color"`
}

type listLabelsQuery struct {
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
	Q      string `form:"q"`
}

var labelColorPattern = regexp.MustCompile(`^#[0-9a-f]{6}$`)

func (s *Server) labelRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/labels", Summary: "List labels", Tag: "labels",
		Access: accessTenant, Perm: crm.PermLabelsRead, Query: listLabelsQuery{},
		Response: crm.Page[persistence.Label]{}}, s.listLabels)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/labels", Summary: "Create a label", Tag: "labels",
		Access: accessTenant, Perm: crm.PermLabelsWrite, Request: createLabelRequest{}, Response: persistence.Label{},
		Status: http.StatusCreated}, s.createLabel)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/labels/:id", Summary: "Get a label", Tag: "labels",
		Access: accessTenant, Perm: crm.PermLabelsRead, Response: persistence.Label{}}, s.getLabel)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/labels/:id", Summary: "Update a label (only the fields given)",
		Tag: "labels", Access: accessTenant, Perm: crm.PermLabelsWrite, Request: updateLabelRequest{},
		Response: persistence.Label{}}, s.updateLabel)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/labels/:id", Summary: "Delete a label", Tag: "labels",
		Access: accessTenant, Perm: crm.PermLabelsWrite, Status: http.StatusNoContent}, s.deleteLabel)
}

// labelColor lower-cases a #rrggbb color and checks its shape.
func labelColor(fields crm.FieldErrors, raw string) string {
	color := strings.ToLower(strings.TrimSpace(raw))
	if !labelColorPattern.MatchString(color) {
		fields.Add("color", "must be a hex color like #64748b")
	}
	return color
}

func (s *Server) listLabels(c *gin.Context, p crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListLabels(c, p.TenantID, persistence.LabelFilter{Cursor: c.Query("cursor"), Limit: limit, Q: directoryQuery(c)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) createLabel(c *gin.Context, p crm.Principal) error {
	var req createLabelRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewLabel{Name: directoryText(fields, "name", req.Name, 1, 60), Color: persistence.DefaultLabelColor}
	if req.Color != "" {
		in.Color = labelColor(fields, req.Color)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	l, ev, err := s.db.CreateLabel(c, p.TenantID, directoryActor(c, p), in)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusCreated, l)
	return nil
}

func (s *Server) getLabel(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	l, err := s.db.GetLabel(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, l)
	return nil
}

func (s *Server) updateLabel(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateLabelRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	var patch persistence.LabelPatch
	if req.Name != nil {
		name := directoryText(fields, "name", *req.Name, 1, 60)
		patch.Name = &name
	}
	if req.Color != nil {
		color := labelColor(fields, *req.Color)
		patch.Color = &color
	}
	if err := fields.Err(); err != nil {
		return err
	}
	l, ev, err := s.db.UpdateLabel(c, p.TenantID, id, directoryActor(c, p), patch)
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.JSON(http.StatusOK, l)
	return nil
}

func (s *Server) deleteLabel(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	ev, err := s.db.DeleteLabel(c, p.TenantID, id, directoryActor(c, p))
	if err != nil {
		return err
	}
	s.publish(p.TenantID, ev)
	c.Status(http.StatusNoContent)
	return nil
}
