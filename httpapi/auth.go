package httpapi

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

const principalKey = "crm.principal"

// accessClaims are the claims of an access token.
type accessClaims struct {
	TenantID string `json:"tid,omitempty"`
	Role     string `json:"role"`
	Version  int    `json:"ver"`
	jwt.RegisteredClaims
}

type loginRequest struct {
	Email    string `json:"email" required:"true"`
	Password string `json:"password" required:"true"`
	// Tenant is the tenant's slug; needed only when one email has accounts in several tenants.
	Tenant string `json:"tenant,omitempty"`
}

// refreshRequest names the refresh token. Browsers leave it out (or send an
// empty body): theirs is in the crm_refresh cookie.
type refreshRequest struct {
	RefreshToken string `json:"refresh_token,omitempty"`
}

// UserSummary is the signed-in user as login returns it.
type UserSummary struct {
	ID         uuid.UUID  `json:"id"`
	TenantID   *uuid.UUID `json:"tenant_id"`
	TenantName string     `json:"tenant_name,omitempty"`
	TenantSlug string     `json:"tenant_slug,omitempty"`
	Name       string     `json:"name"`
	Email      string     `json:"email"`
	Role       crm.Role   `json:"role"`
	// Signature is the user's own switch for signing their messages; they
	// are signed when the company's (GET /api/v1/tenant settings) is on too.
	Signature bool `json:"signature"`
}

type updateMeRequest struct {
	Signature *bool `json:"signature,omitempty"`
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	// RefreshToken is also set as the crm_refresh cookie; a refresh that
	// came by the cookie leaves it out here.
	RefreshToken string      `json:"refresh_token,omitempty"`
	TokenType    string      `json:"token_type"`
	ExpiresIn    int         `json:"expires_in"`
	User         UserSummary `json:"user"`
}

func (s *Server) authRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/auth/login", Summary: "Log in with email and password",
		Tag: "auth", Access: accessPublic, Request: loginRequest{}, Response: tokenResponse{}}, s.login)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/auth/refresh", Summary: "Exchange a refresh token (in the body, else the crm_refresh cookie) for new tokens (rotating)",
		Tag: "auth", Access: accessPublic, Request: refreshRequest{}, Response: tokenResponse{}}, s.refresh)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/auth/logout", Summary: "Revoke a refresh token (in the body and/or the crm_refresh cookie) and its family; clears the cookie",
		Tag: "auth", Access: accessPublic, Request: refreshRequest{}, Status: http.StatusNoContent}, s.logout)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/auth/me", Summary: "The signed-in user",
		Tag: "auth", Access: accessAny, Response: UserSummary{}, SessionOnly: true}, s.me)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/auth/me", Summary: "Change your own preferences (signature on or off)",
		Tag: "auth", Access: accessTenant, Perm: crm.PermProfileWrite, Request: updateMeRequest{}, Response: UserSummary{}, SessionOnly: true}, s.updateMe)
}

func invalidCredentials() error {
	return crm.NewError(crm.ErrUnauthenticated, "invalid_credentials", "email or password is wrong", nil)
}

