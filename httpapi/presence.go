package httpapi

import (
	"slices"
	"sync"

	"github.com/google/uuid"

	"crm/realtime"
)

// presence knows who is online in each tenant on this node and what they are
// viewing, and broadcasts changes through the gateway as presence frames. It
// is in process: a user connected to another node is not seen here (a Redis
// or gateway-to-gateway exchange can come later).
type presence struct {
	gateway *realtime.Gateway
	// agents keeps availability cluster-wide (agents.go); nil in tests
	// that build a presence alone.
	agents *agentPresence

	mu      sync.Mutex
	tenants map[uuid.UUID]map[uuid.UUID][]*realtime.Session // tenant → user → sessions
}

// presenceData is the data of a presence frame.
type presenceData struct {
	UserID  uuid.UUID   `json:"user_id"`
	Online  bool        `json:"online"`
	Viewing []uuid.UUID `json:"viewing"`
}

// typingData is the data of a typing frame.
type typingData struct {
	UserID         uuid.UUID `json:"user_id"`
	ConversationID uuid.UUID `json:"conversation_id"`
}

func newPresence(gw *realtime.Gateway) *presence {
	return &presence{gateway: gw, tenants: map[uuid.UUID]map[uuid.UUID][]*realtime.Session{}}
}

// connect adds a session: the newcomer gets who is online, and the tenant
// learns the user is online if this is their first socket.
func (p *presence) connect(sess *realtime.Session) {
	tenant, user := sess.TenantID(), sess.Principal().UserID
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.tenants[tenant]
	if users == nil {
		users = map[uuid.UUID][]*realtime.Session{}
		p.tenants[tenant] = users
	}
	first := len(users[user]) == 0
	users[user] = append(users[user], sess)
	for other, sessions := range users {
		if other != user || !first {
			sess.SendControl(realtime.EncodeFrame("presence", presenceData{UserID: other, Online: true,
				Viewing: viewingOf(sessions)}))
		}
	}
	if first {
		p.gateway.Broadcast(tenant, realtime.EncodeFrame("presence",
			presenceData{UserID: user, Online: true, Viewing: []uuid.UUID{}}), sess)
	}
	p.agents.sessions(tenant, user, len(users[user]))
}

// disconnect removes a session (its OnClose).
func (p *presence) disconnect(sess *realtime.Session) {
	tenant, user := sess.TenantID(), sess.Principal().UserID
	p.mu.Lock()
	defer p.mu.Unlock()
	users := p.tenants[tenant]
	sessions := slices.DeleteFunc(users[user], func(s *realtime.Session) bool { return s == sess })
	if len(sessions) == 0 {
		delete(users, user)
		if len(users) == 0 {
			delete(p.tenants, tenant)
		}
	} else {
		users[user] = sessions
	}
	p.gateway.Broadcast(tenant, realtime.EncodeFrame("presence",
		presenceData{UserID: user, Online: len(sessions) > 0, Viewing: viewingOf(sessions)}), nil)
	p.agents.sessions(tenant, user, len(sessions))
}

// count is how many consoles of the user this node holds.
func (p *presence) count(tenant, user uuid.UUID) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.tenants[tenant][user])
}

// view records what a console is viewing and tells the tenant.
func (p *presence) view(sess *realtime.Session, conversations []uuid.UUID) {
	tenant, user := sess.TenantID(), sess.Principal().UserID
	p.mu.Lock()
	defer p.mu.Unlock()
	sess.SetViewing(conversations)
	p.gateway.Broadcast(tenant, realtime.EncodeFrame("presence",
		presenceData{UserID: user, Online: true, Viewing: viewingOf(p.tenants[tenant][user])}), nil)
}

// typing tells the tenant's other consoles that the user is typing.
func (p *presence) typing(sess *realtime.Session, conversation uuid.UUID) {
	p.gateway.Broadcast(sess.TenantID(), realtime.EncodeFrame("typing",
		typingData{UserID: sess.Principal().UserID, ConversationID: conversation}), sess)
}

// online lists the tenant's online users (tests).
func (p *presence) online(tenant uuid.UUID) []uuid.UUID {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []uuid.UUID
	for user := range p.tenants[tenant] {
		out = append(out, user)
	}
	return out
}

// viewingOf is the union of what the user's consoles are viewing.
func viewingOf(sessions []*realtime.Session) []uuid.UUID {
	out := []uuid.UUID{}
	for _, s := range sessions {
		for _, id := range s.Viewing() {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}
