package actors

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"crm"
	crmpb "crm/proto"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func newTestState(t *testing.T, channel crmpb.Channel) *ConversationState {
	t.Helper()
	n := 0
	s, err := NewConversationState(StateConfig{Channel: channel, NewID: func() string {
		n++
		return fmt.Sprintf("id-%06d", n)
	}})
	require.NoError(t, err)
	return s
}

func whatsapp(t *testing.T) *ConversationState {
	return newTestState(t, crmpb.Channel_CHANNEL_WHATSAPP)
}

func mustInbound(t *testing.T, s *ConversationState, externalID string, at time.Time) InboundOutcome {
	t.Helper()
	out, err := s.Inbound(Inbound{ExternalID: externalID, Type: "text", At: at})
	require.NoError(t, err)
	return out
}

func mustSend(t *testing.T, s *ConversationState, key, user string, at time.Time) SendOutcome {
	t.Helper()
	out, err := s.Send(Outbound{IdempotencyKey: key, SenderUserID: user, Type: "text", At: at})
	require.NoError(t, err)
	return out
}

func TestDeliveryMatchesProto(t *testing.T) {
	t.Parallel()
	for d := DeliveryPending; d <= DeliveryFailed; d++ {
		require.Equal(t, "DELIVERY_STATUS_"+map[Delivery]string{
			DeliveryPending: "PENDING", DeliverySent: "SENT", DeliveryDelivered: "DELIVERED",
			DeliveryRead: "READ", DeliveryPlayed: "PLAYED", DeliveryFailed: "FAILED",
		}[d], d.Proto().String())
		require.Equal(t, d, DeliveryFromProto(d.Proto()))
	}
	for st := StatusOpen; st <= StatusArchived; st++ {
		require.Equal(t, st, StatusFromProto(st.Proto()))
		parsed, err := ParseStatus(st.String())
		require.NoError(t, err)
		require.Equal(t, st, parsed)
	}
	_, err := ParseStatus("none")
	require.ErrorIs(t, err, crm.ErrInvalid)
}

func TestCanTransition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to Status
		ok       bool
	}{
		{StatusOpen, StatusInProgress, true},
		{StatusOpen, StatusWaiting, true},
		{StatusOpen, StatusResolved, true},
		{StatusOpen, StatusArchived, true},
		{StatusInProgress, StatusOpen, true},
		{StatusInProgress, StatusWaiting, true},
		{StatusWaiting, StatusInProgress, true},
		{StatusWaiting, StatusResolved, true},
		{StatusResolved, StatusOpen, true},
		{StatusResolved, StatusInProgress, true},
		{StatusResolved, StatusArchived, true},
		{StatusResolved, StatusWaiting, false},
		{StatusArchived, StatusOpen, false},
		{StatusArchived, StatusResolved, false},
		{StatusOpen, StatusNone, false},
		{StatusNone, StatusOpen, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.ok, CanTransition(tt.from, tt.to), "%s → %s", tt.from, tt.to)
	}
}

func TestChangeStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    []Status
		want    Status
		wantErr error
	}{
		{name: "work it", path: []Status{StatusInProgress, StatusWaiting, StatusResolved}, want: StatusResolved},
		{name: "reopen resolved", path: []Status{StatusResolved, StatusOpen}, want: StatusOpen},
		{name: "same status is a no-op", path: []Status{StatusOpen}, want: StatusOpen},
		{name: "resolved cannot wait", path: []Status{StatusResolved, StatusWaiting}, want: StatusResolved, wantErr: crm.ErrUnprocessable},
		{name: "archived is terminal", path: []Status{StatusArchived, StatusOpen}, want: StatusArchived, wantErr: crm.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := whatsapp(t)
			mustInbound(t, s, "wamid.1", t0)
			var err error
			for i, to := range tt.path {
				_, err = s.ChangeStatus(to, t0.Add(time.Duration(i+1)*time.Minute))
				if err != nil {
					break
				}
			}
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tt.want, s.Status)
		})
	}

	t.Run("no conversation yet", func(t *testing.T) {
		t.Parallel()
		_, err := whatsapp(t).ChangeStatus(StatusResolved, t0)
		require.ErrorIs(t, err, ErrNoConversation)
	})
}

