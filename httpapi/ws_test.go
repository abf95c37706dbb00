package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	"crm/realtime"
)

// wsClient is a console's socket, as a browser would hold it.
type wsClient struct {
	t    testing.TB
	conn net.Conn
	r    io.Reader
}

// serverFrame is a decoded server frame; Close is set for a close frame.
type serverFrame struct {
	Type string          `json:"type"`
	Seq  int64           `json:"seq"`
	Data json.RawMessage `json:"data"`

	Close       bool
	CloseCode   ws.StatusCode
	CloseReason string
}

// wsTicket asks for a socket ticket as the console does before each
// (re)connect; a refusal comes back as the status it had (ws.StatusError),
// as if the socket itself had been refused.
func (e *testEnv) wsTicket(token string) (string, error) {
	res := e.do(http.MethodPost, "/api/v1/ws/ticket", token, nil)
	if res.Status != http.StatusOK {
		return "", ws.StatusError(res.Status)
	}
	var out struct {
		Ticket    string    `json:"ticket"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	require.NoError(e.t, json.Unmarshal(res.Body, &out))
	require.NotEmpty(e.t, out.Ticket)
	return out.Ticket, nil
}

func (e *testEnv) mustWSTicket(token string) string {
	e.t.Helper()
	ticket, err := e.wsTicket(token)
	require.NoError(e.t, err)
	return ticket
}

// wsURL is the socket's URL with the given query (ticket=…).
func (e *testEnv) wsURL(query string) string {
	return "ws" + strings.TrimPrefix(e.ts.URL, "http") + "/api/v1/ws?" + query
}

// dialWS connects a console: a ticket for token, then the socket. It
// returns the HTTP status of whichever refused (ws.StatusError).
func (e *testEnv) dialWS(token string) (*wsClient, error) {
	ticket, err := e.wsTicket(token)
	if err != nil {
		return nil, err
	}
	return e.dialWSQuery("ticket=" + ticket)
}

// dialWSQuery opens the socket with the given query string as it stands.
func (e *testEnv) dialWSQuery(query string) (*wsClient, error) {
	conn, br, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), e.wsURL(query))
	if err != nil {
		return nil, err
	}
	c := &wsClient{t: e.t, conn: conn, r: conn}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	e.t.Cleanup(func() { _ = conn.Close() })
	return c, nil
}

func (e *testEnv) mustDialWS(token string) *wsClient {
	e.t.Helper()
	c, err := e.dialWS(token)
	require.NoError(e.t, err)
	return c
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	raw, ok := v.([]byte)
	if !ok {
		var err error
		raw, err = json.Marshal(v)
		require.NoError(c.t, err)
	}
	require.NoError(c.t, wsutil.WriteClientText(c.conn, raw))
}

// next reads the next data or close frame (answering pings).
func (c *wsClient) next(timeout time.Duration) (serverFrame, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	for {
		f, err := ws.ReadFrame(c.r)
		if err != nil {
			return serverFrame{}, err
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewPongFrame(f.Payload)))
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(f.Payload)
			return serverFrame{Close: true, CloseCode: code, CloseReason: reason}, nil
		}
		var sf serverFrame
		if err := json.Unmarshal(f.Payload, &sf); err != nil {
			return serverFrame{}, fmt.Errorf("frame %q: %w", f.Payload, err)
		}
		return sf, nil
	}
}

// nextOf skips frames of other types (presence arrives whenever people come and go).
func (c *wsClient) nextOf(typ string, timeout time.Duration) serverFrame {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.next(time.Until(deadline))
		require.NoError(c.t, err, "waiting for a %s frame", typ)
		if f.Type == typ || (f.Close && typ == "close") {
			return f
		}
		if f.Close {
			c.t.Fatalf("socket closed (%d %s) while waiting for %s", f.CloseCode, f.CloseReason, typ)
		}
	}
}

// eventsUntil collects event seqs until the marker event arrives.
func (c *wsClient) eventsUntil(marker string, timeout time.Duration) []int64 {
	c.t.Helper()
	var seqs []int64
	deadline := time.Now().Add(timeout)
	for {
		f, err := c.next(time.Until(deadline))
		require.NoError(c.t, err)
		require.False(c.t, f.Close, "closed: %d %s", f.CloseCode, f.CloseReason)
		if f.Seq == 0 {
			continue
		}
		if f.Type == marker {
			return seqs
		}
		seqs = append(seqs, f.Seq)
	}
}

// appendEvent stores a tenant event as the engine does and returns it.
func (e *testEnv) appendEvent(tenant uuid.UUID, typ string, conversation, assignee, team *uuid.UUID, data string) crm.TenantEvent {
	e.t.Helper()
	ev := crm.TenantEvent{Type: typ, ConversationID: conversation, AssigneeID: assignee, TeamID: team,
		Payload: json.RawMessage(data)}
	require.NoError(e.t, e.db.TenantTx(context.Background(), tenant, func(tx pgx.Tx) error {
		return persistence.AppendTenantEvent(context.Background(), tx, tenant, &ev)
	}))
	return ev
}

func (e *testEnv) gateway() *realtime.Gateway { return e.srv.cfg.Gateway }

// addToTeam creates a team with the members.
func (e *testEnv) addTeam(tenant uuid.UUID, members ...uuid.UUID) uuid.UUID {
	e.t.Helper()
	id := crm.NewID()
	require.NoError(e.t, e.db.TenantTx(context.Background(), tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(context.Background(), `INSERT INTO teams (tenant_id, id, name) VALUES ($1, $2, $3)`,
			tenant, id, "team-"+id.String()); err != nil {
			return err
		}
		for _, m := range members {
			if _, err := tx.Exec(context.Background(), `INSERT INTO team_members (tenant_id, team_id, user_id) VALUES ($1, $2, $3)`,
				tenant, id, m); err != nil {
				return err
			}
		}
		return nil
	}))
	return id
}

func fastGateway(now func() time.Time) func(*Config) {
	return func(c *Config) {
		if now != nil {
			c.Now = now
		}
		c.Gateway = realtime.NewGateway(realtime.GatewayConfig{Log: c.Log, Now: now, SweepInterval: 20 * time.Millisecond,
			WriteTimeout: time.Second})
	}
}

// upgradeWith asks for the socket with a hand-made handshake, so that a
// refusal's JSON body can be read.
func (e *testEnv) upgradeWith(query string) response {
	e.t.Helper()
	return e.doHeaders(http.MethodGet, "/api/v1/ws?"+query, "", nil, map[string]string{"Connection": "Upgrade",
		"Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
}

// TestWSConnectNeedsATicket: the socket opens with a one-use ticket, never
// with the access token in its URL (where proxies and logs keep it).
func TestWSConnectNeedsATicket(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var logs syncBuffer
	env := newTestEnv(t, func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	},
		fastGateway(clock))
	tenant := env.tenant("ws-auth")

	ticket := env.mustWSTicket(tenant.AdminToken)
	c, err := env.dialWSQuery("ticket=" + ticket)
	require.NoError(t, err)
	c.send(map[string]any{"type": "ping"})
	require.Equal(t, "pong", c.nextOf("pong", 5*time.Second).Type)

	// Once: the same ticket does not open a second socket.
	res := env.upgradeWith("ticket=" + ticket)
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "invalid_ticket", res.ErrorCode())
	require.Contains(t, string(res.Body), "already used")

	// The access token in the URL, as the console used to send it, is refused,
	// under either name; so is a socket with no credential at all.
	for name, query := range map[string]string{
		"token in the URL":       "token=" + tenant.AdminToken,
		"token as a ticket":      "ticket=" + tenant.AdminToken,
		"none":                   "",
		"garbage":                "ticket=not-a-ticket",
		"tampered":               "ticket=" + tamper(env.mustWSTicket(tenant.AdminToken)),
		"ticket and token (old)": "ticket=&token=" + tenant.AdminToken,
	} {
		res := env.upgradeWith(query)
		require.Equal(t, http.StatusUnauthorized, res.Status, name)
		require.Equal(t, "invalid_ticket", res.ErrorCode(), name)
		_, err := env.dialWSQuery(query)
		var status ws.StatusError
		require.ErrorAs(t, err, &status, name)
		require.Equal(t, http.StatusUnauthorized, int(status), name)
	}
	// The ticket is not an access token either.
	res = env.do(http.MethodGet, "/api/v1/auth/me", env.mustWSTicket(tenant.AdminToken), nil)
	require.Equal(t, http.StatusUnauthorized, res.Status)

	// Only a valid access token gets a ticket.
	for name, token := range map[string]string{"none": "", "garbage": "not-a-token"} {
		_, err := env.wsTicket(token)
		var status ws.StatusError
		require.ErrorAs(t, err, &status, name)
		require.Equal(t, http.StatusUnauthorized, int(status), name)
	}
	// A super admin has no tenant stream.
	_, err = env.wsTicket(env.superAdmin())
	var status ws.StatusError
	require.ErrorAs(t, err, &status)
	require.Equal(t, http.StatusForbidden, int(status))

	// The gateway's metrics are on the server's registry.
	metrics := env.do(http.MethodGet, "/metrics", "", nil)
	require.Equal(t, http.StatusOK, metrics.Status)
	for _, name := range []string{"crm_ws_sockets 1", "crm_ws_queue_overflows_total", "crm_ws_frames_sent_total"} {
		require.Contains(t, string(metrics.Body), name)
	}

	// A ticket lives 30 seconds.
	late := env.mustWSTicket(tenant.AdminToken)
	mu.Lock()
	now = now.Add(31 * time.Second)
	mu.Unlock()
	res = env.upgradeWith("ticket=" + late)
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Equal(t, "invalid_ticket", res.ErrorCode())

	// A ticket of a user signed out everywhere (token version bumped) is refused.
	orphan := env.mustWSTicket(tenant.AdminToken)
	require.NoError(t, env.db.TenantTx(context.Background(), tenant.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE users SET token_version = token_version + 1`)
		return err
	}))
	res = env.upgradeWith("ticket=" + orphan)
	require.Equal(t, http.StatusUnauthorized, res.Status)

	// Nothing of either credential reached the logs.
	require.NotContains(t, logs.String(), tenant.AdminToken)
	require.NotContains(t, logs.String(), ticket)
}

