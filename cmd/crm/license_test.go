package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
)

func TestLicenseCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var out bytes.Buffer
	require.NoError(t, runLicense(ctx, []string{"keygen"}, &out))
	env := map[string]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			env[k] = v
		}
	}
	require.NotEmpty(t, env["CRM_LICENSE_SIGNING_KEY"])
	require.NotEmpty(t, env["CRM_LICENSE_PUBLIC_KEY"])
	priv, err := crm.ParseLicenseSigningKey(env["CRM_LICENSE_SIGNING_KEY"])
	require.NoError(t, err)
	now := time.Now()
	key, err := crm.SignLicense(priv, crm.LicensePayload{LicenseID: crm.NewID(), TenantID: crm.NewID(), PlanID: crm.NewID(),
		ServerIP: "203.0.113.10", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	require.NoError(t, err)

	run := func(vars map[string]string, at time.Time, args ...string) (string, error) {
		var out bytes.Buffer
		err := runLicenseWith(ctx, args, &out, func(k string) string { return vars[k] },
			func() (string, error) { return "node1", nil }, func() time.Time { return at })
		return out.String(), err
	}
	here := map[string]string{"CRM_LICENSE_PUBLIC_KEY": env["CRM_LICENSE_PUBLIC_KEY"], "CRM_SERVER_IP": "203.0.113.10"}
	text, err := run(here, now, "verify", key)
	require.NoError(t, err)
	require.Contains(t, text, "VALID")
	require.Contains(t, text, "203.0.113.10")

	// The signing key alone is enough to verify.
	text, err = run(map[string]string{"CRM_LICENSE_SIGNING_KEY": env["CRM_LICENSE_SIGNING_KEY"], "CRM_SERVER_IP": "203.0.113.10"},
		now.Add(2*time.Hour), "verify", key)
	require.NoError(t, err)
	require.Contains(t, text, "in grace")

	text, err = run(map[string]string{"CRM_LICENSE_PUBLIC_KEY": env["CRM_LICENSE_PUBLIC_KEY"], "CRM_SERVER_IP": "10.0.0.1"}, now, "verify", key)
	require.ErrorContains(t, err, "ip_mismatch")
	require.Contains(t, text, "INVALID: ip_mismatch")

	_, err = run(here, now.Add(100*time.Hour), "verify", key)
	require.ErrorContains(t, err, "expired")
	// Change one character well inside the signature (the last ones can hold
	// only padding bits, so changing them may change nothing).
	i := len(key) - 10
	flipped := byte('A')
	if key[i] == 'A' {
		flipped = 'B'
	}
	_, err = run(here, now, "verify", key[:i]+string(flipped)+key[i+1:])
	require.ErrorContains(t, err, "bad_signature")
	_, err = run(map[string]string{}, now, "verify", key)
	require.ErrorContains(t, err, "CRM_LICENSE_PUBLIC_KEY")
	_, err = run(here, now, "bogus")
	require.Error(t, err)
	_, err = run(here, now)
	require.Error(t, err)
}