func (s *Server) login(c *gin.Context, _ crm.Principal) error {
	var req loginRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	req.Email = strings.ToLower(strings.TrimSpace(req.Email))
	fields := crm.FieldErrors{}
	switch {
	case req.Email == "":
		fields.Add("email", "is required")
	case len(req.Email) > 254: // no account has one; and it would be a key of the throttle's memory
		fields.Add("email", "must have at most 254 characters")
	}
	if req.Password == "" {
		fields.Add("password", "is required")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	attempt := LoginAttempt{Account: req.Email, IP: c.ClientIP()}
	wait, err := s.limiter.Attempt(c, attempt)
	if err != nil {
		return err
	}
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		return crm.NewError(crm.ErrRateLimited, "too_many_attempts", "too many failed logins; try again later",
			map[string]any{"retry_after_seconds": secs})
	}
	accounts, err := s.db.FindAccountsByEmail(c, req.Email)
	if err != nil {
		return err
	}
	var matched []persistence.Account
	for _, a := range accounts {
		if req.Tenant != "" && a.TenantSlug != req.Tenant {
			continue
		}
		if crm.CheckPassword(a.PasswordHash, req.Password) {
			matched = append(matched, a)
		}
	}
	if len(accounts) == 0 {
		crm.CheckPasswordAgainstNothing(req.Password)
	}
	if len(matched) == 0 {
		return invalidCredentials() // the attempt stays counted
	}
	if err := s.limiter.Succeeded(c, attempt); err != nil {
		// The password was right; a throttle that could not forget the
		// failures only makes the next mistakes wait sooner.
		s.log.Warn("login throttle: could not clear the failures of a successful login", "error", err)
	}
	if len(matched) > 1 {
		tenants := make([]map[string]string, 0, len(matched))
		for _, a := range matched {
			tenants = append(tenants, map[string]string{"slug": a.TenantSlug, "name": a.TenantName})
		}
		return crm.NewError(crm.ErrConflict, "tenant_required", "this email has accounts in several tenants; choose one",
			map[string]any{"tenants": tenants})
	}
	a := matched[0]
	if err := accountUsable(a); err != nil {
		return err
	}
	if err := s.db.RecordLogin(c, a, s.now()); err != nil {
		return err
	}
	resp, err := s.issueTokens(c, a, uuid.Nil)
	if err != nil {
		return err
	}
	s.setRefreshCookie(c, resp.RefreshToken)
	c.JSON(http.StatusOK, resp)
	return nil
}

// accountUsable refuses deactivated users and users of suspended tenants.
func accountUsable(a persistence.Account) error {
	if !a.Active {
		return crm.NewError(crm.ErrForbidden, "account_disabled", "this account is deactivated", nil)
	}
	switch a.TenantStatus {
	case "suspended":
		return crm.NewError(crm.ErrForbidden, "tenant_suspended", "this company's account is suspended", nil)
	case "deleted":
		return invalidCredentials()
	}
	return nil
}

// issueTokens signs an access token and stores a new refresh token (a new
// family unless family is given).
func (s *Server) issueTokens(c *gin.Context, a persistence.Account, family uuid.UUID) (tokenResponse, error) {
	access, err := s.signAccess(a)
	if err != nil {
		return tokenResponse{}, err
	}
	refresh, hash := newRefreshToken(a.TenantID)
	if family == uuid.Nil {
		family = crm.NewID()
		if err := s.db.SaveRefreshToken(c, persistence.RefreshToken{ID: crm.NewID(), TenantID: a.TenantID, UserID: a.ID,
			FamilyID: family, Hash: hash, ExpiresAt: s.now().Add(s.cfg.RefreshTTL), UserAgent: truncate(c.Request.UserAgent(), 300),
			IP: c.ClientIP()}); err != nil {
			return tokenResponse{}, err
		}
	}
	return tokenResponse{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(s.cfg.AccessTTL.Seconds()), User: summary(a)}, nil
}

func summary(a persistence.Account) UserSummary {
	u := UserSummary{ID: a.ID, Name: a.Name, Email: a.Email, Role: a.Role, TenantName: a.TenantName, TenantSlug: a.TenantSlug,
		Signature: a.Signature}
	if a.TenantID != uuid.Nil {
		tid := a.TenantID
		u.TenantID = &tid
	}
	return u
}

func (s *Server) signAccess(a persistence.Account) (string, error) {
	now := s.now()
	claims := accessClaims{Role: string(a.Role), Version: a.TokenVersion, RegisteredClaims: jwt.RegisteredClaims{
		Subject: a.ID.String(), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
		ID: crm.NewID().String(),
	}}
	if a.TenantID != uuid.Nil {
		claims.TenantID = a.TenantID.String()
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.cfg.TokenKey)
}

