package realtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// EventSource is where a resume replays from: the durable tenant event
// sequence. *persistence.DB implements it.
type EventSource interface {
	TenantEventsSince(ctx context.Context, tenantID uuid.UUID, since int64, limit int, v crm.Visibility) ([]crm.TenantEvent, int64, error)
	OldestTenantEventSeq(ctx context.Context, tenantID uuid.UUID) (oldest, latest int64, err error)
}

var _ EventSource = (*persistence.DB)(nil)

// ErrResumeTooOld says a resume asked for events the server no longer keeps
// (or for a future seq): the console must reload. Resume returns it as a
// *ResumeTooOldError.
var ErrResumeTooOld = errors.New("resume point is not kept")

// ResumeTooOldError carries the range of seqs still kept, so the console can
// reload and go on live from Latest.
type ResumeTooOldError struct {
	Since, Oldest, Latest int64
}

func (e *ResumeTooOldError) Error() string {
	return fmt.Sprintf("resume from %d: events kept are %d..%d", e.Since, e.Oldest, e.Latest)
}

func (e *ResumeTooOldError) Is(target error) bool { return target == ErrResumeTooOld }

// SessionConfig is one socket's identity.
type SessionConfig struct {
	Conn       net.Conn
	Principal  crm.Principal
	Visibility crm.Visibility
	// ExpiresAt is when the access token expires: the session closes with
	// 4401 then. Zero means never.
	ExpiresAt time.Time
	// OnClose runs once, after the session left the gateway.
	OnClose func(*Session)
}

// Close codes the socket uses.
const (
	CloseTokenExpired ws.StatusCode = 4401
)

// Session is one WebSocket: its principal and visibility, a bounded queue of
// frames, the sequence watermarks that keep resume and live delivery free of
// duplicates, and what the user is viewing.
//
// It is a "local actor" without a protoactor process: its state is guarded by
// one mutex and its only mailbox is the bounded frame queue. A protoactor
// process per socket would add an unbounded mailbox, a registry entry and a
// PID, and still need the bounded queue on top (DESIGN §5.6); idle sockets
// must stay small (issue 7). No goroutine runs for an idle session's writes:
// a writer goroutine starts when frames are queued and ends when the queue is
// empty (centrifuge's writer), and one sweeper per gateway pings and expires
// all sessions.
type Session struct {
	gw        *Gateway
	router    *Router // announced the session's tenant; nil without a cluster
	conn      net.Conn
	principal crm.Principal
	tenantID  uuid.UUID
	expires   int64 // unix nanos of the token's expiry, 0 = never
	onClose   func(*Session)
	lastRead  atomic.Int64 // unix nanos (gateway clock) of the last frame read

	mu        sync.Mutex
	vis       crm.Visibility
	queue     []OutFrame
	writing   bool
	closing   bool // a close frame is queued: nothing else goes out
	finished  bool // left the gateway, socket closed
	overflow  bool // told to resync; live frames dropped until a resume
	replaying bool
	resumed   bool
	pending   []OutFrame // live frames that arrived during a replay
	lostLive  bool       // pending overflowed: resync after the replay
	floor     int64      // the client has every visible event ≤ floor
	lastSeq   int64      // highest seq queued to the client
	liveFirst int64      // first live seq sent before the first resume
	liveSent  []int64    // live seqs sent before the first resume (bounded)
	liveMore  bool       // liveSent overflowed its bound
	lastPing  int64
	viewing   []uuid.UUID
	space     chan struct{} // closed by the writer when the queue drains (replay waits on it)
}

const (
	// controlAllowance lets control frames (pong, error, close, resync) past a
	// full queue, within a bound of their own.
	controlAllowance = 16
	// pendingLimit bounds live frames held during a replay.
	pendingLimit = 1024
	// liveSentLimit bounds the live seqs remembered before the first resume.
	liveSentLimit = 64
	// replayPage is how many events one replay query reads.
	replayPage = 500
)

// NewSession registers a session for the socket with the gateway; from then
// on it receives the tenant's live events it may see. On a cluster node, the
// tenant's first session here waits (at most the router's AnnounceTimeout)
// until the other members know to send the tenant's events to this node, so
// the resume that follows misses nothing live (see Router).
func (g *Gateway) NewSession(cfg SessionConfig) *Session {
	now := g.cfg.Now().UnixNano()
	s := &Session{gw: g, conn: cfg.Conn, principal: cfg.Principal, tenantID: cfg.Principal.TenantID,
		vis: cfg.Visibility, onClose: cfg.OnClose, lastPing: now}
	if !cfg.ExpiresAt.IsZero() {
		s.expires = cfg.ExpiresAt.UnixNano()
	}
	s.lastRead.Store(now)
	var announced <-chan struct{}
	if s.router = g.router.Load(); s.router != nil {
		announced = s.router.hold(s.tenantID) // before register: Shutdown's release must follow it
	}
	g.register(s)
	if announced != nil {
		<-announced
	}
	return s
}

