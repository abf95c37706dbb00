package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"crm"
	"crm/actors"
	"crm/channels"
	"crm/channels/providers"
	"crm/cluster"
	"crm/httpapi"
	"crm/jobs"
	"crm/mail"
	"crm/persistence"
	"crm/realtime"
	"crm/rediskv"
	"crm/ui"
)

// The grains publish through the realtime router without importing it.
var _ actors.Publisher = (*realtime.Router)(nil)
var _ jobs.BotWaker = (*actors.Engine)(nil)
var _ jobs.ScheduledSender = (*actors.Engine)(nil)

// node is a running crm node; Shutdown stops it in order (HTTP → sockets →
// jobs → actors → database) and is safe to call twice.
type node struct {
	log        *slog.Logger
	db         *persistence.DB
	http       *http.Server
	listener   net.Listener
	publicURL  string // CRM_PUBLIC_URL, else derived from the listener, once at start
	cluster    *cluster.Node
	engine     *actors.Engine
	gateway    *realtime.Gateway
	router     *realtime.Router
	jobs       *jobs.Client
	inbox      *persistence.InboxWriter
	sealer     *crm.Sealer
	signingKey ed25519.PrivateKey
	serverIPs  []string
	checker    *persistence.LicenseChecker
	redis      *rediskv.Client // the throttles' shared counters when REDIS_URL is set
	once       sync.Once
	cancel     context.CancelFunc
	bg         sync.WaitGroup
}

// Addr is the address the HTTP server listens on.
func (n *node) Addr() string { return n.listener.Addr().String() }

// The engine takes its connections' adapters from a providers.Cache.
var _ actors.ConnectionSource = (*providers.Cache)(nil)

