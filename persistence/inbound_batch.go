package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// InboundWrite is what one conversation grain makes of one inbound event:
// the conversation after it (inserted when new, else saved fenced on its
// version), the message, the inbox row it came from and, built once the rows
// are written, its tenant events. WriteInbound stores many of them, from many
// conversations and tenants, in one transaction.
type InboundWrite struct {
	Conv    *crm.Conversation
	IsNew   bool
	Message *crm.Message
	InboxID uuid.UUID
	// Events builds the tenant events from Conv and Message as stored
	// (version, timestamps, over_limit, reply_to_id); their seq and
	// created_at are filled in by WriteInbound.
	Events func() ([]crm.TenantEvent, error)
	// Stored holds the built events after a successful write.
	Stored []crm.TenantEvent
}

// ErrBatchFailed marks a write that was not stored because its batch failed
// for a reason not its own (another write was a duplicate, a conflict, a
// deadlock): the caller stores it alone, by the one-event path.
var ErrBatchFailed = errors.New("inbound batch failed; store the event alone")

// InboundBatchError says what became of each write of a batch that did not
// store all of them: stored (by a retry without the writes that failed it),
// fenced (the conversation was saved meanwhile by another activation), or
// failed with ErrBatchFailed: a duplicate (its message is stored already;
// the one-event path finds it and takes the inbox row out) or a write of a
// batch that failed for a reason not its own.
type InboundBatchError struct {
	Stored     map[*InboundWrite]bool
	Fenced     map[*InboundWrite]bool
	Duplicates map[*InboundWrite]bool
	Cause      error
}

func (e *InboundBatchError) Error() string {
	return fmt.Sprintf("inbound batch: %d stored, %d fenced, %d duplicates: %v", len(e.Stored), len(e.Fenced), len(e.Duplicates), e.Cause)
}

func (e *InboundBatchError) Unwrap() error { return e.Cause }

// ErrOf is the error of one write of the batch: nil when it was stored.
func (e *InboundBatchError) ErrOf(w *InboundWrite) error {
	switch {
	case e.Stored[w]:
		return nil
	case e.Fenced[w]:
		return ErrFenced
	}
	return ErrBatchFailed
}

// WriteInbound stores the writes in one transaction sent as two pipelines:
// the rows (message keys, conversations, messages, processed inbox rows out)
// of every write, then, with the stored rows in hand, the tenant events (one
// counter update and one insert for all); then COMMIT. Each statement covers
// every tenant of the batch, so a batch costs the same few statements
// whether it holds one tenant or a hundred. The transaction runs as
// crm_engine with app.tenant_ids set to exactly the batch's tenants:
// row-level security still refuses every row of any other tenant.
//
// A failed transaction stores nothing. When it failed because of some of its
// writes (fenced conversations, messages stored already: a provider's
// redelivery), it is run again without them, so one redelivered message
// does not send a whole batch down the one-by-one path; a deadlock is run
// again as is. Anything not stored comes back in an *InboundBatchError.
//
// The writes must be of distinct conversations (a grain waits for its write
// before making the next) and inbound messages without idempotency keys.
func (db *DB) WriteInbound(ctx context.Context, writes []*InboundWrite) error {
	if len(writes) == 0 {
		return nil
	}
	if !db.EngineBatches() {
		return &InboundBatchError{Cause: errors.New("group commit needs the crm_engine role (CRM_DB_TENANT_ROLE is -)")}
	}
	// Every batch locks tenants' rows (usage counters, event counters) in
	// the same order, so concurrent batches wait instead of deadlocking.
	left := append([]*InboundWrite(nil), writes...)
	sort.SliceStable(left, func(i, j int) bool {
		return bytes.Compare(left[i].Conv.TenantID[:], left[j].Conv.TenantID[:]) < 0
	})
	out := &InboundBatchError{Fenced: map[*InboundWrite]bool{}, Duplicates: map[*InboundWrite]bool{}}
	for attempt := 0; attempt < 4 && len(left) > 0; attempt++ {
		be := db.writeInbound(ctx, left)
		if be == nil {
			if attempt == 0 {
				return nil
			}
			out.Stored = make(map[*InboundWrite]bool, len(left))
			for _, w := range left {
				out.Stored[w] = true
			}
			return out
		}
		out.Cause = be.Cause
		if len(be.Fenced) == 0 && len(be.Duplicates) == 0 {
			if retryable(be.Cause) {
				continue // a deadlock with another transaction: run it again
			}
			return out
		}
		kept := left[:0]
		for _, w := range left {
			switch {
			case be.Fenced[w]:
				out.Fenced[w] = true
			case be.Duplicates[w]:
				out.Duplicates[w] = true
			default:
				kept = append(kept, w)
			}
		}
		left = kept
	}
	return out
}

