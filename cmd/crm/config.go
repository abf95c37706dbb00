package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"crm/mail"
)

// Config is every setting of a node, read from the environment. The README
// lists each variable with its default.
type Config struct {
	DatabaseURL      string
	DBTenantRole     string
	HTTPAddr         string
	PublicURL        string
	SecretKey        []byte
	ClusterSeeds     []string
	ClusterBind      string
	ClusterAdvertise string
	ClusterSecret    string
	RedisURL         string
	MediaDir         string
	S3Endpoint       string
	S3Bucket         string
	S3AccessKey      string
	S3SecretKey      string
	LogLevel         slog.Level
	TrustedProxies   []netip.Prefix
	ShutdownTimeout  time.Duration
	// Engine tuning (0: the engine's default).
	DispatchWorkers int
	CommitBatch     int
	CommitWriters   int
	MaxBacklog      int
	// SendRate (CRM_SEND_RATE) is each connection's send pace, messages a
	// second: the WhatsApp number's throughput (80 by default; Meta raises
	// it to 1,000 for numbers that qualify). Campaigns use up to 80% of it.
	SendRate int
	// StaleSendAfter (CRM_STALE_SEND_AFTER) is how long a send may stay
	// pending before the sweeper hands it to its connection again.
	StaleSendAfter time.Duration
	// Durable jobs (0: package jobs' default).
	JobWorkers     int
	JobTimeout     time.Duration
	JobRescueAfter time.Duration

	// AllowPrivateProviderURLs (CRM_ALLOW_PRIVATE_PROVIDER_URLS) lets
	// provider calls reach loopback, private and link-local addresses.
	AllowPrivateProviderURLs bool
	// InboxMaxAttempts (CRM_INBOX_MAX_ATTEMPTS) dead-letters an inbox event
	// after this many failed attempts.
	InboxMaxAttempts int
	// Mailer (CRM_SMTP_URL, CRM_SMTP_FROM) sends the password reset
	// e-mails; nil without CRM_SMTP_URL, and reset links are then logged.
	Mailer *mail.SMTP
	// Getenv is kept for the parts that read their own variables (cluster, licenses).
	Getenv func(string) string
}

// LoadConfig reads the configuration with getenv, filling defaults.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL:      getenv("DATABASE_URL"),
		DBTenantRole:     getenv("CRM_DB_TENANT_ROLE"),
		HTTPAddr:         orDefault(getenv("CRM_HTTP_ADDR"), ":8080"),
		PublicURL:        getenv("CRM_PUBLIC_URL"),
		ClusterBind:      orDefault(getenv("CRM_CLUSTER_BIND"), "127.0.0.1:0"),
		ClusterAdvertise: getenv("CRM_CLUSTER_ADVERTISE"),
		ClusterSecret:    getenv("CRM_CLUSTER_SECRET"),
		RedisURL:         getenv("REDIS_URL"),
		MediaDir:         orDefault(getenv("CRM_MEDIA_DIR"), "./var/media"),
		S3Endpoint:       getenv("CRM_S3_ENDPOINT"),
		S3Bucket:         getenv("CRM_S3_BUCKET"),
		S3AccessKey:      getenv("CRM_S3_ACCESS_KEY"),
		S3SecretKey:      getenv("CRM_S3_SECRET_KEY"),
		ShutdownTimeout:  20 * time.Second,
		Getenv:           getenv,
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "postgres://postgres@127.0.0.1:5432/crm?sslmode=disable"
	}
	if seeds := strings.TrimSpace(getenv("CRM_CLUSTER_SEEDS")); seeds != "" {
		for _, s := range strings.Split(seeds, ",") {
			if s = strings.TrimSpace(s); s != "" {
				c.ClusterSeeds = append(c.ClusterSeeds, s)
			}
		}
	}
	for _, v := range []struct {
		name string
		dst  *int
	}{{"CRM_DISPATCH_WORKERS", &c.DispatchWorkers}, {"CRM_COMMIT_BATCH", &c.CommitBatch}, {"CRM_COMMIT_WRITERS", &c.CommitWriters}, {"CRM_MAX_BACKLOG", &c.MaxBacklog},
		{"CRM_JOB_WORKERS", &c.JobWorkers}, {"CRM_INBOX_MAX_ATTEMPTS", &c.InboxMaxAttempts}, {"CRM_SEND_RATE", &c.SendRate}} {
		if raw := strings.TrimSpace(getenv(v.name)); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil {
				return c, fmt.Errorf("%s: %q is not a whole number", v.name, raw)
			}
			*v.dst = n
		}
	}
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{{"CRM_JOB_TIMEOUT", &c.JobTimeout}, {"CRM_JOB_RESCUE_AFTER", &c.JobRescueAfter}, {"CRM_STALE_SEND_AFTER", &c.StaleSendAfter}} {
		if raw := strings.TrimSpace(getenv(v.name)); raw != "" {
			d, err := time.ParseDuration(raw)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("%s: %q is not a positive duration such as 90s or 5m", v.name, raw)
			}
			*v.dst = d
		}
	}
	if raw := strings.TrimSpace(getenv("CRM_ALLOW_PRIVATE_PROVIDER_URLS")); raw != "" {
		allow, err := strconv.ParseBool(raw)
		if err != nil {
			return c, fmt.Errorf("CRM_ALLOW_PRIVATE_PROVIDER_URLS: %q is not true or false", raw)
		}
		c.AllowPrivateProviderURLs = allow
	}
	if err := c.LogLevel.UnmarshalText([]byte(orDefault(getenv("CRM_LOG_LEVEL"), "info"))); err != nil {
		return c, fmt.Errorf("CRM_LOG_LEVEL: %w", err)
	}
	proxies, err := parseTrustedProxies(getenv("CRM_TRUSTED_PROXIES"))
	if err != nil {
		return c, err
	}
	c.TrustedProxies = proxies
	key, err := parseSecretKey(getenv("CRM_SECRET_KEY"))
	if err != nil {
		return c, err
	}
	c.SecretKey = key
	if c.Mailer, err = loadMailer(getenv, c.PublicURL); err != nil {
		return c, err
	}
	return c, nil
}

