package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gobwas/ws"
	"github.com/google/uuid"

	"crm"
	"crm/realtime"
)

const (
	// wsMaxFrame bounds one client message (a frame, or a fragmented message
	// in total); bigger ones close the socket with 1009.
	wsMaxFrame = 64 << 10
	// wsMaxInvalidFrames is how many bad client frames a socket may send
	// before it is closed with 1008.
	wsMaxInvalidFrames = 10
	// wsMaxViewing bounds the conversations one console says it is viewing.
	wsMaxViewing = 20
	// wsResumeTimeout bounds one resume replay.
	wsResumeTimeout = 2 * time.Minute
)

// wsQuery documents the socket's query string.
type wsQuery struct {
	// Ticket is from POST /api/v1/ws/ticket: one socket, within 30 s.
	Ticket string `form:"ticket"`
}

// socketHandler serves GET /api/v1/ws.
type socketHandler struct {
	s        *Server
	gateway  *realtime.Gateway
	presence *presence
}

// tooOldData is what a resume from a seq no longer kept answers, in a
// resync_required frame whose seq is the latest event: reload, then go on
// live from there.
var tooOldData = []byte(`{"reason":"too_old","reload":["conversations","messages"]}`)

// socketRoutes registers the WebSocket route and the gateway's metrics.
func (s *Server) socketRoutes() {
	gw := s.cfg.Gateway
	if gw == nil {
		gw = realtime.NewGateway(realtime.GatewayConfig{Log: s.log, Now: s.now})
		s.cfg.Gateway = gw
	}
	if err := gw.RegisterMetrics(s.cfg.Registry); err != nil {
		s.log.Error("registering the gateway metrics", "error", err)
	}
	h := &socketHandler{s: s, gateway: gw, presence: newPresence(gw)}
	h.presence.agents = newAgentPresence(s, h.presence.count)
	s.wsTicketRoutes()
	s.raw(op{Method: http.MethodGet, Path: "/api/v1/ws", Tag: "realtime", Access: accessTenant,
		Perm: crm.PermConversationsRead, Query: wsQuery{}, Status: http.StatusSwitchingProtocols, Security: securityWSTicket, SessionOnly: true,
		Summary: "Live events over WebSocket (?ticket= from POST /api/v1/ws/ticket, used once; an access token in the URL is " +
			"refused; 401 invalid_ticket before the upgrade). " +
			`Server frames: {"type","seq","data"} for tenant events the user may see (message.created, whose data is ` +
			`the message with the conversation's new state under "conversation"; conversation.created, ` +
			`conversation.updated for changes that are not a message; message.updated, …), presence {user_id, online, viewing}, typing, pong, error {code}, ` +
			`resync_required {reason: slow_consumer, since} or {reason: too_old, reload} (seq: the latest event). Client frames: ` +
			`{"type":"resume","since":N} replays every visible event after N then continues live; ` +
			`{"type":"ping"}; {"type":"viewing","data":{"conversation_id"}}; {"type":"typing","data":{"conversation_id"}}. ` +
			"Close codes: 4401 token expired, 1009 frame over 64 KiB, 1008 repeated invalid frames, 1001 idle."},
		h.serve)
}

func (h *socketHandler) serve(c *gin.Context) {
	ticket, p, err := h.admit(c)
	if err != nil {
		writeError(c, h.s.log, err)
		return
	}
	teams, err := h.s.db.UserTeamIDs(c, p.TenantID, p.UserID)
	if err != nil {
		writeError(c, h.s.log, err)
		return
	}
	// Past this point gin's writer is not touched: the connection is hijacked.
	conn, rw, _, err := ws.UpgradeHTTP(c.Request, c.Writer)
	if err != nil {
		// gobwas answered the handshake error on the hijacked connection.
		if conn != nil {
			_ = conn.Close()
		}
		return
	}
	_ = conn.SetDeadline(time.Time{})
	var early []byte // frames the client sent right behind the handshake
	if rw != nil && rw.Reader.Buffered() > 0 {
		peeked, _ := rw.Reader.Peek(rw.Reader.Buffered())
		early = bytes.Clone(peeked)
	}
	sess := h.gateway.NewSession(realtime.SessionConfig{Conn: conn, Principal: p,
		Visibility: crm.VisibilityFor(p, teams), ExpiresAt: ticket.SessionExpiresAt, OnClose: h.presence.disconnect})
	h.presence.connect(sess)
	// A fresh goroutine (not the HTTP server's, whose stack has grown while
	// serving the request) reads the socket, so an idle socket costs one
	// small stack.
	go h.read(sess, conn, early)
}

