package crm

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseConversationStatus(t *testing.T) {
	t.Parallel()
	for _, st := range ConversationStatuses() {
		parsed, err := ParseConversationStatus(string(st))
		require.NoError(t, err)
		require.Equal(t, st, parsed)
	}
	for _, name := range []string{"", "none", "Open", "closed"} {
		_, err := ParseConversationStatus(name)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
}

func TestConversationCanTransition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, to ConversationStatus
		ok       bool
	}{
		{ConversationOpen, ConversationInProgress, true},
		{ConversationOpen, ConversationWaiting, true},
		{ConversationOpen, ConversationResolved, true},
		{ConversationOpen, ConversationArchived, true},
		{ConversationInProgress, ConversationOpen, true},
		{ConversationInProgress, ConversationWaiting, true},
		{ConversationInProgress, ConversationResolved, true},
		{ConversationInProgress, ConversationArchived, true},
		{ConversationWaiting, ConversationOpen, true},
		{ConversationWaiting, ConversationInProgress, true},
		{ConversationWaiting, ConversationResolved, true},
		{ConversationWaiting, ConversationArchived, true},
		{ConversationResolved, ConversationOpen, true},
		{ConversationResolved, ConversationInProgress, true},
		{ConversationResolved, ConversationArchived, true},
		{ConversationResolved, ConversationWaiting, false},
		{ConversationArchived, ConversationOpen, false},
		{ConversationArchived, ConversationResolved, false},
		{ConversationOpen, ConversationOpen, false},
		{ConversationOpen, "", false},
		{"", ConversationOpen, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.ok, tt.from.CanTransition(tt.to), "%q → %q", tt.from, tt.to)
	}
}

// TestConversationStatusMovesOnItsOwn: messages and assignment move a
// conversation's status without an agent asking.
func TestConversationStatusMovesOnItsOwn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from                                      ConversationStatus
		inboundAssigned, inboundUnassigned, reply ConversationStatus
		assigned, unassigned                      ConversationStatus
	}{
		{ConversationOpen, ConversationOpen, ConversationOpen, ConversationInProgress, ConversationInProgress, ConversationOpen},
		{ConversationInProgress, ConversationInProgress, ConversationInProgress, ConversationInProgress, ConversationInProgress, ConversationOpen},
		{ConversationWaiting, ConversationInProgress, ConversationOpen, ConversationWaiting, ConversationWaiting, ConversationWaiting},
		{ConversationResolved, ConversationOpen, ConversationOpen, ConversationInProgress, ConversationResolved, ConversationResolved},
		{ConversationArchived, ConversationArchived, ConversationArchived, ConversationArchived, ConversationArchived, ConversationArchived},
	}
	for _, tt := range tests {
		require.Equal(t, tt.inboundAssigned, tt.from.AfterInbound(true), "%s: a customer writes to an assigned conversation", tt.from)
		require.Equal(t, tt.inboundUnassigned, tt.from.AfterInbound(false), "%s: a customer writes to the queue", tt.from)
		require.Equal(t, tt.reply, tt.from.AfterReply(), "%s: we reply", tt.from)
		require.Equal(t, tt.assigned, tt.from.AfterAssign(true), "%s: assigned", tt.from)
		require.Equal(t, tt.unassigned, tt.from.AfterAssign(false), "%s: unassigned", tt.from)
	}
}

func TestCustomerServiceWindow(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	c := &Conversation{Channel: "whatsapp"}
	require.False(t, c.WindowOpen(at), "closed until the customer writes")
	c.ExtendWindow(at)
	require.Equal(t, at.Add(24*time.Hour), *c.WindowExpiresAt)
	require.True(t, c.WindowOpen(at.Add(24*time.Hour-time.Nanosecond)))
	require.False(t, c.WindowOpen(at.Add(24*time.Hour)), "closed at the 24th hour")
	c.ExtendWindow(at.Add(-time.Hour))
	require.Equal(t, at.Add(24*time.Hour), *c.WindowExpiresAt, "an older message stored late does not shorten it")
	c.ExtendWindow(at.Add(time.Hour))
	require.Equal(t, at.Add(25*time.Hour), *c.WindowExpiresAt)

	for _, channel := range []string{"instagram", "messenger"} {
		other := &Conversation{Channel: channel}
		other.ExtendWindow(at)
		require.Nil(t, other.WindowExpiresAt, channel)
		require.True(t, other.WindowOpen(at.Add(1000*time.Hour)), "%s has no window", channel)
	}
}