// Start opens the database, migrates it, joins the cluster, starts the
// engine and serves HTTP.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *node, err error) {
	n := &node{log: log}
	defer func() {
		if err != nil { // undo what was started, in order
			n.Shutdown(context.Background()) //nolint:errcheck
		}
	}()
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	n.db, err = persistence.Open(ctx, persistence.Config{URL: cfg.DatabaseURL, TenantRole: cfg.DBTenantRole}, log)
	if err != nil {
		return nil, err
	}
	applied, err := n.db.Migrate(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrating: %w", err)
	}
	if len(applied) > 0 {
		log.Info("applied migrations", "versions", applied)
	}
	if n.sealer, err = crm.NewSealer(cfg.SecretKey); err != nil {
		return nil, err
	}
	blobs, err := persistence.OpenBlobStore(ctx, persistence.BlobConfig{Dir: cfg.MediaDir, S3Endpoint: cfg.S3Endpoint,
		S3Bucket: cfg.S3Bucket, S3AccessKey: cfg.S3AccessKey, S3SecretKey: cfg.S3SecretKey})
	if err != nil {
		return nil, fmt.Errorf("opening the media store: %w", err)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	licenses, err := n.licenses(cfg, getenv, log)
	if err != nil {
		return nil, err
	}
	n.checker = licenses

	// Listen before anything is built on this node's address: the public
	// URL (webhook URLs, media links) is derived from it once, here, and
	// never from a request's Host header; the sandbox talks to the
	// listener itself.
	if n.listener, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.HTTPAddr, err)
	}
	n.publicURL = publicURL(cfg, n.Addr())
	adapters, err := providers.NewRegistry(providers.RegistryConfig{SelfURL: selfURL(n.Addr()),
		AllowPrivate: cfg.AllowPrivateProviderURLs})
	if err != nil {
		return nil, err
	}

	connections, err := providers.NewCache(providers.CacheConfig{Store: persistence.NewConnectionStore(n.db, n.sealer),
		Registry: adapters})
	if err != nil {
		return nil, err
	}

	mediaKey := httpapi.MediaURLKeyFrom(cfg.SecretKey)
	mediaStore, err := persistence.NewMediaStore(n.db, blobs)
	if err != nil {
		return nil, err
	}
	n.engine, err = actors.NewEngine(actors.EngineConfig{DB: n.db, Log: log, Registry: registry,
		DispatchWorkers: cfg.DispatchWorkers, CommitBatch: cfg.CommitBatch, CommitWriters: cfg.CommitWriters,
		MaxBacklog: cfg.MaxBacklog, InboxMaxAttempts: cfg.InboxMaxAttempts,
		SendRate: float64(cfg.SendRate), StaleSendAfter: cfg.StaleSendAfter,
		Connections: connections,
		// Providers fetch outbound media from an expiring signed URL of ours.
		MediaLink: func(_ context.Context, tenantID, mediaID uuid.UUID) (string, error) {
			return httpapi.SignMediaURL(mediaKey, n.publicURL, tenantID, mediaID, time.Now().Add(time.Hour)), nil
		},
		SendGate: licenses.Gate,
		SaveMedia: func(ctx context.Context, tenantID uuid.UUID, providerMediaID string, content *channels.MediaContent) (uuid.UUID, error) {
			rec, err := mediaStore.StoreInboundMedia(ctx, tenantID, providerMediaID, content.Data, content.MimeType, content.SHA256, content.Filename)
			return rec.ID, err
		}})
	if err != nil {
		return nil, err
	}
	clusterCfg, err := cluster.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	clusterCfg.Logger = log
	clusterCfg.Kinds = n.engine.Kinds()
	// One attempt waits at most a second: a request caught by a dead owner
	// is retried on the new one instead of waiting out a long timeout. Grain
	// handlers are idempotent, so a slow first attempt that lands anyway is
	// harmless.
	clusterCfg.RequestTimeout = time.Second
	if n.cluster, err = cluster.Start(ctx, clusterCfg); err != nil {
		return nil, fmt.Errorf("joining the cluster: %w", err)
	}
	n.engine.Attach(n.cluster)
	gateway := realtime.NewGateway(realtime.GatewayConfig{Log: log})
	if _, err := gateway.Spawn(n.cluster.System()); err != nil {
		return nil, err
	}
	n.gateway = gateway
	if n.router, err = realtime.NewRouter(realtime.RouterConfig{Log: log}, gateway, n.cluster); err != nil {
		return nil, err
	}
	registry.MustRegister(n.router)
	n.engine.OnPublish(n.router)
	n.inbox = persistence.NewInboxWriter(n.db, persistence.InboxConfig{}, log)
	registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "crm_inbox_depth",
		Help: "Inbox events stored but not yet processed (all tenants)."}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		depth, err := n.db.InboxDepth(ctx)
		if err != nil {
			return -1
		}
		return float64(depth)
	}))

	loginLimiter, rateLimiter, err := n.limiters(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	api, err := httpapi.New(httpapi.Config{DB: n.db, Log: log, TokenKey: cfg.subkey("access-tokens"), UI: ui.Handler(),
		LoginLimiter: loginLimiter, RateLimiter: rateLimiter,
		Registry: registry, Sealer: n.sealer, Blobs: blobs, PublicURL: n.publicURL, Licenses: licenses, MediaURLKey: mediaKey,
		SelfURL: selfURL(n.Addr()), Providers: adapters,
		LicenseSigningKey: n.signingKey, Gateway: gateway, Engine: n.engine, Dispatcher: n.engine, Inbox: n.inbox,
		WebhookConnections: httpapi.WebhookConnectionsFromDB(n.db, n.sealer, adapters), TrustedProxies: cfg.TrustedProxies,
		Mailer: mailerOrNil(cfg.Mailer),
		Ready: func(context.Context) error {
			if !n.cluster.Joined() {
				return errors.New("not joined")
			}
			return nil
		}})
	if err != nil {
		return nil, err
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	n.cancel = cancel
	n.http = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	n.engine.Start(bgCtx)
	// Jobs start once the grains they wake can answer, and stop before them.
	if n.jobs, err = jobs.New(ctx, jobs.Config{DatabaseURL: cfg.DatabaseURL, DB: n.db, Log: log,
		Workers: cfg.JobWorkers, JobTimeout: cfg.JobTimeout, RescueAfter: cfg.JobRescueAfter,
		Bots: n.engine, Sender: n.engine, Campaigns: n.engine, Service: n.engine, Reminders: n.engine, BotHTTP: &http.Client{Transport: channels.NewEgressTransport(channels.EgressConfig{
			AllowPrivate: cfg.AllowPrivateProviderURLs})},
		// Outbound webhooks go through the same egress guard as provider calls.
		Sealer: n.sealer, Events: n.engine, WebhookHTTP: &http.Client{Transport: channels.NewEgressTransport(channels.EgressConfig{
			AllowPrivate: cfg.AllowPrivateProviderURLs})}}); err != nil {
		return nil, err
	}
	n.db.SetJobInserter(n.jobs) // the grains' transactions insert jobs (a bot's delay) with their rows
	if err := n.jobs.Start(bgCtx); err != nil {
		return nil, err
	}
	if licenses != nil {
		n.bg.Add(1)
		go func() {
			defer n.bg.Done()
			_ = licenses.Run(bgCtx)
		}()
	}
	go func() {
		if err := n.http.Serve(n.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "error", err)
		}
	}()
	return n, nil
}

// limiters are the throttles' counters, shared by every node: in Redis when
// REDIS_URL is set, the login throttle falling back to PostgreSQL and the
// rate limits letting requests through while Redis does not answer
// (ARCHITECTURE.md); else in PostgreSQL.
func (n *node) limiters(ctx context.Context, cfg Config, log *slog.Logger) (httpapi.LoginLimiter, httpapi.WindowLimiter, error) {
	counters := persistence.NewRateLimiter(n.db, persistence.RateLimiterConfig{})
	if cfg.RedisURL == "" {
		return counters, counters, nil
	}
	r, err := rediskv.New(rediskv.Config{URL: cfg.RedisURL})
	if err != nil {
		return nil, nil, err
	}
	rediskv.LogTo(log)
	n.redis = r
	if err := r.Ping(ctx); err != nil {
		log.Warn("Redis (REDIS_URL) does not answer: until it does, the login throttle counts in PostgreSQL and rate limits let requests through",
			"error", err)
	}
	return &httpapi.FallbackLoginLimiter{Primary: r, Fallback: counters, Log: log}, r, nil
}

