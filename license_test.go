package crm_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
)

func licenseFixture(t *testing.T) (ed25519.PrivateKey, ed25519.PublicKey, crm.LicensePayload) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	issued := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	return priv, pub, crm.LicensePayload{LicenseID: crm.NewID(), TenantID: crm.NewID(), PlanID: crm.NewID(),
		ServerIP: "203.0.113.10", IssuedAt: issued, ExpiresAt: issued.Add(30 * 24 * time.Hour)}
}

func TestLicenseVerifyCases(t *testing.T) {
	t.Parallel()
	priv, pub, payload := licenseFixture(t)
	token, err := crm.SignLicense(priv, payload)
	require.NoError(t, err)
	withHost := payload
	withHost.Hostname = "crm.example.com"
	hostToken, err := crm.SignLicense(priv, withHost)
	require.NoError(t, err)
	_, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	foreignToken, err := crm.SignLicense(otherPriv, payload)
	require.NoError(t, err)
	future := payload
	future.IssuedAt = payload.IssuedAt.Add(48 * time.Hour)
	future.ExpiresAt = future.IssuedAt.Add(time.Hour)
	futureToken, err := crm.SignLicense(priv, future)
	require.NoError(t, err)

	inside := payload.IssuedAt.Add(time.Hour)
	here := []string{"10.0.0.5", "203.0.113.10"}
	grace := 72 * time.Hour
	cases := []struct {
		name  string
		token string
		check crm.LicenseCheck
		want  crm.LicenseStatus
	}{
		{"valid", token, crm.LicenseCheck{Now: inside, ServerIPs: here, Grace: grace}, crm.LicenseStatus{Valid: true}},
		{"valid for its tenant", token, crm.LicenseCheck{Now: inside, ServerIPs: here, TenantID: payload.TenantID}, crm.LicenseStatus{Valid: true}},
		{"ipv6 spelled differently", mustSign(t, priv, withIP(payload, "2001:db8::1")), crm.LicenseCheck{Now: inside, ServerIPs: []string{"2001:0db8:0:0::1"}}, crm.LicenseStatus{Valid: true}},
		{"another tenant's license", token, crm.LicenseCheck{Now: inside, ServerIPs: here, TenantID: crm.NewID()}, crm.LicenseStatus{Reason: crm.LicenseTenantMismatch}},
		{"wrong ip", token, crm.LicenseCheck{Now: inside, ServerIPs: []string{"198.51.100.7"}}, crm.LicenseStatus{Reason: crm.LicenseIPMismatch}},
		{"no addresses", token, crm.LicenseCheck{Now: inside}, crm.LicenseStatus{Reason: crm.LicenseIPMismatch}},
		{"hostname matches", hostToken, crm.LicenseCheck{Now: inside, ServerIPs: here, Hostname: "CRM.example.com"}, crm.LicenseStatus{Valid: true}},
		{"hostname differs", hostToken, crm.LicenseCheck{Now: inside, ServerIPs: here, Hostname: "other.example.com"}, crm.LicenseStatus{Reason: crm.LicenseHostnameMismatch}},
		{"in grace", token, crm.LicenseCheck{Now: payload.ExpiresAt.Add(time.Hour), ServerIPs: here, Grace: grace}, crm.LicenseStatus{Valid: true, InGrace: true, Reason: crm.LicenseExpired}},
		{"grace over", token, crm.LicenseCheck{Now: payload.ExpiresAt.Add(grace), ServerIPs: here, Grace: grace}, crm.LicenseStatus{Reason: crm.LicenseExpired}},
		{"expired without grace", token, crm.LicenseCheck{Now: payload.ExpiresAt, ServerIPs: here}, crm.LicenseStatus{Reason: crm.LicenseExpired}},
		{"issued in the future", futureToken, crm.LicenseCheck{Now: inside, ServerIPs: here}, crm.LicenseStatus{Reason: crm.LicenseNotYetValid}},
		{"signed by someone else", foreignToken, crm.LicenseCheck{Now: inside, ServerIPs: here}, crm.LicenseStatus{Reason: crm.LicenseBadSignature}},
		{"empty", "  ", crm.LicenseCheck{Now: inside, ServerIPs: here}, crm.LicenseStatus{Reason: crm.LicenseMissing}},
		{"garbage", "not a license", crm.LicenseCheck{Now: inside, ServerIPs: here}, crm.LicenseStatus{Reason: crm.LicenseBadSignature}},
		{"three parts", token + ".x", crm.LicenseCheck{Now: inside, ServerIPs: here}, crm.LicenseStatus{Reason: crm.LicenseBadSignature}},
		{"signed garbage", signRaw(priv, []byte("[1,2]")), crm.LicenseCheck{Now: inside, ServerIPs: here}, crm.LicenseStatus{Reason: crm.LicenseBadSignature}},
		{"signed empty object", signRaw(priv, []byte("{}")), crm.LicenseCheck{Now: inside, ServerIPs: here}, crm.LicenseStatus{Reason: crm.LicenseBadSignature}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, status := crm.VerifyLicense(pub, tc.token, tc.check)
			require.Equal(t, tc.want, status)
			if tc.want.Reason != crm.LicenseBadSignature && tc.want.Reason != crm.LicenseMissing {
				require.NotEqual(t, got.LicenseID, [16]byte{}, "a signed payload is returned even when not valid")
			}
		})
	}
	got, _ := crm.VerifyLicense(pub, token, crm.LicenseCheck{Now: inside, ServerIPs: here})
	require.Equal(t, payload.TenantID, got.TenantID)
	require.Equal(t, payload.PlanID, got.PlanID)
	require.True(t, payload.ExpiresAt.Equal(got.ExpiresAt))
}

