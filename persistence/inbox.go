package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"crm"
	"crm/groupcommit"
)

// InboxEvent is one provider event to make durable before the webhook is
// acknowledged.
type InboxEvent struct {
	TenantID     uuid.UUID
	ConnectionID uuid.UUID
	Provider     string
	Kind         string // message, status, echo, connection, error, unsupported
	DedupeKey    string // the provider's id for it; a retry carries the same key
	Event        []byte // the parsed event: a crm.v1.ChannelEvent, binary protobuf
}

// InboxReceipt says what happened to one event: stored now, or a duplicate
// of one stored before (both are durable, so both may be acknowledged).
type InboxReceipt struct {
	ID        uuid.UUID
	Duplicate bool
}

// InboxConfig tunes the group commit.
type InboxConfig struct {
	// MaxBatch closes a batch at this many events; default 1000.
	MaxBatch int
	// MaxDelay keeps a batch open this long after its first event for more
	// (groupcommit.Config.MaxDelay); default 0: a batch is what queued up
	// while the previous one committed.
	MaxDelay time.Duration
	// Writers is how many batches may commit at once; default 2.
	Writers int
}

// InboxWriter appends events to inbound_events with group commit: concurrent
// callers share one transaction, closed on size or after a few milliseconds,
// so thousands of webhooks cost a few fsyncs.
type InboxWriter struct {
	db    *DB
	cfg   InboxConfig
	log   *slog.Logger
	queue *groupcommit.Queue[*inboxRequest]
	// next spreads requests over the writers.
	next atomic.Uint32
}

type inboxRequest struct {
	events   []InboxEvent
	receipts []InboxReceipt
	err      error
	done     chan struct{}
}

// ErrInboxClosed is returned by Append after Close.
var ErrInboxClosed = errors.New("inbox writer is closed")

// NewInboxWriter starts the writer's goroutines.
func NewInboxWriter(db *DB, cfg InboxConfig, log *slog.Logger) *InboxWriter {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 1000
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 2
	}
	if log == nil {
		log = slog.Default()
	}
	w := &InboxWriter{db: db, cfg: cfg, log: log}
	w.queue = groupcommit.New(groupcommit.Config{Writers: cfg.Writers, MaxBatch: cfg.MaxBatch, MaxDelay: cfg.MaxDelay},
		func(r *inboxRequest) int { return len(r.events) }, w.flush)
	return w
}