// licenses builds the license checker when a verifying key is configured;
// without one, licenses are not enforced (a warning says so).
func (n *node) licenses(cfg Config, getenv func(string) string, log *slog.Logger) (*persistence.LicenseChecker, error) {
	if raw := getenv("CRM_LICENSE_SIGNING_KEY"); raw != "" {
		key, err := crm.ParseLicenseSigningKey(raw)
		if err != nil {
			return nil, fmt.Errorf("CRM_LICENSE_SIGNING_KEY: %w", err)
		}
		n.signingKey = key
	}
	pub, err := crm.LicensePublicKeyFromEnv(getenv("CRM_LICENSE_PUBLIC_KEY"), getenv("CRM_LICENSE_SIGNING_KEY"))
	if err != nil {
		return nil, err
	}
	if pub == nil {
		log.Warn("no CRM_LICENSE_PUBLIC_KEY or CRM_LICENSE_SIGNING_KEY: licenses are not enforced on this node")
		return nil, nil
	}
	ips, err := crm.ServerAddresses(getenv("CRM_SERVER_IP"))
	if err != nil || len(ips) == 0 {
		return nil, fmt.Errorf("finding this server's addresses for license checks (set CRM_SERVER_IP): %v", err)
	}
	n.serverIPs = ips
	grace, err := crm.ParseLicenseGrace(getenv("CRM_LICENSE_GRACE"))
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	return persistence.NewLicenseChecker(n.db, persistence.LicenseCheckerConfig{PublicKey: pub, ServerIPs: ips,
		Hostname: host, Grace: grace, Log: log})
}

// Shutdown stops in order: HTTP (and with it the sockets), the jobs (running
// ones may finish), the engine's workers, the inbox writer (flushing), the
// cluster (leaving gracefully), the background tasks, then the database.
// Safe to call twice.
func (n *node) Shutdown(ctx context.Context) error {
	var err error
	n.once.Do(func() {
		if n.http != nil {
			err = n.http.Shutdown(ctx)
		} else if n.listener != nil { // Start failed before serving
			n.listener.Close()
		}
		if n.gateway != nil {
			n.gateway.Shutdown(ctx) // close sockets with 1001 so consoles reconnect elsewhere and resume
		}
		n.jobs.Stop(ctx)
		if n.router != nil {
			n.router.Stop()
		}
		if n.engine != nil {
			n.engine.Stop()
		}
		if n.inbox != nil {
			n.inbox.Close()
		}
		if n.cluster != nil {
			n.cluster.Shutdown(true)
		}
		if n.cancel != nil {
			n.cancel()
		}
		n.bg.Wait()
		if n.redis != nil {
			n.redis.Close() //nolint:errcheck
		}
		n.db.Close()
	})
	return err
}

// Serve runs a node until ctx is cancelled (SIGINT/SIGTERM).
func Serve(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "create the demo tenant and print its logins before serving")
	createDB := fs.Bool("create-database", false, "create the database DATABASE_URL names when its server does not have it (make run)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := newLogger(cfg.LogLevel)
	if *createDB {
		created, err := persistence.EnsureDatabase(ctx, cfg.DatabaseURL)
		if err != nil {
			return err
		}
		if created {
			log.Info("created the database DATABASE_URL names")
		}
	}
	n, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("crm node serving", "addr", n.Addr(), "version", version)
	if cfg.Mailer == nil {
		log.Info("no SMTP configured (CRM_SMTP_URL): password reset links are written to this log")
	} else {
		log.Info("password reset e-mails go through " + cfg.Mailer.String())
	}
	if *demo {
		if err := seedDemo(ctx, n, cfg, stdoutWriter()); err != nil {
			n.Shutdown(ctx) //nolint:errcheck
			return fmt.Errorf("creating demo data: %w", err)
		}
		if err := seedDemoConversations(ctx, n); err != nil {
			log.Warn("the demo conversations were not created", "error", err)
		}
	}
	select {
	case <-ctx.Done():
	case <-n.cluster.Excluded():
		log.Error("this node was excluded from the cluster; exiting so the supervisor restarts it")
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return n.Shutdown(shutdownCtx)
}

// mailerOrNil keeps a nil *mail.SMTP from becoming a non-nil interface.
func mailerOrNil(m *mail.SMTP) httpapi.Mailer {
	if m == nil {
		return nil
	}
	return m
}
