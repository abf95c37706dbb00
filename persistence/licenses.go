package persistence

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// License is a stored license. Key is the signed token the customer installs.
type License struct {
	ID             uuid.UUID  `json:"id"`
	TenantID       uuid.UUID  `json:"tenant_id"`
	Key            string     `json:"key"`
	ServerIP       string     `json:"server_ip"`
	Hostname       string     `json:"hostname"`
	PlanID         *uuid.UUID `json:"plan_id"`
	IssuedAt       time.Time  `json:"issued_at"`
	ExpiresAt      time.Time  `json:"expires_at"`
	RevokedAt      *time.Time `json:"revoked_at"`
	LastVerifiedAt *time.Time `json:"last_verified_at"`
	LastResult     string     `json:"last_result"`
	CreatedBy      *uuid.UUID `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
}

const licenseColumns = `tenant_id, id, key, server_ip, hostname, plan_id, issued_at, expires_at, revoked_at,
	last_verified_at, last_result, created_by, created_at`

func scanLicense(row pgx.Row) (License, error) {
	var l License
	err := row.Scan(&l.TenantID, &l.ID, &l.Key, &l.ServerIP, &l.Hostname, &l.PlanID, &l.IssuedAt, &l.ExpiresAt,
		&l.RevokedAt, &l.LastVerifiedAt, &l.LastResult, &l.CreatedBy, &l.CreatedAt)
	return l, err
}

// NewLicense is what issuing a license takes.
type NewLicense struct {
	TenantID  uuid.UUID
	ServerIP  string
	Hostname  string
	ExpiresAt time.Time
	Now       time.Time
}

// IssueLicense signs a license for the tenant's current plan and stores it,
// audited as by (the key is masked in the audit log).
func (db *DB) IssueLicense(ctx context.Context, by AuditEntry, signingKey ed25519.PrivateKey, in NewLicense) (License, error) {
	var out License
	if len(signingKey) != ed25519.PrivateKeySize {
		return out, crm.NewError(crm.ErrUnprocessable, "license_signing_unavailable",
			"this node has no license signing key (CRM_LICENSE_SIGNING_KEY)", nil)
	}
	fields := crm.FieldErrors{}
	if ip := net.ParseIP(in.ServerIP); ip == nil || ip.IsUnspecified() {
		fields.Add("server_ip", "must be the server's IPv4 or IPv6 address")
	}
	if len(in.Hostname) > 253 {
		fields.Add("hostname", "must have at most 253 characters")
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if !in.ExpiresAt.After(in.Now) {
		fields.Add("expires_at", "must be in the future")
	}
	if err := fields.Err(); err != nil {
		return out, err
	}
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var status string
		var planID uuid.UUID
		err := tx.QueryRow(ctx, `SELECT status, plan_id FROM tenants WHERE id = $1`, in.TenantID).Scan(&status, &planID)
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("tenant")
		}
		if err != nil {
			return err
		}
		if status == "deleted" {
			return crm.NewError(crm.ErrConflict, "tenant_deleted", "the tenant is deleted", nil)
		}
		payload := crm.LicensePayload{LicenseID: crm.NewID(), TenantID: in.TenantID, PlanID: planID,
			ServerIP: in.ServerIP, Hostname: in.Hostname, IssuedAt: in.Now, ExpiresAt: in.ExpiresAt}
		key, err := crm.SignLicense(signingKey, payload)
		if err != nil {
			return crm.NewError(crm.ErrInvalid, "invalid_license", err.Error(), nil)
		}
		var createdBy *uuid.UUID
		if by.Actor.UserID != uuid.Nil {
			createdBy = &by.Actor.UserID
		}
		out, err = scanLicense(tx.QueryRow(ctx, `INSERT INTO licenses (tenant_id, id, key, server_ip, hostname, plan_id,
			issued_at, expires_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+licenseColumns,
			in.TenantID, payload.LicenseID, key, in.ServerIP, in.Hostname, planID,
			in.Now.UTC().Truncate(time.Second), in.ExpiresAt.UTC().Truncate(time.Second), createdBy))
		if err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "create", "license", out.ID, nil, out
		return auditTenantChange(ctx, tx, in.TenantID, by)
	})
	return out, translate(err)
}

