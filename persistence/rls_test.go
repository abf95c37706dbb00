package persistence_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

// TestEveryTenantTableIsIsolated reads the catalog, finds every table with a
// tenant_id column and proves that RLS is enabled and forced on it, that a
// tenant can neither read nor write another tenant's rows, and that nothing is
// visible when no tenant is set. A new table without RLS fails here.
func TestEveryTenantTableIsIsolated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)

	rows, err := db.Pool.Query(ctx, `
		SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, c.relkind::text,
		       coalesce(p.relname, ''), coalesce(pg_get_expr(c.relpartbound, c.oid), '')
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
		WHERE a.attname = 'tenant_id' AND NOT a.attisdropped AND n.nspname = current_schema()
		  AND c.relkind IN ('r', 'p') ORDER BY c.relname`)
	require.NoError(t, err)
	type table struct {
		name       string
		rls, force bool
		kind       string
		parent     string // for a partition: the partitioned table rows go through
		bound      string
	}
	var tables []table
	for rows.Next() {
		var tb table
		require.NoError(t, rows.Scan(&tb.name, &tb.rls, &tb.force, &tb.kind, &tb.parent, &tb.bound))
		tables = append(tables, tb)
	}
	require.NoError(t, rows.Err())
	require.GreaterOrEqual(t, len(tables), 30, "the whole data model has tenant tables")

	tenantA := createTenant(t, db, "a")
	tenantB := createTenant(t, db, "b")

	for _, tb := range tables {
		t.Run(tb.name, func(t *testing.T) {
			require.True(t, tb.rls, "row-level security must be enabled on %s", tb.name)
			require.True(t, tb.force, "row-level security must be forced on %s", tb.name)

			countAs := func(tenant uuid.UUID) int {
				var n int
				err := db.TenantTx(ctx, tenant, func(tx pgx.Tx) error {
					return tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, pgx.Identifier{tb.name}.Sanitize())).Scan(&n)
				})
				require.NoError(t, err)
				return n
			}
			before := countAs(tenantA)

			// A row of tenant A, with every NOT NULL column filled by a
			// generated value of its type (fresh ids on every call).
			rowOfA := func() (string, []any) {
				if tb.parent != "" {
					// A partition's rows go in through its parent, dated inside its bounds.
					insert, args := sampleInsert(t, db, tb.parent, tenantA)
					return withCreatedAt(insert, args, partitionTime(tb.bound))
				}
				return sampleInsert(t, db, tb.name, tenantA)
			}
			written := tb.name // the table an insert names
			if tb.parent != "" {
				written = tb.parent
			}
			// Insert it through tenant A's path.
			insert, args := rowOfA()
			err := db.TenantTx(ctx, tenantA, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, "SET CONSTRAINTS ALL DEFERRED")
				if err != nil {
					return err
				}
				_, err = tx.Exec(ctx, insert, args...)
				return err
			})
			if err != nil && !isFKViolation(err) {
				require.NoError(t, err, "tenant A inserting into %s", tb.name)
			}
			if err != nil {
				// Foreign keys need parents: insert on the platform path with
				// triggers off for this session instead (a superuser-only trick
				// reserved to tests), then check visibility.
				insertBypassingFKs(t, db, insert, args)
			}

			require.Equal(t, before+1, countAs(tenantA), "tenant A sees its row in %s", tb.name)
			require.Equal(t, 0, countAs(tenantB), "tenant B must not see tenant A's row in %s", tb.name)

			// No tenant set: the tenant role sees nothing.
			var n int
			conn, err := db.Pool.Acquire(ctx)
			require.NoError(t, err)
			tx, err := conn.Begin(ctx)
			require.NoError(t, err)
			_, err = tx.Exec(ctx, "SET LOCAL ROLE crm_app")
			require.NoError(t, err)
			require.NoError(t, tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, pgx.Identifier{tb.name}.Sanitize())).Scan(&n))
			require.Equal(t, 0, n, "with no tenant set nothing in %s is visible", tb.name)
			require.NoError(t, tx.Rollback(ctx))
			conn.Release()

			// Tenant B can neither update nor delete A's row, nor insert a row claiming to be A's.
			err = db.TenantTx(ctx, tenantB, func(tx pgx.Tx) error {
				tag, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET tenant_id = tenant_id`, pgx.Identifier{tb.name}.Sanitize()))
				if err != nil {
					return err
				}
				if tag.RowsAffected() != 0 {
					return fmt.Errorf("tenant B updated %d rows", tag.RowsAffected())
				}
				tag, err = tx.Exec(ctx, fmt.Sprintf(`DELETE FROM %s`, pgx.Identifier{tb.name}.Sanitize()))
				if err != nil {
					return err
				}
				if tag.RowsAffected() != 0 {
					return fmt.Errorf("tenant B deleted %d rows", tag.RowsAffected())
				}
				return nil
			})
			require.NoError(t, err)
			// A fresh row (new ids), so that only row-level security can refuse it,
			// not the primary key A's row already holds, nor a trigger.
			claimA, claimArgs := rowOfA()
			err = insertWithoutTriggers(ctx, db, "crm_app", "app.tenant_id", tenantB.String(), claimA, claimArgs)
			requireRLSRefusedf(t, err, written, "tenant B must not insert a row with tenant A's id into %s", tb.name)
			require.Equal(t, before+1, countAs(tenantA), "tenant A's row in %s survives", tb.name)

			// The engine's group commit (crm_engine) sees exactly the tenants
			// of its batch: A's row with A listed, nothing of A without it,
			// and it can neither change A's row nor write one claiming A.
			engineCount := func(tenants string) int {
				var n int
				require.NoError(t, engineTx(ctx, db, tenants, func(tx pgx.Tx) error {
					return tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE tenant_id = $1`, pgx.Identifier{tb.name}.Sanitize()), tenantA).Scan(&n)
				}))
				return n
			}
			require.Equal(t, before+1, engineCount("{"+tenantB.String()+","+tenantA.String()+"}"), "a batch holding tenant A sees A's rows in %s", tb.name)
			require.Equal(t, 0, engineCount("{"+tenantB.String()+"}"), "a batch without tenant A sees none of A's rows in %s", tb.name)
			require.Equal(t, 0, engineCount(""), "a batch with no tenants sees nothing in %s", tb.name)
			require.NoError(t, engineTx(ctx, db, "{"+tenantB.String()+"}", func(tx pgx.Tx) error {
				tag, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE %s SET tenant_id = tenant_id`, pgx.Identifier{tb.name}.Sanitize()))
				if err == nil && tag.RowsAffected() != 0 {
					return fmt.Errorf("a batch of tenant B updated %d rows", tag.RowsAffected())
				}
				return err
			}))
			claimA, claimArgs = rowOfA()
			err = insertWithoutTriggers(ctx, db, "crm_engine", "app.tenant_ids", "{"+tenantB.String()+"}", claimA, claimArgs)
			requireRLSRefusedf(t, err, written, "a batch of tenant B must not insert a row of tenant A into %s", tb.name)
			require.Equal(t, before+1, countAs(tenantA), "tenant A's row in %s survives", tb.name)
		})
	}
}

// requireRLSRefusedf asserts that err is PostgreSQL refusing a row by the
// row-level security policy of table (SQLSTATE 42501), not any other failure
// a write can meet: a duplicate key or a missing parent would say nothing
// about isolation.
func requireRLSRefusedf(t *testing.T, err error, table string, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr, what)
	require.Equal(t, "42501", pgErr.Code, "%s: %s", what, pgErr.Message)
	// The policy of the table written, not one met on the way (a counter
	// bumped by a trigger refuses too, whatever the table's own policy says).
	require.Equal(t, fmt.Sprintf("new row violates row-level security policy for table %q", table), pgErr.Message, what)
}

// insertWithoutTriggers runs insert as role with setting (app.tenant_id or
// app.tenant_ids) set to value, as TenantTx and the engine's batches do, but
// with triggers off (session_replication_role, a superuser's setting, so
// before the role switch). Then only the table's own policy can refuse the
// row: a BEFORE INSERT trigger (campaigns' counter) or a foreign key check
// could otherwise refuse it first, whatever that policy says.
func insertWithoutTriggers(ctx context.Context, db *persistence.DB, role, setting, value, insert string, args []any) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('role', $1, true), set_config($2, $3, true)`, role, setting, value); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, insert, args...)
	return err
}