// Principal is who the session belongs to.
func (s *Session) Principal() crm.Principal { return s.principal }

// TenantID is the session's tenant.
func (s *Session) TenantID() uuid.UUID { return s.tenantID }

// Sees reports whether the session may see a conversation with this
// assignee and team.
func (s *Session) Sees(assignee, team *uuid.UUID) bool {
	s.mu.Lock()
	v := s.vis
	s.mu.Unlock()
	return v.Sees(assignee, team)
}

// SetVisibility replaces the rule (teams changed).
func (s *Session) SetVisibility(v crm.Visibility) {
	s.mu.Lock()
	s.vis = v
	s.mu.Unlock()
}

// Visibility is the session's current rule.
func (s *Session) Visibility() crm.Visibility {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vis
}

// SetViewing replaces the set of conversations the user has open in this
// console.
func (s *Session) SetViewing(ids []uuid.UUID) {
	s.mu.Lock()
	if len(ids) == 0 {
		s.viewing = nil
	} else {
		s.viewing = slices.Clone(ids)
	}
	s.mu.Unlock()
}

// Viewing is the set of conversations open in this console.
func (s *Session) Viewing() []uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.viewing)
}

// Touch records that the client sent something (any frame, pong included).
func (s *Session) Touch() { s.lastRead.Store(s.gw.cfg.Now().UnixNano()) }

// Expired reports whether the session's token has expired at now.
func (s *Session) Expired(now time.Time) bool {
	return s.expires != 0 && now.UnixNano() >= s.expires
}

// LastSeq is the highest tenant seq queued to the client.
func (s *Session) LastSeq() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeq
}

// Overflowed reports whether the session was told to resync and is dropping
// live frames until the client resumes.
func (s *Session) Overflowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overflow
}

// Finished reports whether the session has ended.
func (s *Session) Finished() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.finished
}

// deliver is the gateway's hand-over. It never blocks.
func (s *Session) deliver(f OutFrame) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offerLocked(f)
}

// deliverIfSees delivers an event of a conversation with this assignee and
// team if the session may see it (one lock for both).
func (s *Session) deliverIfSees(f OutFrame, assignee, team *uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.vis.Sees(assignee, team) {
		s.offerLocked(f)
	}
}

func (s *Session) offerLocked(f OutFrame) {
	if s.closing || s.finished {
		return
	}
	if f.Seq > 0 && s.replaying {
		if len(s.pending) >= pendingLimit {
			s.lostLive = true
			s.gw.dropped.Add(1)
			return
		}
		s.pending = append(s.pending, f)
		return
	}
	s.deliverLocked(f)
}

// deliverLocked applies the sequence rules and the queue bound.
func (s *Session) deliverLocked(f OutFrame) {
	if f.Seq > 0 {
		if f.Seq <= s.floor || (f.Seq <= s.lastSeq && !f.Late) {
			return // the client already has it (resume overlap, duplicate)
		}
	}
	if s.overflow {
		s.gw.dropped.Add(1)
		return
	}
	if len(s.queue) >= s.gw.cfg.QueueSize {
		s.overflowLocked()
		return
	}
	if s.queue == nil {
		s.queue = s.gw.getQueue()
	}
	s.queue = append(s.queue, f)
	if f.Seq > 0 {
		if f.Seq > s.lastSeq {
			s.lastSeq = f.Seq
		}
		if !s.resumed {
			if s.liveFirst == 0 {
				s.liveFirst = f.Seq
			}
			if len(s.liveSent) < liveSentLimit {
				s.liveSent = append(s.liveSent, f.Seq)
			} else {
				s.liveMore = true
			}
		}
	}
	s.kickLocked()
}

// overflowLocked switches the session to drop-and-resync: one
// resync_required frame after what is queued, then nothing live until the
// client resumes from since.
func (s *Session) overflowLocked() {
	s.gw.dropped.Add(1)
	if s.overflow {
		return
	}
	s.overflow = true
	s.gw.overflows.Add(1)
	s.queue = append(s.queue, OutFrame{Wire: EncodeFrame("resync_required",
		map[string]any{"reason": "slow_consumer", "since": s.lastSeq})})
	s.kickLocked()
}