func TestInboundStatusAndConversation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		setup       func(t *testing.T, s *ConversationState)
		wantStatus  Status
		wantNew     bool
		wantChanged bool
		wantSeq     int64
		wantUnread  int
	}{
		{
			name:       "first message opens a conversation",
			setup:      func(t *testing.T, s *ConversationState) {},
			wantStatus: StatusOpen, wantNew: true, wantChanged: true, wantSeq: 1, wantUnread: 1,
		},
		{
			name:       "open stays open and counts unread",
			setup:      func(t *testing.T, s *ConversationState) { mustInbound(t, s, "a", t0) },
			wantStatus: StatusOpen, wantSeq: 2, wantUnread: 2,
		},
		{
			name: "in progress stays in progress",
			setup: func(t *testing.T, s *ConversationState) {
				mustInbound(t, s, "a", t0)
				_, err := s.Assign(Assignment{AssigneeID: "agent-1", At: t0})
				require.NoError(t, err)
			},
			wantStatus: StatusInProgress, wantSeq: 2, wantUnread: 2,
		},
		{
			name: "resolved reopens",
			setup: func(t *testing.T, s *ConversationState) {
				mustInbound(t, s, "a", t0)
				_, err := s.ChangeStatus(StatusResolved, t0)
				require.NoError(t, err)
			},
			wantStatus: StatusOpen, wantChanged: true, wantSeq: 2, wantUnread: 2,
		},
		{
			name: "waiting and assigned goes back in progress",
			setup: func(t *testing.T, s *ConversationState) {
				mustInbound(t, s, "a", t0)
				_, err := s.Assign(Assignment{AssigneeID: "agent-1", At: t0})
				require.NoError(t, err)
				mustSend(t, s, "k1", "agent-1", t0.Add(time.Second))
				_, err = s.ChangeStatus(StatusWaiting, t0)
				require.NoError(t, err)
			},
			wantStatus: StatusInProgress, wantChanged: true, wantSeq: 3, wantUnread: 1,
		},
		{
			name: "waiting and unassigned goes back to the queue",
			setup: func(t *testing.T, s *ConversationState) {
				mustInbound(t, s, "a", t0)
				_, err := s.ChangeStatus(StatusWaiting, t0)
				require.NoError(t, err)
			},
			wantStatus: StatusOpen, wantChanged: true, wantSeq: 2, wantUnread: 2,
		},
		{
			name: "archived starts a new conversation with a fresh sequence",
			setup: func(t *testing.T, s *ConversationState) {
				mustInbound(t, s, "a", t0)
				mustInbound(t, s, "b", t0)
				_, err := s.Assign(Assignment{AssigneeID: "agent-1", TeamID: "team-1", At: t0})
				require.NoError(t, err)
				_, err = s.ChangeStatus(StatusArchived, t0)
				require.NoError(t, err)
			},
			wantStatus: StatusOpen, wantNew: true, wantChanged: true, wantSeq: 1, wantUnread: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := whatsapp(t)
			tt.setup(t, s)
			before := s.ConversationID
			out := mustInbound(t, s, "wamid.new", t0.Add(time.Hour))
			require.False(t, out.Duplicate)
			require.Equal(t, tt.wantNew, out.NewConversation)
			require.Equal(t, tt.wantChanged, out.StatusChanged)
			require.Equal(t, tt.wantStatus, s.Status)
			require.Equal(t, tt.wantSeq, out.Message.Seq)
			require.Equal(t, tt.wantUnread, s.Unread)
			require.Equal(t, s.ConversationID, out.Message.ConversationID)
			if tt.wantNew {
				require.NotEqual(t, before, s.ConversationID)
				require.Empty(t, s.AssigneeID)
				require.Empty(t, s.TeamID)
			} else {
				require.Equal(t, before, s.ConversationID)
			}
		})
	}
}