// EngineBatches reports whether the engine's multi-tenant group commit is
// available: it switches to crm_engine, which a connection logged in as the
// tenant role itself (TenantRole "-") cannot.
func (db *DB) EngineBatches() bool { return db.tenantRole != "-" }

// writeInbound is one attempt: one transaction for all of writes. On
// failure nothing of it is stored and each write's conversation version is
// as it was, so the writes can be tried again.
func (db *DB) writeInbound(ctx context.Context, writes []*InboundWrite) *InboundBatchError {
	var tenants []uuid.UUID
	versions := make([]int64, len(writes))
	for i, w := range writes {
		if i == 0 || w.Conv.TenantID != writes[i-1].Conv.TenantID {
			tenants = append(tenants, w.Conv.TenantID)
		}
		versions[i] = w.Conv.Version
	}
	fenced, dups := map[*InboundWrite]bool{}, map[*InboundWrite]bool{}
	err := db.inEngineTx(ctx, tenants, nil, func(send func(*pgx.Batch) error) error {
		b := &pgx.Batch{}
		queueRows(b, writes, time.Now().UTC(), fenced, dups)
		if err := send(b); err != nil {
			return err
		}
		if len(fenced) > 0 {
			return ErrFenced
		}
		b = &pgx.Batch{}
		if err := queueEvents(b, writes); err != nil {
			return err
		}
		return send(b)
	})
	if err != nil {
		for i, w := range writes {
			w.Conv.Version = versions[i] // the saved versions were rolled back
		}
		return &InboundBatchError{Fenced: fenced, Duplicates: dups, Cause: err}
	}
	return nil
}

