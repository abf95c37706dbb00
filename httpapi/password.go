package httpapi

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/mail"
	"crm/persistence"
)

// Mailer sends the server's e-mails (mail.SMTP over CRM_SMTP_URL).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

var _ Mailer = (*mail.SMTP)(nil)

// passwordResetTTL is how long a reset link works.
const passwordResetTTL = 30 * time.Minute

// resetPagePath is the console page a reset link opens.
const resetPagePath = "/redefinir-senha"

type forgotPasswordRequest struct {
	Email string `json:"email" required:"true"`
}

// forgotPasswordResponse is the one answer to every well-formed request,
// whether or not the email has an account.
type forgotPasswordResponse struct {
	Message string `json:"message"`
}

type resetPasswordRequest struct {
	// Token is the token= parameter of the link.
	Token    string `json:"token" required:"true"`
	Password string `json:"password" required:"true"`
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password" required:"true"`
	NewPassword     string `json:"new_password" required:"true"`
}

type tenantAdminList struct {
	Items []persistence.TenantAdminAccount `json:"items"`
}

// adminPasswordReset says how the reset link of a tenant admin went out:
// by e-mail (sent), or, on a server without SMTP, in Link, shown this once.
type adminPasswordReset struct {
	Sent      bool      `json:"sent"`
	Email     string    `json:"email"`
	ExpiresAt time.Time `json:"expires_at"`
	Link      string    `json:"link,omitempty"`
}

const forgotAnswer = "if this email has an account, a link to choose a new password was sent to it"

func (s *Server) passwordRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/auth/password/forgot",
		Summary: "Ask for a password reset link by e-mail (always 202, whether or not the email has an account; throttled like login)",
		Tag:     "auth", Access: accessPublic, Request: forgotPasswordRequest{}, Response: forgotPasswordResponse{},
		Status: http.StatusAccepted}, s.forgotPassword)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/auth/password/reset",
		Summary: "Choose a new password with a reset link's token (single-use, 30 minutes); signs every session of the account out",
		Tag:     "auth", Access: accessPublic, Request: resetPasswordRequest{}, Status: http.StatusNoContent,
		Errors: []opError{{Status: http.StatusBadRequest, Code: "invalid_reset_token",
			Summary: "the link is unknown, expired, already used or replaced by a newer one"}}}, s.resetPassword)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/auth/me/password",
		Summary: "Change your own password; your other sessions are signed out (this one stays)",
		Tag:     "auth", Access: accessAny, Request: changePasswordRequest{}, Status: http.StatusNoContent, SessionOnly: true,
		Errors: []opError{{Status: http.StatusBadRequest, Code: "wrong_password", Summary: "current_password is not the account's password"}}},
		s.changeOwnPassword)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/admin/tenants/:id/admins", Summary: "List a tenant's admins",
		Tag: "admin", Access: accessPlatform, Response: tenantAdminList{}}, s.listTenantAdmins)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/admin/tenants/:id/admins/:user_id/password-reset",
		Summary: "Send a tenant admin a password reset link (without SMTP the answer carries the link, once)",
		Tag:     "admin", Access: accessPlatform, Response: adminPasswordReset{},
		Errors: []opError{{Status: http.StatusUnprocessableEntity, Code: "mail_failed", Summary: "the SMTP server refused or could not be reached"}}},
		s.resetTenantAdminPassword)
}

// newResetToken returns "<tenant id or p>.<secret>" and the hash to store:
// the refresh tokens' shape, whose prefix says which tenant's transaction
// holds it.
func newResetToken(tenantID uuid.UUID) (string, []byte) { return newRefreshToken(tenantID) }

func (s *Server) resetLink(token string) string {
	return s.cfg.PublicURL + resetPagePath + "?token=" + url.QueryEscape(token)
}

// throttle counts one attempt with the login throttle and refuses it while
// the throttle says to wait.
func (s *Server) throttle(c *gin.Context, a LoginAttempt, message string) error {
	wait, err := s.limiter.Attempt(c, a)
	if err != nil {
		return err
	}
	if wait > 0 {
		return crm.NewError(crm.ErrRateLimited, "too_many_attempts", message,
			map[string]any{"retry_after_seconds": int(math.Ceil(wait.Seconds()))})
	}
	return nil
}