// Append makes events durable and returns one receipt per event, in order.
// It returns only after the batch holding them committed.
func (w *InboxWriter) Append(ctx context.Context, events []InboxEvent) ([]InboxReceipt, error) {
	if len(events) == 0 {
		return nil, nil
	}
	for i := range events {
		if events[i].TenantID == uuid.Nil || events[i].ConnectionID == uuid.Nil || events[i].DedupeKey == "" {
			return nil, fmt.Errorf("inbox event %d: tenant, connection and dedupe key are required", i)
		}
	}
	req := &inboxRequest{events: events, done: make(chan struct{})}
	if err := w.queue.Put(ctx, int(w.next.Add(1)), req); err != nil {
		if errors.Is(err, groupcommit.ErrClosed) {
			return nil, ErrInboxClosed
		}
		return nil, err
	}
	// Once queued, the request is committed or failed by the writer even if
	// the caller gives up, so a cancelled caller never leaves it half-done.
	select {
	case <-req.done:
		return req.receipts, req.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close stops accepting events, flushes what is queued and waits.
func (w *InboxWriter) Close() { w.queue.Close() }

type inboxKey struct {
	tenant, connection uuid.UUID
	dedupe             string
}

func (w *InboxWriter) flush(batch []*inboxRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := map[inboxKey]uuid.UUID{}
	// Group rows by tenant (send inserts them per tenant, or all at once as
	// the engine role; row-level security checks every row either way).
	byTenant := map[uuid.UUID][]InboxEvent{}
	var order []uuid.UUID
	for _, r := range batch {
		for _, e := range r.events {
			k := inboxKey{e.TenantID, e.ConnectionID, e.DedupeKey}
			if _, seen := ids[k]; seen {
				continue
			}
			ids[k] = crm.NewID()
			if _, ok := byTenant[e.TenantID]; !ok {
				order = append(order, e.TenantID)
			}
			byTenant[e.TenantID] = append(byTenant[e.TenantID], e)
		}
	}
	// Every batch inserts in the same order (tenant, connection, key): two
	// concurrent batches carrying the same duplicated keys then wait on each
	// other instead of deadlocking.
	sort.Slice(order, func(i, j int) bool { return bytes.Compare(order[i][:], order[j][:]) < 0 })
	for _, events := range byTenant {
		sort.Slice(events, func(i, j int) bool {
			if c := bytes.Compare(events[i].ConnectionID[:], events[j].ConnectionID[:]); c != 0 {
				return c < 0
			}
			return events[i].DedupeKey < events[j].DedupeKey
		})
	}
	var inserted map[inboxKey]bool
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		inserted = map[inboxKey]bool{}
		if err = w.send(ctx, order, byTenant, ids, inserted); err == nil || !retryable(err) {
			break
		}
	}
	if err != nil {
		err = fmt.Errorf("appending %d inbox events: %w", len(ids), translate(err))
		w.log.Error("inbox batch failed", "error", err)
	}
	for _, r := range batch {
		if err != nil {
			r.err = err
		} else {
			r.receipts = make([]InboxReceipt, len(r.events))
			for i, e := range r.events {
				k := inboxKey{e.TenantID, e.ConnectionID, e.DedupeKey}
				if inserted[k] {
					r.receipts[i] = InboxReceipt{ID: ids[k]}
					delete(inserted, k) // a second copy in the same batch is a duplicate
				} else {
					r.receipts[i] = InboxReceipt{Duplicate: true}
				}
			}
		}
		close(r.done)
	}
}

// retryable reports a deadlock or serialization failure: the batch can simply run again.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// send writes one batch. The whole transaction is one pipeline, one round
// trip: BEGIN, the role switch, the rows, COMMIT. As crm_engine (the
// engine's multi-tenant role, which sees exactly the tenants listed in
// app.tenant_ids) every tenant's rows go in one statement; as the tenant
// role alone (TenantRole "-"), each tenant's rows go in their own statement
// after switching app.tenant_id. Row-level security checks every row either
// way. A failed statement aborts the rest; the connection is then left in
// the failed transaction and the pool discards it on release.
func (w *InboxWriter) send(ctx context.Context, order []uuid.UUID, byTenant map[uuid.UUID][]InboxEvent,
	ids map[inboxKey]uuid.UUID, inserted map[inboxKey]bool) error {
	b := &pgx.Batch{}
	if w.db.EngineBatches() {
		queueEngineBegin(b, `BEGIN`, order)
		var all []InboxEvent
		for _, tenant := range order {
			all = append(all, byTenant[tenant]...)
		}
		queueInboxRows(b, all, ids, inserted)
	} else {
		b.Queue(`BEGIN`)
		if w.db.tenantRole != "-" {
			b.Queue("SET LOCAL ROLE " + pgx.Identifier{w.db.tenantRole}.Sanitize())
		}
		for _, tenant := range order {
			b.Queue(`SELECT set_config('app.tenant_id', $1, true)`, tenant.String())
			queueInboxRows(b, byTenant[tenant], ids, inserted)
		}
	}
	b.Queue(`COMMIT`)
	return w.db.Pool.SendBatch(ctx, b).Close()
}

// queueInboxRows queues one insert of the events; the rows it stores (not
// duplicates) are recorded in inserted.
func queueInboxRows(b *pgx.Batch, events []InboxEvent, ids map[inboxKey]uuid.UUID, inserted map[inboxKey]bool) {
	n := len(events)
	tenantIDs, rowIDs, conns := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	providers, kinds, keys, bodies := make([]string, n), make([]string, n), make([]string, n), make([][]byte, n)
	for i, e := range events {
		tenantIDs[i], conns[i] = e.TenantID, e.ConnectionID
		rowIDs[i] = ids[inboxKey{e.TenantID, e.ConnectionID, e.DedupeKey}]
		providers[i], kinds[i], keys[i], bodies[i] = e.Provider, e.Kind, e.DedupeKey, e.Event
		if kinds[i] == "" {
			kinds[i] = "message"
		}
		if bodies[i] == nil {
			bodies[i] = []byte{} // nil would be NULL
		}
	}
	b.Queue(`INSERT INTO inbound_events (tenant_id, id, connection_id, provider, kind, dedupe_key, event)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::bytea[])
		ON CONFLICT (tenant_id, connection_id, dedupe_key) DO NOTHING
		RETURNING tenant_id, connection_id, dedupe_key`,
		tenantIDs, rowIDs, conns, providers, kinds, keys, pgtype.FlatArray[[]byte](bodies)).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var k inboxKey
			if err := rows.Scan(&k.tenant, &k.connection, &k.dedupe); err != nil {
				return err
			}
			inserted[k] = true
		}
		return rows.Err()
	})
}

// PendingInboxEvent is an inbox row not yet processed.
type PendingInboxEvent struct {
	InboxEvent
	ID         uuid.UUID
	ReceivedAt time.Time
	Attempts   int
	// PayloadJSON is the event as protojson, in rows stored before
	// migration 0008 (their Event is empty).
	PayloadJSON []byte
}

// InboxDepth counts unprocessed inbox rows, dead letters aside (for metrics
// and back-pressure).
func (db *DB) InboxDepth(ctx context.Context) (int64, error) {
	var n int64
	err := db.PlatformTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT count(*) FROM inbound_events WHERE processed_at IS NULL AND dead_at IS NULL`).Scan(&n)
	})
	return n, translate(err)
}

// MarkInboxProcessed removes an inbox row inside the tenant transaction that
// stored its effects, so both commit together: the inbox holds the events
// not processed yet (migration 0011). A provider's later redelivery of the
// same event is stored again and found a duplicate of what it made: the
// message's external id (message_keys), a status that moves forward only.
func MarkInboxProcessed(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) error {
	_, err := tx.Exec(ctx, `DELETE FROM inbound_events WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	return translate(err)
}
