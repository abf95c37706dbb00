package httpapi

import (
	"github.com/gin-gonic/gin"

	"crm"
)

// checkTenantAccess runs after authentication and authorisation on every
// tenant route: license validity and other tenant-wide gates live here.
// (A suspended tenant never gets this far: Authenticate refuses it.)
//
// Licenses are enforced only when Config.Licenses is set: the serve command
// sets it whenever a license public key is configured; tests that don't
// exercise licensing leave it nil and are served.
func (s *Server) checkTenantAccess(c *gin.Context, p crm.Principal) error {
	if s.cfg.Licenses == nil {
		return nil
	}
	return s.cfg.Licenses.Gate(c, p.TenantID)
}

// requireFeature answers 402 feature_disabled unless the tenant's plan has
// the feature on: chatbot, campaigns, kanban, agenda, reports, api,
// instagram, messenger. Handlers of those features call it first:
//
//	if err := s.requireFeature(c, p, "instagram"); err != nil {
//		return err
//	}
func (s *Server) requireFeature(c *gin.Context, p crm.Principal, feature string) error {
	state, err := s.db.TenantState(c, p.TenantID)
	if err != nil {
		return err
	}
	if !state.Features.Enabled(feature) {
		return crm.NewError(crm.ErrPlanLimit, "feature_disabled", "your plan does not include "+feature,
			map[string]any{"feature": feature})
	}
	return nil
}
