package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// Routing's routes: the tenant's service settings (business hours, the
// outside-hours reply, auto-close), the team queues supervisors watch,
// connections' default teams, and the agent's availability switch. Teams'
// distribution settings ride on the team routes (teams.go).

type availabilityRequest struct {
	Availability string `json:"availability" required:"true"` // online, away or offline
}

type defaultTeamRequest struct {
	TeamID *uuid.UUID `json:"team_id"` // null: none
}

type defaultTeamResponse struct {
	ConnectionID  uuid.UUID  `json:"connection_id"`
	DefaultTeamID *uuid.UUID `json:"default_team_id"`
}

type queuesResponse struct {
	Teams []persistence.TeamQueue `json:"teams"`
}

type queuesQuery struct {
	PerTeam int `form:"per_team"` // waiting conversations listed per team, 0–200 (default 50)
}

type availabilityResponse struct {
	Items []persistence.AgentAvailability `json:"items"`
}

func (s *Server) routingRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/tenant/service-settings",
		Summary: "The company's business hours, outside-hours reply and auto-close",
		Tag:     "routing", Access: accessTenant, Perm: crm.PermTenantRead, Response: persistence.ServiceSettings{}}, s.getServiceSettings)
	s.route(op{Method: http.MethodPut, Path: "/api/v1/tenant/service-settings",
		Summary: "Replace the company's business hours (null: always open), outside-hours reply and auto-close (idle_hours 0: never)",
		Tag:     "routing", Access: accessTenant, Perm: crm.PermTenantSettings, Request: persistence.ServiceSettings{},
		Response: persistence.ServiceSettings{}}, s.putServiceSettings)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/queues",
		Summary: "The team queues: conversations waiting for an agent, longest waiting first, with waiting time and SLA (a supervisor sees their teams')",
		Tag:     "routing", Access: accessTenant, Perm: crm.PermConversationsTeams, Query: queuesQuery{}, Response: queuesResponse{}}, s.listQueues)
	s.route(op{Method: http.MethodPut, Path: "/api/v1/connections/:id/default-team",
		Summary: "Set the team a connection's new conversations join (null: none)",
		Tag:     "routing", Access: accessTenant, Perm: crm.PermConnectionsWrite, Request: defaultTeamRequest{},
		Response: defaultTeamResponse{}}, s.setDefaultTeam)
	s.route(op{Method: http.MethodPut, Path: "/api/v1/auth/me/availability",
		Summary: "Say whether you take conversations: online, away or offline (offline when your last console closes)",
		Tag:     "routing", Access: accessTenant, Perm: crm.PermProfileWrite, Request: availabilityRequest{},
		Response: persistence.AvailabilityChange{}, SessionOnly: true}, s.setMyAvailability)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/agents/availability",
		Summary: "Every active user's availability and whether a console of theirs is open (on any node)",
		Tag:     "routing", Access: accessTenant, Perm: crm.PermUsersRead, Response: availabilityResponse{}}, s.listAvailability)
}

// validateServiceSettings reports what is wrong, per field.
func validateServiceSettings(in persistence.ServiceSettings) crm.FieldErrors {
	fields := crm.FieldErrors{}
	if in.BusinessHours != nil {
		prefix(fields, "business_hours.", in.BusinessHours.Validate())
	}
	prefix(fields, "outside_hours_reply.", in.OutsideHoursReply.Validate())
	prefix(fields, "auto_close.", in.AutoClose.Validate())
	if in.OutsideHoursReply.Enabled && in.BusinessHours == nil {
		fields["outside_hours_reply.enabled"] = "needs business hours: without them the company is always open"
	}
	return fields
}

func prefix(into crm.FieldErrors, p string, from crm.FieldErrors) {
	for k, v := range from {
		into[p+k] = v
	}
}