func TestInboundIsIdempotent(t *testing.T) {
	t.Parallel()
	s := whatsapp(t)
	first := mustInbound(t, s, "wamid.1", t0)
	again := mustInbound(t, s, "wamid.1", t0.Add(time.Minute))
	require.True(t, again.Duplicate)
	require.Equal(t, first.Message, again.Message)
	require.EqualValues(t, 1, s.LastSeq)
	require.Equal(t, 1, s.Unread)

	// A provider retry after the conversation was archived is still a
	// duplicate: it must not open a new conversation.
	_, err := s.ChangeStatus(StatusArchived, t0)
	require.NoError(t, err)
	late := mustInbound(t, s, "wamid.1", t0.Add(time.Hour))
	require.True(t, late.Duplicate)
	require.Equal(t, StatusArchived, s.Status)

	_, err = s.Inbound(Inbound{At: t0})
	require.ErrorIs(t, err, crm.ErrInvalid)
}

func TestWindow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		channel     crmpb.Channel
		inbound     []time.Time
		wantExpires time.Time
		sendAt      time.Time
		sendType    string
		wantErr     error
	}{
		{
			name: "whatsapp opens 24h from the last customer message", channel: crmpb.Channel_CHANNEL_WHATSAPP,
			inbound: []time.Time{t0}, wantExpires: t0.Add(24 * time.Hour),
			sendAt: t0.Add(23 * time.Hour), sendType: "text",
		},
		{
			name: "an older message arriving late does not shrink the window", channel: crmpb.Channel_CHANNEL_WHATSAPP,
			inbound: []time.Time{t0.Add(2 * time.Hour), t0}, wantExpires: t0.Add(26 * time.Hour),
			sendAt: t0.Add(25 * time.Hour), sendType: "text",
		},
		{
			name: "closed window refuses free text", channel: crmpb.Channel_CHANNEL_WHATSAPP,
			inbound: []time.Time{t0}, wantExpires: t0.Add(24 * time.Hour),
			sendAt: t0.Add(24 * time.Hour), sendType: "text", wantErr: ErrWindowClosed,
		},
		{
			name: "closed window accepts a template", channel: crmpb.Channel_CHANNEL_WHATSAPP,
			inbound: []time.Time{t0}, wantExpires: t0.Add(24 * time.Hour),
			sendAt: t0.Add(48 * time.Hour), sendType: "template",
		},
		{
			name: "never-contacted whatsapp needs a template", channel: crmpb.Channel_CHANNEL_WHATSAPP,
			sendAt: t0, sendType: "text", wantErr: ErrWindowClosed,
		},
		{
			name: "instagram has no window here", channel: crmpb.Channel_CHANNEL_INSTAGRAM,
			inbound: []time.Time{t0}, sendAt: t0.Add(72 * time.Hour), sendType: "text",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newTestState(t, tt.channel)
			for i, at := range tt.inbound {
				mustInbound(t, s, fmt.Sprintf("in-%d", i), at)
			}
			require.Equal(t, tt.wantExpires, s.WindowExpiresAt)
			_, err := s.Send(Outbound{IdempotencyKey: "k", SenderUserID: "agent-1", Type: tt.sendType, At: tt.sendAt})
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				require.True(t, errors.Is(err, crm.ErrUnprocessable))
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestSend(t *testing.T) {
	t.Parallel()

	t.Run("agent send is pending, resets unread and puts it in progress", func(t *testing.T) {
		t.Parallel()
		s := whatsapp(t)
		mustInbound(t, s, "a", t0)
		mustInbound(t, s, "b", t0)
		out := mustSend(t, s, "key-1", "agent-1", t0.Add(time.Minute))
		require.False(t, out.Duplicate)
		require.True(t, out.StatusChanged)
		require.Equal(t, DeliveryPending, out.Message.Delivery)
		require.EqualValues(t, 3, out.Message.Seq)
		require.Equal(t, 0, s.Unread)
		require.Equal(t, StatusInProgress, s.Status)
	})

	t.Run("repeated idempotency key returns the first message", func(t *testing.T) {
		t.Parallel()
		s := whatsapp(t)
		mustInbound(t, s, "a", t0)
		first := mustSend(t, s, "key-1", "agent-1", t0)
		again := mustSend(t, s, "key-1", "agent-1", t0.Add(time.Second))
		require.True(t, again.Duplicate)
		require.Equal(t, first.Message, again.Message)
		require.EqualValues(t, 2, s.LastSeq)
	})

	t.Run("bot send keeps unread and status", func(t *testing.T) {
		t.Parallel()
		s := whatsapp(t)
		mustInbound(t, s, "a", t0)
		out := mustSend(t, s, "bot-1", "", t0)
		require.False(t, out.StatusChanged)
		require.Equal(t, 1, s.Unread)
		require.Equal(t, StatusOpen, s.Status)
	})

	t.Run("missing key is invalid", func(t *testing.T) {
		t.Parallel()
		_, err := whatsapp(t).Send(Outbound{Type: "template", At: t0})
		require.ErrorIs(t, err, crm.ErrInvalid)
	})

	t.Run("template to an archived contact starts a conversation", func(t *testing.T) {
		t.Parallel()
		s := whatsapp(t)
		mustInbound(t, s, "a", t0)
		old := s.ConversationID
		_, err := s.ChangeStatus(StatusArchived, t0)
		require.NoError(t, err)
		out, err := s.Send(Outbound{IdempotencyKey: "camp-1", Type: "template", At: t0.Add(72 * time.Hour)})
		require.NoError(t, err)
		require.True(t, out.NewConversation)
		require.NotEqual(t, old, s.ConversationID)
		require.EqualValues(t, 1, out.Message.Seq)
	})
}

func TestDeliveryMovesForwardOnly(t *testing.T) {
	t.Parallel()
	failure := &crmpb.ResultError{Code: "provider_error", ProviderCode: "131026", Message: "undeliverable"}
	tests := []struct {
		name      string
		statuses  []Delivery
		want      Delivery
		wantError bool
	}{
		{name: "in order", statuses: []Delivery{DeliveryDelivered, DeliveryRead}, want: DeliveryRead},
		{name: "read before delivered", statuses: []Delivery{DeliveryRead, DeliveryDelivered}, want: DeliveryRead},
		{name: "skipping steps", statuses: []Delivery{DeliveryRead}, want: DeliveryRead},
		{name: "played after read", statuses: []Delivery{DeliveryRead, DeliveryPlayed}, want: DeliveryPlayed},
		{name: "repeats change nothing", statuses: []Delivery{DeliveryDelivered, DeliveryDelivered, DeliverySent}, want: DeliveryDelivered},
		{name: "failed records the error", statuses: []Delivery{DeliveryFailed}, want: DeliveryFailed, wantError: true},
		{name: "failed after delivered is ignored", statuses: []Delivery{DeliveryDelivered, DeliveryFailed}, want: DeliveryDelivered},
		{name: "delivered after failed proves delivery", statuses: []Delivery{DeliveryFailed, DeliveryDelivered}, want: DeliveryDelivered},
		{name: "sent after failed is ignored", statuses: []Delivery{DeliveryFailed, DeliverySent}, want: DeliveryFailed, wantError: true},
	}
	for _, tt := range tests {
		for _, parkedFirst := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/parked=%v", tt.name, parkedFirst), func(t *testing.T) {
				t.Parallel()
				s := whatsapp(t)
				mustInbound(t, s, "in", t0)
				sent := mustSend(t, s, "k", "agent-1", t0)
				apply := func() {
					for i, d := range tt.statuses {
						var e *crmpb.ResultError
						if d == DeliveryFailed {
							e = failure
						}
						out, err := s.ApplyStatus(StatusUpdate{ExternalID: "wamid.out", Delivery: d, At: t0.Add(time.Duration(i) * time.Second), Error: e})
						require.NoError(t, err)
						require.Equal(t, parkedFirst, out.Parked)
					}
				}
				if parkedFirst {
					apply()
					require.Equal(t, 1, s.ParkedCount())
				}
				accepted, err := s.SendAccepted(sent.Message.ID, "wamid.out", t0)
				require.NoError(t, err)
				require.True(t, accepted.Changed)
				if !parkedFirst {
					apply()
				}
				require.Equal(t, 0, s.ParkedCount())
				m, ok := s.Message(sent.Message.ID)
				require.True(t, ok)
				require.Equal(t, tt.want, m.Delivery)
				if tt.wantError {
					require.True(t, proto.Equal(failure, m.Error))
				} else {
					require.Nil(t, m.Error)
				}
			})
		}
	}
}

