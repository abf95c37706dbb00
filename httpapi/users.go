package httpapi

import (
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

type createUserRequest struct {
	Name     string      `json:"name" required:"true"`
	Email    string      `json:"email" required:"true"`
	Password string      `json:"password" required:"true"`
	Role     crm.Role    `json:"role" required:"true"`
	TeamIDs  []uuid.UUID `json:"team_ids"`
}

// updateUserRequest: only the fields present change. team_ids replaces the
// user's teams; active false deactivates, true reactivates.
type updateUserRequest struct {
	Name     *string      `json:"name"`
	Email    *string      `json:"email"`
	Password *string      `json:"password"`
	Role     *crm.Role    `json:"role"`
	Active   *bool        `json:"active"`
	TeamIDs  *[]uuid.UUID `json:"team_ids"`
}

type listUsersQuery struct {
	Cursor string    `form:"cursor"`
	Limit  int       `form:"limit"`
	Role   crm.Role  `form:"role"`
	Active bool      `form:"active"`
	TeamID uuid.UUID `form:"team_id"`
	Q      string    `form:"q"`
}

func (s *Server) userRoutes() {
	s.route(op{Method: http.MethodGet, Path: "/api/v1/users", Summary: "List users (filters: role, active, team_id, q on name/email)",
		Tag: "users", Access: accessTenant, Perm: crm.PermUsersRead, Query: listUsersQuery{},
		Response: crm.Page[persistence.User]{}}, s.listUsers)
	s.route(op{Method: http.MethodPost, Path: "/api/v1/users", Summary: "Create a user", Tag: "users",
		Access: accessTenant, Perm: crm.PermUsersWrite, Request: createUserRequest{}, Response: persistence.User{},
		Status: http.StatusCreated}, s.createUser)
	s.route(op{Method: http.MethodGet, Path: "/api/v1/users/:id", Summary: "Get a user", Tag: "users",
		Access: accessTenant, Perm: crm.PermUsersRead, Response: persistence.User{}}, s.getUser)
	s.route(op{Method: http.MethodPatch, Path: "/api/v1/users/:id", Summary: "Update a user (only the fields given)",
		Tag: "users", Access: accessTenant, Perm: crm.PermUsersWrite, Request: updateUserRequest{},
		Response: persistence.User{}}, s.updateUser)
	s.route(op{Method: http.MethodDelete, Path: "/api/v1/users/:id", Summary: "Deactivate a user", Tag: "users",
		Access: accessTenant, Perm: crm.PermUsersWrite, Status: http.StatusNoContent}, s.deactivateUser)
}

func (s *Server) listUsers(c *gin.Context, p crm.Principal) error {
	limit, err := queryLimit(c)
	if err != nil {
		return err
	}
	teamID, err := queryUUID(c, "team_id")
	if err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	filter := persistence.UserFilter{Cursor: c.Query("cursor"), Limit: limit, TeamID: teamID, Q: directoryQuery(c)}
	if role := c.Query("role"); role != "" {
		filter.Role = crm.Role(strings.ToUpper(role))
		if !filter.Role.Valid() {
			fields.Add("role", "must be TENANT_ADMIN, SUPERVISOR or AGENT")
		}
	}
	if active := c.Query("active"); active != "" {
		b, err := strconv.ParseBool(active)
		if err != nil {
			fields.Add("active", "must be true or false")
		}
		filter.Active = &b
	}
	if err := fields.Err(); err != nil {
		return err
	}
	page, err := s.db.ListUsers(c, p.TenantID, filter)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (s *Server) createUser(c *gin.Context, p crm.Principal) error {
	var req createUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	in := persistence.NewUser{
		Name:    directoryText(fields, "name", req.Name, 1, 200),
		Email:   userEmail(fields, req.Email),
		Role:    userRole(fields, req.Role),
		TeamIDs: req.TeamIDs,
	}
	if msg := crm.ValidatePassword(req.Password); msg != "" {
		fields.Add("password", "%s", msg)
	}
	if err := fields.Err(); err != nil {
		return err
	}
	hash, err := crm.HashPassword(req.Password)
	if err != nil {
		return err
	}
	in.PasswordHash = hash
	u, err := s.db.CreateUser(c, p.TenantID, directoryActor(c, p), in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, u)
	return nil
}

func (s *Server) getUser(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	u, err := s.db.GetUser(c, p.TenantID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) updateUser(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	var req updateUserRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	fields := crm.FieldErrors{}
	patch := persistence.UserPatch{Active: req.Active, TeamIDs: req.TeamIDs}
	if req.Name != nil {
		name := directoryText(fields, "name", *req.Name, 1, 200)
		patch.Name = &name
	}
	if req.Email != nil {
		email := userEmail(fields, *req.Email)
		patch.Email = &email
	}
	if req.Role != nil {
		role := userRole(fields, *req.Role)
		patch.Role = &role
	}
	if req.Password != nil {
		if msg := crm.ValidatePassword(*req.Password); msg != "" {
			fields.Add("password", "%s", msg)
		}
	}
	if err := fields.Err(); err != nil {
		return err
	}
	if req.Password != nil {
		hash, err := crm.HashPassword(*req.Password)
		if err != nil {
			return err
		}
		patch.PasswordHash = &hash
	}
	u, err := s.db.UpdateUser(c, p.TenantID, id, directoryActor(c, p), patch)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, u)
	return nil
}

func (s *Server) deactivateUser(c *gin.Context, p crm.Principal) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	if err := s.db.DeactivateUser(c, p.TenantID, id, directoryActor(c, p)); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// userEmail trims and lower-cases an email and checks it is a bare address.
func userEmail(fields crm.FieldErrors, raw string) string {
	email := strings.ToLower(strings.TrimSpace(raw))
	if email == "" {
		fields.Add("email", "is required")
		return email
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || len(email) > 254 {
		fields.Add("email", "must be a valid email address")
	}
	return email
}

// userRole accepts the tenant roles only: SUPER_ADMIN belongs to the platform.
func userRole(fields crm.FieldErrors, role crm.Role) crm.Role {
	if !role.Valid() {
		fields.Add("role", "must be TENANT_ADMIN, SUPERVISOR or AGENT")
	}
	return role
}

// The helpers below are shared by the directory handlers: users, teams,
// labels and quick replies.

// directoryActor is who is making the change, for the audit log.
func directoryActor(c *gin.Context, p crm.Principal) persistence.AuditEntry {
	return persistence.AuditEntry{Actor: p, IP: c.ClientIP()}
}

// directoryText trims a text field and checks its length in characters.
func directoryText(fields crm.FieldErrors, field, raw string, minLen, maxLen int) string {
	s := strings.TrimSpace(raw)
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen && minLen == 1:
		fields.Add(field, "is required")
	case n < minLen:
		fields.Add(field, "must have at least %d characters", minLen)
	case n > maxLen:
		fields.Add(field, "must have at most %d characters", maxLen)
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		fields.Add(field, "must be valid text")
	}
	return s
}

// directoryQuery reads ?q=, trimmed and without bytes PostgreSQL text can't hold.
func directoryQuery(c *gin.Context) string {
	return strings.ReplaceAll(strings.ToValidUTF8(strings.TrimSpace(c.Query("q")), ""), "\x00", "")
}
