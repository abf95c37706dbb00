package main

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/persistence/pgtest"
)

func TestSecretsRotate(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	oldKey, newKey := "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="
	ctx := context.Background()
	oldCfg, err := LoadConfig(func(k string) string {
		return map[string]string{"DATABASE_URL": url, "CRM_SECRET_KEY": oldKey, "CRM_HTTP_ADDR": "127.0.0.1:1"}[k]
	})
	require.NoError(t, err)
	require.NoError(t, Demo(ctx, oldCfg, io.Discard))

	newCfg, err := LoadConfig(func(k string) string {
		return map[string]string{"DATABASE_URL": url, "CRM_SECRET_KEY": newKey, "CRM_SECRET_KEY_PREVIOUS": oldKey}[k]
	})
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, Secrets(ctx, newCfg, []string{"rotate"}, &out))
	require.Contains(t, out.String(), "re-encrypted the credentials of 1 connections")

	db, err := persistence.Open(ctx, persistence.Config{URL: url}, nil)
	require.NoError(t, err)
	defer db.Close()
	tenantID, err := db.TenantBySlug(ctx, "demo")
	require.NoError(t, err)
	var connID uuid.UUID
	require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT id FROM connections`).Scan(&connID)
	}))
	onlyNew, err := crm.NewSealer(newCfg.SecretKey)
	require.NoError(t, err)
	sec, err := persistence.LoadConnection(ctx, db, onlyNew, tenantID, connID)
	require.NoError(t, err, "readable with the new key alone")
	require.NotEmpty(t, sec.Credentials["app_secret"])
	onlyOld, err := crm.NewSealer(oldCfg.SecretKey)
	require.NoError(t, err)
	_, err = persistence.LoadConnection(ctx, db, onlyOld, tenantID, connID)
	require.Error(t, err, "no longer readable with the old key")

	require.Error(t, Secrets(ctx, newCfg, []string{"bogus"}, &out))
}

// TestDemoSurvivesANewSecretKey: make run after ./var/secret.key was replaced
// (the database kept) retires the unreadable demo sandbox connection and
// makes a fresh one instead of failing to start.
func TestDemoSurvivesANewSecretKey(t *testing.T) {
	t.Parallel()
	url := pgtest.NewDatabase(t)
	ctx := context.Background()
	for _, key := range []string{"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=", "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="} {
		cfg, err := LoadConfig(func(k string) string {
			return map[string]string{"DATABASE_URL": url, "CRM_SECRET_KEY": key, "CRM_HTTP_ADDR": "127.0.0.1:1"}[k]
		})
		require.NoError(t, err)
		require.NoError(t, Demo(ctx, cfg, io.Discard))
		sealer, err := crm.NewSealer(cfg.SecretKey)
		require.NoError(t, err)
		db, err := persistence.Open(ctx, persistence.Config{URL: url}, nil)
		require.NoError(t, err)
		tenantID, err := db.TenantBySlug(ctx, "demo")
		require.NoError(t, err)
		var connID uuid.UUID
		require.NoError(t, db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT id FROM connections WHERE provider = 'sandbox' AND deleted_at IS NULL`).Scan(&connID)
		}))
		_, err = persistence.LoadConnection(ctx, db, sealer, tenantID, connID)
		require.NoError(t, err, "the live demo connection is readable with the current key")
		db.Close()
	}
}