func TestSendAcceptedAndFailed(t *testing.T) {
	t.Parallel()
	s := whatsapp(t)
	mustInbound(t, s, "in", t0)
	a := mustSend(t, s, "k1", "agent-1", t0)
	b := mustSend(t, s, "k2", "agent-1", t0)

	out, err := s.SendAccepted(a.Message.ID, "wamid.a", t0)
	require.NoError(t, err)
	require.Equal(t, DeliverySent, out.Message.Delivery)
	again, err := s.SendAccepted(a.Message.ID, "wamid.a", t0)
	require.NoError(t, err)
	require.False(t, again.Changed)

	_, err = s.SendAccepted(a.Message.ID, "wamid.other", t0)
	require.ErrorIs(t, err, crm.ErrConflict)
	_, err = s.SendAccepted(b.Message.ID, "wamid.a", t0)
	require.ErrorIs(t, err, crm.ErrConflict)
	_, err = s.SendAccepted("nope", "wamid.x", t0)
	require.ErrorIs(t, err, crm.ErrNotFound)
	inbound, _ := s.MessageByExternalID("in")
	_, err = s.SendAccepted(inbound.ID, "wamid.x", t0)
	require.ErrorIs(t, err, crm.ErrNotFound)

	failure := &crmpb.ResultError{Code: "provider_error", ProviderCode: "131047"}
	failed, err := s.SendFailed(b.Message.ID, failure, t0)
	require.NoError(t, err)
	require.True(t, failed.Changed)
	require.Equal(t, DeliveryFailed, failed.Message.Delivery)
	require.Equal(t, "131047", failed.Message.Error.GetProviderCode())

	// A status for an inbound message is ignored, not parked.
	st, err := s.ApplyStatus(StatusUpdate{ExternalID: "in", Delivery: DeliveryRead, At: t0})
	require.NoError(t, err)
	require.False(t, st.Changed)
	require.False(t, st.Parked)

	_, err = s.ApplyStatus(StatusUpdate{ExternalID: "", Delivery: DeliveryRead})
	require.ErrorIs(t, err, crm.ErrInvalid)
}

