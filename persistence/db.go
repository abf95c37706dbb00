package persistence

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"crm"
	"crm/migrations"
)

// Config says how to reach the database and which roles to use.
type Config struct {
	URL string
	// TenantRole is the role every tenant transaction switches to with SET
	// LOCAL ROLE: neither superuser nor BYPASSRLS. Default crm_app. Set it to
	// "-" when URL already names such a role and needs no switch.
	TenantRole string
	// PlatformRole runs the platform owner's explicit path. Default crm_platform.
	PlatformRole string
	MaxConns     int32
}

// DB is the pool plus the two ways in: TenantTx and PlatformTx.
type DB struct {
	Pool *pgxpool.Pool
	// engine carries the engine's batch statements (crm_engine, many
	// tenants, keys passed as arrays): each is planned for its arguments.
	engine       *pgxpool.Pool
	tenantRole   string
	platformRole string
	log          *slog.Logger
	// jobs puts durable jobs into the tenant transactions of the grains
	// (Tx.ScheduleJob); nil until SetJobInserter.
	jobs JobInserter
}

// SetJobInserter gives the grains' transactions a way to insert durable
// jobs with the rows that need them (a bot's delay with its session). The
// job client is built after the engine, so it is set once it exists.
func (db *DB) SetJobInserter(j JobInserter) { db.jobs = j }

// Open connects and checks the database answers.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*DB, error) {
	if cfg.URL == "" {
		return nil, errors.New("database URL is empty")
	}
	if cfg.TenantRole == "" {
		cfg.TenantRole = "crm_app"
	}
	if cfg.PlatformRole == "" {
		cfg.PlatformRole = "crm_platform"
	}
	if log == nil {
		log = slog.Default()
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parsing database URL: %w", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	} else if pc.MaxConns < 32 {
		pc.MaxConns = 32 // dispatch workers, grains, webhooks and sockets' resumes share it
	}
	pc.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		RegisterUUID(c.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	// The engine's batch statements get a plan for their arguments every
	// time (the unnamed statement, its description cached: still one round
	// trip), where a named prepared statement keeps the generic plan
	// PostgreSQL settles on. A generic plan chosen while a table was small
	// (a new database, a new month's partition) went on scanning it whole
	// as it grew, until the next ANALYZE: sustained processing marked inbox
	// rows at 300 us each instead of 35 (pg_stat_statements, same run
	// otherwise). Planning a batch statement costs tens of microseconds,
	// once per batch. Everything else keeps its prepared statements: an
	// agent's send is a dozen short statements, and planning each of them
	// every time doubled its latency (send -> provider p50 4.8 -> 10 ms).
	ec := pc.Copy()
	ec.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	ec.MaxConns = max(4, pc.MaxConns/2)
	engine, err := pgxpool.NewWithConfig(ctx, ec)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("connecting to database: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		engine.Close()
		return nil, fmt.Errorf("pinging database: %w", err)
	}
	return &DB{Pool: pool, engine: engine, tenantRole: cfg.TenantRole, platformRole: cfg.PlatformRole, log: log}, nil
}

// Close closes the pool. Safe to call twice.
func (db *DB) Close() {
	if db != nil && db.Pool != nil {
		db.Pool.Close()
		db.engine.Close()
	}
}

// Migrate applies the embedded migrations and creates the message partitions
// for the months around now.
func (db *DB) Migrate(ctx context.Context) ([]int, error) {
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	applied, err := migrations.Apply(ctx, conn.Conn())
	if err != nil {
		return applied, err
	}
	if err := db.EnsurePartitions(ctx); err != nil {
		return applied, err
	}
	return applied, nil
}

// EnsurePartitions creates monthly message partitions one month back and
// three ahead; run at start and daily.
func (db *DB) EnsurePartitions(ctx context.Context) error {
	if _, err := db.Pool.Exec(ctx, `SELECT ensure_message_partitions(1, 3)`); err != nil {
		return fmt.Errorf("creating message partitions: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.Pool.Ping(ctx) }

// TenantTx runs fn in a transaction scoped to one tenant: the role is switched
// to the unprivileged tenant role and app.tenant_id is set before fn runs, so
// row-level security limits every statement to that tenant.
func (db *DB) TenantTx(ctx context.Context, tenantID uuid.UUID, fn func(pgx.Tx) error) error {
	if tenantID == uuid.Nil {
		return errors.New("tenant transaction without a tenant")
	}
	return db.inTx(ctx, func(tx pgx.Tx) error {
		// One round trip for both: set_config('role', …, true) is SET LOCAL ROLE.
		var err error
		if db.tenantRole != "-" {
			_, err = tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config('app.tenant_id', $2, true)`,
				db.tenantRole, tenantID.String())
		} else {
			_, err = tx.Exec(ctx, `SELECT set_config('app.tenant_id', $1, true)`, tenantID.String())
		}
		if err != nil {
			return fmt.Errorf("entering tenant %s: %w", tenantID, err)
		}
		return fn(tx)
	})
}

// PlatformTx runs fn on the platform owner's explicit path: plans, tenants,
// licenses, global metrics, and the few cross-tenant look-ups auth needs
// (finding an account by email). No tenant endpoint calls it with user input
// that names another tenant.
func (db *DB) PlatformTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+pgx.Identifier{db.platformRole}.Sanitize()); err != nil {
			return fmt.Errorf("switching to platform role: %w", err)
		}
		return fn(tx)
	})
}

func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) (err error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = tx.Commit(ctx); err != nil {
		return translate(fmt.Errorf("committing: %w", err))
	}
	return nil
}

// translate turns driver errors into the domain's coded errors. Stores call it
// on every error they return.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.NotFound("record")
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &crm.Error{Kind: crm.ErrConflict, Code: "conflict", Message: "already exists",
				Details: map[string]any{"constraint": pgErr.ConstraintName}}
		case "23503": // foreign_key_violation
			return &crm.Error{Kind: crm.ErrInvalid, Code: "invalid_reference", Message: "a referenced record does not exist",
				Details: map[string]any{"constraint": pgErr.ConstraintName}}
		case "23514", "22P02", "22001", "22003", "22007", "22008": // check, bad text repr, too long, out of range, datetime
			return &crm.Error{Kind: crm.ErrInvalid, Code: "invalid_input", Message: "a value is out of range or malformed",
				Details: map[string]any{"constraint": pgErr.ConstraintName}}
		case "40001", "40P01":
			return &crm.Error{Kind: crm.ErrConflict, Code: "retry", Message: "concurrent update, retry"}
		case "42501": // insufficient_privilege, including an RLS WITH CHECK failure
			return &crm.Error{Kind: crm.ErrNotFound, Code: "not_found", Message: "record not found"}
		case "CRM01": // plan limit, raised by the counting triggers of migration 0004
			return planLimitError(pgErr)
		}
	}
	return err
}

// Translate is translate for other packages' stores.
func Translate(err error) error { return translate(err) }

// Transient reports an error that running the same transaction again may
// not meet: a serialization failure or deadlock (raw, or translated to the
// code "retry"), or a connection lost before the statement reached the
// server. Any other error, unknown ones included, is not transient.
func Transient(err error) bool {
	var coded *crm.Error
	if errors.As(err, &coded) {
		return coded.Code == "retry"
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	return pgconn.SafeToRetry(err)
}
