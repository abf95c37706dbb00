package httpapi

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"crm"
	"crm/persistence"
)

// An API token reads "crm_<16 hex lookup id>_<43 base64url characters>":
// the lookup id finds the row without a tenant (a request has none yet),
// the 256-bit secret makes SHA-256 a sufficient hash, and the crm_ prefix
// tells it from an access token (a JWT, which starts "eyJ") and makes it
// easy to spot in a leaked file.
const (
	apiTokenPrefix      = "crm_"
	apiTokenLookupLen   = 16
	apiTokenSecretLen   = 43 // base64url of 32 bytes, unpadded
	apiTokenLen         = len(apiTokenPrefix) + apiTokenLookupLen + 1 + apiTokenSecretLen
	apiTokenTouchPeriod = time.Minute
)

type createAPITokenRequest struct {
	Name  string `json:"name" required:"true"`
	Scope string `json:"scope" required:"true"` // read or write
}

// createdAPIToken is the token with its secret: the only answer that ever
// carries it.
type createdAPIToken struct {
	persistence.APIToken
	// Token is the full secret token, shown this once.
	Token string `json:"token"`
}

type listAPITokensQuery struct {
	Cursor string `form:"cursor"`
	Limit  int    `form:"limit"`
}

func (s *Server) apiTokenRoutes() {
	gate := []opError{{Status: http.StatusPaymentRequired, Code: "feature_disabled",
		Summary: "the company's plan does not include the api feature"}}
	s.route(op{Method: http.MethodGet, Path: "/api/v1/api-tokens", Summary: "List the company's API tokens (never their secrets)",
		Tag: "api-tokens", Access: accessTenant, Perm: crm.PermAPITokensManage, Query: listAPITokensQuery{},
		Response: crm.Page[persistence.APIToken]{}, SessionOnly: true}, s.listAPITokens)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/api-tokens",
		Summary: "Create an API token (scope read or write); the answer's token is shown this once. Use it as Authorization: Bearer crm_…",
		Tag:     "api-tokens", Access: accessTenant, Perm: crm.PermAPITokensManage, Request: createAPITokenRequest{},
		Response: createdAPIToken{}, Status: http.StatusCreated, SessionOnly: true, Errors: gate}, s.createAPIToken)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/api-tokens/:id", Summary: "Revoke an API token: it stops working at once",
		Tag: "api-tokens", Access: accessTenant, Perm: crm.PermAPITokensManage, Status: http.StatusNoContent,
		SessionOnly: true}, s.revokeAPIToken)
}

func (s *Server) listAPITokens(c *gin.Context, p crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	page, err := s.db.ListAPITokens(c, p.TenantID, c.Query("cursor"), limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) createAPIToken(c *gin.Context, p crm.Principal) error {
	var req createAPITokenRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	name := directoryText(fields, "name", req.Name, 1, 120)
	if req.Scope != "read" && req.Scope != "write" {
		fields.Add("scope", "must be read or write")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	if err := s.requireFeature(c, p, "api"); err != nil {
		return err
	}
	token, lookupID := newAPIToken()
	created, err := s.db.CreateAPIToken(c, p.TenantID, directoryActor(c, p),
		persistence.NewAPIToken{Name: name, Scope: req.Scope, LookupID: lookupID, Hash: hashToken(token)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, createdAPIToken{APIToken: created, Token: token})
	return nil
}

func (s *Server) revokeAPIToken(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.db.RevokeAPIToken(c, p.TenantID, id, directoryActor(c, p), s.now()); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// newAPIToken draws a token and returns it with its lookup id.
func newAPIToken() (token, lookupID string) {
	buf := make([]byte, apiTokenLookupLen/2+32)
	if _, err := rand.Read(buf); err != nil {
		panic(err)
	}
	lookupID = hex.EncodeToString(buf[:apiTokenLookupLen/2])
	return apiTokenPrefix + lookupID + "_" + base64.RawURLEncoding.EncodeToString(buf[apiTokenLookupLen/2:]), lookupID
}

// isAPIToken tells an API token from an access token by its prefix.
func isAPIToken(token string) bool { return strings.HasPrefix(token, apiTokenPrefix) }

// parseAPIToken checks a presented token's shape and returns its lookup id.
func parseAPIToken(token string) (string, bool) {
	if len(token) != apiTokenLen || !isAPIToken(token) || token[len(apiTokenPrefix)+apiTokenLookupLen] != '_' {
		return "", false
	}
	lookupID := token[len(apiTokenPrefix) : len(apiTokenPrefix)+apiTokenLookupLen]
	for _, r := range lookupID {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return "", false
		}
	}
	secret := token[len(apiTokenPrefix)+apiTokenLookupLen+1:]
	if raw, err := base64.RawURLEncoding.DecodeString(secret); err != nil || len(raw) != 32 {
		return "", false
	}
	return lookupID, true
}

var errAPITokenInvalid = crm.NewError(crm.ErrUnauthenticated, "invalid_token", "API token is invalid, revoked or expired", nil)

// authenticateAPIToken turns a presented API token into its principal: the
// tenant's, with the role of its scope and the token's id as the user id
// (what it writes is attributed to the token; no column that holds such an
// author refers to users). A token of a suspended tenant, or of a plan
// without the api feature, is refused as a session would be.
func (s *Server) authenticateAPIToken(c *gin.Context, token string) (crm.Principal, error) {
	lookupID, ok := parseAPIToken(token)
	if !ok {
		return crm.Principal{}, errAPITokenInvalid
	}
	candidates, err := s.db.FindAPITokens(c, lookupID)
	if err != nil {
		return crm.Principal{}, err
	}
	hash := hashToken(token)
	now := s.now()
	for _, k := range candidates {
		if subtle.ConstantTimeCompare(k.Hash, hash) != 1 {
			continue
		}
		if k.Revoked || (k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)) || k.TenantStatus == "deleted" {
			return crm.Principal{}, errAPITokenInvalid
		}
		if k.TenantStatus == "suspended" {
			return crm.Principal{}, crm.NewError(crm.ErrForbidden, "tenant_suspended", "this company's account is suspended", nil)
		}
		if !k.APIFeature {
			return crm.Principal{}, crm.NewError(crm.ErrPlanLimit, "feature_disabled", "your plan does not include api",
				map[string]any{"feature": "api"})
		}
		if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= apiTokenTouchPeriod {
			if err := s.db.TouchAPIToken(c, k.TenantID, k.ID, now, apiTokenTouchPeriod); err != nil {
				s.log.Warn("recording an API token's use", "token_id", k.ID, "error", err)
			}
		}
		role := crm.RoleAPITokenRead
		if k.Scope == "write" {
			role = crm.RoleAPITokenWrite
		}
		return crm.Principal{UserID: k.ID, TenantID: k.TenantID, Role: role, Name: k.Name}, nil
	}
	return crm.Principal{}, errAPITokenInvalid
}