func TestAssign(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		start        Status
		startAgent   string
		cmd          Assignment
		wantStatus   Status
		wantAssignee string
		wantTeam     string
		wantChanged  bool
	}{
		{name: "assign open", start: StatusOpen, cmd: Assignment{AssigneeID: "a1"}, wantStatus: StatusInProgress, wantAssignee: "a1", wantChanged: true},
		{name: "assign with team", start: StatusOpen, cmd: Assignment{AssigneeID: "a1", TeamID: "t1"}, wantStatus: StatusInProgress, wantAssignee: "a1", wantTeam: "t1", wantChanged: true},
		{name: "team only keeps the queue", start: StatusOpen, cmd: Assignment{TeamID: "t1"}, wantStatus: StatusOpen, wantTeam: "t1", wantChanged: true},
		{name: "transfer", start: StatusInProgress, startAgent: "a1", cmd: Assignment{AssigneeID: "a2"}, wantStatus: StatusInProgress, wantAssignee: "a2", wantChanged: true},
		{name: "same assignee is a no-op", start: StatusInProgress, startAgent: "a1", cmd: Assignment{AssigneeID: "a1"}, wantStatus: StatusInProgress, wantAssignee: "a1"},
		{name: "unassign returns to the queue", start: StatusInProgress, startAgent: "a1", cmd: Assignment{Unassign: true}, wantStatus: StatusOpen, wantChanged: true},
		{name: "assigning a waiting one keeps it waiting", start: StatusWaiting, cmd: Assignment{AssigneeID: "a1"}, wantStatus: StatusWaiting, wantAssignee: "a1", wantChanged: true},
		{name: "unassign resolved keeps it resolved", start: StatusResolved, startAgent: "a1", cmd: Assignment{Unassign: true}, wantStatus: StatusResolved, wantChanged: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := whatsapp(t)
			mustInbound(t, s, "in", t0)
			if tt.startAgent != "" {
				_, err := s.Assign(Assignment{AssigneeID: tt.startAgent, At: t0})
				require.NoError(t, err)
			}
			if tt.start != s.Status {
				_, err := s.ChangeStatus(tt.start, t0)
				require.NoError(t, err)
			}
			out, err := s.Assign(tt.cmd)
			require.NoError(t, err)
			require.Equal(t, tt.wantChanged, out.Changed)
			require.Equal(t, tt.wantStatus, s.Status)
			require.Equal(t, tt.wantAssignee, s.AssigneeID)
			require.Equal(t, tt.wantTeam, s.TeamID)
			if tt.wantAssignee != "" {
				require.True(t, s.Bot.HandedOff, "a human took over")
			}
		})
	}

	t.Run("archived refuses", func(t *testing.T) {
		t.Parallel()
		s := whatsapp(t)
		mustInbound(t, s, "in", t0)
		_, err := s.ChangeStatus(StatusArchived, t0)
		require.NoError(t, err)
		_, err = s.Assign(Assignment{AssigneeID: "a1"})
		require.ErrorIs(t, err, ErrNoConversation)
	})
}