func (s *Server) getServiceSettings(c *gin.Context, p crm.Principal) error {
	out, err := s.db.GetServiceSettings(c, p.TenantID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) putServiceSettings(c *gin.Context, p crm.Principal) error {
	var req persistence.ServiceSettings
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	req.OutsideHoursReply.Text = strings.TrimSpace(req.OutsideHoursReply.Text)
	req.AutoClose.Message = strings.TrimSpace(req.AutoClose.Message)
	if err := validateServiceSettings(req).Err(); err != nil {
		return err
	}
	out, err := s.db.SetServiceSettings(c, p.TenantID, directoryActor(c, p), req)
	if err != nil {
		return err
	}
	s.routingChanged(p.TenantID)
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) routingChanged(tenant uuid.UUID) {
	if s.cfg.Engine != nil {
		s.cfg.Engine.RoutingChanged(tenant)
	}
}

func (s *Server) listQueues(c *gin.Context, p crm.Principal) error {
	var q queuesQuery
	if err := c.ShouldBindQuery(&q); err != nil {
		return fieldError("query", "malformed query parameters")
	}
	if q.PerTeam < 0 || q.PerTeam > 200 {
		return fieldError("per_team", "must be between 0 and 200")
	}
	if c.Query("per_team") == "" {
		q.PerTeam = 50
	}
	v, err := s.visibility(c, p)
	if err != nil {
		return err
	}
	var teams []uuid.UUID
	if !v.All {
		teams = v.TeamIDs
		if len(teams) == 0 {
			c.JSON(http.StatusOK, queuesResponse{Teams: []persistence.TeamQueue{}})
			return nil
		}
	}
	queues, err := s.db.TeamQueues(c, p.TenantID, teams, q.PerTeam, s.now())
	if err != nil {
		return err
	}
	if s.cfg.Engine != nil {
		if err := s.cfg.Engine.QueueSLA(c, p.TenantID, queues); err != nil {
			return err
		}
	}
	c.JSON(http.StatusOK, queuesResponse{Teams: queues})
	return nil
}

func (s *Server) setDefaultTeam(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req defaultTeamRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	team, err := s.db.SetConnectionDefaultTeam(c, p.TenantID, id, req.TeamID, directoryActor(c, p))
	if err != nil {
		return err
	}
	s.routingChanged(p.TenantID)
	c.JSON(http.StatusOK, defaultTeamResponse{ConnectionID: id, DefaultTeamID: team})
	return nil
}

func (s *Server) setMyAvailability(c *gin.Context, p crm.Principal) error {
	var req availabilityRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	a := crm.Availability(req.Availability)
	if !a.Valid() {
		return fieldError("availability", "must be online, away or offline")
	}
	if err := s.setAvailability(c, p.TenantID, p.UserID, a); err != nil {
		return err
	}
	c.JSON(http.StatusOK, persistence.AvailabilityChange{UserID: p.UserID, Availability: a})
	return nil
}

func (s *Server) listAvailability(c *gin.Context, p crm.Principal) error {
	items, err := s.db.Availabilities(c, p.TenantID, s.now().Add(-PresenceFresh))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, availabilityResponse{Items: items})
	return nil
}

// teamRouting reads a team request's distribution fields into the patch,
// with their errors.
func teamRouting(fields crm.FieldErrors, autoAssign *string, maxOpen, slaMinutes *int, hours json.RawMessage, patch *persistence.TeamPatch) {
	if autoAssign != nil {
		a := crm.AutoAssign(*autoAssign)
		if !a.Valid() {
			fields["auto_assign"] = "must be off, round_robin or least_busy"
		}
		patch.AutoAssign = &a
	}
	if maxOpen != nil {
		if *maxOpen < 0 || *maxOpen > 1000 {
			fields["max_open_per_agent"] = "must be between 0 (no cap) and 1000"
		}
		patch.MaxOpenPerAgent = maxOpen
	}
	if slaMinutes != nil {
		if *slaMinutes < 0 || *slaMinutes > 60*24*30 {
			fields["sla_first_response_minutes"] = "must be between 0 (none) and 43200 (30 days)"
		}
		patch.SLAFirstResponseMinutes = slaMinutes
	}
	switch raw := strings.TrimSpace(string(hours)); raw {
	case "":
	case "null":
		patch.ClearHours = true
	default:
		var h crm.BusinessHours
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h); err != nil {
			fields["business_hours"] = fmt.Sprintf("must be {timezone, days, holidays} or null: %v", err)
			return
		}
		prefix(fields, "business_hours.", h.Validate())
		patch.BusinessHours = &h
	}
}
