package httpapi

import (
	"net/http"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// exportFreshness is how recent an export must be for a tenant to be deleted.
const exportFreshness = 24 * time.Hour

type tenantAdminRequest struct {
	Name     string `json:"name" required:"true"`
	Email    string `json:"email" required:"true"`
	Password string `json:"password" required:"true"`
}

type createTenantRequest struct {
	Name     string             `json:"name" required:"true"`
	Email    string             `json:"email" required:"true"`
	Document string             `json:"document"`
	Phone    string             `json:"phone"`
	PlanID   uuid.UUID          `json:"plan_id" required:"true"`
	Slug     string             `json:"slug"`
	Admin    tenantAdminRequest `json:"admin" required:"true"`
}

type updateTenantRequest struct {
	Name     *string    `json:"name"`
	Email    *string    `json:"email"`
	Document *string    `json:"document"`
	Phone    *string    `json:"phone"`
	PlanID   *uuid.UUID `json:"plan_id"`
}

type suspendTenantRequest struct {
	Reason string `json:"reason" required:"true"`
}

type listTenantsQuery struct {
	Status string    `form:"status"`
	PlanID uuid.UUID `form:"plan_id"`
	Q      string    `form:"q"`
	Cursor string    `form:"cursor"`
	Limit  int       `form:"limit"`
}

// TenantView is a tenant as the platform owner sees it: plan limits (null is
// unlimited), usage from the counters, and what exceeds the plan.
type TenantView struct {
	ID              uuid.UUID                 `json:"id"`
	Name            string                    `json:"name"`
	Slug            string                    `json:"slug"`
	Email           string                    `json:"email"`
	Document        string                    `json:"document"`
	Phone           string                    `json:"phone"`
	PlanID          uuid.UUID                 `json:"plan_id"`
	PlanName        string                    `json:"plan_name"`
	Status          string                    `json:"status"`
	SuspendedAt     *time.Time                `json:"suspended_at"`
	SuspendedReason string                    `json:"suspended_reason"`
	DeletedAt       *time.Time                `json:"deleted_at"`
	LastExportAt    *time.Time                `json:"last_export_at"`
	Limits          PlanLimitsBody            `json:"limits"`
	Features        crm.PlanFeatures          `json:"features"`
	Usage           crm.TenantUsage           `json:"usage"`
	Exceeded        []crm.LimitExceeded       `json:"exceeded"`
	License         *persistence.LicenseState `json:"license,omitempty"`
	Admin           *persistence.TenantAdmin  `json:"admin,omitempty"`
	CreatedAt       time.Time                 `json:"created_at"`
	UpdatedAt       time.Time                 `json:"updated_at"`
}

func tenantView(t crm.Tenant) TenantView {
	return TenantView{ID: t.ID, Name: t.Name, Slug: t.Slug, Email: t.Email, Document: t.Document, Phone: t.Phone,
		PlanID: t.PlanID, PlanName: t.PlanName, Status: t.Status, SuspendedAt: t.SuspendedAt,
		SuspendedReason: t.SuspendedReason, DeletedAt: t.DeletedAt, LastExportAt: t.LastExportAt,
		Limits: limitsBody(t.Limits), Features: t.Features, Usage: t.Usage,
		Exceeded: crm.Exceeded(t.Limits, t.Usage), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (s *Server) adminTenantRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/admin/tenants", Summary: "Create a tenant with its first admin",
		Tag: "admin", Access: accessPlatform, Request: createTenantRequest{}, Response: TenantView{},
		Status: http.StatusCreated}, s.createTenant)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/tenants", Summary: "List tenants with usage against their limits",
		Tag: "admin", Access: accessPlatform, Query: listTenantsQuery{}, Response: crm.Page[TenantView]{}}, s.listTenants)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/tenants/:id", Summary: "Get a tenant with usage and license state",
		Tag: "admin", Access: accessPlatform, Response: TenantView{}}, s.getTenant)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/admin/tenants/:id",
		Summary: "Update a tenant or change its plan (allowed over the new limits; exceeded lists them)",
		Tag:     "admin", Access: accessPlatform, Request: updateTenantRequest{}, Response: TenantView{}}, s.updateTenant)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/admin/tenants/:id/suspend",
		Summary: "Suspend a tenant: its users can't log in, its webhooks are still stored, its sends are refused",
		Tag:     "admin", Access: accessPlatform, Request: suspendTenantRequest{}, Response: TenantView{}}, s.suspendTenant)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/admin/tenants/:id/reactivate", Summary: "Reactivate a suspended tenant",
		Tag: "admin", Access: accessPlatform, Response: TenantView{}}, s.reactivateTenant)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/tenants/:id/export",
		Summary: "Export all of a tenant's data as one JSON document (secrets left out)", Tag: "admin",
		Access: accessPlatform, Raw: "application/json"}, s.exportTenant)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/admin/tenants/:id",
		Summary: "Soft-delete a tenant; needs an export taken in the last 24 hours (else 409 export_required)",
		Tag:     "admin", Access: accessPlatform, Status: http.StatusNoContent}, s.deleteTenant)
}

var slugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

func tenantEmail(fields crm.FieldErrors, field, value string) string {
	value = strings.ToLower(strings.TrimSpace(value))
	if a, err := mail.ParseAddress(value); err != nil || a.Address != value || len(value) > 254 {
		fields.Add(field, "must be an email address")
	}
	return value
}

func (s *Server) createTenant(c *gin.Context, p crm.Principal) error {
	var req createTenantRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewTenant{
		Name:       planText(fields, "name", req.Name, 1, 200),
		Email:      tenantEmail(fields, "email", req.Email),
		Document:   planText(fields, "document", req.Document, 0, 40),
		Phone:      planText(fields, "phone", req.Phone, 0, 40),
		PlanID:     req.PlanID,
		Slug:       strings.ToLower(strings.TrimSpace(req.Slug)),
		AdminName:  planText(fields, "admin.name", req.Admin.Name, 1, 200),
		AdminEmail: tenantEmail(fields, "admin.email", req.Admin.Email),
	}
	if req.PlanID == uuid.Nil {
		fields.Add("plan_id", "is required")
	}
	if in.Slug != "" && !slugPattern.MatchString(in.Slug) {
		fields.Add("slug", "must be lower-case letters, digits and dashes, starting with a letter or digit (at most 63)")
	}
	if msg := crm.ValidatePassword(req.Admin.Password); msg != "" {
		fields.Add("admin.password", "%s", msg)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	hash, err := crm.HashPassword(req.Admin.Password)
	if err != nil {
		return err
	}
	in.AdminPasswordHash = hash
	tenant, admin, err := s.db.AdminCreateTenant(c, platformActor(c, p), in)
	if err != nil {
		return err
	}
	view := tenantView(tenant)
	view.Admin = &admin
	c.JSON(http.StatusCreated, view)
	return nil
}

func (s *Server) listTenants(c *gin.Context, _ crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	planID, err := queryUUID(c, "plan_id")
	if err != nil {
		return err
	}
	status := c.Query("status")
	if status != "" && status != "active" && status != "suspended" && status != "deleted" {
		return crm.FieldErrors{"status": "must be active, suspended or deleted"}.Err()
	}
	page, err := s.db.ListTenants(c, persistence.TenantFilter{Status: status, PlanID: planID,
		Query: strings.TrimSpace(c.Query("q")), Cursor: c.Query("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	out := crm.Page[TenantView]{Items: make([]TenantView, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, t := range page.Items {
		out.Items = append(out.Items, tenantView(t))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) getTenant(c *gin.Context, _ crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tenant, err := s.db.GetTenant(c, id)
	if err != nil {
		return err
	}
	view := tenantView(tenant)
	if s.cfg.Licenses != nil && tenant.Status != "deleted" {
		state, err := s.cfg.Licenses.State(c, id)
		if err != nil {
			return err
		}
		view.License = &state
	}
	c.JSON(http.StatusOK, view)
	return nil
}

var errTenantDeleted = crm.NewError(crm.ErrConflict, "tenant_deleted", "the tenant is deleted", nil)

// changeTenant applies an edit and answers the tenant.
func (s *Server) changeTenant(c *gin.Context, p crm.Principal, action string, edit func(*crm.Tenant) error) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tenant, _, err := s.db.AdminUpdateTenant(c, platformActor(c, p), id, persistence.TenantChange{Action: action, Edit: edit})
	if err != nil {
		return err
	}
	s.refreshTenant(c, id)
	c.JSON(http.StatusOK, tenantView(tenant))
	return nil
}

func (s *Server) updateTenant(c *gin.Context, p crm.Principal) error {
	var req updateTenantRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	var name, email, document, phone string
	if req.Name != nil {
		name = planText(fields, "name", *req.Name, 1, 200)
	}
	if req.Email != nil {
		email = tenantEmail(fields, "email", *req.Email)
	}
	if req.Document != nil {
		document = planText(fields, "document", *req.Document, 0, 40)
	}
	if req.Phone != nil {
		phone = planText(fields, "phone", *req.Phone, 0, 40)
	}
	if req.PlanID != nil && *req.PlanID == uuid.Nil {
		fields.Add("plan_id", "must be a plan id")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	action := "update"
	if req.PlanID != nil {
		action = "change_plan"
	}
	return s.changeTenant(c, p, action, func(t *crm.Tenant) error {
		if t.Status == "deleted" {
			return errTenantDeleted
		}
		if req.Name != nil {
			t.Name = name
		}
		if req.Email != nil {
			t.Email = email
		}
		if req.Document != nil {
			t.Document = document
		}
		if req.Phone != nil {
			t.Phone = phone
		}
		if req.PlanID != nil {
			t.PlanID = *req.PlanID
		}
		return nil
	})
}

func (s *Server) suspendTenant(c *gin.Context, p crm.Principal) error {
	var req suspendTenantRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	reason := planText(fields, "reason", req.Reason, 1, 500)
	if err := fields.Err(); err != nil {
		return err
	}
	now := s.now()
	return s.changeTenant(c, p, "suspend", func(t *crm.Tenant) error {
		if t.Status == "deleted" {
			return errTenantDeleted
		}
		if t.Status != "suspended" {
			t.SuspendedAt = &now
		}
		t.Status, t.SuspendedReason = "suspended", reason
		return nil
	})
}

func (s *Server) reactivateTenant(c *gin.Context, p crm.Principal) error {
	return s.changeTenant(c, p, "reactivate", func(t *crm.Tenant) error {
		if t.Status == "deleted" {
			return errTenantDeleted
		}
		t.Status, t.SuspendedAt, t.SuspendedReason = "active", nil, ""
		return nil
	})
}

func (s *Server) exportTenant(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	tenant, err := s.db.GetTenant(c, id)
	if err != nil {
		return err
	}
	now := s.now()
	c.Header("Content-Type", "application/json")
	c.Header("Content-Disposition", `attachment; filename="tenant-`+tenant.Slug+`-`+now.UTC().Format("20060102T150405Z")+`.json"`)
	c.Status(http.StatusOK)
	if err := s.db.ExportTenant(c, id, c.Writer, now); err != nil {
		// The status is sent: all we can do is cut the document short and log.
		s.log.ErrorContext(c, "exporting tenant", "tenant", id, "error", err)
		return nil
	}
	if _, _, err := s.db.AdminUpdateTenant(c, platformActor(c, p), id, persistence.TenantChange{Action: "export",
		Edit: func(t *crm.Tenant) error { t.LastExportAt = &now; return nil }}); err != nil {
		s.log.ErrorContext(c, "recording tenant export", "tenant", id, "error", err)
	}
	return nil
}

func (s *Server) deleteTenant(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	now := s.now()
	_, _, err = s.db.AdminUpdateTenant(c, platformActor(c, p), id, persistence.TenantChange{Action: "delete",
		Edit: func(t *crm.Tenant) error {
			if t.Status == "deleted" {
				return nil
			}
			if t.LastExportAt == nil || now.Sub(*t.LastExportAt) > exportFreshness {
				return crm.NewError(crm.ErrConflict, "export_required",
					"export the tenant's data (GET …/export) before deleting it; the export must be less than 24 hours old",
					map[string]any{"last_export_at": t.LastExportAt})
			}
			t.Status, t.DeletedAt = "deleted", &now
			return nil
		}})
	if err != nil {
		return err
	}
	if s.cfg.Licenses != nil {
		if err := s.cfg.Licenses.Refresh(c, id); err != nil {
			return err
		}
	}
	c.Status(http.StatusNoContent)
	return nil
}