// IssueDemoLicense gives the demo tenant a one-year license for this node's
// address, so `make run` works out of the box. Not audited: it is seeding.
func (db *DB) IssueDemoLicense(ctx context.Context, tenantID uuid.UUID, signingKey ed25519.PrivateKey, serverIP string) (License, error) {
	now := time.Now()
	return db.IssueLicense(ctx, AuditEntry{Actor: crm.Principal{Email: "seed", Role: crm.RoleSuperAdmin}}, signingKey,
		NewLicense{TenantID: tenantID, ServerIP: serverIP, ExpiresAt: now.AddDate(1, 0, 0), Now: now})
}

// ListLicenses lists a tenant's licenses, newest first.
func (db *DB) ListLicenses(ctx context.Context, tenantID uuid.UUID) ([]License, error) {
	out := []License{}
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM tenants WHERE id = $1)`, tenantID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return crm.NotFound("tenant")
		}
		rows, err := tx.Query(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE tenant_id = $1
			ORDER BY created_at DESC, id DESC`, tenantID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (License, error) { return scanLicense(r) })
		return err
	})
	return out, translate(err)
}

// RevokeLicense marks a license revoked (idempotent), audited as by.
func (db *DB) RevokeLicense(ctx context.Context, by AuditEntry, tenantID, licenseID uuid.UUID, now time.Time) (License, error) {
	var out License
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		before, err := scanLicense(tx.QueryRow(ctx, `SELECT `+licenseColumns+` FROM licenses
			WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, licenseID))
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("license")
		}
		if err != nil {
			return err
		}
		if before.RevokedAt != nil {
			out = before
			return nil
		}
		out, err = scanLicense(tx.QueryRow(ctx, `UPDATE licenses SET revoked_at = $3, last_result = 'revoked'
			WHERE tenant_id = $1 AND id = $2 RETURNING `+licenseColumns, tenantID, licenseID, now))
		if err != nil {
			return err
		}
		by.Action, by.Entity, by.EntityID, by.Before, by.After = "revoke", "license", licenseID, before, out
		return auditTenantChange(ctx, tx, tenantID, by)
	})
	return out, translate(err)
}

// LicenseByID finds a license by id alone (platform path), for the public
// online check; the id comes from a verified token.
func (db *DB) LicenseByID(ctx context.Context, licenseID uuid.UUID) (License, error) {
	var out License
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = scanLicense(tx.QueryRow(ctx, `SELECT `+licenseColumns+` FROM licenses WHERE id = $1`, licenseID))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return out, crm.NotFound("license")
	}
	return out, translate(err)
}

// LicenseState is a tenant's license standing on this node.
type LicenseState struct {
	// Enforced is false when the node has no license public key: every
	// tenant is served.
	Enforced bool   `json:"enforced"`
	Valid    bool   `json:"valid"`
	InGrace  bool   `json:"in_grace"`
	Reason   string `json:"reason,omitempty"`
	// Warning tells the console to show a banner: in grace, or expiring
	// within a week.
	Warning     bool       `json:"warning"`
	LicenseID   *uuid.UUID `json:"license_id"`
	ServerIP    string     `json:"server_ip,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at"`
	GraceEndsAt *time.Time `json:"grace_ends_at"`
	CheckedAt   *time.Time `json:"checked_at"`
}

// LicenseCheckerConfig configures a LicenseChecker.
type LicenseCheckerConfig struct {
	// PublicKey verifies license signatures. Required.
	PublicKey ed25519.PublicKey
	// ServerIPs are this node's addresses (crm.ServerAddresses). Required.
	ServerIPs []string
	// Hostname is this node's hostname, checked against licenses that name one.
	Hostname string
	// Grace keeps service after expiry: CRM_LICENSE_GRACE read with
	// crm.ParseLicenseGrace (72 hours by default). Zero means no grace.
	Grace time.Duration
	// Interval between full checks; default one hour.
	Interval time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// LicenseChecker keeps every tenant's license standing in memory for this
// node: a full check at start and every Interval (recording each license's
// last_verified_at and last_result), a one-tenant refresh when this node
// issues or revokes a license, and a load on first sight of a tenant. The
// time-dependent part (expiry, grace) is judged at each look-up with the
// clock, so expiry takes effect on time between checks.
//
// A nil *LicenseChecker enforces nothing: every method answers "allowed".
type LicenseChecker struct {
	db  *DB
	cfg LicenseCheckerConfig

	mu      sync.RWMutex
	tenants map[uuid.UUID]tenantLicenses
}

// tenantLicenses are a tenant's licenses as last read, verified except for time.
type tenantLicenses struct {
	checkedAt time.Time
	licenses  []checkedLicense
}

type checkedLicense struct {
	id        uuid.UUID
	createdAt time.Time
	payload   crm.LicensePayload
	badKey    bool // signature or payload failed
	revoked   bool
}

// NewLicenseChecker builds a checker; call Run to keep it current.
func NewLicenseChecker(db *DB, cfg LicenseCheckerConfig) (*LicenseChecker, error) {
	if db == nil {
		return nil, errors.New("license checker: DB is required")
	}
	if len(cfg.PublicKey) != ed25519.PublicKeySize {
		return nil, errors.New("license checker: an Ed25519 public key is required")
	}
	if cfg.Grace < 0 {
		return nil, errors.New("license checker: grace must not be negative")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &LicenseChecker{db: db, cfg: cfg, tenants: map[uuid.UUID]tenantLicenses{}}, nil
}

// PublicKey is the key licenses are verified with (nil for a nil checker).
func (c *LicenseChecker) PublicKey() ed25519.PublicKey {
	if c == nil {
		return nil
	}
	return c.cfg.PublicKey
}

// ServerIPs are the addresses this node checks licenses against.
func (c *LicenseChecker) ServerIPs() []string {
	if c == nil {
		return nil
	}
	return append([]string(nil), c.cfg.ServerIPs...)
}

// Grace is the configured grace period (0 for a nil checker).
func (c *LicenseChecker) Grace() time.Duration {
	if c == nil {
		return 0
	}
	return c.cfg.Grace
}

// Run checks now and then every Interval until ctx ends. Failed checks are
// logged and retried at the next tick; the last known standing stays.
func (c *LicenseChecker) Run(ctx context.Context) error {
	if c == nil {
		<-ctx.Done()
		return nil
	}
	if err := c.Check(ctx); err != nil && ctx.Err() == nil {
		c.cfg.Log.ErrorContext(ctx, "checking licenses", "error", err)
	}
	ticker := time.NewTicker(c.cfg.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			if err := c.Check(ctx); err != nil && ctx.Err() == nil {
				c.cfg.Log.ErrorContext(ctx, "checking licenses", "error", err)
			}
		}
	}
}

// Check verifies every license of every tenant that is not deleted and
// records the results.
func (c *LicenseChecker) Check(ctx context.Context) error {
	if c == nil {
		return nil
	}
	found, err := c.load(ctx, nil)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.tenants = found
	c.mu.Unlock()
	return nil
}

// Refresh re-reads one tenant's licenses now (after issuing or revoking).
func (c *LicenseChecker) Refresh(ctx context.Context, tenantID uuid.UUID) error {
	if c == nil {
		return nil
	}
	found, err := c.load(ctx, &tenantID)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if tl, ok := found[tenantID]; ok {
		c.tenants[tenantID] = tl
	} else {
		delete(c.tenants, tenantID)
	}
	c.mu.Unlock()
	return nil
}

// load reads and verifies licenses (of one tenant, or all) and records
// last_verified_at and last_result.
func (c *LicenseChecker) load(ctx context.Context, only *uuid.UUID) (map[uuid.UUID]tenantLicenses, error) {
	now := c.cfg.Now()
	found := map[uuid.UUID]tenantLicenses{}
	err := c.db.PlatformTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT t.id, l.id, l.key, l.revoked_at IS NOT NULL, l.created_at
			FROM tenants t LEFT JOIN licenses l ON l.tenant_id = t.id
			WHERE t.status <> 'deleted' AND ($1::uuid IS NULL OR t.id = $1)`, only)
		if err != nil {
			return err
		}
		var ids []uuid.UUID
		var tenantIDs []uuid.UUID
		var results []string
		for rows.Next() {
			var tenantID uuid.UUID
			var licenseID *uuid.UUID
			var key *string
			var revoked *bool
			var createdAt *time.Time
			if err := rows.Scan(&tenantID, &licenseID, &key, &revoked, &createdAt); err != nil {
				rows.Close()
				return err
			}
			tl := found[tenantID]
			tl.checkedAt = now
			if licenseID != nil {
				cl := checkedLicense{id: *licenseID, createdAt: *createdAt, revoked: *revoked}
				payload, err := crm.ParseLicense(c.cfg.PublicKey, *key)
				cl.payload, cl.badKey = payload, err != nil || payload.LicenseID != *licenseID
				tl.licenses = append(tl.licenses, cl)
				ids, tenantIDs = append(ids, *licenseID), append(tenantIDs, tenantID)
				results = append(results, resultText(c.judge(tenantID, cl, now)))
			}
			found[tenantID] = tl
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE licenses l SET last_verified_at = $1, last_result = r.result
			FROM unnest($2::uuid[], $3::uuid[], $4::text[]) AS r(tenant_id, id, result)
			WHERE l.tenant_id = r.tenant_id AND l.id = r.id`, now, tenantIDs, ids, results)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checking licenses: %w", translate(err))
	}
	return found, nil
}

func resultText(s crm.LicenseStatus) string {
	switch {
	case s.Valid && s.InGrace:
		return "in_grace"
	case s.Valid:
		return "valid"
	}
	return s.Reason
}

func (c *LicenseChecker) judge(tenantID uuid.UUID, l checkedLicense, now time.Time) crm.LicenseStatus {
	switch {
	case l.badKey:
		return crm.LicenseStatus{Reason: crm.LicenseBadSignature}
	case l.revoked:
		return crm.LicenseStatus{Reason: crm.LicenseRevoked}
	}
	return l.payload.Judge(crm.LicenseCheck{Now: now, ServerIPs: c.cfg.ServerIPs, Hostname: c.cfg.Hostname,
		Grace: c.cfg.Grace, TenantID: tenantID})
}

// State is the tenant's license standing now. A tenant this node has not
// seen yet is loaded first.
func (c *LicenseChecker) State(ctx context.Context, tenantID uuid.UUID) (LicenseState, error) {
	if c == nil {
		return LicenseState{Enforced: false, Valid: true}, nil
	}
	c.mu.RLock()
	tl, ok := c.tenants[tenantID]
	c.mu.RUnlock()
	if !ok {
		if err := c.Refresh(ctx, tenantID); err != nil {
			return LicenseState{}, err
		}
		c.mu.RLock()
		tl = c.tenants[tenantID]
		c.mu.RUnlock()
	}
	return c.stateOf(tenantID, tl), nil
}

// stateOf picks the tenant's best license: valid, else in grace, else the
// newest one's reason; none at all is "missing".
func (c *LicenseChecker) stateOf(tenantID uuid.UUID, tl tenantLicenses) LicenseState {
	now := c.cfg.Now()
	state := LicenseState{Enforced: true, Reason: crm.LicenseMissing}
	if !tl.checkedAt.IsZero() {
		at := tl.checkedAt
		state.CheckedAt = &at
	}
	licenses := append([]checkedLicense(nil), tl.licenses...)
	sort.Slice(licenses, func(i, j int) bool { return licenses[i].createdAt.After(licenses[j].createdAt) })
	rank := func(s crm.LicenseStatus) int {
		switch {
		case s.Valid && !s.InGrace:
			return 3
		case s.Valid:
			return 2
		}
		return 1
	}
	best := 0
	for _, l := range licenses {
		s := c.judge(tenantID, l, now)
		if r := rank(s); r > best {
			best = r
			state.Valid, state.InGrace, state.Reason = s.Valid, s.InGrace, s.Reason
			id := l.id
			state.LicenseID = &id
			state.ServerIP = l.payload.ServerIP
			if !l.badKey {
				exp := l.payload.ExpiresAt
				graceEnds := exp.Add(c.cfg.Grace)
				state.ExpiresAt, state.GraceEndsAt = &exp, &graceEnds
			} else {
				state.ExpiresAt, state.GraceEndsAt = nil, nil
			}
		}
	}
	state.Warning = state.InGrace || (state.Valid && state.ExpiresAt != nil && state.ExpiresAt.Sub(now) < 7*24*time.Hour)
	return state
}

// Gate is nil when the tenant may be served, else 402 license_invalid with
// the reason.
func (c *LicenseChecker) Gate(ctx context.Context, tenantID uuid.UUID) error {
	if c == nil {
		return nil
	}
	state, err := c.State(ctx, tenantID)
	if err != nil {
		return err
	}
	if state.Valid {
		return nil
	}
	return LicenseInvalid(state.Reason)
}

// LicenseInvalid is the 402 answer for a tenant without a valid license.
func LicenseInvalid(reason string) error {
	return crm.NewError(crm.ErrPlanLimit, "license_invalid", "this company has no valid license for this server",
		map[string]any{"reason": reason})
}

// SendAllowed is what the engine asks before sending for a tenant: nil, or
// 403 tenant_suspended, or 402 license_invalid. Inbound webhooks never ask:
// they are stored whatever the tenant's standing. Works on a nil checker
// (no license enforcement) for the suspension part.
func (c *LicenseChecker) SendAllowed(ctx context.Context, db *DB, tenantID uuid.UUID) error {
	state, err := db.TenantState(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := state.Err(); err != nil {
		return err
	}
	return c.Gate(ctx, tenantID)
}