// newRefreshToken returns "<tenant id or p>.<secret>" and the hash to store.
// The tenant prefix lets refresh run inside the right tenant's transaction.
func newRefreshToken(tenantID uuid.UUID) (string, []byte) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic(err)
	}
	prefix := "p"
	if tenantID != uuid.Nil {
		prefix = tenantID.String()
	}
	token := prefix + "." + base64.RawURLEncoding.EncodeToString(secret)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func parseRefreshTenant(token string) (uuid.UUID, bool) {
	prefix, secret, ok := strings.Cut(token, ".")
	if !ok || len(secret) < 40 || len(token) > 200 {
		return uuid.Nil, false
	}
	if prefix == "p" {
		return uuid.Nil, true
	}
	id, err := uuid.Parse(prefix)
	return id, err == nil
}

// bindRefreshRequest reads refresh's and logout's body, which may be empty
// (the token is then the cookie's).
func bindRefreshRequest(c *gin.Context) (refreshRequest, error) {
	var req refreshRequest
	if c.Request.Body == nil {
		return req, nil
	}
	raw, err := io.ReadAll(io.LimitReader(c.Request.Body, maxJSONBody))
	if err != nil {
		return req, crm.NewError(crm.ErrInvalid, "invalid_json", "could not read request body", nil)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return req, nil
	}
	return req, DecodeStrict(raw, &req)
}

// refresh rotates a refresh token. One sent in the body (API clients) comes
// back in the body; one from the cookie (the console) goes back only in the
// cookie, so no script ever holds a long-lived token. Every new token is set
// as the cookie (clients without cookies ignore it).
func (s *Server) refresh(c *gin.Context, _ crm.Principal) error {
	req, err := bindRefreshRequest(c)
	if err != nil {
		return err
	}
	fromCookie := false
	if req.RefreshToken == "" {
		req.RefreshToken, fromCookie = refreshTokenFromCookie(c), true
	}
	err = s.rotate(c, req.RefreshToken, fromCookie)
	if err != nil && fromCookie && (errors.Is(err, persistence.ErrRefreshInvalid) || errors.Is(err, persistence.ErrRefreshReused)) {
		s.clearRefreshCookie(c) // dead: the browser need not send it again
	}
	return err
}

func (s *Server) rotate(c *gin.Context, token string, fromCookie bool) error {
	tenantID, ok := parseRefreshTenant(token)
	if !ok {
		return persistence.ErrRefreshInvalid
	}
	refresh, hash := newRefreshToken(tenantID)
	userID, err := s.db.RotateRefreshToken(c, tenantID, hashToken(token), persistence.RefreshToken{
		ID: crm.NewID(), TenantID: tenantID, Hash: hash, ExpiresAt: s.now().Add(s.cfg.RefreshTTL),
		UserAgent: truncate(c.Request.UserAgent(), 300), IP: c.ClientIP()}, s.now())
	if err != nil {
		return err
	}
	a, err := s.db.LoadAccount(c, tenantID, userID)
	if err != nil {
		return persistence.ErrRefreshInvalid
	}
	if err := accountUsable(a); err != nil {
		return err
	}
	access, err := s.signAccess(a)
	if err != nil {
		return err
	}
	resp := tokenResponse{AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		ExpiresIn: int(s.cfg.AccessTTL.Seconds()), User: summary(a)}
	s.setRefreshCookie(c, refresh)
	if fromCookie {
		resp.RefreshToken = ""
	}
	c.JSON(http.StatusOK, resp)
	return nil
}

func (s *Server) logout(c *gin.Context, _ crm.Principal) error {
	req, err := bindRefreshRequest(c)
	if err != nil {
		return err
	}
	for _, token := range []string{req.RefreshToken, refreshTokenFromCookie(c)} {
		if tenantID, ok := parseRefreshTenant(token); ok {
			if err := s.db.RevokeRefreshFamily(c, tenantID, hashToken(token), s.now()); err != nil {
				return err
			}
		}
	}
	s.clearRefreshCookie(c)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) me(c *gin.Context, p crm.Principal) error {
	a, err := s.db.LoadAccount(c, p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, summary(a))
	return nil
}

func (s *Server) updateMe(c *gin.Context, p crm.Principal) error {
	var req updateMeRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Signature != nil {
		if err := s.db.SetOwnSignature(c, p.TenantID, p.UserID, *req.Signature); err != nil {
			return err
		}
	}
	return s.me(c, p)
}

