package actors

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
	crmpb "crm/proto"
)

// The conversation grain's pure logic: what a message or an assignment does
// to the conversation, case by case, without a database.

func ptr[T any](v T) *T { return &v }

// baseConversation is a WhatsApp conversation four messages in, with two
// unread and the window open until an hour from t0.
func baseConversation() crm.Conversation {
	return crm.Conversation{ID: uuid.MustParse("0190b3a0-0000-7000-8000-000000000001"), Channel: "whatsapp",
		Status: crm.ConversationOpen, LastSeq: 4, UnreadCount: 2, LastMessagePreview: "before",
		LastMessageDirection: "inbound", LastActivityAt: t0.Add(-time.Hour), WindowExpiresAt: ptr(t0.Add(time.Hour))}
}

func TestApplyInbound(t *testing.T) {
	t.Parallel()
	now := t0
	occurred := t0.Add(-time.Minute) // the customer wrote it a minute before it arrived
	agent := uuid.MustParse("0190b3a0-0000-7000-8000-0000000000aa")
	tests := []struct {
		name   string
		before func(c *crm.Conversation)
		msg    crm.Message
		// want changes the base conversation into the expected one.
		want func(c *crm.Conversation)
	}{
		{name: "a customer's message", msg: crm.Message{Direction: "inbound", Type: "text", Text: "  olá\n mundo "},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 3
				c.LastMessageAt, c.LastActivityAt, c.LastInboundAt = &now, now, &occurred
				c.LastMessagePreview, c.LastMessageDirection = "olá mundo", "inbound"
				c.WindowExpiresAt = ptr(occurred.Add(crm.CustomerServiceWindow))
			}},
		{name: "never shortens the window", before: func(c *crm.Conversation) { c.WindowExpiresAt = ptr(t0.Add(48 * time.Hour)) },
			msg: crm.Message{Direction: "inbound", Type: "image"},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 3
				c.LastMessageAt, c.LastActivityAt, c.LastInboundAt = &now, now, &occurred
				c.LastMessagePreview, c.LastMessageDirection = "📷 Imagem", "inbound"
			}},
		{name: "no window outside WhatsApp", before: func(c *crm.Conversation) { c.Channel, c.WindowExpiresAt = "instagram", nil },
			msg: crm.Message{Direction: "inbound", Type: "text", Text: "oi"},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 3
				c.LastMessageAt, c.LastActivityAt, c.LastInboundAt = &now, now, &occurred
				c.LastMessagePreview, c.LastMessageDirection = "oi", "inbound"
			}},
		{name: "reopens a resolved conversation", before: func(c *crm.Conversation) {
			c.Status, c.ResolvedAt = crm.ConversationResolved, ptr(t0.Add(-time.Hour))
		}, msg: crm.Message{Direction: "inbound", Type: "text", Text: "again"},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 3
				c.LastMessageAt, c.LastActivityAt, c.LastInboundAt = &now, now, &occurred
				c.LastMessagePreview, c.LastMessageDirection = "again", "inbound"
				c.WindowExpiresAt = ptr(occurred.Add(crm.CustomerServiceWindow))
				c.Status, c.ResolvedAt = crm.ConversationOpen, nil
			}},
		{name: "a waiting conversation goes back to its assignee", before: func(c *crm.Conversation) {
			c.Status, c.AssigneeID = crm.ConversationWaiting, &agent
		}, msg: crm.Message{Direction: "inbound", Type: "text", Text: "here"},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 3
				c.LastMessageAt, c.LastActivityAt, c.LastInboundAt = &now, now, &occurred
				c.LastMessagePreview, c.LastMessageDirection = "here", "inbound"
				c.WindowExpiresAt = ptr(occurred.Add(crm.CustomerServiceWindow))
				c.Status = crm.ConversationInProgress
			}},
		{name: "an echo of the phone moves only the last message", before: func(c *crm.Conversation) {
			c.Status, c.ResolvedAt = crm.ConversationResolved, ptr(t0.Add(-time.Hour))
		}, msg: crm.Message{Direction: "outbound", Type: "text", Text: "from the phone", Via: "phone"},
			want: func(c *crm.Conversation) {
				c.LastSeq = 5
				c.LastMessageAt, c.LastActivityAt = &now, now
				c.LastMessagePreview, c.LastMessageDirection = "from the phone", "outbound"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conv, want := baseConversation(), baseConversation()
			if tt.before != nil {
				tt.before(&conv)
				tt.before(&want)
			}
			tt.want(&want)
			m := tt.msg
			applyInbound(&conv, &m, occurred, now)
			require.Equal(t, want, conv)
			require.Equal(t, want.LastSeq, m.Seq, "the message takes the conversation's next sequence")
			require.Equal(t, conv.ID, m.ConversationID)
		})
	}
}