// loadMailer reads CRM_SMTP_URL and CRM_SMTP_FROM (default
// no-reply@ the public URL's host, else the SMTP server's).
func loadMailer(getenv func(string) string, publicURL string) (*mail.SMTP, error) {
	raw := strings.TrimSpace(getenv("CRM_SMTP_URL"))
	if raw == "" {
		return nil, nil
	}
	from := strings.TrimSpace(getenv("CRM_SMTP_FROM"))
	if from == "" {
		host := ""
		if u, err := url.Parse(publicURL); err == nil {
			host = u.Hostname()
		}
		if host == "" || !strings.Contains(host, ".") {
			if u, err := url.Parse(raw); err == nil {
				host = u.Hostname()
			}
		}
		from = "no-reply@" + host
	}
	m, err := mail.NewSMTP(mail.Config{URL: raw, From: from})
	if err != nil {
		return nil, fmt.Errorf("CRM_SMTP_URL / CRM_SMTP_FROM: %w", err)
	}
	return m, nil
}

// parseTrustedProxies reads CRM_TRUSTED_PROXIES: comma-separated CIDRs or
// single addresses of the reverse proxies in front of the node. A mistyped
// entry stops the node: trusting less than meant breaks every client's
// address, trusting more lets clients forge theirs.
func parseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil && a.Zone() == "" {
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		return nil, fmt.Errorf("CRM_TRUSTED_PROXIES: %q is neither an IP address nor a CIDR (like 10.0.0.0/8 or 192.0.2.7)", item)
	}
	return out, nil
}

// parseSecretKey accepts 32 bytes as base64 or hex. The key encrypts secrets
// at rest and signs access tokens (through derived subkeys).
func parseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("CRM_SECRET_KEY is not set: generate one with `openssl rand -base64 32` (make run keeps one in ./var/secret.key)")
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("CRM_SECRET_KEY must be 32 bytes, base64 or hex encoded")
}

// subkey derives an independent key for one purpose from the secret key.
func (c Config) subkey(purpose string) []byte {
	m := hmac.New(sha256.New, c.SecretKey)
	m.Write([]byte("crm/" + purpose))
	return m.Sum(nil)
}

func orDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}

func newLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