// bearerToken reads the access token from the Authorization header. No
// route takes it from the URL (the socket takes a ticket: ws_ticket.go).
func bearerToken(c *gin.Context) string {
	h := c.GetHeader("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

var errTokenInvalid = crm.NewError(crm.ErrUnauthenticated, "invalid_token", "access token is missing, invalid or expired", nil)

// accessClaims verifies an access token's signature and expiry.
func (s *Server) accessClaims(token string) (accessClaims, error) {
	var claims accessClaims
	if token == "" {
		return claims, errTokenInvalid
	}
	_, err := jwt.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) { return s.cfg.TokenKey, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithTimeFunc(s.now), jwt.WithExpirationRequired())
	if err != nil {
		return claims, errTokenInvalid
	}
	return claims, nil
}

// Authenticate verifies an access token and loads its account fresh from the
// database, so a deactivated user, a changed role or a suspended tenant takes
// effect on the next request.
func (s *Server) Authenticate(c *gin.Context, token string) (crm.Principal, error) {
	if isAPIToken(token) {
		return s.authenticateAPIToken(c, token)
	}
	claims, err := s.accessClaims(token)
	if err != nil {
		return crm.Principal{}, err
	}
	userID, err := uuid.Parse(claims.Subject)
	if err != nil {
		return crm.Principal{}, errTokenInvalid
	}
	tenantID := uuid.Nil
	if claims.TenantID != "" {
		if tenantID, err = uuid.Parse(claims.TenantID); err != nil {
			return crm.Principal{}, errTokenInvalid
		}
	}
	return s.principalFor(c, tenantID, userID, int64(claims.Version))
}

// principalFor loads the account a verified credential (an access token, a
// socket ticket) names and checks that it still stands: active, the token
// version the credential was issued under, its tenant not deleted or
// suspended.
func (s *Server) principalFor(c *gin.Context, tenantID, userID uuid.UUID, tokenVersion int64) (crm.Principal, error) {
	a, err := s.db.LoadAccount(c, tenantID, userID)
	if err != nil {
		var coded *crm.Error
		if errors.As(err, &coded) && errors.Is(coded.Kind, crm.ErrNotFound) {
			return crm.Principal{}, errTokenInvalid
		}
		return crm.Principal{}, err
	}
	if !a.Active || int64(a.TokenVersion) != tokenVersion || a.TenantStatus == "deleted" {
		return crm.Principal{}, errTokenInvalid
	}
	if a.TenantStatus == "suspended" {
		return crm.Principal{}, crm.NewError(crm.ErrForbidden, "tenant_suspended", "this company's account is suspended", nil)
	}
	return a.Principal(), nil
}

func (s *Server) authenticate(o op) gin.HandlerFunc {
	return func(c *gin.Context) {
		p, err := s.Authenticate(c, bearerToken(c))
		if err != nil {
			writeError(c, s.log, err)
			return
		}
		if err := authorize(o, p); err != nil {
			writeError(c, s.log, err)
			return
		}
		if o.Access == accessTenant {
			if err := s.checkTenantAccess(c, p); err != nil {
				writeError(c, s.log, err)
				return
			}
		}
		c.Set(principalKey, p)
		c.Next()
	}
}

// authorize is the one permission check: the route's access and permission
// against the principal's role.
func authorize(o op, p crm.Principal) error {
	forbidden := crm.NewError(crm.ErrForbidden, "forbidden", "your role may not do this", nil)
	if p.Role.IsAPIToken() && (o.SessionOnly || o.Access != accessTenant) {
		return crm.NewError(crm.ErrForbidden, "session_only", "API tokens may not do this; sign in to the console", nil)
	}
	switch o.Access {
	case accessPlatform:
		if !p.IsPlatform() {
			return forbidden
		}
	case accessTenant:
		if p.IsPlatform() || p.TenantID == uuid.Nil || !p.Role.Can(o.Perm) {
			return forbidden
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