// engineTx runs fn as the engine's group commit does: role crm_engine,
// app.tenant_ids set to tenants (a Postgres array literal, or empty).
func engineTx(ctx context.Context, db *persistence.DB, tenants string, fn func(pgx.Tx) error) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SET LOCAL ROLE crm_engine`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_ids', $1, true)`, tenants); err != nil {
		return err
	}
	return fn(tx)
}

var partitionFrom = regexp.MustCompile(`FROM \('([^']+)'\)`)

// partitionTime returns a time inside a range partition's bound; for the
// default partition a time no monthly partition covers.
func partitionTime(bound string) time.Time {
	m := partitionFrom.FindStringSubmatch(bound)
	if m == nil {
		return time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	from, err := time.Parse("2006-01-02 15:04:05-07", m[1])
	if err != nil {
		panic(fmt.Sprintf("parsing partition bound %q: %v", bound, err))
	}
	return from.Add(time.Hour)
}

func withCreatedAt(insert string, args []any, at time.Time) (string, []any) {
	insert = strings.Replace(insert, "(", "(created_at, ", 1)
	insert = strings.Replace(insert, "VALUES (", fmt.Sprintf("VALUES ($%d, ", len(args)+1), 1)
	return insert, append(args, at)
}

func isFKViolation(err error) bool {
	var e *crm.Error
	if errors.As(persistence.Translate(err), &e) {
		return e.Code == "invalid_reference"
	}
	return false
}

func createTenant(t testing.TB, db *persistence.DB, slug string) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id := crm.NewID()
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var planID uuid.UUID
		err := tx.QueryRow(ctx, `SELECT id FROM plans WHERE name = 'rls-test'`).Scan(&planID)
		if errors.Is(err, pgx.ErrNoRows) {
			planID = crm.NewID()
			_, err = tx.Exec(ctx, `INSERT INTO plans (id, name) VALUES ($1, 'rls-test')`, planID)
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO tenants (id, name, slug, email, plan_id) VALUES ($1, $2, $3, $4, $5)`,
			id, "Tenant "+slug, "rls-"+slug, slug+"@example.com", planID)
		return err
	})
	require.NoError(t, err)
	return id
}

// sampleInsert builds an INSERT for table filling every NOT NULL column without
// a default with a plausible value, tenant_id with tenant.
func sampleInsert(t *testing.T, db *persistence.DB, table string, tenant uuid.UUID) (string, []any) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Pool.Query(ctx, `
		SELECT column_name, data_type, is_nullable = 'NO' AND column_default IS NULL
		FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1
		ORDER BY ordinal_position`, table)
	require.NoError(t, err)
	defer rows.Close()
	var cols []string
	var args []any
	for rows.Next() {
		var name, typ string
		var required bool
		require.NoError(t, rows.Scan(&name, &typ, &required))
		if name == "tenant_id" {
			cols = append(cols, name)
			args = append(args, tenant)
			continue
		}
		// Columns a CHECK needs though they are nullable: an inbox row
		// holds its event in one format or the other.
		alsoNeeded := table == "inbound_events" && name == "event"
		if !required && !alsoNeeded {
			continue
		}
		cols = append(cols, name)
		args = append(args, sampleValue(table, name, typ))
	}
	require.NoError(t, rows.Err())
	ph := ""
	for i := range cols {
		if i > 0 {
			ph += ", "
		}
		ph += fmt.Sprintf("$%d", i+1)
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	return fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", pgx.Identifier{table}.Sanitize(), join(quoted), ph), args
}

func join(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}

// sampleValue returns a value that satisfies the CHECK constraints of the
// schema for well-known columns, and a generic value of the type otherwise.
func sampleValue(table, column, typ string) any {
	known := map[string]any{
		"email": "someone@example.com", "role": "AGENT", "channel": "whatsapp", "provider": "sandbox",
		"direction": "inbound", "status": defaultStatus(table), "kind": kindFor(table), "type": typeFor(table),
		"color": "#112233", "shortcut": "hello", "phone": "+5511999990000", "seq": int64(1), "position": 1,
		"source": "upload",
	}
	if v, ok := known[column]; ok {
		return v
	}
	switch typ {
	case "uuid":
		return crm.NewID()
	case "text":
		return "x"
	case "integer", "bigint", "smallint":
		return 1
	case "real", "double precision", "numeric":
		return 1.0
	case "boolean":
		return true
	case "jsonb", "json":
		return map[string]any{}
	case "bytea":
		return []byte{1}
	case "date":
		return "2026-11-01"
	case "timestamp with time zone":
		if strings.HasPrefix(column, "expires") || strings.HasPrefix(column, "ends") {
			return "2030-01-01T00:00:00Z"
		}
		return "2026-11-15T10:00:00Z"
	case "ARRAY":
		return []string{}
	}
	return "x"
}

func defaultStatus(table string) string {
	switch table {
	case "messages", "messages_default":
		return "received"
	case "conversations":
		return "open"
	case "campaigns":
		return "draft"
	case "appointments":
		return "scheduled"
	case "bot_sessions":
		return "active"
	case "parked_statuses":
		return "sent"
	case "webhook_subscriptions":
		return "active"
	default:
		return "pending"
	}
}

func kindFor(table string) string {
	if table == "message_keys" {
		return "external"
	}
	return "message"
}

func typeFor(table string) string {
	switch table {
	case "bot_flow_nodes":
		return "start"
	case "messages", "messages_default":
		return "text"
	default:
		return "x"
	}
}

func insertBypassingFKs(t *testing.T, db *persistence.DB, insert string, args []any) {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SET LOCAL session_replication_role = replica")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "SET LOCAL ROLE crm_platform")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, insert, args...)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
}