// admit checks the socket's ticket and its user, and spends the ticket.
func (h *socketHandler) admit(c *gin.Context) (wsTicket, crm.Principal, error) {
	raw := c.Query("ticket")
	if raw == "" {
		return wsTicket{}, crm.Principal{}, errTicketRequired
	}
	t, err := parseWSTicket(h.s.wsTicketKey, raw, h.s.now())
	if err != nil {
		return t, crm.Principal{}, err
	}
	p, err := h.s.principalFor(c, t.TenantID, t.UserID, t.TokenVersion)
	if err != nil {
		return t, p, err
	}
	if err := authorize(op{Access: accessTenant, Perm: crm.PermConversationsRead}, p); err != nil {
		return t, p, err
	}
	if err := h.s.checkTenantAccess(c, p); err != nil {
		return t, p, err
	}
	// Spent last, once everything else holds: a refused attempt leaves the
	// ticket to the console's retry within its 30 seconds.
	first, err := h.s.db.RedeemWSTicket(c, t.TenantID, t.ID, t.ExpiresAt)
	if err != nil {
		return t, p, err
	}
	if !first {
		return t, p, errTicketUsed
	}
	return t, p, nil
}

// read is the socket's reader: frames in, client messages dispatched, until
// the socket fails or closes.
func (h *socketHandler) read(sess *realtime.Session, conn net.Conn, early []byte) {
	defer sess.ReaderDone()
	var r io.Reader = conn
	if len(early) > 0 {
		r = io.MultiReader(bytes.NewReader(early), conn)
	}
	var message []byte
	invalid := 0
	limiter := broadcastLimiter{tokens: wsBroadcastBurst}
	for {
		hdr, err := ws.ReadHeader(r)
		if err != nil {
			if errors.Is(err, ws.ErrHeaderLengthUnexpected) || errors.Is(err, ws.ErrHeaderLengthMSB) {
				sess.Close(ws.StatusMessageTooBig, "frame larger than 65536 bytes")
				sess.DrainAfterClose(r)
			}
			return
		}
		if hdr.Length > wsMaxFrame || int64(len(message))+hdr.Length > wsMaxFrame {
			sess.Close(ws.StatusMessageTooBig, "frame larger than 65536 bytes")
			sess.DrainAfterClose(r)
			return
		}
		if !hdr.Masked || hdr.Rsv != 0 {
			sess.Close(ws.StatusProtocolError, "client frames must be masked and uncompressed")
			sess.DrainAfterClose(r)
			return
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			return
		}
		ws.Cipher(payload, hdr.Mask, 0)
		sess.Touch()
		if sess.Expired(h.s.now()) {
			sess.Close(realtime.CloseTokenExpired, "token expired")
			sess.DrainAfterClose(r)
			return
		}
		switch hdr.OpCode {
		case ws.OpClose:
			sess.Close(ws.StatusNormalClosure, "")
			sess.DrainAfterClose(r)
			return
		case ws.OpPing:
			pong, err := ws.CompileFrame(ws.NewPongFrame(payload))
			if err == nil {
				sess.SendControl(pong)
			}
			continue
		case ws.OpPong:
			continue
		case ws.OpText, ws.OpBinary:
			if message != nil {
				sess.Close(ws.StatusProtocolError, "new message inside a fragmented one")
				sess.DrainAfterClose(r)
				return
			}
			if !hdr.Fin {
				message = payload
				continue
			}
			message = payload
		case ws.OpContinuation:
			if message == nil {
				sess.Close(ws.StatusProtocolError, "continuation without a message")
				sess.DrainAfterClose(r)
				return
			}
			message = append(message, payload...)
			if !hdr.Fin {
				continue
			}
		default:
			sess.Close(ws.StatusProtocolError, "unknown opcode")
			sess.DrainAfterClose(r)
			return
		}
		ok := h.handle(sess, message, &limiter)
		message = nil
		if !ok {
			invalid++
			if invalid >= wsMaxInvalidFrames {
				sess.Close(ws.StatusPolicyViolation, "too many invalid frames")
				sess.DrainAfterClose(r)
				return
			}
		}
	}
}

