// Package sandbox is a built-in fake of the WhatsApp Business Cloud API. It
// speaks Meta's wire format on a Graph-compatible endpoint (sends, media,
// templates), posts signed status webhooks (sent → delivered → read) to the
// connection's webhook URL, injects failures on request, and simulates
// customers: an inbound message of any type becomes a signed WhatsApp webhook
// posted to our own webhook route. A sandbox connection is an ordinary meta
// connection whose graph base URL points here, so the production meta
// adapter is the code under test.
//
// Failure injection, by the recipient number's last four digits (or for every
// send, by the connection's sandbox_failure setting):
//
//	…0047  131047 re-engagement: the 24-hour window is closed (templates still go)
//	…0429  130429 throughput reached, with Retry-After
//	…0026  131026 undeliverable
//	…0500  131000 something went wrong (HTTP 500)
//	…0999  no answer until the caller gives up (a timeout)
//	…0031  accepted, then a failed status webhook with 131026
//
// Limitation: the sandbox keeps its state (outbox, uploaded media, message
// ids) in memory, per node. In a cluster, a media id uploaded through one
// node is unknown to the others, and each node shows only the outbox of the
// sends it served. It is a development and test tool, not a provider.
package sandbox

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"crm/channels"
)

// Connection is what the sandbox needs of a sandbox connection.
type Connection struct {
	ID                 uuid.UUID
	TenantID           uuid.UUID
	AccessToken        string
	AppSecret          string
	PhoneNumberID      string
	WABAID             string
	DisplayPhoneNumber string
	// StatusDelays are the waits before the sent, delivered and read
	// webhooks, each after the previous one; missing ones take the defaults.
	StatusDelays []time.Duration
	// Failure, when set, makes every send fail: 131047, 130429, 131026,
	// 131000 or timeout.
	Failure string
}

// Store finds sandbox connections. Unknown, deleted and non-sandbox
// connections are errors wrapping crm.ErrNotFound.
type Store interface {
	SandboxConnection(ctx context.Context, id uuid.UUID) (Connection, error)
	// SandboxConnectionByToken finds the connection an access token belongs
	// to (Graph authenticates by bearer token alone).
	SandboxConnectionByToken(ctx context.Context, accessToken string) (Connection, error)
}

// Config builds a Sandbox.
type Config struct {
	Store Store
	// BaseURL is where this server answers (required): the sandbox posts
	// webhooks to {BaseURL}/webhooks/sandbox/{id} and hands out media URLs
	// under {BaseURL}{GraphPath}. Never taken from a request's Host header,
	// which the caller chooses: the server would then post to any address.
	BaseURL string
	// GraphPath is where the Graph handler is mounted; default /sandbox/graph.
	GraphPath string
	// HTTPClient posts webhooks; default a client with a 15 s timeout.
	HTTPClient *http.Client
	// AllowPrivateURLs lets the simulator fetch media from loopback and
	// private addresses; off, only public addresses are fetched (SSRF; the
	// refusal is channels.NewEgressTransport's).
	AllowPrivateURLs bool
	// StatusDelays default the connections' delays; default 300 ms, 1 s, 2 s.
	StatusDelays []time.Duration
	// MaxOutbox bounds the log kept per connection; default 200.
	MaxOutbox int
	// MaxMediaBytes bounds the media held in memory; default 64 MiB, and
	// MaxFileBytes one file; default 16 MiB.
	MaxMediaBytes int64
	MaxFileBytes  int64
	// ConnectionCacheTTL keeps a token's connection this long, so a load
	// test's sends don't each read the database; default 2 s, negative off.
	ConnectionCacheTTL time.Duration
	Logger             *slog.Logger
	Now                func() time.Time
}

