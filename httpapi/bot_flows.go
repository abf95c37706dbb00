package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/actors/bot"
	"crm/persistence"
)

// botFlowRequest creates or imports a flow; an export answers the same
// shape, so an export imports as it is.
type botFlowRequest struct {
	Name        string          `json:"name" required:"true"`
	Description string          `json:"description"`
	Trigger     *crm.BotTrigger `json:"trigger"` // default {"on": "first_message"}
	Nodes       []crm.BotNode   `json:"nodes"`   // absent on create: one start node
	Edges       []crm.BotEdge   `json:"edges"`
}

// updateBotFlowRequest changes the fields given; nodes and edges replace
// the whole set.
type updateBotFlowRequest struct {
	Name        *string         `json:"name"`
	Description *string         `json:"description"`
	Trigger     *crm.BotTrigger `json:"trigger"`
	Nodes       *[]crm.BotNode  `json:"nodes"`
	Edges       *[]crm.BotEdge  `json:"edges"`
}

// BotFlowExport is a flow's definition with its name, as import takes it.
type BotFlowExport struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Trigger     crm.BotTrigger `json:"trigger"`
	Nodes       []crm.BotNode  `json:"nodes"`
	Edges       []crm.BotEdge  `json:"edges"`
}

type listBotFlowsQuery struct {
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
}

type exportBotFlowQuery struct {
	Version int `form:"version"` // a published version; the draft when absent
}

const botFlowFeature = "chatbot"

func (s *Server) botFlowRoutes() {
	const tag = "bot-flows"
	s.route(op{Method: http.MethodGet, Path: "/api/v1/bot-flows", Summary: "List chatbot flows (without their graphs)", Tag: tag,
		Access: accessTenant, Perm: crm.PermBotFlowsRead, Query: listBotFlowsQuery{},
		Response: crm.Page[persistence.BotFlowSummary]{}}, s.listBotFlows)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/bot-flows", Summary: "Create a chatbot flow (a draft, not published)", Tag: tag,
		Access: accessTenant, Perm: crm.PermBotFlowsWrite, Request: botFlowRequest{},
		Response: persistence.BotFlowRecord{}, Status: http.StatusCreated}, s.createBotFlow)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/bot-flows/import", Summary: "Import a flow exported by GET /bot-flows/{id}/export (a taken name gets a \" (n)\" suffix)",
		Tag: tag, Access: accessTenant, Perm: crm.PermBotFlowsWrite, Request: botFlowRequest{},
		Response: persistence.BotFlowRecord{}, Status: http.StatusCreated}, s.importBotFlow)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/bot-flows/:id", Summary: "Get a chatbot flow with its draft graph", Tag: tag,
		Access: accessTenant, Perm: crm.PermBotFlowsRead, Response: persistence.BotFlowRecord{}}, s.getBotFlow)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/bot-flows/:id", Summary: "Update a flow's draft (nodes and edges replace the whole set; published versions do not change)",
		Tag: tag, Access: accessTenant, Perm: crm.PermBotFlowsWrite, Request: updateBotFlowRequest{},
		Response: persistence.BotFlowRecord{}}, s.updateBotFlow)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/bot-flows/:id", Summary: "Delete a chatbot flow, its versions and sessions", Tag: tag,
		Access: accessTenant, Perm: crm.PermBotFlowsWrite, Status: http.StatusNoContent}, s.deleteBotFlow)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/bot-flows/:id/publish", Summary: "Validate the draft and make it the active, immutable version (422 flow_invalid with details.node_errors)",
		Tag: tag, Access: accessTenant, Perm: crm.PermBotFlowsWrite, Response: persistence.BotFlowRecord{}}, s.publishBotFlow)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/bot-flows/:id/unpublish", Summary: "Stop starting the flow; conversations in it finish on their version",
		Tag: tag, Access: accessTenant, Perm: crm.PermBotFlowsWrite, Response: persistence.BotFlowRecord{}}, s.unpublishBotFlow)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/bot-flows/:id/export", Summary: "Export a flow's draft, or a published version, as JSON for import",
		Tag: tag, Access: accessTenant, Perm: crm.PermBotFlowsRead, Query: exportBotFlowQuery{}, Response: BotFlowExport{}}, s.exportBotFlow)
}

// checkBotFlowShape refuses a draft that cannot be stored (unknown types,
// repeated ids, edges to nowhere): 400 with the paths.
func checkBotFlowShape(f crm.BotFlow) error {
	return bot.ValidateShape(f).Err()
}

// checkBotFlowPublish refuses a flow that cannot run: 422 flow_invalid.
func checkBotFlowPublish(f crm.BotFlow) error {
	if fields := bot.Validate(f); len(fields) > 0 {
		return bot.InvalidFlowError(f, fields)
	}
	return nil
}

