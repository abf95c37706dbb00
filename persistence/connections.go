package persistence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
	"crm/channels"
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
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
	// WebhookSecret is the secret segment of the uazapi/Evolution webhook
	// URL; the API shows it only inside webhook_url.
	WebhookSecret string `json:"-"`
}

// ConnectionSecrets is a connection with its decrypted credentials, for the
// engine and the webhook ingest. Never serialise it.
type ConnectionSecrets struct {
	ID            uuid.UUID
	TenantID      uuid.UUID
	Channel       string
	Provider      string
	ExternalID    string
	Status        string
	Credentials   map[string]string
	Settings      map[string]any
	VerifyToken   string
	WebhookSecret string
	Deleted       bool
}

// String keeps the secrets out of logs and %v.
func (s ConnectionSecrets) String() string {
	return fmt.Sprintf("connection %s (%s/%s, tenant %s)", s.ID, s.Provider, s.Channel, s.TenantID)
}

// ChannelCredentials maps the stored credential names onto the adapters'
// Credentials (Evolution's api_key is its instance token).
func (s ConnectionSecrets) ChannelCredentials() channels.Credentials {
	c := s.Credentials
	return channels.Credentials{
		AccessToken:   c["access_token"],
		AppSecret:     c["app_secret"],
		VerifyToken:   s.VerifyToken,
		PhoneNumberID: c["phone_number_id"],
		WABAID:        c["waba_id"],
		PageID:        c["page_id"],
		IGAccountID:   c["ig_account_id"],
		BaseURL:       c["base_url"],
		InstanceName:  c["instance"],
		InstanceToken: firstNonEmpty(c["instance_token"], c["api_key"]),
		WebhookSecret: s.WebhookSecret,
	}
}

// ChannelSettings maps the stored settings onto the adapters' Settings.
func (s ConnectionSecrets) ChannelSettings() channels.Settings {
	out := channels.Settings{}
	out.GraphBaseURL, _ = s.Settings["graph_base_url"].(string)
	out.APIVersion, _ = s.Settings["api_version"].(string)
	if secs, ok := s.Settings["timeout_seconds"].(float64); ok && secs > 0 {
		out.Timeout = time.Duration(secs * float64(time.Second))
	}
	return out
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// Providers and channels a connection may name.
const (
	ProviderMeta      = "meta"
	ProviderUazAPI    = "uazapi"
	ProviderEvolution = "evolution"
	ProviderSandbox   = "sandbox"
)

type credentialSpec struct {
	required []string
	// externalID names the credential that identifies the provider account.
	externalID string
}

// credentialSpecs: the credential names per provider and channel, exactly.
var credentialSpecs = map[string]credentialSpec{
	"meta/whatsapp":      {required: []string{"access_token", "app_secret", "phone_number_id", "waba_id"}, externalID: "phone_number_id"},
	"meta/messenger":     {required: []string{"access_token", "app_secret", "page_id"}, externalID: "page_id"},
	"meta/instagram":     {required: []string{"access_token", "app_secret", "ig_account_id"}, externalID: "ig_account_id"},
	"uazapi/whatsapp":    {required: []string{"base_url", "instance_token"}},
	"evolution/whatsapp": {required: []string{"base_url", "api_key", "instance"}, externalID: "instance"},
	// The sandbox's credentials are generated, never given.
	"sandbox/whatsapp": {externalID: "phone_number_id"},
}

// ConnectionCredentialNames lists the credentials a provider/channel takes.
func ConnectionCredentialNames(provider, channel string) ([]string, bool) {
	spec, ok := credentialSpecs[provider+"/"+channel]
	return spec.required, ok
}

// NewConnection is a connection to create.
type NewConnection struct {
	Name        string
	Channel     string
	Provider    string
	Credentials map[string]string
	Settings    map[string]any
	// SandboxBaseURL is the server's public base URL, for a sandbox
	// connection's graph_base_url ({base}/sandbox/graph).
	SandboxBaseURL string
}

// ConnectionPatch changes a connection. Credentials are merged key by key
// (an empty value removes nothing: every credential is required); Settings
// too, a nil value removing the setting.
type ConnectionPatch struct {
	Name        *string
	Credentials map[string]string
	Settings    map[string]any
}

// CreatedConnection is a new connection plus, for the sandbox, its app
// secret: shown once, in the create answer.
type CreatedConnection struct {
	Connection
	AppSecret string
}

var (
	apiVersionPattern = regexp.MustCompile(`^v[0-9]{1,3}\.[0-9]{1,3}$`)
	idCredential      = regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
)

// settingKinds: the settings a connection may carry and their JSON kinds.
var settingKinds = map[string]string{
	"graph_base_url":       "url",
	"api_version":          "api_version",
	"timeout_seconds":      "number",
	"display_phone_number": "string",
	// Sandbox behaviour (channels/sandbox): delays of the sent, delivered
	// and read status webhooks, and an injected failure.
	"sandbox_status_delays_ms": "numbers",
	"sandbox_failure":          "string",
}

func validateSettings(fields crm.FieldErrors, settings map[string]any) {
	raw, err := json.Marshal(settings)
	if err != nil {
		fields.Add("settings", "must be JSON: %v", err)
		return
	}
	if len(raw) > 8<<10 {
		fields.Add("settings", "must be at most 8 KiB of JSON")
		return
	}
	for k, v := range settings {
		field := "settings." + k
		kind, ok := settingKinds[k]
		if !ok {
			fields.Add(field, "unknown setting")
			continue
		}
		if v == nil {
			continue
		}
		switch kind {
		case "url":
			s, _ := v.(string)
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
				fields.Add(field, "must be an http(s) URL")
			}
		case "api_version":
			if s, _ := v.(string); !apiVersionPattern.MatchString(s) {
				fields.Add(field, "must look like v21.0")
			}
		case "number":
			if n, ok := v.(float64); !ok || n <= 0 || n > 300 {
				fields.Add(field, "must be a number from 1 to 300")
			}
		case "string":
			if s, ok := v.(string); !ok || len(s) > 100 {
				fields.Add(field, "must be a string of at most 100 characters")
			}
		case "numbers":
			list, ok := v.([]any)
			if !ok || len(list) > 3 {
				fields.Add(field, "must be up to 3 numbers")
				continue
			}
			for _, item := range list {
				if n, ok := item.(float64); !ok || n < 0 || n > 600000 {
					fields.Add(field, "must be up to 3 numbers from 0 to 600000")
				}
			}
		}
	}
}