// Sandbox is the fake. Safe for concurrent use; Close stops its webhooks.
type Sandbox struct {
	cfg        Config
	log        *slog.Logger
	client     *http.Client
	mediaFetch *http.Client

	mu         sync.Mutex
	outbox     map[uuid.UUID][]*OutboxEntry
	media      map[string]*storedMedia
	mediaOrder []string
	mediaBytes int64
	closed     bool
	byToken    map[string]cachedConnection

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type cachedConnection struct {
	conn    Connection
	expires time.Time
}

type storedMedia struct {
	id       string
	conn     uuid.UUID
	data     []byte
	mimeType string
	sha256   string
	filename string
	created  time.Time
}

// New fills cfg's defaults.
func New(cfg Config) (*Sandbox, error) {
	if cfg.Store == nil {
		return nil, errors.New("sandbox: a Store is required")
	}
	if u, err := url.Parse(cfg.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sandbox: BaseURL %q is not an http(s) URL", cfg.BaseURL)
	}
	if cfg.GraphPath == "" {
		cfg.GraphPath = "/sandbox/graph"
	}
	cfg.GraphPath = "/" + strings.Trim(cfg.GraphPath, "/")
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if len(cfg.StatusDelays) == 0 {
		cfg.StatusDelays = []time.Duration{300 * time.Millisecond, time.Second, 2 * time.Second}
	}
	if cfg.MaxOutbox <= 0 {
		cfg.MaxOutbox = 200
	}
	if cfg.MaxMediaBytes <= 0 {
		cfg.MaxMediaBytes = 64 << 20
	}
	if cfg.MaxFileBytes <= 0 {
		cfg.MaxFileBytes = 16 << 20
	}
	if cfg.ConnectionCacheTTL == 0 {
		cfg.ConnectionCacheTTL = 2 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sandbox{cfg: cfg, log: cfg.Logger.With("component", "sandbox"), client: cfg.HTTPClient,
		outbox: map[uuid.UUID][]*OutboxEntry{}, media: map[string]*storedMedia{}, byToken: map[string]cachedConnection{},
		ctx: ctx, cancel: cancel}
	s.mediaFetch = newFetchClient(cfg.AllowPrivateURLs)
	return s, nil
}

// Close stops pending status webhooks and waits for those in flight. Safe
// to call twice.
func (s *Sandbox) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// begin registers background work; false once closed.
func (s *Sandbox) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// WebhookURL is where the sandbox posts a connection's webhooks.
func (s *Sandbox) WebhookURL(id uuid.UUID) string {
	return s.cfg.BaseURL + "/webhooks/sandbox/" + id.String()
}

func (s *Sandbox) connectionByToken(ctx context.Context, token string) (Connection, bool) {
	if token == "" {
		return Connection{}, false
	}
	now := s.cfg.Now()
	s.mu.Lock()
	cached, ok := s.byToken[token]
	s.mu.Unlock()
	if ok && now.Before(cached.expires) {
		return cached.conn, true
	}
	conn, err := s.cfg.Store.SandboxConnectionByToken(ctx, token)
	if err != nil || subtle.ConstantTimeCompare([]byte(conn.AccessToken), []byte(token)) != 1 {
		return Connection{}, false
	}
	if s.cfg.ConnectionCacheTTL > 0 {
		s.mu.Lock()
		if len(s.byToken) > 10_000 {
			s.byToken = map[string]cachedConnection{}
		}
		s.byToken[token] = cachedConnection{conn: conn, expires: now.Add(s.cfg.ConnectionCacheTTL)}
		s.mu.Unlock()
	}
	return conn, true
}

func (s *Sandbox) delays(conn Connection) [3]time.Duration {
	var out [3]time.Duration
	for i := range out {
		switch {
		case i < len(conn.StatusDelays):
			out[i] = conn.StatusDelays[i]
		case i < len(s.cfg.StatusDelays):
			out[i] = s.cfg.StatusDelays[i]
		}
	}
	return out
}

// record appends to a connection's outbox, dropping the oldest entries.
func (s *Sandbox) record(connID uuid.UUID, e *OutboxEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := append(s.outbox[connID], e)
	if len(list) > s.cfg.MaxOutbox {
		list = append([]*OutboxEntry(nil), list[len(list)-s.cfg.MaxOutbox:]...)
	}
	s.outbox[connID] = list
}

// Outbox returns what was sent to a connection's sandbox, oldest first.
func (s *Sandbox) Outbox(connID uuid.UUID) []OutboxEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]OutboxEntry, 0, len(s.outbox[connID]))
	for _, e := range s.outbox[connID] {
		c := *e
		c.Statuses = append([]string{}, e.Statuses...)
		out = append(out, c)
	}
	return out
}

func (s *Sandbox) addStatus(e *OutboxEntry, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.Statuses = append(e.Statuses, status)
}

// storeMedia keeps media in memory, evicting the oldest past the budget.
func (s *Sandbox) storeMedia(conn uuid.UUID, data []byte, mimeType, filename string) (*storedMedia, error) {
	if int64(len(data)) > s.cfg.MaxFileBytes {
		return nil, fmt.Errorf("the sandbox keeps files up to %d bytes", s.cfg.MaxFileBytes)
	}
	m := &storedMedia{id: randomDigits(16), conn: conn, data: data, mimeType: mimeType, sha256: sha256Hex(data),
		filename: filename, created: s.cfg.Now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[m.id] = m
	s.mediaOrder = append(s.mediaOrder, m.id)
	s.mediaBytes += int64(len(data))
	for s.mediaBytes > s.cfg.MaxMediaBytes && len(s.mediaOrder) > 1 {
		oldest := s.mediaOrder[0]
		s.mediaOrder = s.mediaOrder[1:]
		if old, ok := s.media[oldest]; ok {
			s.mediaBytes -= int64(len(old.data))
			delete(s.media, oldest)
		}
	}
	return m, nil
}

func (s *Sandbox) lookupMedia(conn uuid.UUID, id string) (*storedMedia, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[id]
	if !ok || m.conn != conn {
		return nil, false
	}
	return m, true
}

func (s *Sandbox) deleteMedia(conn uuid.UUID, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[id]
	if !ok || m.conn != conn {
		return false
	}
	s.mediaBytes -= int64(len(m.data))
	delete(s.media, id)
	return true
}

// newWAMID makes a message id in Meta's format ("wamid." + base64).
func newWAMID() string {
	b := make([]byte, 30)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "wamid." + base64.StdEncoding.EncodeToString(b)
}

func randomDigits(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic(err)
		}
		if i == 0 && d.Int64() == 0 {
			d = big.NewInt(7)
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String()
}

func randomTrace() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "A" + base64.RawURLEncoding.EncodeToString(b)
}

// newFetchClient fetches the simulator's media URLs. Unless private
// addresses are allowed, it refuses to connect to loopback, private,
// link-local (cloud metadata) and unspecified addresses, whatever name
// resolved to them: the same egress guard as every provider call.
func newFetchClient(allowPrivate bool) *http.Client {
	transport := channels.NewEgressTransport(channels.EgressConfig{AllowPrivate: allowPrivate, DialTimeout: 5 * time.Second})
	transport.ResponseHeaderTimeout = 10 * time.Second
	return &http.Client{Timeout: 20 * time.Second, Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		}}
}

func hexToBase64(h string) (string, error) {
	b, err := hex.DecodeString(h)
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
