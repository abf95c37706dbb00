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
