package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// Money is a BRL amount with at most two decimals, accepted as a JSON string
// ("199.90") or number (199.9) and answered as a string, so no float ever
// rounds a price.
type Money string

var moneyPattern = regexp.MustCompile(`^[0-9]{1,10}(\.[0-9]{1,2})?$`)

// UnmarshalJSON accepts a string or a number.
func (m *Money) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return moneyError()
		}
		s = strings.TrimSpace(s)
	}
	if s == "null" || !moneyPattern.MatchString(s) {
		return moneyError()
	}
	*m = Money(s)
	return nil
}

func moneyError() error {
	return crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid", map[string]any{"fields": map[string]any{
		"monthly_price": "must be an amount of at most 12 digits with up to 2 decimals, like \"199.90\" or 199.9, not negative"}})
}

// PlanLimitsBody are a plan's limits as the API shows them: null is unlimited.
type PlanLimitsBody struct {
	Users                *int `json:"users"`
	Connections          *int `json:"connections"`
	Contacts             *int `json:"contacts"`
	MonthlyConversations *int `json:"monthly_conversations"`
	MonthlyCampaigns     *int `json:"monthly_campaigns"`
}

func limitsBody(l crm.PlanLimits) PlanLimitsBody {
	v := func(n int) *int {
		if n < 0 {
			return nil
		}
		return &n
	}
	return PlanLimitsBody{Users: v(l.Users), Connections: v(l.Connections), Contacts: v(l.Contacts),
		MonthlyConversations: v(l.MonthlyConversations), MonthlyCampaigns: v(l.MonthlyCampaigns)}
}

// PlanFeaturesPatch changes only the flags given.
type PlanFeaturesPatch struct {
	Chatbot   *bool `json:"chatbot"`
	Campaigns *bool `json:"campaigns"`
	Kanban    *bool `json:"kanban"`
	Agenda    *bool `json:"agenda"`
	Reports   *bool `json:"reports"`
	API       *bool `json:"api"`
	Instagram *bool `json:"instagram"`
	Messenger *bool `json:"messenger"`
}

func (p PlanFeaturesPatch) apply(f *crm.PlanFeatures) {
	for _, pair := range []struct {
		from *bool
		to   *bool
	}{{p.Chatbot, &f.Chatbot}, {p.Campaigns, &f.Campaigns}, {p.Kanban, &f.Kanban}, {p.Agenda, &f.Agenda},
		{p.Reports, &f.Reports}, {p.API, &f.API}, {p.Instagram, &f.Instagram}, {p.Messenger, &f.Messenger}} {
		if pair.from != nil {
			*pair.to = *pair.from
		}
	}
}

type createPlanRequest struct {
	Name         string           `json:"name" required:"true"`
	Description  string           `json:"description"`
	MonthlyPrice *Money           `json:"monthly_price" required:"true"`
	Limits       *PlanLimitsBody  `json:"limits" required:"true"`
	Features     crm.PlanFeatures `json:"features"`
}

type updatePlanRequest struct {
	Name         *string            `json:"name"`
	Description  *string            `json:"description"`
	MonthlyPrice *Money             `json:"monthly_price"`
	Limits       *PlanLimitsBody    `json:"limits"` // only the limits given change
	Features     *PlanFeaturesPatch `json:"features"`
}

