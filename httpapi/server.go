package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"crm"
	"crm/actors"
	"crm/channels/providers"
	"crm/persistence"
	"crm/realtime"
)

// Config holds the server's dependencies.
type Config struct {
	DB  *persistence.DB
	Log *slog.Logger
	// TokenKey signs access tokens (HMAC-SHA256); 32 bytes or more.
	TokenKey []byte
	// AccessTTL is the access token lifetime; default 15 minutes.
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime; default 30 days.
	RefreshTTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Ready reports extra readiness conditions (cluster joined); nil means ready.
	Ready func(ctx context.Context) error
	// TrustedProxies (CRM_TRUSTED_PROXIES) are the peers whose forwarding
	// headers (X-Forwarded-For, X-Real-IP) name the client. Empty: no header
	// is believed and the client's address is the TCP peer's. That address is
	// what the login throttle counts, the online license check checks and the
	// audit log records.
	TrustedProxies []netip.Prefix
	// LoginLimiter throttles password guessing per (account, address) and
	// per address, for the whole cluster; default the counters in
	// PostgreSQL (persistence.RateLimiter with default limits). With Redis,
	// a FallbackLoginLimiter over Redis and PostgreSQL.
	LoginLimiter LoginLimiter
	// RateLimiter counts the API's rate-limited requests (the online license
	// check, per address) for the whole cluster; default the counters in
	// PostgreSQL. When it fails, requests go through (fail open) and a
	// warning is logged.
	RateLimiter WindowLimiter
	// UI serves the console for paths outside /api and /webhooks; optional.
	UI http.Handler
	// Registry receives the Prometheus metrics; default a fresh registry.
	Registry *prometheus.Registry
	// WebhookConnections resolves the connection a webhook URL names.
	WebhookConnections providers.WebhookLookup
	// Inbox makes webhook events durable before the 200 (group commit).
	Inbox *persistence.InboxWriter
	// Dispatcher hands durable events to the engine; nil leaves them to the sweeper.
	Dispatcher Dispatcher
	// Engine runs the conversation grains (sends, assignment, status).
	Engine *actors.Engine
	// Sealer encrypts connection credentials at rest (crm.NewSealer over
	// CRM_SECRET_KEY); the connection and sandbox routes need it.
	Sealer *crm.Sealer
	// Blobs stores media bytes (persistence.OpenBlobStore); the media routes
	// need it.
	Blobs persistence.BlobStore
	// PublicURL is the base URL providers and browsers reach this server
	// at, for webhook URLs and media links: CRM_PUBLIC_URL, else derived from
	// the listen address once at start. Required: a URL the server shows or
	// calls is never built from a request's Host header, which the caller
	// chooses.
	PublicURL string
	// SelfURL is where this node's own listener answers (e.g.
	// http://127.0.0.1:8080): the sandbox posts its webhooks there and
	// sandbox connections' sends reach the sandbox there, so neither leaves
	// the node nor depends on the public URL being reachable from inside.
	// Default PublicURL.
	SelfURL string
	// Providers builds connections' adapters (provider calls through the
	// egress guard); default a providers.Registry over SelfURL with private
	// addresses refused. The serve command shares one with the engine.
	Providers *providers.Registry
	// MediaURLKey signs the expiring media content URLs; default derived
	// from TokenKey (see MediaURLKeyFrom).
	MediaURLKey []byte
	// SandboxHTTPClient posts the sandbox's webhooks (to SelfURL); default a
	// client with a 15 s timeout. The simulator fetches media URLs through
	// the egress guard, private addresses allowed only as Providers allows.
	SandboxHTTPClient *http.Client
	// Licenses enforces tenant licenses on every tenant route (402
	// license_invalid). nil turns enforcement off, as in tests that do not
	// exercise licensing. Built with persistence.NewLicenseChecker; the serve
	// command runs its Run.
	Licenses *persistence.LicenseChecker
	// LicenseSigningKey (an ed25519.PrivateKey, CRM_LICENSE_SIGNING_KEY) lets
	// this node issue licenses; without it issuing answers 422.
	LicenseSigningKey []byte
	// Gateway routes live events to this node's WebSocket sessions
	// (GET /api/v1/ws). The serve command builds it with realtime.NewGateway and
	// spawns it in the node's actor system; nil builds a standalone one on the
	// server's clock.
	Gateway *realtime.Gateway
	// Mailer sends the password reset e-mails (mail.NewSMTP over
	// CRM_SMTP_URL). nil: no SMTP; a reset link asked for on the login page
	// is logged at info level instead, and the platform owner's reset of a
	// tenant admin answers the link.
	Mailer Mailer
}

// Server is the HTTP API.
type Server struct {
	hooks       *webhookState
	cfg         Config
	db          *persistence.DB
	log         *slog.Logger
	engine      *gin.Engine
	ops         []op
	now         func() time.Time
	limiter     LoginLimiter
	openAPIOnce sync.Once
	openAPIJSON []byte
	openAPIErr  error
	// consolePolicy is the console's Content-Security-Policy (security.go).
	consolePolicy consolePolicy
	// wsTicketKey signs the socket tickets (ws_ticket.go).
	wsTicketKey []byte

	// rateLimiter counts the rate-limited routes' requests (Config.RateLimiter).
	rateLimiter WindowLimiter
	// rateLimitFailures spaces out the warnings of a failing rateLimiter.
	rateLimitFailures logEvery
}

