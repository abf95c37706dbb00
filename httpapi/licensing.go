package httpapi

import (
	"crypto/ed25519"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
)

// platformRoutes registers the platform owner's routes and the tenant-facing
// ones that go with them (tenant info, audit log, online license check).
func (s *Server) platformRoutes() {
	s.adminPlanRoutes()
	s.adminTenantRoutes()
	s.adminLicenseRoutes()
	s.adminMetricsRoutes()
	s.auditRoutes()
	s.tenantInfoRoutes()
	s.licenseVerifyRoutes()
}

// The online check is public: it is throttled per client address.
const (
	verifyPerWindow = 20
	verifyWindow    = time.Minute
)

type verifyLicenseRequest struct {
	Key string `json:"key" required:"true"`
	// Hostname is the installation's hostname, for licenses bound to one.
	Hostname string `json:"hostname"`
}

// LicenseContents is what a license holds.
type LicenseContents struct {
	LicenseID uuid.UUID `json:"license_id"`
	TenantID  uuid.UUID `json:"tenant_id"`
	PlanID    uuid.UUID `json:"plan_id"`
	ServerIP  string    `json:"server_ip"`
	Hostname  string    `json:"hostname"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// LicenseVerification is the online check's answer. The license is checked
// against the address the request came from: the TCP peer, or the client a
// trusted proxy names (Config.TrustedProxies), never what a client claims in
// a header.
type LicenseVerification struct {
	Valid     bool             `json:"valid"`
	Reason    string           `json:"reason,omitempty"`
	InGrace   bool             `json:"in_grace"`
	Known     bool             `json:"known"` // issued by this platform and on record
	Revoked   bool             `json:"revoked"`
	CheckedIP string           `json:"checked_ip"`
	License   *LicenseContents `json:"license"`
}

func (s *Server) licenseVerifyRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/licenses/verify",
		Summary: "Check a license key online (for self-hosted installations; rate limited per address)",
		Tag:     "licenses", Access: accessPublic, Request: verifyLicenseRequest{}, Response: LicenseVerification{}},
		func(c *gin.Context, p crm.Principal) error {
			if err := s.allow(c, "license-verify:"+c.ClientIP(), verifyPerWindow, verifyWindow,
				"too_many_requests", "too many license checks; try again later"); err != nil {
				return err
			}
			return s.verifyLicense(c, p)
		})
}

// licensePublicKey is the key this node verifies with: the checker's, else
// the one derived from the signing key.
func (s *Server) licensePublicKey() ed25519.PublicKey {
	if pub := s.cfg.Licenses.PublicKey(); pub != nil {
		return pub
	}
	if len(s.cfg.LicenseSigningKey) == ed25519.PrivateKeySize {
		return ed25519.PrivateKey(s.cfg.LicenseSigningKey).Public().(ed25519.PublicKey)
	}
	return nil
}

func (s *Server) verifyLicense(c *gin.Context, _ crm.Principal) error {
	var req verifyLicenseRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if len(req.Key) > 4096 {
		return crm.FieldErrors{"key": "is too long to be a license"}.Err()
	}
	pub := s.licensePublicKey()
	if pub == nil {
		return crm.NewError(crm.ErrUnprocessable, "licensing_unavailable", "this server does not verify licenses", nil)
	}
	grace := crm.DefaultLicenseGrace
	if s.cfg.Licenses != nil {
		grace = s.cfg.Licenses.Grace()
	}
	ip := c.ClientIP()
	payload, status := crm.VerifyLicense(pub, req.Key, crm.LicenseCheck{Now: s.now(), ServerIPs: []string{ip},
		Hostname: strings.ToLower(strings.TrimSpace(req.Hostname)), Grace: grace})
	out := LicenseVerification{Valid: status.Valid, Reason: status.Reason, InGrace: status.InGrace, CheckedIP: ip}
	if status.Reason != crm.LicenseBadSignature && status.Reason != crm.LicenseMissing {
		out.License = &LicenseContents{LicenseID: payload.LicenseID, TenantID: payload.TenantID, PlanID: payload.PlanID,
			ServerIP: payload.ServerIP, Hostname: payload.Hostname, IssuedAt: payload.IssuedAt, ExpiresAt: payload.ExpiresAt}
		stored, err := s.db.LicenseByID(c, payload.LicenseID)
		var coded *crm.Error
		switch {
		case err == nil:
			out.Known = stored.TenantID == payload.TenantID
			if stored.RevokedAt != nil {
				out.Revoked = true
				out.Valid, out.InGrace, out.Reason = false, false, crm.LicenseRevoked
			}
		case errors.As(err, &coded) && errors.Is(coded.Kind, crm.ErrNotFound):
		default:
			return err
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}