// queueRows queues the rows of every write. Results are read into the
// writes as the pipeline's answers arrive; a fenced conversation is
// recorded in fenced, a message stored already in dups.
func queueRows(b *pgx.Batch, writes []*InboundWrite, now time.Time, fenced, dups map[*InboundWrite]bool) {
	n := len(writes)
	var newW, oldW []*InboundWrite
	// Message keys first: a duplicate (a provider's redelivery, stored again
	// in the inbox after the first was processed; or the inbox row
	// redelivered while its first processing committed) fails the batch
	// before anything else, and is named in dups.
	var kTenants, kConns, kIDs []uuid.UUID
	var kKeys []string
	var kAts []time.Time
	for _, w := range writes {
		m := w.Message
		if m.ID == uuid.Nil {
			m.ID = crm.NewID()
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		m.CreatedAt = m.CreatedAt.Truncate(time.Microsecond)
		m.TenantID, m.ConversationID = w.Conv.TenantID, w.Conv.ID
		if m.ExternalID != nil && *m.ExternalID != "" {
			kTenants, kConns, kKeys = append(kTenants, m.TenantID), append(kConns, m.ConnectionID), append(kKeys, *m.ExternalID)
			kIDs, kAts = append(kIDs, m.ID), append(kAts, m.CreatedAt)
		}
		if w.IsNew {
			newW = append(newW, w)
		} else {
			oldW = append(oldW, w)
		}
	}
	if len(kKeys) > 0 {
		b.Queue(`INSERT INTO message_keys (tenant_id, connection_id, kind, key, message_id, message_created_at)
			SELECT t, c, 'external', k, i, a FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::timestamptz[]) AS u(t, c, k, i, a)
			ON CONFLICT DO NOTHING RETURNING message_id`, kTenants, kConns, kKeys, kIDs, kAts).Query(func(rows pgx.Rows) error {
			inserted := make(map[uuid.UUID]bool, len(kIDs))
			for rows.Next() {
				var id uuid.UUID
				if err := rows.Scan(&id); err != nil {
					return err
				}
				inserted[id] = true
			}
			if err := rows.Err(); err != nil {
				return err
			}
			for _, w := range writes {
				if m := w.Message; m.ExternalID != nil && *m.ExternalID != "" && !inserted[m.ID] {
					dups[w] = true
				}
			}
			if len(dups) > 0 {
				return fmt.Errorf("%d of %d message keys already taken: %w", len(dups), len(kIDs), crm.Conflict("external_id", "message already stored"))
			}
			return nil
		})
	}
	if len(newW) > 0 {
		queueNewConversations(b, newW)
	}
	if len(oldW) > 0 {
		queueSavedConversations(b, oldW, fenced)
	}

	// Messages, with reply_to_id resolved from the keys (this batch's too).
	tenants, ids, convs, conns, contacts := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	ats, seqs := make([]time.Time, n), make([]int64, n)
	dirs, types, texts, replyExt, statuses, vias := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	media, locs, cards, reacts, inter, tmpls, refs := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
	exts := make([]*string, n)
	sentAts := make([]*time.Time, n)
	var inboxTenants, inboxIDs []uuid.UUID
	for i, w := range writes {
		m := w.Message
		tenants[i], ids[i], convs[i], conns[i], contacts[i], ats[i], seqs[i] = m.TenantID, m.ID, m.ConversationID, m.ConnectionID, m.ContactID, m.CreatedAt, m.Seq
		dirs[i], types[i], texts[i], replyExt[i], statuses[i], vias[i] = m.Direction, m.Type, m.Text, m.ReplyToExternalID, string(m.Status), m.Via
		media[i], locs[i], cards[i], reacts[i] = rawPtr(m.Media), rawPtr(m.Location), rawPtr(m.Contacts), rawPtr(m.Reaction)
		inter[i], tmpls[i], refs[i] = rawPtr(m.Interactive), rawPtr(m.Template), rawPtr(m.Referral)
		exts[i], sentAts[i] = m.ExternalID, m.SentAt
		if w.InboxID != uuid.Nil {
			inboxTenants, inboxIDs = append(inboxTenants, m.TenantID), append(inboxIDs, w.InboxID)
		}
	}
	b.Queue(`INSERT INTO messages (tenant_id, id, created_at, conversation_id, connection_id, contact_id, seq, direction,
			type, text, media, location, contacts, reaction, interactive, template, referral, reply_to_id,
			reply_to_external_id, external_id, status, via, sent_at)
		SELECT u.tenant, u.id, u.at, u.conv, u.conn, u.contact, u.seq, u.dir, u.type, u.text, u.media, u.loc, u.cards, u.react,
			u.inter, u.tmpl, u.ref,
			CASE WHEN u.reply_ext <> '' THEN (SELECT k.message_id FROM message_keys k WHERE k.tenant_id = u.tenant
				AND k.kind = 'external' AND k.connection_id = u.conn AND k.key = u.reply_ext) END,
			u.reply_ext, u.ext, u.status, u.via, u.sent_at
		FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::uuid[], $5::uuid[], $6::uuid[], $7::bigint[], $8::text[],
			$9::text[], $10::text[], $11::jsonb[], $12::jsonb[], $13::jsonb[], $14::jsonb[], $15::jsonb[], $16::jsonb[],
			$17::jsonb[], $18::text[], $19::text[], $20::text[], $21::text[], $22::timestamptz[])
			AS u(tenant, id, at, conv, conn, contact, seq, dir, type, text, media, loc, cards, react, inter, tmpl, ref,
			     reply_ext, ext, status, via, sent_at)
		RETURNING id, reply_to_id`,
		tenants, ids, ats, convs, conns, contacts, seqs, dirs, types, texts, media, locs, cards, reacts, inter, tmpls,
		refs, replyExt, exts, statuses, vias, sentAts).Query(func(rows pgx.Rows) error {
		byID := make(map[uuid.UUID]*crm.Message, n)
		for _, w := range writes {
			byID[w.Message.ID] = w.Message
		}
		got := 0
		for rows.Next() {
			var id uuid.UUID
			var reply *uuid.UUID
			if err := rows.Scan(&id, &reply); err != nil {
				return err
			}
			if m := byID[id]; m != nil {
				m.ReplyToID = reply
				got++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("stored %d of %d messages", got, n)
		}
		return nil
	})
	if len(inboxIDs) > 0 {
		// Processed: out of the inbox (see MarkInboxProcessed).
		b.Queue(`DELETE FROM inbound_events e USING unnest($1::uuid[], $2::uuid[]) AS u(tenant, id)
			WHERE e.tenant_id = u.tenant AND e.id = u.id`, inboxTenants, inboxIDs)
	}
}

func queueNewConversations(b *pgx.Batch, writes []*InboundWrite) {
	k := len(writes)
	tenants, ids, conns, contacts := make([]uuid.UUID, k), make([]uuid.UUID, k), make([]uuid.UUID, k), make([]uuid.UUID, k)
	channels, statuses, previews, dirs := make([]string, k), make([]string, k), make([]string, k), make([]string, k)
	assignees, teams := make([]*uuid.UUID, k), make([]*uuid.UUID, k)
	unread, bots := make([]int32, k), make([]bool, k)
	lastSeq := make([]int64, k)
	lastMsg, lastIn, window := make([]*time.Time, k), make([]*time.Time, k), make([]*time.Time, k)
	byID := make(map[uuid.UUID]*crm.Conversation, k)
	for j, w := range writes {
		c := w.Conv
		if c.ID == uuid.Nil {
			c.ID = crm.NewID()
		}
		if c.Status == "" {
			c.Status = crm.ConversationOpen
		}
		byID[c.ID] = c
		tenants[j], ids[j], conns[j], contacts[j], channels[j], statuses[j] = c.TenantID, c.ID, c.ConnectionID, c.ContactID, c.Channel, string(c.Status)
		assignees[j], teams[j], unread[j], lastSeq[j], bots[j] = c.AssigneeID, c.TeamID, int32(c.UnreadCount), c.LastSeq, c.BotActive
		lastMsg[j], previews[j], dirs[j], lastIn[j], window[j] = c.LastMessageAt, c.LastMessagePreview, c.LastMessageDirection, c.LastInboundAt, c.WindowExpiresAt
	}
	b.Queue(`INSERT INTO conversations (tenant_id, id, connection_id, contact_id, channel, status, assignee_id, team_id,
			unread_count, last_seq, version, last_message_at, last_message_preview, last_message_direction,
			last_inbound_at, window_expires_at, bot_active, last_activity_at)
		SELECT u.tenant, u.id, u.conn, u.contact, u.channel, u.status, u.assignee, u.team, u.unread, u.last_seq, 1, u.last_msg,
			u.preview, u.dir, u.last_in, u.win, u.bot, coalesce(u.last_msg, now())
		FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::uuid[], $8::uuid[], $9::int[],
			$10::bigint[], $11::timestamptz[], $12::text[], $13::text[], $14::timestamptz[], $15::timestamptz[], $16::bool[])
			AS u(tenant, id, conn, contact, channel, status, assignee, team, unread, last_seq, last_msg, preview, dir, last_in, win, bot)
		RETURNING id, created_at, updated_at, last_activity_at`,
		tenants, ids, conns, contacts, channels, statuses, assignees, teams, unread, lastSeq, lastMsg, previews, dirs,
		lastIn, window, bots).Query(func(rows pgx.Rows) error {
		got := 0
		for rows.Next() {
			var id uuid.UUID
			var created, updated, activity time.Time
			if err := rows.Scan(&id, &created, &updated, &activity); err != nil {
				return err
			}
			if c := byID[id]; c != nil {
				c.Version, c.CreatedAt, c.UpdatedAt, c.LastActivityAt, c.OverLimit = 1, created, updated, activity, false
				got++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if got != k {
			return fmt.Errorf("inserted %d of %d conversations", got, k)
		}
		return nil
	})
	// Past the plan's monthly conversations, the statement's counting
	// trigger flagged the last rows over_limit once they were in (migration
	// 0009); the flagged ones are read back.
	b.Queue(`SELECT c.id, c.updated_at FROM unnest($1::uuid[], $2::uuid[]) AS u(tenant, id),
		LATERAL (SELECT id, updated_at FROM conversations WHERE tenant_id = u.tenant AND id = u.id AND over_limit OFFSET 0) c`,
		tenants, ids).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id uuid.UUID
			var updated time.Time
			if err := rows.Scan(&id, &updated); err != nil {
				return err
			}
			if c := byID[id]; c != nil {
				c.OverLimit, c.UpdatedAt = true, updated
			}
		}
		return rows.Err()
	})
}

func queueSavedConversations(b *pgx.Batch, writes []*InboundWrite, fenced map[*InboundWrite]bool) {
	k := len(writes)
	tenants, ids := make([]uuid.UUID, k), make([]uuid.UUID, k)
	statuses, previews, dirs, subjects := make([]string, k), make([]string, k), make([]string, k), make([]string, k)
	versions, lastSeq := make([]int64, k), make([]int64, k)
	assignees, teams := make([]*uuid.UUID, k), make([]*uuid.UUID, k)
	unread, bots := make([]int32, k), make([]bool, k)
	lastMsg, lastIn, window, first, resolved := make([]*time.Time, k), make([]*time.Time, k), make([]*time.Time, k), make([]*time.Time, k), make([]*time.Time, k)
	activity := make([]time.Time, k)
	for j, w := range writes {
		c := w.Conv
		tenants[j], ids[j], versions[j], statuses[j], assignees[j], teams[j], unread[j] = c.TenantID, c.ID, c.Version, string(c.Status), c.AssigneeID, c.TeamID, int32(c.UnreadCount)
		lastSeq[j], lastMsg[j], previews[j], dirs[j], lastIn[j], window[j] = c.LastSeq, c.LastMessageAt, c.LastMessagePreview, c.LastMessageDirection, c.LastInboundAt, c.WindowExpiresAt
		first[j], bots[j], activity[j], resolved[j], subjects[j] = c.FirstResponseAt, c.BotActive, c.LastActivityAt, c.ResolvedAt, c.Subject
	}
	b.Queue(`UPDATE conversations c SET status = u.status, assignee_id = u.assignee, team_id = u.team,
			unread_count = u.unread, last_seq = u.last_seq, version = c.version + 1, last_message_at = u.last_msg,
			last_message_preview = u.preview, last_message_direction = u.dir, last_inbound_at = u.last_in,
			window_expires_at = u.win, first_response_at = u.first, bot_active = u.bot, last_activity_at = u.activity,
			resolved_at = u.resolved, subject = u.subject
		FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::uuid[], $6::uuid[], $7::int[], $8::bigint[],
			$9::timestamptz[], $10::text[], $11::text[], $12::timestamptz[], $13::timestamptz[], $14::timestamptz[],
			$15::bool[], $16::timestamptz[], $17::timestamptz[], $18::text[])
			AS u(tenant, id, version, status, assignee, team, unread, last_seq, last_msg, preview, dir, last_in, win, first, bot,
			     activity, resolved, subject)
		WHERE c.tenant_id = u.tenant AND c.id = u.id AND c.version = u.version
		RETURNING c.id, c.version, c.updated_at`,
		tenants, ids, versions, statuses, assignees, teams, unread, lastSeq, lastMsg, previews, dirs, lastIn, window,
		first, bots, activity, resolved, subjects).Query(func(rows pgx.Rows) error {
		byID := make(map[uuid.UUID]*InboundWrite, k)
		for _, w := range writes {
			byID[w.Conv.ID] = w
		}
		for rows.Next() {
			var id uuid.UUID
			var version int64
			var updated time.Time
			if err := rows.Scan(&id, &version, &updated); err != nil {
				return err
			}
			if w := byID[id]; w != nil {
				w.Conv.Version, w.Conv.UpdatedAt = version, updated
				delete(byID, id)
			}
		}
		for _, w := range byID {
			fenced[w] = true
		}
		return rows.Err()
	})
}

// queueEvents queues the events of every write in one statement: it
// reserves each tenant's sequence numbers (the counter rows, taken in tenant
// order, stay locked until COMMIT, so sequences are gap-free and in commit
// order) and inserts the events. Event i of a tenant whose batch holds k
// gets seq = the tenant's last seq after the update - k + i; the statement
// answers only each tenant's last seq, and the events' numbers are worked
// out here the same way, so no join back from the inserted rows is needed.
// It fails, before queueing anything, when a write's events cannot be built.
func queueEvents(b *pgx.Batch, writes []*InboundWrite) error {
	var events []*crm.TenantEvent
	var tenantOf, counterTenants []uuid.UUID
	var counts []int64
	for _, w := range writes {
		var err error
		if w.Stored, err = w.Events(); err != nil {
			return err
		}
		t := w.Conv.TenantID
		for i := range w.Stored {
			events = append(events, &w.Stored[i])
			tenantOf = append(tenantOf, t)
			if len(counterTenants) == 0 || counterTenants[len(counterTenants)-1] != t {
				counterTenants, counts = append(counterTenants, t), append(counts, 0)
			}
			counts[len(counts)-1]++
		}
	}
	n := len(events)
	if n == 0 {
		return nil
	}
	// ords number each event within its tenant, from 1; ofTenant is its
	// tenant's count (writes come sorted by tenant).
	ords, ofTenant, types, payloads := make([]int64, n), make([]int64, n), make([]string, n), make([][]byte, n)
	convs, assignees, teams := make([]*uuid.UUID, n), make([]*uuid.UUID, n), make([]*uuid.UUID, n)
	countOf := make(map[uuid.UUID]int64, len(counterTenants))
	for i, t := range counterTenants {
		countOf[t] = counts[i]
	}
	var ord int64
	for i, e := range events {
		if i == 0 || tenantOf[i] != tenantOf[i-1] {
			ord = 0
		}
		ord++
		ords[i], ofTenant[i], types[i], payloads[i] = ord, countOf[tenantOf[i]], e.Type, e.Payload
		convs[i], assignees[i], teams[i] = e.ConversationID, e.AssigneeID, e.TeamID
	}
	b.Queue(`WITH c AS (
			INSERT INTO tenant_event_counters AS t (tenant_id, last_seq)
			SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS n(tenant, count) ORDER BY tenant
			ON CONFLICT (tenant_id) DO UPDATE SET last_seq = t.last_seq + EXCLUDED.last_seq
			RETURNING t.tenant_id, t.last_seq),
		ins AS (
			INSERT INTO tenant_events (tenant_id, seq, type, conversation_id, assignee_id, team_id, payload)
			SELECT u.tenant, c.last_seq - u.count + u.ord, u.type, u.conv, u.assignee, u.team, u.payload
			FROM unnest($3::uuid[], $4::bigint[], $5::bigint[], $6::text[], $7::uuid[], $8::uuid[], $9::uuid[], $10::json[])
				AS u(tenant, ord, count, type, conv, assignee, team, payload)
			JOIN c ON c.tenant_id = u.tenant)
		SELECT tenant_id, last_seq, now() FROM c`,
		counterTenants, counts, tenantOf, ords, ofTenant, types, convs, assignees, teams, payloads).Query(func(rows pgx.Rows) error {
		last := make(map[uuid.UUID]int64, len(counterTenants))
		var at time.Time
		for rows.Next() {
			var t uuid.UUID
			var seq int64
			if err := rows.Scan(&t, &seq, &at); err != nil {
				return err
			}
			last[t] = seq
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(last) != len(counterTenants) {
			return fmt.Errorf("reserved sequences for %d of %d tenants", len(last), len(counterTenants))
		}
		for i, e := range events {
			e.Seq, e.CreatedAt = last[tenantOf[i]]-ofTenant[i]+ords[i], at
		}
		return nil
	})
	return nil
}

func rawPtr(r []byte) *string {
	if len(r) == 0 || string(r) == "null" {
		return nil
	}
	s := string(r)
	return &s
}

// LoadConversation is CurrentConversation in its own read-only tenant
// transaction, sent as one pipeline (one round trip): what a grain that
// writes through WriteInbound loads on activation.
func (db *DB) LoadConversation(ctx context.Context, tenantID, connectionID, contactID uuid.UUID) (*crm.Conversation, error) {
	var conv *crm.Conversation
	b := &pgx.Batch{}
	b.Queue(`BEGIN READ ONLY`)
	if db.tenantRole != "-" {
		b.Queue("SET LOCAL ROLE " + pgx.Identifier{db.tenantRole}.Sanitize())
	}
	b.Queue(`SELECT set_config('app.tenant_id', $1, true)`, tenantID.String())
	b.Queue(currentConversationSQL, tenantID, connectionID, contactID).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			c, err := scanConversation(rows, false)
			if err != nil {
				return err
			}
			conv = c
		}
		return rows.Err()
	})
	b.Queue(`COMMIT`)
	if err := db.Pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, translate(err)
	}
	return conv, nil
}