// forgive tells the throttle an attempt succeeded.
func (s *Server) forgive(c *gin.Context, a LoginAttempt) {
	if err := s.limiter.Succeeded(c, a); err != nil {
		// Only makes the next mistakes wait sooner.
		s.log.WarnContext(c, "throttle: could not clear the failures of a successful attempt", "error", err)
	}
}

func (s *Server) forgotPassword(c *gin.Context, _ crm.Principal) error {
	var req forgotPasswordRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	email := strings.ToLower(strings.TrimSpace(req.Email))
	fields := crm.FieldErrors{}
	switch {
	case email == "":
		fields.Add("email", "is required")
	case len(email) > 254:
		fields.Add("email", "must have at most 254 characters")
	}
	if err := fields.Err(); err != nil {
		return err
	}
	// Every request counts, as a failed login does (never forgiven): it
	// sends mail to someone, and a burst must not flood their inbox. The
	// pair is keyed apart from the login's, the address's count is shared.
	attempt := LoginAttempt{Account: "password-reset:" + email, IP: c.ClientIP()}
	if err := s.throttle(c, attempt, "too many requests; try again later"); err != nil {
		return err
	}
	accounts, err := s.db.FindAccountsByEmail(c, email)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if !a.Active || a.TenantStatus == "deleted" {
			continue
		}
		token, err := s.savePasswordReset(c, a, persistence.AuditEntry{Actor: a.Principal(), IP: c.ClientIP()})
		if err != nil {
			return err
		}
		// The mail goes out after the answer, so a known email costs no
		// more time than an unknown one.
		go s.deliverResetLink(context.WithoutCancel(c.Request.Context()), a, token)
	}
	c.JSON(http.StatusAccepted, forgotPasswordResponse{Message: forgotAnswer})
	return nil
}

func (s *Server) savePasswordReset(c *gin.Context, a persistence.Account, by persistence.AuditEntry) (string, error) {
	token, hash := newResetToken(a.TenantID)
	err := s.db.SavePasswordReset(c, persistence.PasswordReset{ID: crm.NewID(), TenantID: a.TenantID, UserID: a.ID,
		Hash: hash, ExpiresAt: s.now().Add(passwordResetTTL), IP: c.ClientIP()}, by)
	return token, err
}

