package httpapi

import (
	"crypto/ed25519"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/persistence"
)

type issueLicenseRequest struct {
	ServerIP  string    `json:"server_ip" required:"true"`
	Hostname  string    `json:"hostname"`
	ExpiresAt time.Time `json:"expires_at" required:"true"`
}

func (s *Server) adminLicenseRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/admin/tenants/:id/licenses",
		Summary: "Issue a license (Ed25519-signed key) binding the tenant to a server until a date", Tag: "admin",
		Access: accessPlatform, Request: issueLicenseRequest{}, Response: persistence.License{},
		Status: http.StatusCreated}, s.issueLicense)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/tenants/:id/licenses", Summary: "List a tenant's licenses",
		Tag: "admin", Access: accessPlatform, Response: crm.Page[persistence.License]{}}, s.listLicenses)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/admin/tenants/:id/licenses/:lid",
		Summary: "Revoke a license: at once on this node, on the others at their next check", Tag: "admin",
		Access: accessPlatform, Response: persistence.License{}}, s.revokeLicense)
}

func (s *Server) issueLicense(c *gin.Context, p crm.Principal) error {
	tenantID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req issueLicenseRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	hostname := strings.ToLower(strings.TrimSpace(req.Hostname))
	if req.ExpiresAt.IsZero() {
		fields.Add("expires_at", "is required (RFC 3339 time)")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	license, err := s.db.IssueLicense(c, platformActor(c, p), ed25519.PrivateKey(s.cfg.LicenseSigningKey),
		persistence.NewLicense{TenantID: tenantID, ServerIP: strings.TrimSpace(req.ServerIP), Hostname: hostname,
			ExpiresAt: req.ExpiresAt, Now: s.now()})
	if err != nil {
		return err
	}
	if err := s.cfg.Licenses.Refresh(c, tenantID); err != nil {
		return err
	}
	s.refreshTenant(c, tenantID)
	c.JSON(http.StatusCreated, license)
	return nil
}

func (s *Server) listLicenses(c *gin.Context, _ crm.Principal) error {
	tenantID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	licenses, err := s.db.ListLicenses(c, tenantID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, crm.Page[persistence.License]{Items: licenses})
	return nil
}

func (s *Server) revokeLicense(c *gin.Context, p crm.Principal) error {
	tenantID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	licenseID, err := pathID(c, "lid")
	if err != nil {
		return err
	}
	license, err := s.db.RevokeLicense(c, platformActor(c, p), tenantID, licenseID, s.now())
	if err != nil {
		return err
	}
	// At once on this node; other nodes see it at their next check.
	if err := s.cfg.Licenses.Refresh(c, tenantID); err != nil {
		return err
	}
	s.refreshTenant(c, tenantID)
	c.JSON(http.StatusOK, license)
	return nil
}
