package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

type auditQuery struct {
	Entity  string    `form:"entity"`
	Action  string    `form:"action"`
	ActorID uuid.UUID `form:"actor_id"`
	Since   time.Time `form:"since"`
	Until   time.Time `form:"until"`
	Cursor  string    `form:"cursor"`
	Limit   int       `form:"limit"`
}

type platformAuditQuery struct {
	TenantID uuid.UUID `form:"tenant_id"`
	Entity   string    `form:"entity"`
	Action   string    `form:"action"`
	ActorID  uuid.UUID `form:"actor_id"`
	Since    time.Time `form:"since"`
	Until    time.Time `form:"until"`
	Cursor   string    `form:"cursor"`
	Limit    int       `form:"limit"`
}

func (s *Server) auditRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/audit-log",
		Summary: "The company's audit log, newest first (its admins' and the platform owner's changes to it)",
		Tag:     "audit", Access: accessTenant, Perm: crm.PermAuditRead, Query: auditQuery{},
		Response: crm.Page[persistence.AuditRecord]{}}, s.tenantAudit)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/audit-log",
		Summary: "The platform's and every tenant's audit log, newest first (tenant_id narrows to one tenant)",
		Tag:     "admin", Access: accessPlatform, Query: platformAuditQuery{},
		Response: crm.Page[persistence.AuditRecord]{}}, s.platformAudit)
}

// auditFilter reads the filters both lists share.
func auditFilter(c *gin.Context) (persistence.AuditFilter, error) {
	limit, err := queryLimit(c)
	if err != nil {
		return persistence.AuditFilter{}, err
	}
	actor, err := queryUUID(c, "actor_id")
	if err != nil {
		return persistence.AuditFilter{}, err
	}
	f := persistence.AuditFilter{Entity: strings.TrimSpace(c.Query("entity")), Action: strings.TrimSpace(c.Query("action")),
		ActorID: actor, Cursor: c.Query("cursor"), Limit: limit}
	fields := crm.FieldErrors{}
	for name, into := range map[string]**time.Time{"since": &f.Since, "until": &f.Until} {
		if v := c.Query(name); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				fields.Add(name, "must be an RFC 3339 time, like 2026-11-01T00:00:00Z")
				continue
			}
			*into = &t
		}
	}
	return f, fields.Err()
}

func (s *Server) tenantAudit(c *gin.Context, p crm.Principal) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListTenantAudit(c, p.TenantID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) platformAudit(c *gin.Context, _ crm.Principal) error {
	f, err := auditFilter(c)
	if err != nil {
		return err
	}
	if f.TenantID, err = queryUUID(c, "tenant_id"); err != nil {
		return err
	}
	page, err := s.db.ListPlatformAudit(c, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}
