package httpapi

import (
	"github.com/gin-gonic/gin"

	"crm"
)

// checkTenantAccess runs after authentication and authorisation on every
// tenant route: license validity and other tenant-wide gates live here.
func (s *Server) checkTenantAccess(c *gin.Context, p crm.Principal) error {
	return nil
}