func TestMarkRead(t *testing.T) {
	t.Parallel()
	s := whatsapp(t)
	for i := range 5 {
		mustInbound(t, s, fmt.Sprintf("in-%d", i), t0)
	}
	require.Equal(t, 5, s.Unread)
	require.True(t, s.MarkRead(3).Changed)
	require.Equal(t, 2, s.Unread)
	require.False(t, s.MarkRead(2).Changed, "reading backwards changes nothing")
	require.Equal(t, 2, s.Unread)
	require.True(t, s.MarkRead(0).Changed)
	require.Equal(t, 0, s.Unread)
	mustInbound(t, s, "in-5", t0)
	require.Equal(t, 1, s.Unread)
}

func TestMemoryIsBounded(t *testing.T) {
	t.Parallel()
	n := 0
	s, err := NewConversationState(StateConfig{Channel: crmpb.Channel_CHANNEL_WHATSAPP, MaxRemembered: 8, MaxParked: 3,
		NewID: func() string { n++; return fmt.Sprintf("id-%06d", n) }})
	require.NoError(t, err)

	// Three conversations of 5 messages each.
	for c := range 3 {
		for i := range 5 {
			mustInbound(t, s, fmt.Sprintf("c%d-m%d", c, i), t0.Add(time.Duration(c*10+i)*time.Minute))
		}
		if c < 2 {
			_, err := s.ChangeStatus(StatusArchived, t0)
			require.NoError(t, err)
		}
	}
	require.LessOrEqual(t, len(s.Messages()), 8)
	for i := range 5 {
		_, ok := s.MessageByExternalID(fmt.Sprintf("c2-m%d", i))
		require.True(t, ok, "the current conversation is never forgotten")
	}
	_, ok := s.MessageByExternalID("c0-m0")
	require.False(t, ok, "the oldest conversation goes first")
	_, ok = s.MessageByExternalID("c1-m4")
	require.True(t, ok, "recent messages of the last conversation stay")

	for i := range 5 {
		_, err := s.ApplyStatus(StatusUpdate{ExternalID: fmt.Sprintf("unknown-%d", i), Delivery: DeliveryRead,
			At: t0.Add(time.Duration(i) * time.Second)})
		require.NoError(t, err)
	}
	require.Equal(t, 3, s.ParkedCount())
}

