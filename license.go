package crm

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"
)

// A license binds one tenant's service to one server until a date. It is a
// token the platform owner signs with an Ed25519 private key:
//
//	base64url(payload JSON) "." base64url(Ed25519 signature of the payload JSON)
//
// Any node verifies it offline with the public key alone.

// License reasons: why a license does not (fully) hold. The first five are
// the public contract of the 402 license_invalid answer; the others name bad
// input precisely instead of folding it into one of them.
const (
	LicenseExpired          = "expired"
	LicenseIPMismatch       = "ip_mismatch"
	LicenseRevoked          = "revoked"
	LicenseBadSignature     = "bad_signature"
	LicenseMissing          = "missing"
	LicenseNotYetValid      = "not_yet_valid"     // issued_at in the future (beyond clock skew)
	LicenseHostnameMismatch = "hostname_mismatch" // bound to another hostname
	LicenseTenantMismatch   = "tenant_mismatch"   // a license of another tenant
)

// licenseClockSkew tolerates clocks that disagree a little between the
// platform node that signed a license and the node that checks it.
const licenseClockSkew = 5 * time.Minute

// LicensePayload is what a license token carries.
type LicensePayload struct {
	LicenseID uuid.UUID `json:"lid"`
	TenantID  uuid.UUID `json:"tid"`
	PlanID    uuid.UUID `json:"pid"`
	ServerIP  string    `json:"ip"`
	Hostname  string    `json:"host,omitempty"`
	IssuedAt  time.Time `json:"iat"`
	ExpiresAt time.Time `json:"exp"`
}

// LicenseStatus is the verdict on a license. Valid is true while the license
// holds, including the grace period after expiry (then InGrace is true and
// Reason is "expired"). When Valid is false, Reason says why.
type LicenseStatus struct {
	Valid   bool   `json:"valid"`
	Reason  string `json:"reason,omitempty"`
	InGrace bool   `json:"in_grace"`
}

// LicenseCheck is where and when a license is checked.
type LicenseCheck struct {
	Now time.Time
	// ServerIPs are this node's addresses; the license's IP must be one of them.
	ServerIPs []string
	// Hostname is this node's hostname; checked only when the license names one.
	Hostname string
	// Grace keeps an expired license valid (InGrace) for this long after expiry.
	Grace time.Duration
	// TenantID, when set, is the tenant the license must belong to.
	TenantID uuid.UUID
}

var licenseEncoding = base64.RawURLEncoding.Strict()

// SignLicense signs the payload and returns the token.
func SignLicense(priv ed25519.PrivateKey, p LicensePayload) (string, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return "", errors.New("license signing key must be an Ed25519 private key")
	}
	if p.LicenseID == uuid.Nil || p.TenantID == uuid.Nil {
		return "", errors.New("license needs a license id and a tenant id")
	}
	if ip := net.ParseIP(p.ServerIP); ip == nil || ip.IsUnspecified() {
		return "", fmt.Errorf("license server IP %q is not a server's IP address", p.ServerIP)
	}
	if !p.ExpiresAt.After(p.IssuedAt) {
		return "", errors.New("license must expire after it is issued")
	}
	p.IssuedAt, p.ExpiresAt = p.IssuedAt.UTC().Truncate(time.Second), p.ExpiresAt.UTC().Truncate(time.Second)
	body, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	sig := ed25519.Sign(priv, body)
	return licenseEncoding.EncodeToString(body) + "." + licenseEncoding.EncodeToString(sig), nil
}

// ParseLicense checks the token's signature and returns its payload without
// judging dates or binding. Any changed byte fails here.
func ParseLicense(pub ed25519.PublicKey, token string) (LicensePayload, error) {
	var p LicensePayload
	if len(pub) != ed25519.PublicKeySize {
		return p, errors.New("license public key must be an Ed25519 public key")
	}
	token = strings.TrimSpace(token)
	bodyPart, sigPart, ok := strings.Cut(token, ".")
	if !ok || strings.Contains(sigPart, ".") {
		return p, errors.New("license is not two dot-separated parts")
	}
	body, err := licenseEncoding.DecodeString(bodyPart)
	if err != nil {
		return p, fmt.Errorf("license payload is not base64url: %w", err)
	}
	sig, err := licenseEncoding.DecodeString(sigPart)
	if err != nil {
		return p, fmt.Errorf("license signature is not base64url: %w", err)
	}
	if len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, body, sig) {
		return p, errors.New("license signature does not match")
	}
	// Unknown fields are tolerated: the signature already proves the payload
	// came from the platform owner, perhaps from a newer version.
	if err := json.Unmarshal(body, &p); err != nil {
		return LicensePayload{}, fmt.Errorf("license payload is malformed: %w", err)
	}
	if p.LicenseID == uuid.Nil || p.TenantID == uuid.Nil {
		return LicensePayload{}, errors.New("license payload lacks its ids")
	}
	return p, nil
}

// VerifyLicense verifies a token here and now. A signed payload is returned
// even when the status is not valid, so callers can show what it holds.
// Revocation is not in the token: callers holding the license record apply
// it (see LicenseRevoked).
func VerifyLicense(pub ed25519.PublicKey, token string, check LicenseCheck) (LicensePayload, LicenseStatus) {
	if strings.TrimSpace(token) == "" {
		return LicensePayload{}, LicenseStatus{Reason: LicenseMissing}
	}
	p, err := ParseLicense(pub, token)
	if err != nil {
		return LicensePayload{}, LicenseStatus{Reason: LicenseBadSignature}
	}
	return p, p.Judge(check)
}