func (s *Server) newBotFlow(c *gin.Context, p crm.Principal, imported bool) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	var req botFlowRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewBotFlow{
		Name:             directoryText(fields, "name", req.Name, 1, 120),
		Description:      directoryText(fields, "description", req.Description, 0, 2000),
		RenameOnConflict: imported,
		Flow:             crm.BotFlow{Trigger: crm.BotTrigger{On: bot.TriggerFirstMessage}, Nodes: req.Nodes, Edges: req.Edges},
	}
	if req.Trigger != nil {
		in.Flow.Trigger = *req.Trigger
	}
	if in.Flow.Nodes == nil && !imported {
		in.Flow.Nodes = []crm.BotNode{{ID: "start", Type: bot.NodeStart, Name: "Início"}}
	}
	for k, v := range bot.ValidateShape(in.Flow) {
		fields.Add(k, "%s", v)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	f, err := s.db.CreateBotFlow(c, p.TenantID, directoryActor(c, p), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, f)
	return nil
}

func (s *Server) createBotFlow(c *gin.Context, p crm.Principal) error {
	return s.newBotFlow(c, p, false)
}
func (s *Server) importBotFlow(c *gin.Context, p crm.Principal) error {
	return s.newBotFlow(c, p, true)
}

func (s *Server) listBotFlows(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListBotFlows(c, p.TenantID, persistence.BotFlowFilter{Cursor: c.Query("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) getBotFlow(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := s.db.GetBotFlow(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, f)
	return nil
}

func (s *Server) updateBotFlow(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateBotFlowRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	patch := persistence.BotFlowPatch{Trigger: req.Trigger, Nodes: req.Nodes, Edges: req.Edges, Check: checkBotFlowShape}
	if req.Name != nil {
		name := directoryText(fields, "name", *req.Name, 1, 120)
		patch.Name = &name
	}
	if req.Description != nil {
		description := directoryText(fields, "description", *req.Description, 0, 2000)
		patch.Description = &description
	}
	if err := fields.Err(); err != nil {
		return err
	}
	f, err := s.db.UpdateBotFlow(c, p.TenantID, id, directoryActor(c, p), patch)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, f)
	return nil
}

func (s *Server) deleteBotFlow(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.db.DeleteBotFlow(c, p.TenantID, id, directoryActor(c, p)); err != nil {
		return err
	}
	s.forgetBotFlows(p.TenantID)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) publishBotFlow(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := s.db.PublishBotFlow(c, p.TenantID, id, directoryActor(c, p), checkBotFlowPublish)
	if err != nil {
		return err
	}
	s.forgetBotFlows(p.TenantID)
	c.JSON(http.StatusOK, f)
	return nil
}

func (s *Server) unpublishBotFlow(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	f, err := s.db.UnpublishBotFlow(c, p.TenantID, id, directoryActor(c, p))
	if err != nil {
		return err
	}
	s.forgetBotFlows(p.TenantID)
	c.JSON(http.StatusOK, f)
	return nil
}

func (s *Server) exportBotFlow(c *gin.Context, p crm.Principal) error {
	if err := s.requireFeature(c, p, botFlowFeature); err != nil {
		return err
	}
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	version := 0
	if raw := c.Query("version"); raw != "" {
		if version, err = strconv.Atoi(raw); err != nil || version < 1 {
			fields := crm.FieldErrors{}
			fields.Add("version", "must be a published version number")
			return fields.Err()
		}
	}
	f, err := s.db.GetBotFlow(c, p.TenantID, id)
	if err != nil {
		return err
	}
	out := BotFlowExport{Name: f.Name, Description: f.Description, Trigger: f.Trigger, Nodes: f.Nodes, Edges: f.Edges}
	if version > 0 {
		v, err := s.db.GetBotFlowVersion(c, p.TenantID, id, version)
		if err != nil {
			return err
		}
		out.Trigger, out.Nodes, out.Edges = v.Definition.Trigger, v.Definition.Nodes, v.Definition.Edges
	}
	if out.Nodes == nil {
		out.Nodes = []crm.BotNode{}
	}
	if out.Edges == nil {
		out.Edges = []crm.BotEdge{}
	}
	c.Header("Content-Disposition", `attachment; filename="bot-flow-`+id.String()+`.json"`)
	c.JSON(http.StatusOK, out)
	return nil
}

// forgetBotFlows makes this node's engine read the tenant's active flows
// again at the next message (other nodes within a few seconds).
func (s *Server) forgetBotFlows(tenantID uuid.UUID) {
	if s.cfg.Engine != nil {
		s.cfg.Engine.ForgetBotFlows(tenantID)
	}
}