// tamper flips one bit in the middle of a ticket (its payload).
func tamper(ticket string) string {
	b := []byte(ticket)
	i := len(b) / 3
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// syncBuffer is a log sink the server's goroutines may write concurrently.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWSTicketNeedsALiveToken(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	env := newTestEnv(t, fastGateway(clock))
	tenant := env.tenant("ws-expired-token")
	// An expired access token gets no ticket.
	mu.Lock()
	now = now.Add(16 * time.Minute)
	mu.Unlock()
	_, err := env.wsTicket(tenant.AdminToken)
	var status ws.StatusError
	require.ErrorAs(t, err, &status)
	require.Equal(t, http.StatusUnauthorized, int(status))
}

func TestWSTokenExpiringWhileConnectedCloses4401(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	env := newTestEnv(t, fastGateway(clock))
	tenant := env.tenant("ws-expiry")
	c := env.mustDialWS(tenant.AdminToken)
	c.send(map[string]any{"type": "ping"})
	c.nextOf("pong", 5*time.Second)

	mu.Lock()
	now = now.Add(15*time.Minute + time.Second) // AccessTTL is 15 minutes
	mu.Unlock()
	f := c.nextOf("close", 5*time.Second)
	require.Equal(t, realtime.CloseTokenExpired, f.CloseCode)
	require.Equal(t, "token expired", f.CloseReason)
	require.Eventually(t, func() bool { return env.gateway().Sessions() == 0 }, 5*time.Second, 10*time.Millisecond)
}

