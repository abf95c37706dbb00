package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"crm"
	"crm/persistence"
)

// Config is a node's job client.
type Config struct {
	// DatabaseURL is DATABASE_URL, the privileged role: River keeps a pool of
	// its own there. Its tables are not tenant tables, and its notifier holds
	// one connection for LISTEN for as long as the client runs.
	DatabaseURL string
	// DB runs the jobs' work: tenant-scoped transactions for tenant data.
	DB  *persistence.DB
	Log *slog.Logger
	// Workers is how many jobs this node runs at once (CRM_JOB_WORKERS);
	// default 10.
	Workers int
	// JobTimeout cancels a job's context after this long (CRM_JOB_TIMEOUT);
	// default one minute. Jobs wake grains and return: a minute is long.
	JobTimeout time.Duration
	// RescueAfter is how long a job may stay running before the leader takes
	// its node for dead and runs it again elsewhere (CRM_JOB_RESCUE_AFTER);
	// default five minutes (or a minute past JobTimeout). It must exceed
	// JobTimeout, or a slow job on a live node would be run twice at once.
	RescueAfter time.Duration
	// SoftStopTimeout is how long Stop lets running jobs finish before it
	// cancels them; default 10 seconds.
	SoftStopTimeout time.Duration
	// NodeID names this client in River's tables and logs; default River's
	// own (host name and start time).
	NodeID string
	// Kinds are run beside the built-in ones (tests add their own).
	Kinds []Kind
	// Bots, when set, runs the chatbot's kinds (delays, answer times,
	// webhook calls) on this node, through the conversation grains.
	Bots BotWaker
	// Sender, when set, runs scheduled messages' sends on this node.
	Sender ScheduledSender
	// Campaigns, when set, wakes a scheduled campaign's lane as soon as it
	// starts (without it, the engine's sweep does within seconds).
	Campaigns CampaignWaker
	// Reminders, when set, runs the appointments' reminders on this node.
	Reminders ReminderSender
	// Service, when set, runs auto-close and the SLA watch (ServiceSweep).
	Service ServiceSweeper
	// BotHTTP is the webhook node's client: the egress-guarded transport
	// (channels.NewEgressTransport), so a flow cannot call private addresses.
	BotHTTP *http.Client
	// Sealer opens webhook subscriptions' secrets (CRM_SECRET_KEY), and
	// WebhookHTTP is the deliveries' client: the egress-guarded transport,
	// so a subscription cannot make the server call private addresses. A
	// node without them fails the webhook sends it picks up.
	Sealer      *crm.Sealer
	WebhookHTTP *http.Client
	// Events publishes the events jobs append (a webhook subscription
	// disabled) to the consoles live; optional.
	Events EventPublisher
	// WebhookRetryDelay replaces crm.WebhookRetryDelay (tests);
	// WebhookFanOutEvery replaces WebhookFanOutEvery.
	WebhookRetryDelay  func(attempt int) time.Duration
	WebhookFanOutEvery time.Duration
	// Now is the clock of webhook attempts (tests); default time.Now.
	Now func() time.Time
}

// Client is River on our PostgreSQL: it runs the registered kinds' jobs on
// this node and inserts new ones, inside a transaction of ours (InsertTx) or
// on their own.
type Client struct {
	river *river.Client[pgx.Tx]
	pool  *pgxpool.Pool
	kinds map[string]Kind
	log   *slog.Logger
}

var _ persistence.JobInserter = (*Client)(nil)