// validateCredentials checks a full credential set against its spec.
func validateCredentials(fields crm.FieldErrors, spec credentialSpec, creds map[string]string) {
	allowed := map[string]bool{}
	for _, name := range spec.required {
		allowed[name] = true
		v := strings.TrimSpace(creds[name])
		switch {
		case v == "":
			fields.Add("credentials."+name, "is required")
		case len(v) > 4096:
			fields.Add("credentials."+name, "must have at most 4096 characters")
		case name == "base_url":
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				fields.Add("credentials."+name, "must be an http(s) URL")
			}
		case strings.HasSuffix(name, "_id") || name == "instance":
			if !idCredential.MatchString(v) {
				fields.Add("credentials."+name, "must be an id of letters, digits, _ . -")
			}
		}
	}
	for name := range creds {
		if !allowed[name] {
			fields.Add("credentials."+name, "unknown credential for this provider")
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func randomDigits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		if i == 0 && d.Int64() == 0 {
			d = big.NewInt(1)
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
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
	c.webhook_secret, c.credentials, c.last_event_at, c.last_error, c.last_error_at, c.created_at, c.updated_at`

// connectionRow is a scanned row; credentials stay sealed.
type connectionRow struct {
	Connection
	sealed []byte
}

func scanConnection(row pgx.Row) (connectionRow, error) {
	var r connectionRow
	var settings []byte
	err := row.Scan(&r.ID, &r.Name, &r.Channel, &r.Provider, &r.Status, &r.ExternalID, &settings, &r.VerifyToken,
		&r.WebhookSecret, &r.sealed, &r.LastEventAt, &r.LastError, &r.LastErrorAt, &r.CreatedAt, &r.UpdatedAt)
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

// CreateConnection validates and stores a connection. Credentials are sealed
// with the connection id as associated data; the verify token and webhook
// secret are generated. A sandbox connection gets generated credentials and
// its graph base URL pointing at this server's sandbox.
func CreateConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID uuid.UUID, by AuditEntry, in NewConnection) (CreatedConnection, error) {
	fields := crm.FieldErrors{}
	spec, ok := credentialSpecs[in.Provider+"/"+in.Channel]
	switch {
	case in.Channel != "whatsapp" && in.Channel != "messenger" && in.Channel != "instagram":
		fields.Add("channel", "must be whatsapp, messenger or instagram")
	case in.Provider != ProviderMeta && in.Provider != ProviderUazAPI && in.Provider != ProviderEvolution && in.Provider != ProviderSandbox:
		fields.Add("provider", "must be meta, uazapi, evolution or sandbox")
	case !ok:
		fields.Add("provider", "%s serves whatsapp only", in.Provider)
	}
	creds := map[string]string{}
	for k, v := range in.Credentials {
		creds[k] = strings.TrimSpace(v)
	}
	settings := map[string]any{}
	for k, v := range in.Settings {
		if v != nil {
			settings[k] = v
		}
	}
	id := crm.NewID()
	var appSecret string
	if ok {
		if in.Provider == ProviderSandbox {
			if len(in.Credentials) > 0 {
				fields.Add("credentials", "a sandbox connection's credentials are generated; send none")
			}
			appSecret = randomHex(24)
			creds = map[string]string{"access_token": SandboxAccessTokenPrefix + id.String() + "." + randomHex(24), "app_secret": appSecret,
				"phone_number_id": randomDigits(15), "waba_id": randomDigits(15)}
			if _, given := settings["graph_base_url"]; !given && in.SandboxBaseURL != "" {
				settings["graph_base_url"] = strings.TrimRight(in.SandboxBaseURL, "/") + "/sandbox/graph"
			}
		} else {
			validateCredentials(fields, spec, creds)
		}
	}
	validateSettings(fields, settings)
	if err := fields.Err(); err != nil {
		return CreatedConnection{}, err
	}
	if in.Provider == ProviderSandbox {
		if _, set := settings["graph_base_url"]; !set {
			return CreatedConnection{}, crm.NewError(crm.ErrInvalid, "validation_failed", "some fields are invalid",
				map[string]any{"fields": map[string]any{"settings.graph_base_url": "is required: the server's public URL is unknown"}})
		}
	}
	sealed, err := sealCredentials(sealer, id, creds)
	if err != nil {
		return CreatedConnection{}, err
	}
	settingsJSON, err := json.Marshal(settings)
	if err != nil {
		return CreatedConnection{}, err
	}
	status := "disconnected"
	if in.Provider == ProviderSandbox {
		status = "connected"
	}
	var out CreatedConnection
	err = db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO connections (tenant_id, id, name, channel, provider, status, credentials,
			settings, verify_token, webhook_secret, external_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			tenantID, id, in.Name, in.Channel, in.Provider, status, sealed, settingsJSON, randomHex(16), randomHex(24),
			creds[spec.externalID]); err != nil {
			return directoryConflict(err, "connections_tenant_id_name_key", "name", "a connection with this name already exists")
		}
		r, err := loadConnectionRow(ctx, tx, tenantID, id, false)
		if err != nil {
			return err
		}
		if out.Connection, _, err = r.withNames(sealer); err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "connection", id, nil, out.Connection
		return WriteAudit(ctx, tx, tenantID, by)
	})
	if err != nil {
		return CreatedConnection{}, translate(err)
	}
	out.AppSecret = appSecret
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

// UpdateConnection applies the patch: credentials merged key by key and
// re-sealed, settings merged (nil removes), the external id following the
// credential that names the account.
func UpdateConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID, id uuid.UUID, by AuditEntry, patch ConnectionPatch) (Connection, error) {
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
		fields := crm.FieldErrors{}
		spec := credentialSpecs[r.Provider+"/"+r.Channel]
		if len(patch.Credentials) > 0 {
			if r.Provider == ProviderSandbox {
				fields.Add("credentials", "a sandbox connection's credentials are generated; send none")
			} else {
				for k, v := range patch.Credentials {
					creds[k] = strings.TrimSpace(v)
				}
				validateCredentials(fields, spec, creds)
			}
		}
		settings := map[string]any{}
		for k, v := range r.Settings {
			settings[k] = v
		}
		for k, v := range patch.Settings {
			if v == nil {
				delete(settings, k)
			} else {
				settings[k] = v
			}
		}
		validateSettings(fields, patch.Settings)
		if err := fields.Err(); err != nil {
			return err
		}
		name := r.Name
		if patch.Name != nil {
			name = *patch.Name
		}
		settingsJSON, err := json.Marshal(settings)
		if err != nil {
			return err
		}
		sealed := r.sealed
		if len(patch.Credentials) > 0 {
			if sealed, err = sealCredentials(sealer, id, creds); err != nil {
				return err
			}
		}
		externalID := r.ExternalID
		if spec.externalID != "" {
			externalID = creds[spec.externalID]
		}
		if _, err := tx.Exec(ctx, `UPDATE connections SET name = $3, credentials = $4, settings = $5, external_id = $6,
			updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, id, name, sealed, settingsJSON, externalID); err != nil {
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

func scanSecrets(sealer *crm.Sealer, row pgx.Row) (ConnectionSecrets, error) {
	var s ConnectionSecrets
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
func LoadConnectionForWebhook(ctx context.Context, db *DB, sealer *crm.Sealer, id uuid.UUID) (ConnectionSecrets, error) {
	var out ConnectionSecrets
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
func LoadConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID, id uuid.UUID) (ConnectionSecrets, error) {
	var out ConnectionSecrets
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanSecrets(sealer, tx.QueryRow(ctx, `SELECT `+secretColumns+` FROM connections c
			WHERE c.tenant_id = $1 AND c.id = $2`, tenantID, id))
		return err
	})
	return out, translate(err)
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

// SandboxAccessTokenPrefix starts a sandbox connection's generated access
// token, which is "sbx." + connection id + "." + random: the sandbox finds
// the connection from the bearer token alone, as Graph does.
const SandboxAccessTokenPrefix = "sbx."

// SandboxConnectionID reads the connection id out of a sandbox access token
// (the caller still compares the whole token).
func SandboxConnectionID(accessToken string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(accessToken, SandboxAccessTokenPrefix)
	if !ok || len(rest) < 37 || rest[36] != '.' {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest[:36])
	return id, err == nil
}

// DemoSandboxConnectionName names the demo tenant's sandbox connection.
const DemoSandboxConnectionName = "WhatsApp Sandbox"

// EnsureDemoSandboxConnection makes sure the tenant has a live sandbox
// connection (make run's demo) and returns its id; an existing one is kept,
// its graph base URL pointed at publicURL.
func EnsureDemoSandboxConnection(ctx context.Context, db *DB, sealer *crm.Sealer, tenantID uuid.UUID, publicURL string) (uuid.UUID, error) {
	var existing uuid.UUID
	err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM connections WHERE tenant_id = $1 AND provider = 'sandbox'
			AND deleted_at IS NULL ORDER BY id LIMIT 1`, tenantID).Scan(&existing)
	})
	graph := strings.TrimRight(publicURL, "/") + "/sandbox/graph"
	switch {
	case err == nil:
		sec, err := LoadConnection(ctx, db, sealer, tenantID, existing)
		if errors.Is(err, crm.ErrUnseal) {
			// Sealed under another CRM_SECRET_KEY (./var/secret.key was
			// replaced while the database stayed): the demo sandbox holds no
			// real secrets, so retire it and make a fresh one below.
			if err := db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `UPDATE connections SET deleted_at = now(), status = 'disconnected',
					name = left(name, 70) || ' [deleted ' || right(id::text, 12) || ']'
					WHERE tenant_id = $1 AND id = $2`, tenantID, existing)
				return err
			}); err != nil {
				return uuid.Nil, translate(err)
			}
			break
		}
		if err != nil {
			return uuid.Nil, err
		}
		if sec.Settings["graph_base_url"] != graph {
			_, err = UpdateConnection(ctx, db, sealer, tenantID, existing, AuditEntry{},
				ConnectionPatch{Settings: map[string]any{"graph_base_url": graph}})
		}
		return existing, err
	case !errors.Is(err, pgx.ErrNoRows):
		return uuid.Nil, translate(err)
	}
	created, err := CreateConnection(ctx, db, sealer, tenantID, AuditEntry{}, NewConnection{
		Name: DemoSandboxConnectionName, Channel: "whatsapp", Provider: ProviderSandbox, SandboxBaseURL: publicURL})
	if err != nil {
		return uuid.Nil, err
	}
	return created.ID, nil
}