func TestWSLiveEventsReachOnlyThoseWhoMaySeeThem(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-live-a")
	b := env.tenant("ws-live-b")
	agentID, agentToken := env.user(a, crm.RoleAgent, "Agent")
	otherAgentID, otherAgentToken := env.user(a, crm.RoleAgent, "Other")
	supID, supToken := env.user(a, crm.RoleSupervisor, "Sup")
	team := env.addTeam(a.ID, supID, otherAgentID)

	admin := env.mustDialWS(a.AdminToken)
	agent := env.mustDialWS(agentToken)
	other := env.mustDialWS(otherAgentToken)
	sup := env.mustDialWS(supToken)
	foreign := env.mustDialWS(b.AdminToken)
	require.Eventually(t, func() bool { return env.gateway().Sessions() == 5 }, 5*time.Second, 10*time.Millisecond)

	gw := env.gateway()
	conv := crm.NewID()
	publish := func(assignee, team *uuid.UUID) int64 {
		ev := env.appendEvent(a.ID, "message.created", &conv, assignee, team, `{"text":"hi"}`)
		gw.PublishStored(a.ID, ev)
		return ev.Seq
	}
	own := publish(&agentID, nil)                                       // the agent's
	teamQueue := publish(nil, &team)                                    // the team's unassigned queue
	teamAssigned := publish(&otherAgentID, &team)                       // assigned within the team
	unassigned := publish(nil, nil)                                     // everybody's queue
	someoneElses := publish(&otherAgentID, nil)                         // assigned, no team
	marker := env.appendEvent(a.ID, "test.marker", nil, nil, nil, `{}`) // tenant-wide
	gw.PublishStored(a.ID, marker)
	foreignEv := env.appendEvent(b.ID, "message.created", &conv, nil, nil, `{}`)
	gw.PublishStored(b.ID, foreignEv)
	foreignMarker := env.appendEvent(b.ID, "test.marker", nil, nil, nil, `{}`)
	gw.PublishStored(b.ID, foreignMarker)

	require.Equal(t, []int64{own, teamQueue, teamAssigned, unassigned, someoneElses}, admin.eventsUntil("test.marker", 5*time.Second))
	require.Equal(t, []int64{own, unassigned}, agent.eventsUntil("test.marker", 5*time.Second))
	require.Equal(t, []int64{teamQueue, teamAssigned, unassigned, someoneElses}, other.eventsUntil("test.marker", 5*time.Second))
	require.Equal(t, []int64{teamQueue, teamAssigned, unassigned}, sup.eventsUntil("test.marker", 5*time.Second))
	require.Equal(t, []int64{foreignEv.Seq}, foreign.eventsUntil("test.marker", 5*time.Second))

	// The frame is {"type","seq","data"} with the stored payload as data.
	gw.PublishStored(a.ID, env.appendEvent(a.ID, "conversation.updated", &conv, &agentID, nil, `{"status":"open"}`))
	f := agent.nextOf("conversation.updated", 5*time.Second)
	require.JSONEq(t, `{"status":"open"}`, string(f.Data))
}