// PlanView is a plan as the API answers it.
type PlanView struct {
	ID           uuid.UUID        `json:"id"`
	Name         string           `json:"name"`
	Description  string           `json:"description"`
	MonthlyPrice string           `json:"monthly_price"`
	Currency     string           `json:"currency"`
	Limits       PlanLimitsBody   `json:"limits"`
	Features     crm.PlanFeatures `json:"features"`
	Retired      bool             `json:"retired"`
	RetiredAt    *time.Time       `json:"retired_at"`
	Tenants      int              `json:"tenants"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
}

func planView(p crm.Plan) PlanView {
	return PlanView{ID: p.ID, Name: p.Name, Description: p.Description, MonthlyPrice: p.MonthlyPrice, Currency: p.Currency,
		Limits: limitsBody(p.Limits), Features: p.Features, Retired: p.RetiredAt != nil, RetiredAt: p.RetiredAt,
		Tenants: p.Tenants, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

type listPlansQuery struct {
	IncludeRetired bool `form:"include_retired"`
}

func (s *Server) adminPlanRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/admin/plans", Summary: "Create a plan", Tag: "admin",
		Access: accessPlatform, Request: createPlanRequest{}, Response: PlanView{}, Status: http.StatusCreated}, s.createPlan)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/plans", Summary: "List plans (retired ones with include_retired=true)",
		Tag: "admin", Access: accessPlatform, Query: listPlansQuery{}, Response: crm.Page[PlanView]{}}, s.listPlans)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/plans/:id", Summary: "Get a plan", Tag: "admin",
		Access: accessPlatform, Response: PlanView{}}, s.getPlan)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/admin/plans/:id", Summary: "Update a plan (only the fields given)",
		Tag: "admin", Access: accessPlatform, Request: updatePlanRequest{}, Response: PlanView{}}, s.updatePlan)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/admin/plans/:id/retire",
		Summary: "Retire a plan: its tenants keep it, new tenants can't take it", Tag: "admin",
		Access: accessPlatform, Response: PlanView{}}, s.retirePlan)
}

func planText(fields crm.FieldErrors, field, value string, min, max int) string {
	value = strings.TrimSpace(value)
	if n := utf8.RuneCountInString(value); n < min || n > max {
		if min > 0 {
			fields.Add(field, "must have %d to %d characters", min, max)
		} else {
			fields.Add(field, "must have at most %d characters", max)
		}
	}
	return value
}

// checkLimits validates the limits given; required says whether each must be present.
func checkLimits(fields crm.FieldErrors, l *PlanLimitsBody, required bool) {
	for _, f := range []struct {
		name string
		v    *int
	}{{"users", l.Users}, {"connections", l.Connections}, {"contacts", l.Contacts},
		{"monthly_conversations", l.MonthlyConversations}, {"monthly_campaigns", l.MonthlyCampaigns}} {
		switch {
		case f.v == nil && required:
			fields.Add("limits."+f.name, "is required (0 or more)")
		case f.v != nil && *f.v < 0:
			fields.Add("limits."+f.name, "must be 0 or more")
		case f.v != nil && *f.v > 1_000_000_000:
			fields.Add("limits."+f.name, "must be at most 1000000000")
		}
	}
}

func applyLimits(l *PlanLimitsBody, to *crm.PlanLimits) {
	for _, pair := range []struct {
		from *int
		to   *int
	}{{l.Users, &to.Users}, {l.Connections, &to.Connections}, {l.Contacts, &to.Contacts},
		{l.MonthlyConversations, &to.MonthlyConversations}, {l.MonthlyCampaigns, &to.MonthlyCampaigns}} {
		if pair.from != nil {
			*pair.to = *pair.from
		}
	}
}

func platformActor(c *gin.Context, p crm.Principal) persistence.AuditEntry {
	return persistence.AuditEntry{Actor: p, IP: c.ClientIP()}
}

func (s *Server) createPlan(c *gin.Context, p crm.Principal) error {
	var req createPlanRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewPlan{Name: planText(fields, "name", req.Name, 1, 120),
		Description: planText(fields, "description", req.Description, 0, 2000), Features: req.Features}
	if req.MonthlyPrice == nil {
		fields.Add("monthly_price", "is required")
	} else {
		in.MonthlyPrice = string(*req.MonthlyPrice)
	}
	if req.Limits == nil {
		fields.Add("limits", "is required")
	} else {
		checkLimits(fields, req.Limits, true)
		applyLimits(req.Limits, &in.Limits)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	plan, err := s.db.AdminCreatePlan(c, platformActor(c, p), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, planView(plan))
	return nil
}

func (s *Server) listPlans(c *gin.Context, _ crm.Principal) error {
	include := false
	if v := c.Query("include_retired"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return crm.FieldErrors{"include_retired": "must be true or false"}.Err()
		}
		include = b
	}
	plans, err := s.db.ListPlans(c, include)
	if err != nil {
		return err
	}
	page := crm.Page[PlanView]{Items: make([]PlanView, 0, len(plans))}
	for _, p := range plans {
		page.Items = append(page.Items, planView(p))
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) getPlan(c *gin.Context, _ crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	plan, err := s.db.GetPlan(c, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, planView(plan))
	return nil
}

func (s *Server) updatePlan(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updatePlanRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	var name, description string
	if req.Name != nil {
		name = planText(fields, "name", *req.Name, 1, 120)
	}
	if req.Description != nil {
		description = planText(fields, "description", *req.Description, 0, 2000)
	}
	if req.Limits != nil {
		checkLimits(fields, req.Limits, false)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	plan, err := s.db.AdminUpdatePlan(c, platformActor(c, p), id, "update", func(plan *crm.Plan) error {
		if req.Name != nil {
			plan.Name = name
		}
		if req.Description != nil {
			plan.Description = description
		}
		if req.MonthlyPrice != nil {
			plan.MonthlyPrice = string(*req.MonthlyPrice)
		}
		if req.Limits != nil {
			applyLimits(req.Limits, &plan.Limits)
		}
		if req.Features != nil {
			req.Features.apply(&plan.Features)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, planView(plan))
	return nil
}

func (s *Server) retirePlan(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	now := s.now()
	plan, err := s.db.AdminUpdatePlan(c, platformActor(c, p), id, "retire", func(plan *crm.Plan) error {
		if plan.RetiredAt == nil {
			plan.RetiredAt = &now
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, planView(plan))
	return nil
}
