// Package pgtest gives each test its own migrated PostgreSQL database, cloned
// from a template that is migrated once per set of migrations. Tests talk to a
// real server: TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres.
package pgtest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"crm"
	"crm/migrations"
	"crm/persistence"
)

// AdminURL is the server the tests use.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// URLFor returns AdminURL with its database replaced.
func URLFor(database string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + database
	return u.String()
}

var templateOnce sync.Once
var templateName string
var templateErr error

func templateDatabase(ctx context.Context) (string, error) {
	templateOnce.Do(func() {
		// Named after the whole schema (ours and River's), so a change to
		// either builds a new template.
		fingerprint, err := migrations.Fingerprint()
		if err != nil {
			templateErr = err
			return
		}
		templateName = "crm_tmpl_" + fingerprint[:16]
		templateErr = createTemplate(ctx, templateName)
	})
	return templateName, templateErr
}

func createTemplate(ctx context.Context, name string) error {
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return fmt.Errorf("connecting to test PostgreSQL at %s: %w", AdminURL(), err)
	}
	defer admin.Close(ctx)
	// Several test binaries run at once: one builds the template, the others wait.
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock(4242)`); err != nil {
		return err
	}
	defer admin.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(4242)`) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := name + "_build"
	admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{building}.Sanitize()+` WITH (FORCE)`) //nolint:errcheck
	if _, err := admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{building}.Sanitize()); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, URLFor(building))
	if err != nil {
		return err
	}
	if _, err := migrations.Apply(ctx, conn); err != nil {
		conn.Close(ctx)
		return fmt.Errorf("migrating template: %w", err)
	}
	conn.Close(ctx)
	_, err = admin.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{building}.Sanitize()+` RENAME TO `+pgx.Identifier{name}.Sanitize())
	return err
}

// NewDatabase creates a fresh migrated database for t and drops it when t ends.
// It returns the database's URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tmpl, err := templateDatabase(ctx)
	if err != nil {
		t.Fatalf("preparing template database: %v", err)
	}
	name := "crm_t_" + strings.ReplaceAll(crm.NewID().String(), "-", "")[:20]
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("connecting to test PostgreSQL: %v", err)
	}
	defer admin.Close(ctx)
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		// CREATE DATABASE … TEMPLATE fails while another session is connected to the template.
		_, lastErr = admin.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()+` TEMPLATE `+pgx.Identifier{tmpl}.Sanitize())
		if lastErr == nil {
			break
		}
		time.Sleep(time.Duration(50*(attempt+1)) * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("creating test database: %v", lastErr)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			return
		}
		defer admin.Close(ctx)
		admin.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`) //nolint:errcheck
	})
	return URLFor(name)
}

// NewDB returns an open persistence.DB on a fresh database, closed when t ends.
func NewDB(t testing.TB) *persistence.DB {
	t.Helper()
	url := NewDatabase(t)
	db, err := persistence.Open(context.Background(), persistence.Config{URL: url, MaxConns: 8}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	if err := db.EnsurePartitions(context.Background()); err != nil {
		t.Fatalf("partitions: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}