func TestWSResumeReplaysMissedEventsThenLive(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-resume")
	agentID, agentToken := env.user(a, crm.RoleAgent, "Agent")
	someone := crm.NewID()
	conv := crm.NewID()
	var visible []int64
	for i := 0; i < 1200; i++ { // more than two replay pages
		assignee := &agentID
		if i%3 == 0 {
			assignee = &someone // not the agent's
		}
		ev := env.appendEvent(a.ID, "message.created", &conv, assignee, nil, fmt.Sprintf(`{"i":%d}`, i))
		if assignee == &agentID && ev.Seq > 100 {
			visible = append(visible, ev.Seq)
		}
	}

	c := env.mustDialWS(agentToken)
	c.send(map[string]any{"type": "resume", "since": 100})
	live := env.appendEvent(a.ID, "message.created", &conv, &agentID, nil, `{"live":true}`)
	// The live push races the replay: it lands before, during (held, then
	// flushed) or after it, and is sent once; a retried publication is dropped.
	env.gateway().PublishStored(a.ID, live)
	env.gateway().PublishStored(a.ID, live)

	want := append(append([]int64(nil), visible...), live.Seq)
	var got []int64
	for len(got) < len(want) {
		f, err := c.next(20 * time.Second)
		require.NoError(t, err, "after %d of %d events", len(got), len(want))
		require.False(t, f.Close)
		if f.Type == "message.created" {
			got = append(got, f.Seq)
		}
	}
	if got[0] == live.Seq { // delivered live before the resume was read
		got = append(got[1:], got[0])
	}
	require.Equal(t, want, got, "every missed visible event once, in order")

	// Live continues right after, with no duplicate and no gap.
	next := env.appendEvent(a.ID, "message.created", &conv, &agentID, nil, `{}`)
	env.gateway().PublishStored(a.ID, next)
	require.Equal(t, next.Seq, c.nextOf("message.created", 5*time.Second).Seq)
	marker := env.appendEvent(a.ID, "test.marker", nil, nil, nil, `{}`)
	env.gateway().PublishStored(a.ID, marker)
	require.Empty(t, c.eventsUntil("test.marker", 5*time.Second))

	// A reconnecting console resumes from its last seq and misses nothing.
	missed := env.appendEvent(a.ID, "message.created", &conv, &agentID, nil, `{}`)
	c2 := env.mustDialWS(agentToken)
	c2.send(map[string]any{"type": "resume", "since": marker.Seq})
	f := c2.nextOf("message.created", 5*time.Second)
	require.Equal(t, missed.Seq, f.Seq)
}

