package persistence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// Connection is a tenant's link to a provider account, as the API shows it:
// never its credentials, only their names.
type Connection struct {
	ID             uuid.UUID      `json:"id"`
	Name           string         `json:"name"`
	Channel        string         `json:"channel"`
	Provider       string         `json:"provider"`
	Status         string         `json:"status"`
	ExternalID     string         `json:"external_id"`
	Settings       map[string]any `json:"settings"`
	VerifyToken    string         `json:"verify_token"`
	CredentialsSet []string       `json:"credentials_set"`
	LastEventAt    *time.Time     `json:"last_event_at"`
	LastError      string         `json:"last_error"`
	LastErrorAt    *time.Time     `json:"last_error_at"`
	// DefaultTeamID is the team the connection's new conversations join
	// (their queue, distribution and calendar); null: none.
	DefaultTeamID *uuid.UUID `json:"default_team_id"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	// WebhookSecret is the secret segment of the uazapi/Evolution webhook
	// URL; the API shows it only inside webhook_url.
	WebhookSecret string `json:"-"`
}

// NewConnectionRow is a connection to store, its credentials and settings
// already checked and completed by its provider's rules
// (channels/providers.Prepare): the store seals the credentials and
// generates the verify token and the webhook secret.
type NewConnectionRow struct {
	ID          uuid.UUID
	Name        string
	Channel     string
	Provider    string
	Status      string
	ExternalID  string
	Credentials map[string]string
	Settings    map[string]any
}

// ConnectionUpdate changes a connection. Apply, when set, changes its
// opened credentials, settings and external id by the provider's rules
// (channels/providers.Patch) inside the transaction that locked the row; the
// credentials are re-sealed only when they changed.
type ConnectionUpdate struct {
	Name  *string
	Apply func(c *crm.ConnectionSecrets) error
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// connectionAAD binds sealed credentials to their connection: a sealed value
// copied to another row does not open.
func connectionAAD(id uuid.UUID) []byte { return []byte(id.String()) }

func sealCredentials(sealer *crm.Sealer, id uuid.UUID, creds map[string]string) ([]byte, error) {
	if sealer == nil {
		return nil, errors.New("connections need a secret sealer (CRM_SECRET_KEY)")
	}
	plain, err := json.Marshal(creds)
	if err != nil {
		return nil, err
	}
	return sealer.Seal(plain, connectionAAD(id)), nil
}

func openCredentials(sealer *crm.Sealer, id uuid.UUID, sealed []byte) (map[string]string, error) {
	creds := map[string]string{}
	if len(sealed) == 0 {
		return creds, nil
	}
	if sealer == nil {
		return nil, errors.New("connections need a secret sealer (CRM_SECRET_KEY)")
	}
	plain, err := sealer.Open(sealed, connectionAAD(id))
	if err != nil {
		return nil, fmt.Errorf("opening credentials of connection %s: %w", id, err)
	}
	if err := json.Unmarshal(plain, &creds); err != nil {
		return nil, fmt.Errorf("decoding credentials of connection %s: %w", id, err)
	}
	return creds, nil
}

func credentialNames(creds map[string]string) []string {
	names := make([]string, 0, len(creds))
	for k, v := range creds {
		if v != "" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

const connectionColumns = `c.id, c.name, c.channel, c.provider, c.status, c.external_id, c.settings, c.verify_token,
	c.webhook_secret, c.credentials, c.last_event_at, c.last_error, c.last_error_at, c.created_at, c.updated_at, c.default_team_id`

// connectionRow is a scanned row; credentials stay sealed.
type connectionRow struct {
	Connection
	sealed []byte
}

func scanConnection(row pgx.Row) (connectionRow, error) {
	var r connectionRow
	var settings []byte
	err := row.Scan(&r.ID, &r.Name, &r.Channel, &r.Provider, &r.Status, &r.ExternalID, &settings, &r.VerifyToken,
		&r.WebhookSecret, &r.sealed, &r.LastEventAt, &r.LastError, &r.LastErrorAt, &r.CreatedAt, &r.UpdatedAt, &r.DefaultTeamID)
	if err != nil {
		return r, err
	}
	r.Settings = map[string]any{}
	if len(settings) > 0 {
		if err := json.Unmarshal(settings, &r.Settings); err != nil {
			return r, err
		}
	}
	return r, nil
}

func loadConnectionRow(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID, forUpdate bool) (connectionRow, error) {
	query := `SELECT ` + connectionColumns + ` FROM connections c WHERE c.tenant_id = $1 AND c.id = $2 AND c.deleted_at IS NULL`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	r, err := scanConnection(tx.QueryRow(ctx, query, tenantID, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return r, crm.NotFound("connection")
	}
	return r, err
}

// withNames fills CredentialsSet from the sealed credentials: names only.
func (r connectionRow) withNames(sealer *crm.Sealer) (Connection, map[string]string, error) {
	creds, err := openCredentials(sealer, r.ID, r.sealed)
	if err != nil {
		return Connection{}, nil, err
	}
	c := r.Connection
	c.CredentialsSet = credentialNames(creds)
	return c, creds, nil
}

// InsertConnection stores a connection. Credentials are sealed with the
// connection id as associated data; the verify token and webhook secret are
// generated.
func InsertConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID uuid.UUID, by AuditEntry, in NewConnectionRow) (Connection, error) {
	sealed, err := sealCredentials(sealer, in.ID, in.Credentials)
	if err != nil {
		return Connection{}, err
	}
	settings := in.Settings
	if settings == nil {
		settings = map[string]any{}
	}
	settingsJSON, err := json.Marshal(settings)
	if err != nil {
		return Connection{}, err
	}
	var out Connection
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, status, credentials,
			settings, verify_token, webhook_secret, external_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			tenantID, in.ID, in.Name, in.Channel, in.Provider, in.Status, sealed, settingsJSON, randomHex(16), randomHex(24),
			in.ExternalID); err != nil {
			return directoryConflict(err, "connections_tenant_id_name_key", "name", "a connection with this name already exists")
		}
		r, err := loadConnectionRow(ctx, tx, tenantID, in.ID, false)
		if err != nil {
			return err
		}
		if out, _, err = r.withNames(sealer); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "connection", in.ID, nil, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	if err != nil {
		return Connection{}, translate(err)
	}
	return out, nil
}

// GetConnection loads one live connection of the tenant.
func GetConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID, id uuid.UUID) (Connection, error) {
	var out Connection
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		r, err := loadConnectionRow(ctx, tx, tenantID, id, false)
		if err != nil {
			return err
		}
		out, _, err = r.withNames(sealer)
		return err
	})
	return out, translate(err)
}

// ConnectionFilter selects a page of connections.
type ConnectionFilter struct {
	Channel  string
	Provider string
	Cursor   string
	Limit    int
}

// ListConnections returns a page of live connections, oldest first.
func ListConnections(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID uuid.UUID, f ConnectionFilter) (crm.Page[Connection], error) {
	var afterID uuid.UUID
	hasCursor, err := crm.DecodeCursor(f.Cursor, &afterID)
	if err != nil {
		return crm.Page[Connection]{}, err
	}
	limit := crm.ClampLimit(f.Limit)
	where := []string{"c.tenant_id = $1", "c.deleted_at IS NULL"}
	args := []any{tenantID}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.Channel != "" {
		where = append(where, "c.channel = "+arg(f.Channel))
	}
	if f.Provider != "" {
		where = append(where, "c.provider = "+arg(f.Provider))
	}
	if hasCursor {
		where = append(where, "c.id > "+arg(afterID))
	}
	query := `SELECT ` + connectionColumns + ` FROM connections c WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY c.id LIMIT ` + arg(limit+1)
	page := crm.Page[Connection]{Items: []Connection{}}
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (connectionRow, error) { return scanConnection(row) })
		if err != nil {
			return err
		}
		for _, r := range list {
			c, _, err := r.withNames(sealer)
			if err != nil {
				return err
			}
			page.Items = append(page.Items, c)
		}
		return nil
	})
	if err != nil {
		return crm.Page[Connection]{}, translate(err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		next, err := crm.EncodeCursor(page.Items[limit-1].ID)
		if err != nil {
			return page, err
		}
		page.NextCursor = &next
	}
	return page, nil
}

// UpdateConnection applies the update: the name, and what Apply changes of
// the opened connection, re-sealing the credentials when they changed.
func UpdateConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID, id uuid.UUID, by AuditEntry, update ConnectionUpdate) (Connection, error) {
	var out Connection
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		r, err := loadConnectionRow(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		before, creds, err := r.withNames(sealer)
		if err != nil {
			return err
		}
		current := crm.ConnectionSecrets{ID: r.ID, TenantID: tenantID, Channel: r.Channel, Provider: r.Provider,
			ExternalID: r.ExternalID, Status: r.Status, Credentials: maps.Clone(creds), Settings: maps.Clone(r.Settings),
			VerifyToken: r.VerifyToken, WebhookSecret: r.WebhookSecret}
		if update.Apply != nil {
			if err := update.Apply(&current); err != nil {
				return err
			}
		}
		name := r.Name
		if update.Name != nil {
			name = *update.Name
		}
		settings := current.Settings
		if settings == nil {
			settings = map[string]any{}
		}
		settingsJSON, err := json.Marshal(settings)
		if err != nil {
			return err
		}
		sealed := r.sealed
		if !maps.Equal(creds, current.Credentials) {
			if sealed, err = sealCredentials(sealer, id, current.Credentials); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE connections SET name = $3, credentials = $4, settings = $5, external_id = $6,
			updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, id, name, sealed, settingsJSON, current.ExternalID); err != nil {
			return directoryConflict(err, "connections_tenant_id_name_key", "name", "a connection with this name already exists")
		}
		after, err := loadConnectionRow(ctx, tx, tenantID, id, false)
		if err != nil {
			return err
		}
		if out, _, err = after.withNames(sealer); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "update", "connection", id, before, out
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// DeleteConnection soft-deletes a connection: its conversations and messages
// keep their history; webhooks for it get 404. The name is freed for reuse.
func DeleteConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID, id uuid.UUID, by AuditEntry) error {
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		r, err := loadConnectionRow(ctx, tx, tenantID, id, true)
		if err != nil {
			return err
		}
		before, _, err := r.withNames(sealer)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE connections SET deleted_at = now(), updated_at = now(), status = 'disconnected',
			name = left(name, 70) || ' [deleted ' || right(id::text, 12) || ']'
			WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "delete", "connection", id, before, nil
		return WriteAudit(ctx, tx, tenantID, by)
	})
	return translate(err)
}

const secretColumns = `c.id, c.tenant_id, c.channel, c.provider, c.external_id, c.status, c.credentials, c.settings,
	c.verify_token, c.webhook_secret, c.deleted_at IS NOT NULL`

func scanSecrets(sealer *crm.Sealer, row pgx.Row) (crm.ConnectionSecrets, error) {
	var s crm.ConnectionSecrets
	var sealed, settings []byte
	if err := row.Scan(&s.ID, &s.TenantID, &s.Channel, &s.Provider, &s.ExternalID, &s.Status, &sealed, &settings,
		&s.VerifyToken, &s.WebhookSecret, &s.Deleted); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return s, crm.NotFound("connection")
		}
		return s, err
	}
	s.Settings = map[string]any{}
	if len(settings) > 0 {
		if err := json.Unmarshal(settings, &s.Settings); err != nil {
			return s, err
		}
	}
	creds, err := openCredentials(sealer, s.ID, sealed)
	if err != nil {
		return s, err
	}
	s.Credentials = creds
	return s, nil
}

// LoadConnectionForWebhook finds a connection by id alone, on the platform
// path: webhooks arrive without a tenant. Deleted connections are returned
// with Deleted set (the caller answers 404); an unknown id is crm.ErrNotFound.
func LoadConnectionForWebhook(ctx context.Context, db *DB, sealer *crm.Sealer, id uuid.UUID) (crm.ConnectionSecrets, error) {
	var out crm.ConnectionSecrets
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanSecrets(sealer, tx.QueryRow(ctx, `SELECT `+secretColumns+` FROM connections c WHERE c.id = $1
			ORDER BY c.deleted_at IS NOT NULL LIMIT 1`, id))
		return err
	})
	return out, translate(err)
}

// LoadConnection loads a tenant's connection with its decrypted credentials
// (the connection grain). Deleted connections are returned with Deleted set.
func LoadConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID, id uuid.UUID) (crm.ConnectionSecrets, error) {
	var out crm.ConnectionSecrets
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanSecrets(sealer, tx.QueryRow(ctx, `SELECT `+secretColumns+` FROM connections c
			WHERE c.tenant_id = $1 AND c.id = $2`, tenantID, id))
		return err
	})
	return out, translate(err)
}

// ConnectionStore loads connections with their opened credentials, for the
// layers that declare what they need of it (channels/providers.Store).
type ConnectionStore struct {
	db     *DB
	sealer *crm.Sealer
}

// NewConnectionStore opens credentials with sealer.
func NewConnectionStore(db *DB, sealer *crm.Sealer) *ConnectionStore {
	return &ConnectionStore{db: db, sealer: sealer}
}

// LoadConnection is LoadConnection with the store's database and sealer.
func (s *ConnectionStore) LoadConnection(ctx context.Context, tenantID, id uuid.UUID) (crm.ConnectionSecrets, error) {
	return LoadConnection(ctx, s.db, s.sealer, tenantID, id)
}

// LoadConnectionForWebhook is LoadConnectionForWebhook with the store's
// database and sealer.
func (s *ConnectionStore) LoadConnectionForWebhook(ctx context.Context, id uuid.UUID) (crm.ConnectionSecrets, error) {
	return LoadConnectionForWebhook(ctx, s.db, s.sealer, id)
}

// RotateConnectionSecrets re-seals, under the sealer's current key, every
// connection's credentials sealed with an older key, in batches of one
// transaction each. It returns how many were re-sealed.
func RotateConnectionSecrets(ctx context.Context, db *DB, sealer *crm.Sealer) (int, error) {
	if sealer == nil {
		return 0, errors.New("rotation needs the secret sealer")
	}
	const batch = 200
	total := 0
	var afterTenant, afterID uuid.UUID
	for {
		n, done := 0, false
		err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT tenant_id, id, credentials FROM connections
				WHERE credentials IS NOT NULL AND (tenant_id, id) > ($1, $2)
				ORDER BY tenant_id, id LIMIT $3 FOR UPDATE`, afterTenant, afterID, batch)
			if err != nil {
				return err
			}
			type sealedRow struct {
				tenantID, id uuid.UUID
				sealed       []byte
			}
			list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sealedRow, error) {
				var r sealedRow
				err := row.Scan(&r.tenantID, &r.id, &r.sealed)
				return r, err
			})
			if err != nil {
				return err
			}
			done = len(list) < batch
			for _, r := range list {
				afterTenant, afterID = r.tenantID, r.id
				if !sealer.NeedsRotation(r.sealed) {
					continue
				}
				plain, err := sealer.Open(r.sealed, connectionAAD(r.id))
				if err != nil {
					return fmt.Errorf("opening credentials of connection %s: %w", r.id, err)
				}
				if _, err := tx.Exec(ctx, `UPDATE connections SET credentials = $3 WHERE tenant_id = $1 AND id = $2`,
					r.tenantID, r.id, sealer.Seal(plain, connectionAAD(r.id))); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return total, translate(err)
		}
		total += n
		if done {
			return total, nil
		}
	}
}

// FirstLiveConnection finds the tenant's oldest live connection of a
// provider (the demo's sandbox); none is crm.ErrNotFound.
func FirstLiveConnection(ctx context.Context, db *DB, tenantID uuid.UUID, provider string) (uuid.UUID, error) {
	var id uuid.UUID
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM connections WHERE tenant_id = $1 AND provider = $2
			AND deleted_at IS NULL ORDER BY id LIMIT 1`, tenantID, provider).Scan(&id)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, crm.NotFound("connection")
	}
	return id, translate(err)
}

// RetireConnection soft-deletes a connection without opening its
// credentials and without an audit entry: for a demo connection sealed
// under a key the server no longer has.
func RetireConnection(ctx context.Context, db *DB, tenantID, id uuid.UUID) error {
	return translate(db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE connections SET deleted_at = now(), status = 'disconnected',
			name = left(name, 70) || ' [deleted ' || right(id::text, 12) || ']'
			WHERE tenant_id = $1 AND id = $2`, tenantID, id)
		return err
	}))
}
