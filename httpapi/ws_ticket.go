package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
)

// A console opens its socket with a ticket, not its access token: a
// WebSocket URL is the one place a browser cannot put a header, and URLs
// end up in proxies' access logs and browser history. The ticket lives
// wsTicketTTL and opens one socket: a logged one is useless by the time
// anyone reads the log.
//
// The ticket verifies itself (HMAC under a key derived from the token key),
// so any node can check the one another node issued; single use is the one
// shared fact, recorded in PostgreSQL when the socket opens
// (persistence.RedeemWSTicket), because a per-node memory would let a
// ticket open one socket on every node.
const wsTicketTTL = 30 * time.Second

// wsTicketVersion is the first byte of a ticket's payload (its layout).
const wsTicketVersion = 1

// wsTicket is what a ticket binds: who, for how long, and which ticket.
type wsTicket struct {
	ID           uuid.UUID
	TenantID     uuid.UUID
	UserID       uuid.UUID
	TokenVersion int64
	// ExpiresAt bounds the ticket's use (opening the socket).
	ExpiresAt time.Time
	// SessionExpiresAt is when the access token the ticket was issued for
	// expires: the socket closes with 4401 then, as it did when the token
	// itself opened it.
	SessionExpiresAt time.Time
}

const wsTicketPayload = 1 + 16*3 + 8*3

// wsTicketKeyFrom derives the ticket signing key, so that neither the
// access-token key nor a ticket can stand in for the other.
func wsTicketKeyFrom(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("crm/ws-ticket"))
	return m.Sum(nil)
}

func (t wsTicket) sign(key []byte) string {
	buf := make([]byte, 0, wsTicketPayload+sha256.Size)
	buf = append(buf, wsTicketVersion)
	buf = append(buf, t.ID[:]...)
	buf = append(buf, t.TenantID[:]...)
	buf = append(buf, t.UserID[:]...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(t.TokenVersion))
	buf = binary.BigEndian.AppendUint64(buf, uint64(t.ExpiresAt.Unix()))
	buf = binary.BigEndian.AppendUint64(buf, uint64(t.SessionExpiresAt.Unix()))
	m := hmac.New(sha256.New, key)
	m.Write(buf)
	return base64.RawURLEncoding.EncodeToString(m.Sum(buf))
}

var (
	errTicketRequired = crm.NewError(crm.ErrUnauthenticated, "invalid_ticket",
		"open the socket with ?ticket= from POST /api/v1/ws/ticket; access tokens are not accepted in the URL", nil)
	errTicketInvalid = crm.NewError(crm.ErrUnauthenticated, "invalid_ticket", "the socket ticket is invalid or expired", nil)
	errTicketUsed    = crm.NewError(crm.ErrUnauthenticated, "invalid_ticket", "the socket ticket was already used", nil)
)

// parseWSTicket verifies a ticket's signature and expiry (not its single
// use: see persistence.RedeemWSTicket).
func parseWSTicket(key []byte, s string, now time.Time) (wsTicket, error) {
	if len(s) > 200 {
		return wsTicket{}, errTicketInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) != wsTicketPayload+sha256.Size || raw[0] != wsTicketVersion {
		return wsTicket{}, errTicketInvalid
	}
	payload, sig := raw[:wsTicketPayload], raw[wsTicketPayload:]
	m := hmac.New(sha256.New, key)
	m.Write(payload)
	if !hmac.Equal(sig, m.Sum(nil)) {
		return wsTicket{}, errTicketInvalid
	}
	var t wsTicket
	p := payload[1:]
	copy(t.ID[:], p[0:16])
	copy(t.TenantID[:], p[16:32])
	copy(t.UserID[:], p[32:48])
	t.TokenVersion = int64(binary.BigEndian.Uint64(p[48:56]))
	t.ExpiresAt = time.Unix(int64(binary.BigEndian.Uint64(p[56:64])), 0)
	t.SessionExpiresAt = time.Unix(int64(binary.BigEndian.Uint64(p[64:72])), 0)
	if !now.Before(t.ExpiresAt) || t.TenantID == uuid.Nil {
		return wsTicket{}, errTicketInvalid
	}
	return t, nil
}

type wsTicketResponse struct {
	// Ticket goes in GET /api/v1/ws?ticket=…; it opens one socket.
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) wsTicketRoutes() {
	s.route(op{Method: http.MethodPost, Path: "/api/v1/ws/ticket", Tag: "realtime", Access: accessTenant,
		Perm: crm.PermConversationsRead, Response: wsTicketResponse{}, SessionOnly: true,
		Summary: "A one-use ticket for GET /api/v1/ws?ticket=… (valid 30 s): the access token never travels in a URL"},
		s.issueWSTicket)
}

func (s *Server) issueWSTicket(c *gin.Context, p crm.Principal) error {
	// authenticate verified this token a moment ago; read its claims again
	// for the version and expiry the socket inherits.
	claims, err := s.accessClaims(bearerToken(c))
	if err != nil {
		return err
	}
	now := s.now()
	t := wsTicket{ID: crm.NewID(), TenantID: p.TenantID, UserID: p.UserID, TokenVersion: int64(claims.Version),
		ExpiresAt: now.Add(wsTicketTTL).Truncate(time.Second), SessionExpiresAt: claims.ExpiresAt.Time}
	c.JSON(http.StatusOK, wsTicketResponse{Ticket: t.sign(s.wsTicketKey), ExpiresAt: t.ExpiresAt.UTC()})
	return nil
}