func TestApplyOutbound(t *testing.T) {
	t.Parallel()
	now := t0
	agent := uuid.MustParse("0190b3a0-0000-7000-8000-0000000000aa")
	earlier := t0.Add(-30 * time.Minute)
	tests := []struct {
		name   string
		before func(c *crm.Conversation)
		msg    crm.Message
		want   func(c *crm.Conversation)
	}{
		{name: "an agent's first reply", msg: crm.Message{Direction: "outbound", Type: "text", Text: "hi", SentBy: &agent},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 0
				c.LastMessageAt, c.LastActivityAt = &now, now
				c.LastMessagePreview, c.LastMessageDirection = "hi", "outbound"
				c.FirstResponseAt = &now
				c.Status = crm.ConversationInProgress
			}},
		{name: "the first response is kept", before: func(c *crm.Conversation) {
			c.Status, c.FirstResponseAt = crm.ConversationInProgress, &earlier
		}, msg: crm.Message{Direction: "outbound", Type: "text", Text: "more", SentBy: &agent},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 0
				c.LastMessageAt, c.LastActivityAt = &now, now
				c.LastMessagePreview, c.LastMessageDirection = "more", "outbound"
			}},
		{name: "a bot's reply is no person's first response", msg: crm.Message{Direction: "outbound", Type: "document", Via: "bot"},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 0
				c.LastMessageAt, c.LastActivityAt = &now, now
				c.LastMessagePreview, c.LastMessageDirection = "📄 Documento", "outbound"
				c.Status = crm.ConversationInProgress
			}},
		{name: "a reply takes a resolved conversation back in progress", before: func(c *crm.Conversation) {
			c.Status, c.ResolvedAt = crm.ConversationResolved, &earlier
		}, msg: crm.Message{Direction: "outbound", Type: "text", Text: "one more thing", SentBy: &agent},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 0
				c.LastMessageAt, c.LastActivityAt = &now, now
				c.LastMessagePreview, c.LastMessageDirection = "one more thing", "outbound"
				c.FirstResponseAt = &now
				c.Status, c.ResolvedAt = crm.ConversationInProgress, nil
			}},
		{name: "a waiting conversation keeps waiting", before: func(c *crm.Conversation) { c.Status = crm.ConversationWaiting },
			msg: crm.Message{Direction: "outbound", Type: "template", SentBy: &agent},
			want: func(c *crm.Conversation) {
				c.LastSeq, c.UnreadCount = 5, 0
				c.LastMessageAt, c.LastActivityAt = &now, now
				c.LastMessagePreview, c.LastMessageDirection = preview(&crm.Message{Type: "template"}), "outbound"
				c.FirstResponseAt = &now
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			conv, want := baseConversation(), baseConversation()
			if tt.before != nil {
				tt.before(&conv)
				tt.before(&want)
			}
			tt.want(&want)
			m := tt.msg
			applyOutbound(&conv, &m, now)
			require.Equal(t, want, conv, "the window, the last inbound and the assignment are the customer's and the agents' to change")
			require.Equal(t, want.LastSeq, m.Seq)
		})
	}
}

func TestAssign(t *testing.T) {
	t.Parallel()
	ana := uuid.MustParse("0190b3a0-0000-7000-8000-0000000000aa")
	bia := uuid.MustParse("0190b3a0-0000-7000-8000-0000000000bb")
	sales := uuid.MustParse("0190b3a0-0000-7000-8000-0000000000cc")
	tests := []struct {
		name     string
		before   crm.Conversation
		req      *crmpb.Assign
		want     crm.Conversation
		changed  bool
		wantCode string
	}{
		{name: "assigning an open conversation takes it in progress",
			before: crm.Conversation{Status: crm.ConversationOpen}, req: &crmpb.Assign{AssigneeId: ana.String()},
			want: crm.Conversation{Status: crm.ConversationInProgress, AssigneeID: &ana}, changed: true},
		{name: "a transfer keeps the status",
			before: crm.Conversation{Status: crm.ConversationWaiting, AssigneeID: &ana}, req: &crmpb.Assign{AssigneeId: bia.String()},
			want: crm.Conversation{Status: crm.ConversationWaiting, AssigneeID: &bia}, changed: true},
		{name: "the same assignee changes nothing",
			before: crm.Conversation{Status: crm.ConversationInProgress, AssigneeID: &ana}, req: &crmpb.Assign{AssigneeId: ana.String()},
			want: crm.Conversation{Status: crm.ConversationInProgress, AssigneeID: &ana}},
		{name: "unassigning puts it back in the queue",
			before: crm.Conversation{Status: crm.ConversationInProgress, AssigneeID: &ana}, req: &crmpb.Assign{Unassign: true},
			want: crm.Conversation{Status: crm.ConversationOpen}, changed: true},
		{name: "unassigning nobody changes nothing",
			before: crm.Conversation{Status: crm.ConversationOpen}, req: &crmpb.Assign{Unassign: true},
			want: crm.Conversation{Status: crm.ConversationOpen}},
		{name: "a team alone",
			before: crm.Conversation{Status: crm.ConversationOpen}, req: &crmpb.Assign{TeamId: sales.String()},
			want: crm.Conversation{Status: crm.ConversationOpen, TeamID: &sales}, changed: true},
		{name: "clearing the team",
			before: crm.Conversation{Status: crm.ConversationOpen, TeamID: &sales}, req: &crmpb.Assign{ClearTeam: true},
			want: crm.Conversation{Status: crm.ConversationOpen}, changed: true},
		{name: "assignee and team at once",
			before: crm.Conversation{Status: crm.ConversationResolved}, req: &crmpb.Assign{AssigneeId: bia.String(), TeamId: sales.String()},
			want: crm.Conversation{Status: crm.ConversationResolved, AssigneeID: &bia, TeamID: &sales}, changed: true},
		{name: "an assignee that is not a UUID",
			before: crm.Conversation{Status: crm.ConversationOpen}, req: &crmpb.Assign{AssigneeId: "ana"},
			want: crm.Conversation{Status: crm.ConversationOpen}, wantCode: "invalid_assignee"},
		{name: "a team that is not a UUID",
			before: crm.Conversation{Status: crm.ConversationOpen}, req: &crmpb.Assign{TeamId: "sales"},
			want: crm.Conversation{Status: crm.ConversationOpen}, wantCode: "invalid_team"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.before
			changed, e := assign(&c, tt.req)
			if tt.wantCode != "" {
				require.NotNil(t, e)
				require.Equal(t, tt.wantCode, e.GetCode())
			} else {
				require.Nil(t, e)
			}
			require.Equal(t, tt.changed, changed)
			require.Equal(t, tt.want, c)
		})
	}
}