// Judge applies the dates and the server binding to an already verified payload.
func (p LicensePayload) Judge(check LicenseCheck) LicenseStatus {
	now := check.Now
	if now.IsZero() {
		now = time.Now()
	}
	switch {
	case check.TenantID != uuid.Nil && p.TenantID != check.TenantID:
		return LicenseStatus{Reason: LicenseTenantMismatch}
	case p.IssuedAt.After(now.Add(licenseClockSkew)):
		return LicenseStatus{Reason: LicenseNotYetValid}
	case !ipAmong(p.ServerIP, check.ServerIPs):
		return LicenseStatus{Reason: LicenseIPMismatch}
	case p.Hostname != "" && !strings.EqualFold(p.Hostname, check.Hostname):
		return LicenseStatus{Reason: LicenseHostnameMismatch}
	case now.Before(p.ExpiresAt):
		return LicenseStatus{Valid: true}
	case now.Before(p.ExpiresAt.Add(check.Grace)):
		return LicenseStatus{Valid: true, InGrace: true, Reason: LicenseExpired}
	}
	return LicenseStatus{Reason: LicenseExpired}
}

func ipAmong(ip string, ips []string) bool {
	want := net.ParseIP(ip)
	if want == nil {
		return false
	}
	for _, s := range ips {
		if got := net.ParseIP(s); got != nil && got.Equal(want) {
			return true
		}
	}
	return false
}

// GenerateLicenseKeys makes a new Ed25519 key pair, each base64 (standard
// encoding): the private key as its 32-byte seed, the public key raw.
func GenerateLicenseKeys() (private, public string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(priv.Seed()), base64.StdEncoding.EncodeToString(pub), nil
}

// ParseLicenseSigningKey reads CRM_LICENSE_SIGNING_KEY: base64 (standard or
// URL alphabet) of a 32-byte seed or a 64-byte Ed25519 private key.
func ParseLicenseSigningKey(s string) (ed25519.PrivateKey, error) {
	raw, err := decodeKey(s)
	if err != nil {
		return nil, fmt.Errorf("license signing key: %w", err)
	}
	switch len(raw) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(raw), nil
	case ed25519.PrivateKeySize:
		key := ed25519.PrivateKey(raw)
		// The second half must be the public key of the first, or signatures fail to verify.
		if !bytes.Equal(ed25519.NewKeyFromSeed(key.Seed()), key) {
			return nil, errors.New("license signing key: public half does not match the seed")
		}
		return key, nil
	}
	return nil, fmt.Errorf("license signing key: %d bytes; want %d (seed) or %d", len(raw), ed25519.SeedSize, ed25519.PrivateKeySize)
}

// ParseLicensePublicKey reads CRM_LICENSE_PUBLIC_KEY: base64 of 32 bytes.
func ParseLicensePublicKey(s string) (ed25519.PublicKey, error) {
	raw, err := decodeKey(s)
	if err != nil {
		return nil, fmt.Errorf("license public key: %w", err)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("license public key: %d bytes; want %d", len(raw), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(raw), nil
}

// LicensePublicKeyFromEnv returns the verification key from the values of
// CRM_LICENSE_PUBLIC_KEY or, failing that, CRM_LICENSE_SIGNING_KEY. Both
// empty means licensing is not configured: (nil, nil).
func LicensePublicKeyFromEnv(publicKey, signingKey string) (ed25519.PublicKey, error) {
	if strings.TrimSpace(publicKey) != "" {
		return ParseLicensePublicKey(publicKey)
	}
	if strings.TrimSpace(signingKey) != "" {
		priv, err := ParseLicenseSigningKey(signingKey)
		if err != nil {
			return nil, err
		}
		return priv.Public().(ed25519.PublicKey), nil
	}
	return nil, nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil {
			return raw, nil
		}
	}
	return nil, errors.New("not base64")
}

// ServerAddresses are the addresses a license is checked against: the
// comma-separated override (CRM_SERVER_IP, for servers behind NAT whose
// public address is not on an interface) or else the interface addresses.
// Loopback, link-local and unspecified addresses are left out, since every
// machine has them (a license for 127.0.0.1 would hold anywhere), unless the
// machine has nothing else.
func ServerAddresses(override string) ([]string, error) {
	var out []string
	if strings.TrimSpace(override) != "" {
		for _, s := range strings.Split(override, ",") {
			s = strings.TrimSpace(s)
			if net.ParseIP(s) == nil {
				return nil, fmt.Errorf("CRM_SERVER_IP: %q is not an IP address", s)
			}
			out = append(out, s)
		}
		return out, nil
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing interface addresses: %w", err)
	}
	var local []string
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip := ipnet.IP
		if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
			local = append(local, ip.String())
			continue
		}
		out = append(out, ip.String())
	}
	if len(out) == 0 {
		return local, nil
	}
	return out, nil
}

// DefaultLicenseGrace is how long service continues after a license expires.
const DefaultLicenseGrace = 72 * time.Hour

// ParseLicenseGrace reads CRM_LICENSE_GRACE: a Go duration ("72h", "90m") or
// whole days ("3d"); empty means DefaultLicenseGrace.
func ParseLicenseGrace(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return DefaultLicenseGrace, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err == nil && n >= 0 && fmt.Sprint(n) == days {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("CRM_LICENSE_GRACE: %q is not a duration like 72h or 3d", s)
	}
	return d, nil
}
