package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	"crm"
	"crm/channels/meta"
	"crm/persistence"
)

// rawInsertResult is the storage limit: the same inbox rows written straight
// into a scratch copy of inbound_events (same columns, keys and indexes), in
// batches, each batch its own committed transaction.
type rawInsertResult struct {
	Method  string  `json:"method"`
	Rows    int64   `json:"rows"`
	Seconds float64 `json:"seconds"`
	RowsSec float64 `json:"rows_per_sec"`
	Batch   int     `json:"batch"`
	Writers int     `json:"writers"`
}

// rawInsert inserts copies of the sample rows (fresh ids and dedupe keys)
// for the duration, with writers concurrent transactions of batch rows each,
// by multi-row INSERT … SELECT unnest (what the inbox does, without RLS or
// the group-commit queue) or by COPY.
func rawInsert(ctx context.Context, dbURL string, samples []inboxSample, method string, batch, writers int, d time.Duration) (*rawInsertResult, error) {
	if len(samples) == 0 {
		return nil, errors.New("no sample rows")
	}
	pc, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	pc.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		persistence.RegisterUUID(c.TypeMap()) // the node's own encoding of ids: the baseline is not slowed by pgx's generic path
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	table := "loadgen_raw_" + randomHex(4)
	if _, err := pool.Exec(ctx, `CREATE TABLE `+table+` (LIKE inbound_events INCLUDING ALL)`); err != nil {
		return nil, err
	}
	defer pool.Exec(context.WithoutCancel(ctx), `DROP TABLE IF EXISTS `+table) //nolint:errcheck
	var rows atomic.Int64
	var seq atomic.Int64
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := batch
			tenantIDs, ids, conns := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
			providers, kinds, keys, bodies := make([]string, n), make([]string, n), make([]string, n), make([][]byte, n)
			copyRows := make([][]any, n)
			for time.Now().Before(end) && ctx.Err() == nil {
				base := seq.Add(int64(n)) - int64(n)
				for i := 0; i < n; i++ {
					s := samples[(int(base)+i)%len(samples)]
					tenantIDs[i], ids[i], conns[i] = s.TenantID, crm.NewID(), s.ConnectionID
					providers[i], kinds[i], keys[i], bodies[i] = s.Provider, s.Kind, fmt.Sprintf("raw.%d", base+int64(i)), s.Event
					copyRows[i] = []any{tenantIDs[i], ids[i], conns[i], providers[i], kinds[i], keys[i], bodies[i]}
				}
				var err error
				switch method {
				case "copy":
					err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, []string{"tenant_id", "id", "connection_id", "provider", "kind", "dedupe_key", "event"},
							pgx.CopyFromRows(copyRows))
						return err
					})
				default:
					err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
						_, err := tx.Exec(ctx, `INSERT INTO `+table+` (tenant_id, id, connection_id, provider, kind, dedupe_key, event)
							SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bytea[])
							ON CONFLICT (tenant_id, connection_id, dedupe_key) DO NOTHING`,
							tenantIDs, ids, conns, providers, kinds, keys, pgtype.FlatArray[[]byte](bodies))
						return err
					})
				}
				if err != nil {
					errs <- err
					return
				}
				rows.Add(int64(n))
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	secs := time.Since(start).Seconds()
	return &rawInsertResult{Method: method, Rows: rows.Load(), Seconds: secs, RowsSec: float64(rows.Load()) / secs, Batch: batch, Writers: writers}, nil
}

// inboxSample is one stored inbox row, reused by the raw-insert baseline so
// it writes the very rows the node writes.
type inboxSample struct {
	TenantID, ConnectionID uuid.UUID
	Provider, Kind         string
	Event                  []byte
}

// makeSamples makes the inbox rows the node stores for n of gen's webhooks
// (not sent): each body parsed by the node's own WhatsApp parser and each
// event encoded as the webhook handler encodes it. The inbox holds rows
// only until they are processed, so they are made here rather than read
// back.
func makeSamples(gen *webhookGen, n int) ([]inboxSample, error) {
	var out []inboxSample
	var buf []byte
	for len(out) < n {
		body, conn, _ := gen.next(buf)
		buf = body
		events, err := meta.ParseWebhook(body)
		if err != nil {
			return nil, err
		}
		for _, ev := range events {
			raw, err := proto.Marshal(ev)
			if err != nil {
				return nil, err
			}
			out = append(out, inboxSample{TenantID: conn.TenantID, ConnectionID: conn.ID, Provider: ev.GetProvider(),
				Kind: "message", Event: raw})
		}
	}
	return out, nil
}

// runBareHTTP is the child process `loadgen bare-http`: a bare net/http
// server that reads a webhook body, checks its HMAC with the connection's
// secret (named by the last path segment) and answers 200 — the HTTP limit.
func runBareHTTP(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: loadgen bare-http ADDR SECRETS.json")
	}
	raw, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	secrets := map[string]string{}
	if err := json.Unmarshal(raw, &secrets); err != nil {
		return err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		secret, ok := secrets[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 5<<20))
		if err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		got, err := hex.DecodeString(strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="))
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		if err != nil || !hmac.Equal(got, m.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"received":1}`))
	})
	l, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	return (&http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}).Serve(l)
}

// child is a helper process of this binary (bare servers, socket holders).
type child struct {
	cmd *exec.Cmd
}

func startChild(args ...string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &child{cmd: cmd}, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

func (c *child) stop() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

func waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s not listening after %s", addr, timeout)
}

// bareHTTP runs the bare handler as a child process for the duration of fn.
func bareHTTP(f *fixture, tmp string, fn func(base string) error) error {
	secrets := map[string]string{}
	for _, c := range f.Connections {
		secrets[c.ID.String()] = c.Secret
	}
	raw, err := json.Marshal(secrets)
	if err != nil {
		return err
	}
	path := filepath.Join(tmp, "bare-secrets.json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return err
	}
	addr, err := freePort()
	if err != nil {
		return err
	}
	ch, err := startChild("bare-http", addr, path)
	if err != nil {
		return err
	}
	defer ch.stop()
	if err := waitListening(addr, 10*time.Second); err != nil {
		return err
	}
	return fn("http://" + addr)
}