// handle answers one client message; false means it was invalid.
func (h *socketHandler) handle(sess *realtime.Session, raw []byte, limiter *broadcastLimiter) bool {
	f, ferr := parseClientFrame(raw)
	if ferr != nil {
		sess.SendControl(realtime.EncodeFrame("error", ferr))
		return false
	}
	// viewing and typing fan out to the whole tenant: one client must not
	// turn a flood of them into a flood for everyone.
	if (f.Type == "viewing" || f.Type == "typing") && !limiter.allow(h.s.now()) {
		if f.Type == "typing" {
			return true // a hint; dropping some is harmless
		}
		sess.SendControl(realtime.EncodeFrame("error", &clientFrameError{Code: "rate_limited",
			Message: "too many viewing changes; slow down"}))
		return false
	}
	switch f.Type {
	case "ping":
		sess.SendControl(pongFrame)
	case "resume":
		// The replay (pgx, encoding) runs on its own goroutine so that the
		// reader's stack, which every idle socket keeps, stays small.
		errc := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), wsResumeTimeout)
			defer cancel()
			errc <- sess.Resume(ctx, h.s.db, f.Since)
		}()
		err := <-errc
		var tooOld *realtime.ResumeTooOldError
		switch {
		case errors.As(err, &tooOld):
			sess.SendControl(realtime.EncodeEventFrame("resync_required", tooOld.Latest, tooOldData))
		case err != nil:
			h.s.log.Error("resuming a socket", "tenant_id", sess.TenantID(), "user_id", sess.Principal().UserID,
				"since", f.Since, "error", err)
			sess.SendControl(realtime.EncodeFrame("error", &clientFrameError{Code: "resume_failed",
				Message: "could not replay events; try again"}))
		}
	case "viewing":
		h.presence.view(sess, f.ConversationIDs)
	case "typing":
		h.presence.typing(sess, f.ConversationIDs[0])
	}
	return true
}

var pongFrame = realtime.EncodeFrame("pong", nil)

const (
	// wsBroadcastBurst and wsBroadcastPerSecond bound the viewing and typing
	// frames one socket may turn into tenant-wide broadcasts.
	wsBroadcastBurst     = 20
	wsBroadcastPerSecond = 4
)

// broadcastLimiter is a socket's token bucket for viewing and typing.
type broadcastLimiter struct {
	tokens float64
	last   time.Time
}

func (l *broadcastLimiter) allow(now time.Time) bool {
	if !l.last.IsZero() {
		l.tokens = min(wsBroadcastBurst, l.tokens+now.Sub(l.last).Seconds()*wsBroadcastPerSecond)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}

// clientFrame is a parsed client message.
type clientFrame struct {
	Type            string
	Since           int64       // resume
	ConversationIDs []uuid.UUID // viewing (empty clears), typing (exactly one)
}

// clientFrameError is the data of an error frame.
type clientFrameError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *clientFrameError) Error() string { return e.Code + ": " + e.Message }

func invalidFrame(format string, args ...any) *clientFrameError {
	return &clientFrameError{Code: "invalid_frame", Message: fmt.Sprintf(format, args...)}
}

// parseClientFrame parses and validates one client message.
func parseClientFrame(raw []byte) (clientFrame, *clientFrameError) {
	var wire struct {
		Type  string          `json:"type"`
		Since *int64          `json:"since"`
		Data  json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		return clientFrame{}, invalidFrame("not a JSON object with a type")
	}
	f := clientFrame{Type: wire.Type}
	var data struct {
		Since           *int64      `json:"since"`
		ConversationID  *uuid.UUID  `json:"conversation_id"`
		ConversationIDs []uuid.UUID `json:"conversation_ids"`
	}
	if len(wire.Data) > 0 && !bytes.Equal(bytes.TrimSpace(wire.Data), []byte("null")) {
		if err := json.Unmarshal(wire.Data, &data); err != nil {
			return clientFrame{}, invalidFrame("data must be an object")
		}
	}
	switch wire.Type {
	case "ping":
	case "resume":
		since := wire.Since
		if since == nil {
			since = data.Since
		}
		if since == nil || *since < 0 {
			return clientFrame{}, invalidFrame("resume needs since, a sequence number ≥ 0")
		}
		f.Since = *since
	case "viewing":
		if data.ConversationID != nil {
			f.ConversationIDs = []uuid.UUID{*data.ConversationID}
		}
		for _, id := range data.ConversationIDs {
			if len(f.ConversationIDs) >= wsMaxViewing {
				return clientFrame{}, invalidFrame("at most %d conversations can be viewed at once", wsMaxViewing)
			}
			if id != uuid.Nil && !containsID(f.ConversationIDs, id) {
				f.ConversationIDs = append(f.ConversationIDs, id)
			}
		}
	case "typing":
		if data.ConversationID == nil || *data.ConversationID == uuid.Nil {
			return clientFrame{}, invalidFrame("typing needs data.conversation_id")
		}
		f.ConversationIDs = []uuid.UUID{*data.ConversationID}
	case "":
		return clientFrame{}, invalidFrame("type is required")
	default:
		return clientFrame{}, &clientFrameError{Code: "unknown_type",
			Message: "unknown frame type " + truncate(strings.ToValidUTF8(wire.Type, "?"), 40)}
	}
	return f, nil
}

func containsID(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
