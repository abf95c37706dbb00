package httpapi

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// TenantWarning is something the console shows as a banner.
type TenantWarning struct {
	Code    string `json:"code"` // license_grace, license_expiring, conversations_80, conversations_100, over_limit
	Message string `json:"message"`
}

// TenantPlanInfo is the tenant's plan as its users see it (no price).
type TenantPlanInfo struct {
	ID       uuid.UUID        `json:"id"`
	Name     string           `json:"name"`
	Limits   PlanLimitsBody   `json:"limits"`
	Features crm.PlanFeatures `json:"features"`
}

// TenantInfo is what GET /api/v1/tenant answers: the tenant's plan, limits,
// usage, features and license state, with warnings for the console.
type TenantInfo struct {
	ID       uuid.UUID                  `json:"id"`
	Name     string                     `json:"name"`
	Slug     string                     `json:"slug"`
	Status   string                     `json:"status"`
	Plan     TenantPlanInfo             `json:"plan"`
	Usage    crm.TenantUsage            `json:"usage"`
	Exceeded []crm.LimitExceeded        `json:"exceeded"`
	License  persistence.LicenseState   `json:"license"`
	Warning  bool                       `json:"warning"`
	Warnings []TenantWarning            `json:"warnings"`
	Settings persistence.TenantSettings `json:"settings"`
}

func (s *Server) tenantInfoRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/tenant",
		Summary: "The signed-in user's company: plan, limits, usage, features, license state and warnings",
		Tag:     "tenant", Access: accessTenant, Perm: crm.PermTenantRead, Response: TenantInfo{}}, s.tenantInfo)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/tenant/settings", Summary: "Change the company's settings (sign agents' messages)",
		Tag: "tenant", Access: accessTenant, Perm: crm.PermTenantSettings, Request: persistence.TenantSettings{},
		Response: persistence.TenantSettings{}}, s.updateTenantSettings)
}

func (s *Server) updateTenantSettings(c *gin.Context, p crm.Principal) error {
	var req persistence.TenantSettings
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	settings, err := s.db.SetTenantSettings(c, p.TenantID, directoryActor(c, p), req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, settings)
	return nil
}

func (s *Server) tenantInfo(c *gin.Context, p crm.Principal) error {
	t, err := s.db.TenantOverview(c, p.TenantID)
	if err != nil {
		return err
	}
	license, err := s.cfg.Licenses.State(c, p.TenantID)
	if err != nil {
		return err
	}
	info := TenantInfo{ID: t.ID, Name: t.Name, Slug: t.Slug, Status: t.Status,
		Plan:  TenantPlanInfo{ID: t.PlanID, Name: t.PlanName, Limits: limitsBody(t.Limits), Features: t.Features},
		Usage: t.Usage, Exceeded: crm.Exceeded(t.Limits, t.Usage), License: license, Warnings: []TenantWarning{}}
	switch {
	case license.InGrace:
		info.Warnings = append(info.Warnings, TenantWarning{Code: "license_grace",
			Message: "the license has expired; service continues until the grace period ends"})
	case license.Warning:
		info.Warnings = append(info.Warnings, TenantWarning{Code: "license_expiring", Message: "the license expires within a week"})
	}
	switch {
	case t.Usage.Warned100At != nil:
		info.Warnings = append(info.Warnings, TenantWarning{Code: "conversations_100",
			Message: "this month's conversations reached the plan's limit; new ones are kept but flagged"})
	case t.Usage.Warned80At != nil:
		info.Warnings = append(info.Warnings, TenantWarning{Code: "conversations_80",
			Message: "this month's conversations passed 80% of the plan's limit"})
	}
	for _, e := range info.Exceeded {
		if e.Resource != "monthly_conversations" {
			info.Warnings = append(info.Warnings, TenantWarning{Code: "over_limit",
				Message: "more " + e.Resource + " than the plan allows; remove some or upgrade to add more"})
		}
	}
	info.Warning = len(info.Warnings) > 0
	if info.Settings, err = s.db.GetTenantSettings(c, p.TenantID); err != nil {
		return err
	}
	c.JSON(http.StatusOK, info)
	return nil
}
