package httpapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"crm"
)

// access says who may call a route.
type access int

const (
	accessPublic   access = iota // no token
	accessTenant                 // a tenant user holding Perm
	accessPlatform               // a super admin
	accessAny                    // any authenticated principal
)

// op describes one route: it is registered with gin and written into the
// OpenAPI document from the same value, so the two cannot drift.
type op struct {
	Method   string
	Path     string // gin syntax: /api/v1/users/:id
	Summary  string
	Tag      string
	Access   access
	Perm     crm.Permission // for accessTenant
	Request  any            // body type (nil for none)
	Query    any            // struct whose `form` tags are query parameters
	Response any            // body type of the success answer
	Status   int            // success status; default 200
	Raw      string         // non-JSON body type: "multipart/form-data", "text/csv", "text/plain"
	// Security names the credential for a non-public route: "" is the
	// bearer access token; securityWSTicket the socket's ?ticket=.
	Security string
	// Errors documents the answers a client is expected to act on (beyond
	// the generic error of every route), with the shape of their details.
	Errors []opError
	// SessionOnly refuses API tokens (403 session_only): what only a
	// person's browser session does (its socket ticket, its own profile,
	// the management of users and tokens).
	SessionOnly bool
	// Description is the longer text of the OpenAPI operation (optional).
	Description string

	selfHandled bool // registered with raw: authenticates (or not) by itself
}

// opError is one documented error answer of a route.
type opError struct {
	Status  int
	Code    string
	Summary string
	Details any // struct whose json tags name the details' fields
}

// securityWSTicket is the OpenAPI security scheme of GET /api/v1/ws.
const securityWSTicket = "wsTicket"

// securityAPIToken is the OpenAPI security scheme of API tokens
// (Authorization: Bearer crm_…), offered beside the access token on every
// tenant route that is not SessionOnly.
const securityAPIToken = "apiToken"

// handler is what tenant and platform routes implement: the principal is
// already authenticated and authorised.
type handler func(c *gin.Context, p crm.Principal) error

// route registers an authenticated (or public) route.
func (s *Server) route(o op, h handler) {
	if o.Status == 0 {
		o.Status = http.StatusOK
	}
	s.ops = append(s.ops, o)
	chain := []gin.HandlerFunc{}
	if o.Access != accessPublic {
		chain = append(chain, s.authenticate(o))
	}
	chain = append(chain, func(c *gin.Context) {
		var p crm.Principal
		if v, ok := c.Get(principalKey); ok {
			p = v.(crm.Principal)
		}
		if err := queryTextErrors(c.Request.URL.Query()).Err(); err != nil {
			writeError(c, s.log, err)
			return
		}
		if err := h(c, p); err != nil {
			writeError(c, s.log, err)
		}
	})
	s.engine.Handle(o.Method, o.Path, chain...)
}

// raw registers a route that answers by itself (webhooks, health, the socket),
// still documented.
func (s *Server) raw(o op, h gin.HandlerFunc) {
	if o.Status == 0 {
		o.Status = http.StatusOK
	}
	o.selfHandled = true
	s.ops = append(s.ops, o)
	s.engine.Handle(o.Method, o.Path, h)
}

// openAPIPath turns gin's :id into {id}.
func openAPIPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") || strings.HasPrefix(part, "*") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return strings.Join(parts, "/")
}
