package persistence_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

func TestLicenseCheckerRecordsAndGates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	plan := planWith(t, db, crm.PlanLimits{Users: 5, Connections: 5, Contacts: 5, MonthlyConversations: 5, MonthlyCampaigns: 5})
	tenant := tenantOn(t, db, plan)
	clock := &fakeClock{now: time.Now()}
	checker, err := persistence.NewLicenseChecker(db, persistence.LicenseCheckerConfig{PublicKey: priv.Public().(ed25519.PublicKey),
		ServerIPs: []string{"192.0.2.1"}, Grace: time.Hour, Now: clock.Now})
	require.NoError(t, err)

	requireReason := func(reason string) {
		t.Helper()
		err := checker.Gate(ctx, tenant)
		var coded *crm.Error
		require.True(t, errors.As(err, &coded), "gate: %v", err)
		require.Equal(t, "license_invalid", coded.Code)
		require.Equal(t, reason, coded.Details["reason"])
	}
	requireReason("missing")

	license, err := db.IssueDemoLicense(ctx, tenant, priv, "192.0.2.1")
	require.NoError(t, err)
	require.NoError(t, checker.Refresh(ctx, tenant))
	require.NoError(t, checker.Gate(ctx, tenant))
	require.NoError(t, checker.SendAllowed(ctx, db, tenant))

	// The full check records each license's verdict.
	require.NoError(t, checker.Check(ctx))
	licenses, err := db.ListLicenses(ctx, tenant)
	require.NoError(t, err)
	require.Len(t, licenses, 1)
	require.Equal(t, "valid", licenses[0].LastResult)
	require.NotNil(t, licenses[0].LastVerifiedAt)

	// Time moves past expiry into grace, then beyond, without another check.
	clock.Set(license.ExpiresAt.Add(time.Minute))
	state, err := checker.State(ctx, tenant)
	require.NoError(t, err)
	require.True(t, state.Valid)
	require.True(t, state.InGrace)
	require.True(t, state.Warning)
	clock.Set(license.ExpiresAt.Add(2 * time.Hour))
	requireReason("expired")
	require.NoError(t, checker.Check(ctx))
	licenses, err = db.ListLicenses(ctx, tenant)
	require.NoError(t, err)
	require.Equal(t, "expired", licenses[0].LastResult)

	// Revoked elsewhere: seen at the next check.
	clock.Set(time.Now())
	require.NoError(t, checker.Gate(ctx, tenant))
	_, err = db.RevokeLicense(ctx, persistence.AuditEntry{Actor: crm.Principal{Role: crm.RoleSuperAdmin}}, tenant, license.ID, time.Now())
	require.NoError(t, err)
	require.NoError(t, checker.Gate(ctx, tenant), "another node's revocation waits for the next check")
	require.NoError(t, checker.Check(ctx))
	requireReason("revoked")

	// Suspension refuses sends whatever the license; a nil checker enforces only that.
	var nilChecker *persistence.LicenseChecker
	require.NoError(t, nilChecker.Gate(ctx, tenant))
	require.NoError(t, db.PlatformTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE tenants SET status = 'suspended', suspended_reason = 'unpaid' WHERE id = $1`, tenant)
		return err
	}))
	err = nilChecker.SendAllowed(ctx, db, tenant)
	var coded *crm.Error
	require.ErrorAs(t, err, &coded)
	require.Equal(t, "tenant_suspended", coded.Code)
	require.Equal(t, "unpaid", coded.Details["reason"])

	// Bad configuration.
	_, err = persistence.NewLicenseChecker(db, persistence.LicenseCheckerConfig{})
	require.Error(t, err)
	_, err = db.IssueDemoLicense(ctx, tenant, nil, "192.0.2.1")
	require.Error(t, err)
}

func TestLicenseCheckerRunStopsWithContext(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	checker, err := persistence.NewLicenseChecker(db, persistence.LicenseCheckerConfig{PublicKey: priv.Public().(ed25519.PublicKey),
		ServerIPs: []string{"192.0.2.1"}, Interval: 10 * time.Millisecond})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- checker.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