// SendControl queues a frame outside the tenant sequence (pong, error,
// presence snapshot, resync_required) past a full queue, within a small
// allowance; beyond it the frame is dropped.
func (s *Session) SendControl(wire []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sendControlLocked(wire)
}

func (s *Session) sendControlLocked(wire []byte) {
	if s.closing || s.finished || len(s.queue) >= s.gw.cfg.QueueSize+controlAllowance {
		return
	}
	s.queue = append(s.queue, OutFrame{Wire: wire})
	s.kickLocked()
}

// Close sends a close frame with code and reason after what is queued, then
// closes the socket. The session leaves the gateway once the frame is
// written (or the write times out).
func (s *Session) Close(code ws.StatusCode, reason string) {
	body := ws.NewCloseFrameBody(code, reason)
	wire, err := ws.CompileFrame(ws.NewCloseFrame(body))
	if err != nil {
		wire = ws.CompiledClose
	}
	s.mu.Lock()
	if s.closing || s.finished {
		s.mu.Unlock()
		return
	}
	s.closing = true
	s.pending = nil
	s.queue = append(s.queue, OutFrame{Wire: wire})
	s.kickLocked()
	s.mu.Unlock()
}

// ReaderDone is called by the socket's reader when it stops: the session ends
// now unless a close frame is on its way (the writer ends it after).
func (s *Session) ReaderDone() {
	s.mu.Lock()
	closing := s.closing && s.writing
	s.mu.Unlock()
	if !closing {
		s.Shutdown()
	}
}

// Shutdown closes the socket and removes the session from the gateway. Safe
// to call more than once.
func (s *Session) Shutdown() {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	s.finished = true
	s.queue, s.pending, s.liveSent = nil, nil, nil
	if s.space != nil {
		close(s.space)
		s.space = nil
	}
	s.mu.Unlock()
	_ = s.conn.Close()
	s.gw.unregister(s)
	if s.router != nil {
		s.router.release(s.tenantID)
	}
	if s.onClose != nil {
		s.onClose(s)
	}
}

func (s *Session) kickLocked() {
	if s.writing || s.finished {
		return
	}
	s.writing = true
	go s.write()
}

// write drains the queue in batches (one writev each) and exits when it is
// empty, so an idle socket has no writer goroutine.
func (s *Session) write() {
	var bufs net.Buffers
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		if s.space != nil {
			close(s.space)
			s.space = nil
		}
		if len(batch) == 0 || s.finished {
			s.writing = false
			closing := s.closing
			s.mu.Unlock()
			if closing {
				s.lingerThenShutdown()
			}
			return
		}
		s.mu.Unlock()

		var err error
		if len(batch) == 1 {
			_ = s.conn.SetWriteDeadline(time.Now().Add(s.gw.cfg.WriteTimeout))
			_, err = s.conn.Write(batch[0].Wire)
		} else {
			bufs = bufs[:0]
			for _, f := range batch {
				bufs = append(bufs, f.Wire)
			}
			_ = s.conn.SetWriteDeadline(time.Now().Add(s.gw.cfg.WriteTimeout))
			toWrite := bufs // WriteTo consumes its receiver
			_, err = toWrite.WriteTo(s.conn)
			clear(bufs)
		}
		if err != nil {
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			s.Shutdown()
			return
		}
		s.gw.sent.Add(uint64(len(batch)))
		s.gw.putQueue(batch)
	}
}

// closeLinger is how long a closing socket waits for the client to answer
// the close frame before it is closed anyway.
const closeLinger = 2 * time.Second

// lingerThenShutdown ends the session after its close frame is written.
// Closing a TCP socket with unread client bytes makes the kernel send a
// reset, which can destroy the close frame still in flight; so the write
// side is shut (FIN after the close frame) and the reader, which drains
// until the client closes, ends the session, or a timer does.
func (s *Session) lingerThenShutdown() {
	if cw, ok := s.conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		time.AfterFunc(closeLinger, s.Shutdown)
		return
	}
	s.Shutdown()
}

// DrainAfterClose is for a reader that asked for Close: it reads and drops
// what the client still sends until it closes (or closeLinger passes), so the
// close frame is not lost to a reset. Then the reader calls ReaderDone.
func (s *Session) DrainAfterClose(r io.Reader) {
	_ = s.conn.SetReadDeadline(time.Now().Add(closeLinger))
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
}