// New builds the server and registers every route.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil {
		return nil, errors.New("httpapi: DB is required")
	}
	if len(cfg.TokenKey) < 32 {
		return nil, errors.New("httpapi: TokenKey must have at least 32 bytes")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("httpapi: PublicURL must be an http(s) URL, got %q", cfg.PublicURL)
	}
	if cfg.SelfURL == "" {
		cfg.SelfURL = cfg.PublicURL
	}
	cfg.SelfURL = strings.TrimRight(cfg.SelfURL, "/")
	if cfg.Providers == nil {
		var err error
		if cfg.Providers, err = providers.NewRegistry(providers.RegistryConfig{SelfURL: cfg.SelfURL}); err != nil {
			return nil, err
		}
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = 15 * time.Minute
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LoginLimiter == nil || cfg.RateLimiter == nil {
		counters := persistence.NewRateLimiter(cfg.DB, persistence.RateLimiterConfig{Now: cfg.Now})
		if cfg.LoginLimiter == nil {
			cfg.LoginLimiter = counters
		}
		if cfg.RateLimiter == nil {
			cfg.RateLimiter = counters
		}
	}
	gin.SetMode(gin.ReleaseMode)
	engine := gin.New()
	engine.ContextWithFallback = true
	engine.HandleMethodNotAllowed = true
	// gin believes forwarding headers from every peer unless told otherwise,
	// which lets any client pick the address it is throttled, licensed and
	// audited under. Only the configured proxies may speak for a client, and
	// no platform header (CF-Connecting-IP and the like) is read at all.
	engine.TrustedPlatform = ""
	if err := engine.SetTrustedProxies(proxyCIDRs(cfg.TrustedProxies)); err != nil {
		return nil, fmt.Errorf("httpapi: TrustedProxies: %w", err)
	}
	s := &Server{cfg: cfg, db: cfg.DB, log: cfg.Log, engine: engine, now: cfg.Now, limiter: cfg.LoginLimiter,
		consolePolicy: newConsolePolicy(cfg.PublicURL), wsTicketKey: wsTicketKeyFrom(cfg.TokenKey)}
	s.rateLimiter = cfg.RateLimiter
	engine.Use(s.securityHeaders, s.recover)
	s.setupMetrics()
	engine.NoRoute(s.noRoute)
	engine.NoMethod(func(c *gin.Context) {
		writeError(c, s.log, &crm.Error{Kind: crm.ErrInvalid, Code: "method_not_allowed", Message: "method not allowed"})
		c.Status(http.StatusMethodNotAllowed)
	})
	s.routes()
	return s, nil
}

// proxyCIDRs is the list for gin's SetTrustedProxies: nil, not empty, when
// there are none, which is how gin is told to trust no peer.
func proxyCIDRs(prefixes []netip.Prefix) []string {
	var out []string
	for _, p := range prefixes {
		out = append(out, p.Masked().String())
	}
	return out
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists the registered method and gin path pairs (for tests).
func (s *Server) Routes() []gin.RouteInfo { return s.engine.Routes() }

// OpenAPI returns the OpenAPI document.
func (s *Server) OpenAPI() map[string]any { return s.openAPIDocument() }

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			s.log.ErrorContext(c.Request.Context(), "panic serving request", "path", c.FullPath(), "panic", r)
			c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: errorDetail{Code: "internal", Message: "internal error"}})
		}
	}()
	c.Next()
}

func (s *Server) noRoute(c *gin.Context) {
	if s.cfg.UI != nil && (c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead) && !isAPIPath(c.Request.URL.Path) {
		c.Status(http.StatusOK) // gin presets 404 for unmatched routes
		s.cfg.UI.ServeHTTP(c.Writer, c.Request)
		return
	}
	writeError(c, s.log, crm.NotFound("route"))
}

func isAPIPath(p string) bool {
	for _, prefix := range []string{"/api/", "/webhooks/", "/metrics", "/healthz", "/readyz"} {
		if len(p) >= len(prefix) && p[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

type healthResponse struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

func (s *Server) routes() {
	s.raw(op{Method: http.MethodGet, Path: "/healthz", Summary: "Liveness", Tag: "health", Response: healthResponse{}},
		func(c *gin.Context) { c.JSON(http.StatusOK, healthResponse{Status: "ok"}) })
	s.raw(op{Method: http.MethodGet, Path: "/readyz", Summary: "Readiness: database reachable, cluster joined", Tag: "health", Response: healthResponse{}},
		s.ready)
	s.raw(op{Method: http.MethodGet, Path: "/api/v1/openapi.json", Summary: "This document", Tag: "meta"}, s.serveOpenAPI)

	s.authRoutes()
	for _, register := range s.featureRoutes() {
		register()
	}
}

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{"database": "ok"}
	ready := true
	if err := s.db.Ping(ctx); err != nil {
		checks["database"] = "unreachable"
		ready = false
	}
	if s.cfg.Ready != nil {
		checks["cluster"] = "ok"
		if err := s.cfg.Ready(ctx); err != nil {
			checks["cluster"] = err.Error()
			ready = false
		}
	}
	if !ready {
		c.JSON(http.StatusServiceUnavailable, healthResponse{Status: "unavailable", Checks: checks})
		return
	}
	c.JSON(http.StatusOK, healthResponse{Status: "ok", Checks: checks})
}