// ConversationKey names a grain's conversation: its connection and contact.
type ConversationKey struct {
	TenantID, ConnectionID, ContactID uuid.UUID
}

// LoadConversations is LoadConversation for many grains at once, of any
// tenants: one read-only transaction as crm_engine (row-level security
// limited to the keys' tenants), one statement, one round trip. Keys with
// no live conversation are absent from the map.
func (db *DB) LoadConversations(ctx context.Context, keys []ConversationKey) (map[ConversationKey]*crm.Conversation, error) {
	out := make(map[ConversationKey]*crm.Conversation, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	if !db.EngineBatches() {
		return nil, errors.New("batched loads need the crm_engine role (CRM_DB_TENANT_ROLE is -)")
	}
	n := len(keys)
	tenants, conns, contacts := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]uuid.UUID, n)
	seen := map[uuid.UUID]bool{}
	var tenantList []uuid.UUID
	for i, k := range keys {
		tenants[i], conns[i], contacts[i] = k.TenantID, k.ConnectionID, k.ContactID
		if !seen[k.TenantID] {
			seen[k.TenantID] = true
			tenantList = append(tenantList, k.TenantID)
		}
	}
	b := &pgx.Batch{}
	queueEngineBegin(b, `BEGIN READ ONLY`, tenantList)
	b.Queue(`SELECT `+conversationColumns+`
		FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS u(tenant, conn, contact)
		JOIN conversations c ON c.tenant_id = u.tenant AND c.connection_id = u.conn AND c.contact_id = u.contact
			AND c.status <> 'archived'`, tenants, conns, contacts).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			c, err := scanConversation(rows, false)
			if err != nil {
				return err
			}
			out[ConversationKey{c.TenantID, c.ConnectionID, c.ContactID}] = c
		}
		return rows.Err()
	})
	b.Queue(`COMMIT`)
	if err := db.engine.SendBatch(ctx, b).Close(); err != nil {
		return nil, translate(err)
	}
	return out, nil
}