// tick is the sweeper's visit: token expiry, idleness, ping.
func (s *Session) tick(now time.Time) {
	n := now.UnixNano()
	switch {
	case s.expires != 0 && n >= s.expires:
		s.Close(CloseTokenExpired, "token expired")
	case n-s.lastRead.Load() > int64(s.gw.cfg.IdleTimeout):
		s.Close(ws.StatusGoingAway, "no reads: connection considered dead")
	default:
		s.mu.Lock()
		if n-s.lastPing >= int64(s.gw.cfg.PingInterval) {
			s.lastPing = n
			s.sendControlLocked(ws.CompiledPing)
		}
		s.mu.Unlock()
	}
}

// Resume replays every event after since that the session may see, then
// continues live: live events that arrive meanwhile are held and flushed in
// order, and nothing is sent twice. It returns ErrResumeTooOld when since is
// before the oldest kept event or after the latest one.
func (s *Session) Resume(ctx context.Context, src EventSource, since int64) error {
	s.gw.resumes.Add(1)
	oldest, latest, err := src.OldestTenantEventSeq(ctx, s.tenantID)
	if err != nil {
		return fmt.Errorf("reading the event range: %w", err)
	}
	if since < 0 || since > latest || (oldest > 0 && since < oldest-1) {
		return &ResumeTooOldError{Since: since, Oldest: oldest, Latest: latest}
	}

	s.mu.Lock()
	if s.finished || s.closing {
		s.mu.Unlock()
		return nil
	}
	// Live frames this connection already sent are not sent again by the replay.
	sentBefore, sentFirst, sentLast, sentMore := s.liveSent, s.liveFirst, s.lastSeq, s.liveMore
	if s.resumed {
		sentBefore, sentMore = nil, false
	}
	s.resumed, s.liveSent, s.liveMore = true, nil, false
	s.replaying = true
	s.pending, s.lostLive = nil, false
	s.overflow = false
	s.floor, s.lastSeq = since, since
	vis := s.vis
	s.mu.Unlock()

	alreadySent := func(seq int64) bool {
		if sentMore && seq >= sentFirst && seq <= sentLast {
			return true
		}
		return slices.Contains(sentBefore, seq)
	}
	cursor := since
	for {
		events, last, err := src.TenantEventsSince(ctx, s.tenantID, cursor, replayPage, vis)
		if err != nil {
			s.endReplay(cursor)
			return fmt.Errorf("replaying events after %d: %w", cursor, err)
		}
		for _, e := range events {
			if alreadySent(e.Seq) {
				continue
			}
			if !s.enqueueReplay(ctx, OutFrame{Seq: e.Seq, Wire: EncodeEventFrame(e.Type, e.Seq, e.Payload)}) {
				return nil // the session ended
			}
		}
		if last == cursor {
			break
		}
		cursor = last
	}
	s.endReplay(cursor)
	return nil
}

// enqueueReplay queues a replayed frame, waiting for room: a replay can be
// far longer than the queue, and only this session waits for it.
func (s *Session) enqueueReplay(ctx context.Context, f OutFrame) bool {
	for {
		s.mu.Lock()
		if s.finished || s.closing {
			s.mu.Unlock()
			return false
		}
		if len(s.queue) < s.gw.cfg.QueueSize {
			s.queue = append(s.queue, f)
			if f.Seq > s.lastSeq {
				s.lastSeq = f.Seq
			}
			s.kickLocked()
			s.mu.Unlock()
			return true
		}
		if s.space == nil {
			s.space = make(chan struct{})
		}
		space := s.space
		s.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
			return false
		case <-time.After(s.gw.cfg.WriteTimeout):
			// The writer is stuck on the socket; its deadline will end the
			// session. Check again.
		}
	}
}

// endReplay marks everything up to covered as delivered, flushes the live
// frames held during the replay, in seq order, and goes live.
func (s *Session) endReplay(covered int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if covered > s.floor {
		s.floor = covered
	}
	if covered > s.lastSeq {
		s.lastSeq = covered
	}
	pending, lost := s.pending, s.lostLive
	s.pending, s.lostLive = nil, false
	s.replaying = false
	if lost {
		// Some live events after covered were dropped: ask for a resume from
		// covered instead of flushing a stream with holes.
		s.overflowLocked()
		return
	}
	slices.SortStableFunc(pending, func(a, b OutFrame) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	for _, f := range pending {
		if s.closing || s.finished {
			return
		}
		f.Late = false // after a replay the seq order is the rule
		s.deliverLocked(f)
	}
}
