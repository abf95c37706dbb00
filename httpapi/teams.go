package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

type createTeamRequest struct {
	Name        string      `json:"name" required:"true"`
	Description string      `json:"description"`
	MemberIDs   []uuid.UUID `json:"member_ids"`
	teamRoutingRequest
}

// teamRoutingRequest is a team's distribution: auto_assign off (default),
// round_robin or least_busy; max_open_per_agent (0: no cap; an agent's own
// cap also applies); sla_first_response_minutes (0: none), counted in
// business time; business_hours, the team's own calendar (null: the
// company's).
type teamRoutingRequest struct {
	AutoAssign              *string         `json:"auto_assign"`
	MaxOpenPerAgent         *int            `json:"max_open_per_agent"`
	SLAFirstResponseMinutes *int            `json:"sla_first_response_minutes"`
	BusinessHours           json.RawMessage `json:"business_hours"`
}

// updateTeamRequest: only the fields present change; member_ids replaces the
// whole membership.
type updateTeamRequest struct {
	Name        *string      `json:"name"`
	Description *string      `json:"description"`
	MemberIDs   *[]uuid.UUID `json:"member_ids"`
	teamRoutingRequest
}

type listTeamsQuery struct {
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
	Q      string `form:"q"`
}

func (s *Server) teamRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/teams", Summary: "List teams", Tag: "teams",
		Access: accessTenant, Perm: crm.PermTeamsRead, Query: listTeamsQuery{},
		Response: crm.Page[persistence.Team]{}}, s.listTeams)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/teams", Summary: "Create a team", Tag: "teams",
		Access: accessTenant, Perm: crm.PermTeamsWrite, Request: createTeamRequest{}, Response: persistence.Team{},
		Status: http.StatusCreated}, s.createTeam)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/teams/:id", Summary: "Get a team", Tag: "teams",
		Access: accessTenant, Perm: crm.PermTeamsRead, Response: persistence.Team{}}, s.getTeam)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/teams/:id", Summary: "Update a team (only the fields given)",
		Tag: "teams", Access: accessTenant, Perm: crm.PermTeamsWrite, Request: updateTeamRequest{},
		Response: persistence.Team{}}, s.updateTeam)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/teams/:id", Summary: "Delete a team", Tag: "teams",
		Access: accessTenant, Perm: crm.PermTeamsWrite, Status: http.StatusNoContent}, s.deleteTeam)
}

const teamDescriptionMax = 1000

func (s *Server) listTeams(c *gin.Context, p crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListTeams(c, p.TenantID, persistence.TeamFilter{Cursor: c.Query("cursor"), Limit: limit, Q: directoryQuery(c)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) createTeam(c *gin.Context, p crm.Principal) error {
	var req createTeamRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewTeam{
		Name:        directoryText(fields, "name", req.Name, 1, 120),
		Description: directoryText(fields, "description", req.Description, 0, teamDescriptionMax),
		MemberIDs:   req.MemberIDs,
		Routing:     persistence.TeamRouting{AutoAssign: crm.AutoAssignOff},
	}
	var routing persistence.TeamPatch
	teamRouting(fields, req.AutoAssign, req.MaxOpenPerAgent, req.SLAFirstResponseMinutes, req.BusinessHours, &routing)
	if routing.AutoAssign != nil {
		in.Routing.AutoAssign = *routing.AutoAssign
	}
	if routing.MaxOpenPerAgent != nil {
		in.Routing.MaxOpenPerAgent = *routing.MaxOpenPerAgent
	}
	if routing.SLAFirstResponseMinutes != nil {
		in.Routing.SLAFirstResponseMinutes = *routing.SLAFirstResponseMinutes
	}
	in.Routing.BusinessHours = routing.BusinessHours
	if err := fields.Err(); err != nil {
		return err
	}
	t, err := s.db.CreateTeam(c, p.TenantID, directoryActor(c, p), in)
	if err != nil {
		return err
	}
	s.routingChanged(p.TenantID)
	c.JSON(http.StatusCreated, t)
	return nil
}

func (s *Server) getTeam(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	t, err := s.db.GetTeam(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, t)
	return nil
}

func (s *Server) updateTeam(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateTeamRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	patch := persistence.TeamPatch{MemberIDs: req.MemberIDs}
	if req.Name != nil {
		name := directoryText(fields, "name", *req.Name, 1, 120)
		patch.Name = &name
	}
	if req.Description != nil {
		description := directoryText(fields, "description", *req.Description, 0, teamDescriptionMax)
		patch.Description = &description
	}
	teamRouting(fields, req.AutoAssign, req.MaxOpenPerAgent, req.SLAFirstResponseMinutes, req.BusinessHours, &patch)
	if err := fields.Err(); err != nil {
		return err
	}
	t, err := s.db.UpdateTeam(c, p.TenantID, id, directoryActor(c, p), patch)
	if err != nil {
		return err
	}
	s.routingChanged(p.TenantID)
	c.JSON(http.StatusOK, t)
	return nil
}

func (s *Server) deleteTeam(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.db.DeleteTeam(c, p.TenantID, id, directoryActor(c, p)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