// inEngineTx runs fn in one transaction as crm_engine, which row-level
// security limits to tenants (app.tenant_ids); settings are more
// set_config(name, value, true) pairs. fn sends its statements with send,
// one pipeline per call; the first call also carries BEGIN, the role and
// the settings, so it costs no round trip of its own. When fn returns nil
// the transaction commits (COMMIT alone, so a pipeline whose answers failed
// to read never committed); otherwise it rolls back. A connection left in
// a failed transaction is destroyed by the pool on release.
func (db *DB) inEngineTx(ctx context.Context, tenants []uuid.UUID, settings map[string]string,
	fn func(send func(*pgx.Batch) error) error) (err error) {
	conn, err := db.engine.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	prefix := &pgx.Batch{}
	queueEngineBegin(prefix, `BEGIN`, tenants)
	for name, value := range settings {
		prefix.Queue(`SELECT set_config($1, $2, true)`, name, value)
	}
	begun := false
	defer func() {
		if err != nil && begun {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	send := func(b *pgx.Batch) error {
		if !begun {
			begun = true
			prefix.QueuedQueries = append(prefix.QueuedQueries, b.QueuedQueries...)
			b = prefix
		}
		return conn.SendBatch(ctx, b).Close()
	}
	if err = fn(send); err != nil {
		return err
	}
	if !begun {
		return nil
	}
	begun = false
	_, err = conn.Exec(ctx, `COMMIT`)
	return err
}

// engineSettingsSQL sets up a crm_engine transaction: app.tenant_ids ($1,
// see tenantIDsSetting), the tenants row-level security admits.
//
// The policy is a filter, not an index condition (migration 0010), and
// every statement is planned for its own arguments (the engine pool's exec
// mode, see Open): together they keep each batch statement to look-ups by its
// keys. Tried and not kept: switching off hash joins, merge joins and
// bitmap scans for these transactions. It did the same for the
// conversation update, but settings apply to every statement of the
// transaction: the contact resolver's joins went from 1 to 4-5 ms each.
const engineSettingsSQL = `SELECT set_config('app.tenant_ids', $1, true)`

// queueEngineBegin queues the start of a crm_engine transaction (begin is
// BEGIN or BEGIN READ ONLY) that row-level security limits to tenants.
func queueEngineBegin(b *pgx.Batch, begin string, tenants []uuid.UUID) {
	b.Queue(begin)
	b.Queue(`SET LOCAL ROLE crm_engine`)
	b.Queue(engineSettingsSQL, tenantIDsSetting(tenants))
}

// tenantIDsSetting is app.tenant_ids for the tenants: a uuid[] literal.
func tenantIDsSetting(tenants []uuid.UUID) string {
	ids := make([]string, 0, len(tenants))
	for _, t := range tenants {
		ids = append(ids, t.String())
	}
	return "{" + strings.Join(ids, ",") + "}"
}