// TestLicenseTamperEveryByte changes each byte of a valid token in turn, to
// another character of the token alphabet and to a stray one: every variant
// is rejected as bad_signature.
func TestLicenseTamperEveryByte(t *testing.T) {
	t.Parallel()
	priv, pub, payload := licenseFixture(t)
	token, err := crm.SignLicense(priv, payload)
	require.NoError(t, err)
	check := crm.LicenseCheck{Now: payload.IssuedAt.Add(time.Minute), ServerIPs: []string{payload.ServerIP}}
	_, status := crm.VerifyLicense(pub, token, check)
	require.True(t, status.Valid)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := 0; i < len(token); i++ {
		for _, replacement := range []byte{alphabet[(indexOf(alphabet, token[i])+1)%len(alphabet)], '*'} {
			tampered := []byte(token)
			tampered[i] = replacement
			if string(tampered) == token {
				continue
			}
			_, status := crm.VerifyLicense(pub, string(tampered), check)
			require.Equal(t, crm.LicenseStatus{Reason: crm.LicenseBadSignature}, status, "byte %d changed to %q", i, replacement)
		}
	}
}

func TestLicenseKeys(t *testing.T) {
	t.Parallel()
	privText, pubText, err := crm.GenerateLicenseKeys()
	require.NoError(t, err)
	priv, err := crm.ParseLicenseSigningKey(privText)
	require.NoError(t, err)
	pub, err := crm.ParseLicensePublicKey(pubText)
	require.NoError(t, err)
	require.Equal(t, pub, priv.Public())
	full, err := crm.ParseLicenseSigningKey(base64.StdEncoding.EncodeToString(priv))
	require.NoError(t, err)
	require.Equal(t, priv, full)

	derived, err := crm.LicensePublicKeyFromEnv("", privText)
	require.NoError(t, err)
	require.Equal(t, pub, derived)
	none, err := crm.LicensePublicKeyFromEnv("", "")
	require.NoError(t, err)
	require.Nil(t, none)

	for _, bad := range []string{"", "!!!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		_, err := crm.ParseLicenseSigningKey(bad)
		require.Error(t, err, bad)
		_, err = crm.ParseLicensePublicKey(bad)
		require.Error(t, err, bad)
	}
	mismatched := append(append([]byte{}, priv.Seed()...), make([]byte, 32)...)
	_, err = crm.ParseLicenseSigningKey(base64.StdEncoding.EncodeToString(mismatched))
	require.Error(t, err)
}

func TestLicenseSignRefusesBadPayloads(t *testing.T) {
	t.Parallel()
	priv, _, payload := licenseFixture(t)
	bad := payload
	bad.ServerIP = "not-an-ip"
	_, err := crm.SignLicense(priv, bad)
	require.Error(t, err)
	bad = payload
	bad.ServerIP = "0.0.0.0"
	_, err = crm.SignLicense(priv, bad)
	require.Error(t, err)
	bad = payload
	bad.ExpiresAt = bad.IssuedAt
	_, err = crm.SignLicense(priv, bad)
	require.Error(t, err)
	_, err = crm.SignLicense(ed25519.PrivateKey("short"), payload)
	require.Error(t, err)
}

func TestLicenseServerAddresses(t *testing.T) {
	t.Parallel()
	ips, err := crm.ServerAddresses(" 203.0.113.10, 10.0.0.1 ")
	require.NoError(t, err)
	require.Equal(t, []string{"203.0.113.10", "10.0.0.1"}, ips)
	_, err = crm.ServerAddresses("nope")
	require.Error(t, err)
	ips, err = crm.ServerAddresses("")
	require.NoError(t, err)
	require.NotEmpty(t, ips)
}

func mustSign(t *testing.T, priv ed25519.PrivateKey, p crm.LicensePayload) string {
	t.Helper()
	token, err := crm.SignLicense(priv, p)
	require.NoError(t, err)
	return token
}

func withIP(p crm.LicensePayload, ip string) crm.LicensePayload {
	p.ServerIP = ip
	return p
}

func signRaw(priv ed25519.PrivateKey, body []byte) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString(body) + "." + enc.EncodeToString(ed25519.Sign(priv, body))
}

func indexOf(s string, b byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == b {
			return i
		}
	}
	return 0
}

func FuzzLicenseVerify(f *testing.F) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	token, _ := crm.SignLicense(priv, crm.LicensePayload{LicenseID: crm.NewID(), TenantID: crm.NewID(), ServerIP: "127.0.0.1",
		IssuedAt: time.Unix(1e9, 0), ExpiresAt: time.Unix(2e9, 0)})
	f.Add(token)
	f.Add("a.b")
	f.Fuzz(func(t *testing.T, s string) {
		crm.VerifyLicense(pub, s, crm.LicenseCheck{Now: time.Unix(1.5e9, 0), ServerIPs: []string{"127.0.0.1"}})
	})
}

func TestLicenseGraceSetting(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{"": 72 * time.Hour, "3d": 72 * time.Hour, "90m": 90 * time.Minute, "0": 0} {
		got, err := crm.ParseLicenseGrace(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"x", "-1h", "1.5d", "d"} {
		_, err := crm.ParseLicenseGrace(bad)
		require.Error(t, err, bad)
	}
}