// deliverResetLink mails the link, or, on a server with no SMTP, logs it so
// that whoever runs it can still reset a password. With SMTP the link is
// never logged.
func (s *Server) deliverResetLink(ctx context.Context, a persistence.Account, token string) {
	link := s.resetLink(token)
	if s.cfg.Mailer == nil {
		s.log.InfoContext(ctx, "PASSWORD RESET LINK (no SMTP configured: set CRM_SMTP_URL to e-mail it instead)",
			"email", a.Email, "tenant", a.TenantSlug, "link", link)
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := s.cfg.Mailer.Send(ctx, resetMessage(a, link)); err != nil {
		s.log.WarnContext(ctx, "password reset e-mail not sent", "email", a.Email, "tenant", a.TenantSlug, "error", err)
	}
}

// resetMessage is the reset e-mail, in Portuguese and then English.
func resetMessage(a persistence.Account, link string) mail.Message {
	company := a.TenantName
	if company == "" {
		company = "CRM"
	}
	minutes := int(passwordResetTTL.Minutes())
	text := fmt.Sprintf(`Olá, %[1]s.

Recebemos um pedido para redefinir a senha da sua conta em %[2]s.
Para escolher uma nova senha, abra o link abaixo (vale por %[3]d minutos e pode ser usado uma vez):

%[4]s

Se você não pediu, ignore este e-mail: sua senha continua a mesma.

---

Hello %[1]s,

Someone asked to reset the password of your %[2]s account.
To choose a new password, open the link above (it works once, for %[3]d minutes).
If it was not you, ignore this e-mail: your password stays as it is.
`, a.Name, company, minutes, link)
	return mail.Message{To: a.Email, Subject: "Redefinição de senha / Password reset — " + company, Text: text}
}

func (s *Server) resetPassword(c *gin.Context, _ crm.Principal) error {
	var req resetPasswordRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	if req.Token == "" {
		fields.Add("token", "is required")
	}
	if msg := crm.ValidatePassword(req.Password); msg != "" {
		fields.Add("password", "%s", msg)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	tenantID, ok := parseRefreshTenant(req.Token)
	if !ok {
		return persistence.ErrResetInvalid
	}
	// Tokens are not guessable, but each try costs a password hash: the
	// address is throttled as for logins, and a success forgives it.
	attempt := LoginAttempt{Account: "password-reset-token", IP: c.ClientIP()}
	if err := s.throttle(c, attempt, "too many attempts; try again later"); err != nil {
		return err
	}
	hash, err := crm.HashPassword(req.Password)
	if err != nil {
		return err
	}
	if _, err := s.db.ResetPassword(c, tenantID, hashToken(req.Token), hash, s.now(), c.ClientIP()); err != nil {
		return err
	}
	s.forgive(c, attempt)
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) changeOwnPassword(c *gin.Context, p crm.Principal) error {
	var req changePasswordRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	if req.CurrentPassword == "" {
		fields.Add("current_password", "is required")
	}
	if msg := crm.ValidatePassword(req.NewPassword); msg != "" {
		fields.Add("new_password", "%s", msg)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	// A wrong current password is a failed login of the account: someone
	// holding a stolen session must not guess their way to the password.
	attempt := LoginAttempt{Account: p.Email, IP: c.ClientIP()}
	if err := s.throttle(c, attempt, "too many failed attempts; try again later"); err != nil {
		return err
	}
	a, err := s.db.LoadAccount(c, p.TenantID, p.UserID)
	if err != nil {
		return err
	}
	if !crm.CheckPassword(a.PasswordHash, req.CurrentPassword) {
		return crm.NewError(crm.ErrInvalid, "wrong_password", "the current password is wrong",
			map[string]any{"fields": map[string]any{"current_password": "is not your current password"}})
	}
	s.forgive(c, attempt)
	hash, err := crm.HashPassword(req.NewPassword)
	if err != nil {
		return err
	}
	var keep []byte
	if token := refreshTokenFromCookie(c); token != "" {
		keep = hashToken(token)
	}
	if err := s.db.ChangeOwnPassword(c, p, hash, keep, s.now(), c.ClientIP()); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) listTenantAdmins(c *gin.Context, _ crm.Principal) error {
	tenantID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	admins, err := s.db.ListTenantAdmins(c, tenantID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, tenantAdminList{Items: admins})
	return nil
}

func (s *Server) resetTenantAdminPassword(c *gin.Context, p crm.Principal) error {
	tenantID, err := pathID(c, "id")
	if err != nil {
		return err
	}
	userID, err := pathID(c, "user_id")
	if err != nil {
		return err
	}
	a, err := s.db.LoadTenantAdmin(c, tenantID, userID)
	if err != nil {
		return err
	}
	token, err := s.savePasswordReset(c, a, persistence.AuditEntry{Actor: p, IP: c.ClientIP()})
	if err != nil {
		return err
	}
	out := adminPasswordReset{Email: a.Email, ExpiresAt: s.now().Add(passwordResetTTL)}
	if s.cfg.Mailer == nil {
		out.Link = s.resetLink(token) // shown to the platform owner this once, never logged
	} else {
		ctx, cancel := context.WithTimeout(c, time.Minute)
		defer cancel()
		if err := s.cfg.Mailer.Send(ctx, resetMessage(a, s.resetLink(token))); err != nil {
			s.log.WarnContext(ctx, "password reset e-mail not sent", "email", a.Email, "tenant", a.TenantSlug, "error", err)
			return crm.NewError(crm.ErrUnprocessable, "mail_failed", "the e-mail could not be sent; check the SMTP settings", nil)
		}
		out.Sent = true
	}
	c.JSON(http.StatusOK, out)
	return nil
}