// New builds the client without starting it.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("jobs: database URL is empty")
	}
	if cfg.DB == nil {
		return nil, errors.New("jobs: no database")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 10
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = time.Minute
	}
	if cfg.RescueAfter <= 0 {
		cfg.RescueAfter = max(5*time.Minute, cfg.JobTimeout+time.Minute)
	}
	if cfg.RescueAfter <= cfg.JobTimeout {
		return nil, fmt.Errorf("jobs: the rescue delay (%s) must exceed the job timeout (%s)", cfg.RescueAfter, cfg.JobTimeout)
	}
	if cfg.SoftStopTimeout <= 0 {
		cfg.SoftStopTimeout = 10 * time.Second
	}
	if cfg.Bots != nil && cfg.BotHTTP == nil {
		return nil, errors.New("jobs: the chatbot's kinds need BotHTTP, the egress-guarded client")
	}
	kinds := builtinKinds(cfg.DB)
	if cfg.Bots != nil {
		kinds = append(kinds, botKinds(cfg.Bots, cfg.BotHTTP)...)
	}
	if cfg.Sender != nil {
		kinds = append(kinds, newKind[crm.ScheduledSend](&scheduledSendWorker{db: cfg.DB, sender: cfg.Sender}))
	}
	kinds = append(kinds, newKind[crm.CampaignStart](&campaignStartWorker{db: cfg.DB, engine: cfg.Campaigns}))
	if cfg.Reminders != nil {
		kinds = append(kinds, newKind[crm.AppointmentReminder](&reminderWorker{db: cfg.DB, sender: cfg.Reminders}))
	}
	if cfg.Service != nil {
		kinds = append(kinds, periodicKind[ServiceSweep](&serviceSweepWorker{sweeper: cfg.Service}, serviceSweepEvery))
	}
	kinds = append(kinds, webhookKinds(cfg)...)
	kinds = append(kinds, cfg.Kinds...)
	c := &Client{kinds: make(map[string]Kind, len(kinds)), log: cfg.Log.With("component", "jobs")}
	workers := river.NewWorkers()
	var periodic []*river.PeriodicJob
	for _, k := range kinds {
		if _, dup := c.kinds[k.name]; dup {
			return nil, fmt.Errorf("jobs: kind %q registered twice", k.name)
		}
		if err := k.add(workers); err != nil {
			return nil, fmt.Errorf("jobs: kind %q: %w", k.name, err)
		}
		c.kinds[k.name] = k
		if k.every > 0 {
			periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(k.every),
				func() (river.JobArgs, *river.InsertOpts) { o := k.opts; return k.periodicArgs(), &o },
				&river.PeriodicJobOpts{ID: k.name, RunOnStart: true}))
		}
	}

	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("jobs: parsing database URL: %w", err)
	}
	// River's producer, completer, elector and maintenance, plus the
	// notifier's LISTEN connection; the jobs' own work uses DB's pool.
	pc.MaxConns = 8
	if c.pool, err = pgxpool.NewWithConfig(ctx, pc); err != nil {
		return nil, fmt.Errorf("jobs: connecting to database: %w", err)
	}
	c.river, err = river.NewClient(riverpgxv5.New(c.pool), &river.Config{
		ID:                   cfg.NodeID,
		Logger:               c.log,
		Workers:              workers,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		PeriodicJobs:         periodic,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueAfter,
		// A job due later becomes available at its time and is fetched at
		// the next poll: every 250 ms (River's default is 1 s), so a
		// scheduled message or a bot's delay ends within about 0.3 s of its
		// time, for four cheap indexed reads a second per node.
		FetchPollInterval: 250 * time.Millisecond,
		SoftStopTimeout:   cfg.SoftStopTimeout,
	})
	if err != nil {
		c.pool.Close()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return c, nil
}

// Start runs this node's share of the jobs until Stop.
func (c *Client) Start(ctx context.Context) error {
	if err := c.river.Start(ctx); err != nil {
		return fmt.Errorf("jobs: starting: %w", err)
	}
	return nil
}

// Stop stops fetching, lets running jobs finish (cancelling them after the
// soft stop timeout, or when ctx ends first) and closes the pool. A job
// cancelled here is retried later, on this node or another. Safe to call
// twice, and on a client that never started.
func (c *Client) Stop(ctx context.Context) {
	if c == nil {
		return
	}
	if err := c.river.Stop(ctx); err != nil {
		c.log.Warn("jobs did not stop in time; cancelling them", "error", err)
		cancelCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := c.river.StopAndCancel(cancelCtx); err != nil {
			c.log.Error("jobs still running after cancel", "error", err)
		}
	}
	c.pool.Close()
}

// InsertTx puts a job into tx, under its kind's options (uniqueness, retries)
// and opts. The job runs once tx commits and not before opts.RunAt; if tx
// rolls back, so does the job. It implements persistence.JobInserter.
func (c *Client) InsertTx(ctx context.Context, tx pgx.Tx, args persistence.JobArgs, opts persistence.JobOpts) error {
	insertOpts, err := c.insertOpts(args, opts)
	if err != nil {
		return err
	}
	if _, err := c.river.InsertTx(ctx, tx, args, insertOpts); err != nil {
		return fmt.Errorf("jobs: inserting %s: %w", args.Kind(), err)
	}
	return nil
}

// Insert puts a job in on its own, for work that has no row to commit with.
func (c *Client) Insert(ctx context.Context, args persistence.JobArgs, opts persistence.JobOpts) error {
	insertOpts, err := c.insertOpts(args, opts)
	if err != nil {
		return err
	}
	if _, err := c.river.Insert(ctx, args, insertOpts); err != nil {
		return fmt.Errorf("jobs: inserting %s: %w", args.Kind(), err)
	}
	return nil
}

func (c *Client) insertOpts(args persistence.JobArgs, opts persistence.JobOpts) (*river.InsertOpts, error) {
	k, ok := c.kinds[args.Kind()]
	if !ok {
		return nil, fmt.Errorf("jobs: no kind %q on this node", args.Kind())
	}
	o := k.opts
	// A time already past would still go through River's scheduler (a pass
	// every few seconds) instead of straight to the workers.
	if opts.RunAt.After(time.Now()) {
		o.ScheduledAt = opts.RunAt
	}
	return &o, nil
}
