package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/persistence"
)

type metricsQuery struct {
	Days int `form:"days"` // length of the messages-per-day series; default 30
}

func (s *Server) adminMetricsRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/metrics",
		Summary: "Global metrics: tenants by status and plan, users, connections by status, conversations this month, messages per day, usage per tenant",
		Tag:     "admin", Access: accessPlatform, Query: metricsQuery{}, Response: persistence.PlatformMetrics{}}, s.platformMetrics)
}

func (s *Server) platformMetrics(c *gin.Context, _ crm.Principal) error {
	days := 30
	if v := c.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			return crm.FieldErrors{"days": "must be a number from 1 to 366"}.Err()
		}
		days = n
	}
	m, err := s.db.PlatformMetrics(c, days)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}