func TestSnapshotRoundTrip(t *testing.T) {
	t.Parallel()
	s := whatsapp(t)
	mustInbound(t, s, "in-1", t0)
	_, err := s.Assign(Assignment{AssigneeID: "a1", TeamID: "t1", At: t0})
	require.NoError(t, err)
	sent := mustSend(t, s, "k1", "a1", t0.Add(time.Minute))
	_, err = s.SendAccepted(sent.Message.ID, "wamid.out", t0.Add(time.Minute))
	require.NoError(t, err)
	_, err = s.ApplyStatus(StatusUpdate{ExternalID: "wamid.unknown", Delivery: DeliveryRead, At: t0})
	require.NoError(t, err)
	mustInbound(t, s, "in-2", t0.Add(2*time.Minute))
	s.Bot = BotState{FlowID: "f1", NodeID: "n2", Variables: map[string]string{"name": "Ana"}, TimerAt: t0.Add(time.Hour)}
	s.Version = 7

	ref := &crmpb.ConversationRef{TenantId: "t", ConnectionId: "c", ContactId: "k"}
	snap := s.Snapshot(ref)
	wire, err := proto.Marshal(snap)
	require.NoError(t, err)
	var decoded crmpb.ConversationSnapshot
	require.NoError(t, proto.Unmarshal(wire, &decoded))

	restored, err := RestoreConversationState(s.cfg, &decoded)
	require.NoError(t, err)
	require.Equal(t, s.Messages(), restored.Messages())
	require.Equal(t, s.ParkedCount(), restored.ParkedCount())
	require.True(t, proto.Equal(snap, restored.Snapshot(ref)))

	// The restored state keeps deduplicating and sequencing.
	dup, err := restored.Inbound(Inbound{ExternalID: "in-1", At: t0})
	require.NoError(t, err)
	require.True(t, dup.Duplicate)
	again, err := restored.Send(Outbound{IdempotencyKey: "k1", Type: "text", At: t0})
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	next := mustInbound(t, restored, "in-3", t0.Add(3*time.Minute))
	require.EqualValues(t, 4, next.Message.Seq)
}

// TestRandomEventsConverge replays 10k events (customer messages, agent
// sends, send results and delivery statuses) with random duplicates and
// reorderings, and checks the state against what must hold whatever the
// order: one message per external id and per idempotency key, a gap-free
// sequence, each outbound message at the highest status it was sent, and
// nothing parked that has its message.
func TestRandomEventsConverge(t *testing.T) {
	t.Parallel()
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			checkRandomEvents(t, seed, 10_000)
		})
	}
}

type eventKind uint8

const (
	evInbound eventKind = iota
	evSend
	evAccepted
	evStatus
)

type randomEvent struct {
	kind     eventKind
	key      string // external id (inbound), idempotency key (send, accepted)
	external string // accepted, status
	delivery Delivery
}

