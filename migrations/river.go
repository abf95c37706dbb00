package migrations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

// River's tables (river_job, river_queue, river_leader, river_client, …) hold
// the durable jobs of package jobs. River's own migrator creates and upgrades
// them to the version of River this binary pins; we do not copy its SQL into
// our files, so upgrading River brings its schema along.
//
// riverGrants lets tenant, platform and engine transactions put a job into
// their own transaction (jobs.Client.InsertTx), so a row and the job that acts
// on it commit together. River's insert is INSERT … ON CONFLICT (unique_key)
// DO UPDATE SET kind = kind RETURNING *: it needs SELECT, INSERT, UPDATE of
// kind alone, and the id sequence. Nothing else of River's is granted: the
// job client works on its own privileged pool, not in tenant transactions.
const riverGrants = `
GRANT SELECT, INSERT, UPDATE (kind) ON river_job TO crm_app, crm_platform, crm_engine;
GRANT USAGE ON SEQUENCE river_job_id_seq TO crm_app, crm_platform, crm_engine;`

func riverMigrator() (*rivermigrate.Migrator[pgx.Tx], error) {
	// A driver without a pool: the migrator only runs in transactions we open
	// on the caller's connection, the one holding the migration lock.
	return rivermigrate.New(riverpgxv5.New(nil), &rivermigrate.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// RiverVersion is the latest River schema version this binary knows.
func RiverVersion() int {
	m, err := riverMigrator()
	if err != nil {
		return 0
	}
	all := m.AllVersions()
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Version
}

// applyRiver brings River's schema up to RiverVersion, one River migration per
// transaction (River runs each in its own: some cannot share one), then
// grants what riverGrants says. Idempotent.
func applyRiver(ctx context.Context, conn *pgx.Conn) ([]int, error) {
	m, err := riverMigrator()
	if err != nil {
		return nil, err
	}
	var applied []int
	for {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return applied, err
		}
		// MigrateTx is deprecated because several River migrations cannot
		// share a transaction; with MaxSteps 1 it runs one, as Migrate does.
		res, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{MaxSteps: 1})
		if err != nil {
			tx.Rollback(ctx) //nolint:errcheck
			return applied, fmt.Errorf("applying River's migrations: %w", err)
		}
		if len(res.Versions) == 0 {
			if _, err := tx.Exec(ctx, riverGrants); err != nil {
				tx.Rollback(ctx) //nolint:errcheck
				return applied, fmt.Errorf("granting River's tables: %w", err)
			}
			return applied, tx.Commit(ctx)
		}
		if err := tx.Commit(ctx); err != nil {
			return applied, fmt.Errorf("committing River's migration %d: %w", res.Versions[0].Version, err)
		}
		applied = append(applied, res.Versions[0].Version)
	}
}

// Fingerprint identifies the whole schema this binary builds: our migrations'
// checksums, River's schema version and the grants on it. Test templates are
// named after it, so changing any of them builds a new one.
func Fingerprint() (string, error) {
	all, err := All()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, m := range all {
		h.Write([]byte(m.Checksum))
	}
	h.Write([]byte("river " + strconv.Itoa(RiverVersion()) + riverGrants))
	return hex.EncodeToString(h.Sum(nil)), nil
}