func TestWSResumeTooOldAsksForReload(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-too-old")
	// Already online: opening the console appends no user.availability.
	require.NoError(t, env.db.TenantTx(context.Background(), a.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE users SET availability = 'online' WHERE tenant_id = $1`, a.ID)
		return err
	}))
	for i := 0; i < 10; i++ {
		env.appendEvent(a.ID, "message.created", nil, nil, nil, `{}`)
	}
	require.NoError(t, env.db.PlatformTx(context.Background(), func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `DELETE FROM tenant_events WHERE tenant_id = $1 AND seq <= 5`, a.ID)
		return err
	}))
	c := env.mustDialWS(a.AdminToken)
	for _, since := range []int64{2, 99} { // pruned, future
		c.send(map[string]any{"type": "resume", "since": since})
		f := c.nextOf("resync_required", 5*time.Second)
		require.JSONEq(t, `{"reason":"too_old","reload":["conversations","messages"]}`, string(f.Data))
		require.Equal(t, int64(10), f.Seq, "the latest seq, to go on live from after the reload")
	}
	c.send(map[string]any{"type": "resume", "since": 5})
	require.Equal(t, int64(6), c.nextOf("message.created", 5*time.Second).Seq)
}

// dialStalled opens a socket with a tiny receive buffer, upgrades it by hand
// and then never reads: a console whose tab froze.
func (e *testEnv) dialStalled(token string) net.Conn {
	e.t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	host := strings.TrimPrefix(e.ts.URL, "http://")
	conn, err := d.Dial("tcp", host)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = conn.Close() })
	_, err = fmt.Fprintf(conn, "GET /api/v1/ws?ticket=%s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", e.mustWSTicket(token), host)
	require.NoError(e.t, err)
	br := bufio.NewReaderSize(conn, 16)
	status, err := br.ReadString('\n')
	require.NoError(e.t, err)
	require.Contains(e.t, status, "101")
	for {
		line, err := br.ReadString('\n')
		require.NoError(e.t, err)
		if line == "\r\n" {
			break
		}
	}
	return conn
}

func TestWSStalledSocketDoesNotSlowOthers(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-stalled")
	healthy := env.mustDialWS(a.AdminToken)
	stalled := env.dialStalled(a.AdminToken)
	_ = stalled
	gw := env.gateway()
	require.Eventually(t, func() bool { return gw.Sessions() == 2 }, 5*time.Second, 10*time.Millisecond)

	const events = 4000
	payload := json.RawMessage(`{"text":"` + strings.Repeat("x", 2048) + `"}`)
	received := make(chan []int64, 1)
	var progress atomic.Int64 // events the healthy console has read
	go func() {
		var seqs []int64
		for len(seqs) < events {
			f, err := healthy.next(20 * time.Second)
			if err != nil || f.Close || f.Type == "resync_required" {
				break
			}
			if f.Type == "message.created" {
				seqs = append(seqs, f.Seq)
				progress.Store(int64(len(seqs)))
			}
		}
		received <- seqs
	}()
	start := time.Now()
	for seq := int64(1); seq <= events; seq++ {
		gw.PublishStored(a.ID, crm.TenantEvent{Seq: seq, Type: "message.created", Payload: payload})
		// A busy tenant, not an instant burst: stay within the healthy
		// console's queue. Were the stalled socket blocking the gateway,
		// this loop would stall with it.
		for seq-progress.Load() > 128 && time.Since(start) < 20*time.Second {
			time.Sleep(100 * time.Microsecond)
		}
	}
	var seqs []int64
	select {
	case seqs = <-received:
	case <-time.After(20 * time.Second):
		t.Fatal("the healthy console did not get the stream in time")
	}
	elapsed := time.Since(start)
	require.Len(t, seqs, events)
	for i, s := range seqs {
		require.Equal(t, int64(i+1), s)
	}
	require.Less(t, elapsed, 10*time.Second, "8 MB to a healthy console beside a stalled one")
	t.Logf("healthy console received %d events (%d KB) in %s", events, events*len(payload)/1024, elapsed)

	// The stalled console overflowed (told to resync) and, unable to take
	// even that, was closed when its write deadline passed.
	require.GreaterOrEqual(t, gw.Stats().Overflows, uint64(1))
	require.Eventually(t, func() bool { return gw.Sessions() == 1 }, 10*time.Second, 20*time.Millisecond)
}

func TestWSOversizeFrameCloses1009(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-oversize")
	c := env.mustDialWS(a.AdminToken)
	c.send(bytes.Repeat([]byte("a"), 70*1024))
	f := c.nextOf("close", 5*time.Second)
	require.Equal(t, ws.StatusMessageTooBig, f.CloseCode)
	require.Contains(t, f.CloseReason, "65536")
}

func TestWSInvalidFramesGetErrorsThenClose(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-invalid")
	c := env.mustDialWS(a.AdminToken)
	c.send([]byte("not json"))
	f := c.nextOf("error", 5*time.Second)
	require.Equal(t, "invalid_frame", jsonField(t, f.Data, "code"))
	c.send(map[string]any{"type": "dance"})
	require.Equal(t, "unknown_type", jsonField(t, c.nextOf("error", 5*time.Second).Data, "code"))
	c.send(map[string]any{"type": "resume", "since": -1})
	require.Equal(t, "invalid_frame", jsonField(t, c.nextOf("error", 5*time.Second).Data, "code"))
	for i := 0; i < 7; i++ {
		c.send([]byte("{"))
	}
	f = c.nextOf("close", 5*time.Second)
	require.Equal(t, ws.StatusPolicyViolation, f.CloseCode)
}

func TestWSViewingFloodIsLimited(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-flood")
	c := env.mustDialWS(a.AdminToken)
	for i := 0; i < wsBroadcastBurst+wsMaxInvalidFrames+5; i++ {
		c.send(map[string]any{"type": "viewing", "data": map[string]any{"conversation_id": crm.NewID()}})
	}
	var presence, limited int
	for {
		f, err := c.next(5 * time.Second)
		require.NoError(t, err)
		if f.Close {
			require.Equal(t, ws.StatusPolicyViolation, f.CloseCode)
			break
		}
		switch {
		case f.Type == "presence":
			presence++
		case f.Type == "error" && jsonField(t, f.Data, "code") == "rate_limited":
			limited++
		}
	}
	require.LessOrEqual(t, presence, wsBroadcastBurst+2, "broadcasts beyond the burst")
	require.Equal(t, wsMaxInvalidFrames, limited)
}

func jsonField(t testing.TB, raw json.RawMessage, field string) any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(raw, &m), "%s", raw)
	return m[field]
}

func TestPresenceOnConnectViewAndDisconnect(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-presence")
	b := env.tenant("ws-presence-b")
	agentID, agentToken := env.user(a, crm.RoleAgent, "Agent")
	admin := env.mustDialWS(a.AdminToken)
	foreign := env.mustDialWS(b.AdminToken)
	require.Eventually(t, func() bool { return env.gateway().Sessions() == 2 }, 5*time.Second, 10*time.Millisecond)

	agent := env.mustDialWS(agentToken)
	// The newcomer learns who is online.
	f := agent.nextOf("presence", 5*time.Second)
	require.Equal(t, a.AdminID.String(), jsonField(t, f.Data, "user_id"))
	require.Equal(t, true, jsonField(t, f.Data, "online"))
	// The tenant learns the agent is online.
	f = admin.nextOf("presence", 5*time.Second)
	require.JSONEq(t, fmt.Sprintf(`{"user_id":%q,"online":true,"viewing":[]}`, agentID), string(f.Data))

	conv := crm.NewID()
	agent.send(map[string]any{"type": "viewing", "data": map[string]any{"conversation_id": conv}})
	f = admin.nextOf("presence", 5*time.Second)
	require.JSONEq(t, fmt.Sprintf(`{"user_id":%q,"online":true,"viewing":[%q]}`, agentID, conv), string(f.Data))

	agent.send(map[string]any{"type": "typing", "data": map[string]any{"conversation_id": conv}})
	f = admin.nextOf("typing", 5*time.Second)
	require.JSONEq(t, fmt.Sprintf(`{"user_id":%q,"conversation_id":%q}`, agentID, conv), string(f.Data))

	require.NoError(t, agent.conn.Close())
	f = admin.nextOf("presence", 5*time.Second)
	require.JSONEq(t, fmt.Sprintf(`{"user_id":%q,"online":false,"viewing":[]}`, agentID), string(f.Data))

	// Nothing of tenant A reached tenant B.
	marker := env.appendEvent(b.ID, "test.marker", nil, nil, nil, `{}`)
	env.gateway().PublishStored(b.ID, marker)
	for {
		f, err := foreign.next(5 * time.Second)
		require.NoError(t, err)
		require.NotEqual(t, "presence", f.Type, "tenant B saw presence of tenant A: %s", f.Data)
		require.NotEqual(t, "typing", f.Type)
		if f.Type == "test.marker" {
			break
		}
	}
}

// TestSocketMemoryPerIdleSession opens many idle authenticated sockets and
// reports the heap and stack they take (client ends included, so it is an
// upper bound for the server's share), beside the same number of sockets on a
// bare gobwas/ws server with one reader goroutine each (issue 7's baseline).
// CRM_WS_MEMORY_SOCKETS sets how many.
func TestSocketMemoryPerIdleSession(t *testing.T) {
	if testing.Short() {
		t.Skip("opens many sockets")
	}
	n := 2000
	if v := os.Getenv("CRM_WS_MEMORY_SOCKETS"); v != "" {
		_, _ = fmt.Sscan(v, &n)
	}
	// Both ends live in this process: two descriptors per socket.
	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &limit); err == nil && int(limit.Cur) < 2*n+512 {
		n = (int(limit.Cur) - 512) / 2
	}
	if n < 200 {
		t.Skipf("too few file descriptors for a meaningful measurement (%d sockets)", n)
	}
	env := newTestEnv(t, fastGateway(nil))
	a := env.tenant("ws-memory")
	// Warm up the paths that allocate once (pools, gin, the database).
	warm := env.mustDialWS(a.AdminToken)
	warm.send(map[string]any{"type": "ping"})
	warm.nextOf("pong", 5*time.Second)

	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, _, err := ws.UpgradeHTTP(r, w)
		if err != nil {
			return
		}
		go func() {
			defer conn.Close()
			for {
				hdr, err := ws.ReadHeader(conn)
				if err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, conn, hdr.Length); err != nil {
					return
				}
			}
		}()
	}))
	t.Cleanup(bare.Close)

	measure := func() (uint64, int) {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse, runtime.NumGoroutine()
	}
	open := func(url func(i int) string, ready func() bool) (bytesEach, goroutinesEach float64, closeAll func()) {
		heapBefore, goroutinesBefore := measure()
		conns := make([]net.Conn, 0, n)
		for i := 0; i < n; i++ {
			conn, br, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), url(i))
			require.NoError(t, err)
			if br != nil {
				ws.PutReader(br)
			}
			conns = append(conns, conn)
		}
		require.Eventually(t, ready, 30*time.Second, 20*time.Millisecond)
		time.Sleep(200 * time.Millisecond) // let presence broadcasts and handshakes settle
		heapAfter, goroutinesAfter := measure()
		return (float64(heapAfter) - float64(heapBefore)) / float64(n), float64(goroutinesAfter-goroutinesBefore) / float64(n), func() {
			for _, c := range conns {
				_ = c.Close()
			}
			require.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutinesBefore+2 }, 30*time.Second,
				20*time.Millisecond)
		}
	}

	baseline, _, closeBare := open(func(int) string { return "ws" + strings.TrimPrefix(bare.URL, "http") }, func() bool { return true })
	closeBare()
	tickets := make([]string, n) // one socket each, asked for before the measurement
	for i := range tickets {
		tickets[i] = env.mustWSTicket(a.AdminToken)
	}
	ours, goroutines, closeOurs := open(func(i int) string { return env.wsURL("ticket=" + tickets[i]) },
		func() bool { return env.gateway().Sessions() == n+1 })
	closeOurs()
	t.Logf("%d idle sockets: %.0f bytes each (heap+stack, server and client ends in one process), %.2f goroutines each; "+
		"bare gobwas/ws server: %.0f bytes each; ratio %.2f", n, ours, goroutines, baseline, ours/baseline)
	require.Less(t, ours, 10_000.0)
	require.Less(t, goroutines, 1.1, "an idle socket has one reader goroutine, no writer")
	require.Less(t, ours/baseline, 2.0)
}

func FuzzClientFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping"}`, `{"type":"resume","since":42}`, `{"type":"resume","data":{"since":1}}`,
		`{"type":"viewing","data":{"conversation_id":"0192f0a4-1111-7000-8000-000000000001"}}`,
		`{"type":"viewing","data":{"conversation_ids":["0192f0a4-1111-7000-8000-000000000001"]}}`,
		`{"type":"viewing","data":null}`, `{"type":"typing","data":{"conversation_id":"x"}}`,
		`{"type":"resume","since":-1}`, `{"type":1}`, `[]`, `null`, `{`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		frame, ferr := parseClientFrame(raw)
		if ferr != nil {
			if ferr.Code != "invalid_frame" && ferr.Code != "unknown_type" {
				t.Fatalf("unexpected error code %q", ferr.Code)
			}
			if _, err := json.Marshal(ferr); err != nil {
				t.Fatal(err)
			}
			return
		}
		switch frame.Type {
		case "ping", "viewing":
		case "resume":
			if frame.Since < 0 {
				t.Fatalf("negative since %d", frame.Since)
			}
		case "typing":
			if len(frame.ConversationIDs) != 1 || frame.ConversationIDs[0] == uuid.Nil {
				t.Fatalf("typing without a conversation: %v", frame.ConversationIDs)
			}
		default:
			t.Fatalf("accepted unknown type %q", frame.Type)
		}
		if len(frame.ConversationIDs) > wsMaxViewing {
			t.Fatalf("%d conversations", len(frame.ConversationIDs))
		}
	})
}