func checkRandomEvents(t *testing.T, seed uint64, total int) {
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	var events []randomEvent
	wantDelivery := map[string]Delivery{} // idempotency key → final delivery
	unknownStatuses := map[string]bool{}  // externals never accepted
	inbound, sends := 0, 0
	for len(events) < total {
		switch r := rng.IntN(10); {
		case r < 5:
			inbound++
			events = append(events, randomEvent{kind: evInbound, key: fmt.Sprintf("wamid.in.%d", inbound)})
		case r < 8:
			sends++
			key := fmt.Sprintf("key-%d", sends)
			external := fmt.Sprintf("wamid.out.%d", sends)
			events = append(events, randomEvent{kind: evSend, key: key})
			final := DeliveryNone
			if rng.IntN(10) > 0 { // one in ten is never accepted
				events = append(events, randomEvent{kind: evAccepted, key: key, external: external})
				final = DeliverySent
			}
			for range rng.IntN(4) {
				d := []Delivery{DeliverySent, DeliveryDelivered, DeliveryRead, DeliveryPlayed, DeliveryFailed}[rng.IntN(5)]
				events = append(events, randomEvent{kind: evStatus, external: external, delivery: d})
				if final != DeliveryNone && d.rank() > final.rank() {
					final = d
				}
				if final == DeliveryNone {
					unknownStatuses[external] = true
				}
			}
			if final == DeliveryNone {
				final = DeliveryPending
			}
			wantDelivery[key] = final
		default:
			if len(events) > 0 { // duplicate something already generated
				events = append(events, events[rng.IntN(len(events))])
			}
		}
	}

	// Shuffle, then restore the one order the system guarantees: a send's
	// result comes after the send (the grain asked the provider).
	rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	firstSend := map[string]int{}
	for i, e := range events {
		if e.kind == evSend {
			if _, seen := firstSend[e.key]; !seen {
				firstSend[e.key] = i
			}
		}
	}
	for i, e := range events {
		if e.kind == evAccepted {
			if j := firstSend[e.key]; j > i {
				events[i], events[j] = events[j], events[i]
				firstSend[e.key] = i
			}
		}
	}

	s := newTestState(t, crmpb.Channel_CHANNEL_MESSENGER)
	messageByKey := map[string]string{}
	unreadWant := 0
	seenInbound := map[string]bool{}
	parkedOnce := map[string]bool{}
	for i, e := range events {
		at := t0.Add(time.Duration(i) * time.Second)
		switch e.kind {
		case evInbound:
			out, err := s.Inbound(Inbound{ExternalID: e.key, Type: "text", At: at})
			require.NoError(t, err)
			require.Equal(t, seenInbound[e.key], out.Duplicate)
			if !seenInbound[e.key] {
				unreadWant++
			}
			seenInbound[e.key] = true
		case evSend:
			out, err := s.Send(Outbound{IdempotencyKey: e.key, SenderUserID: "agent", Type: "text", At: at})
			require.NoError(t, err)
			if id, ok := messageByKey[e.key]; ok {
				require.True(t, out.Duplicate)
				require.Equal(t, id, out.Message.ID)
			} else {
				messageByKey[e.key] = out.Message.ID
				unreadWant = 0
			}
		case evAccepted:
			_, err := s.SendAccepted(messageByKey[e.key], e.external, at)
			require.NoError(t, err)
		case evStatus:
			out, err := s.ApplyStatus(StatusUpdate{ExternalID: e.external, Delivery: e.delivery, At: at,
				Error: &crmpb.ResultError{Code: "provider_error"}})
			require.NoError(t, err)
			if out.Parked {
				parkedOnce[e.external] = true
			}
		}
	}

	messages := s.Messages()
	require.Len(t, messages, len(seenInbound)+len(messageByKey))
	for i, m := range messages {
		require.EqualValues(t, i+1, m.Seq, "gap-free sequence")
		require.Equal(t, s.ConversationID, m.ConversationID)
	}
	require.EqualValues(t, len(messages), s.LastSeq)
	for key, id := range messageByKey {
		m, ok := s.Message(id)
		require.True(t, ok)
		require.Equal(t, wantDelivery[key], m.Delivery, "message %s", key)
		require.Equal(t, m.Delivery == DeliveryFailed, m.Error != nil)
	}
	require.Equal(t, len(unknownStatuses), s.ParkedCount())
	require.Greater(t, len(parkedOnce), len(unknownStatuses), "some statuses arrived before their send result")
	require.Equal(t, unreadWant, s.Unread)
	require.Equal(t, StatusInProgress, s.Status)
}
