package actors

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
	crmpb "crm/proto"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// TestStatusesMatchProto: every proto status maps to the crm status of the
// same name and back; an unspecified one maps to none.
func TestStatusesMatchProto(t *testing.T) {
	t.Parallel()
	for value, name := range crmpb.DeliveryStatus_name {
		want := crm.DeliveryStatus(strings.ToLower(strings.TrimPrefix(name, "DELIVERY_STATUS_")))
		if value == 0 {
			want = ""
		}
		require.Equal(t, want, deliveryFromProto(crmpb.DeliveryStatus(value)), name)
	}
	for _, st := range crm.ConversationStatuses() {
		require.Equal(t, "CONVERSATION_STATUS_"+strings.ToUpper(string(st)), statusToProto(st).String())
		require.Equal(t, st, statusFromProto(statusToProto(st)))
	}
	require.Len(t, crm.ConversationStatuses(), len(crmpb.ConversationStatus_name)-1, "every proto status has a crm one")
	require.Equal(t, crmpb.ConversationStatus_CONVERSATION_STATUS_UNSPECIFIED, statusToProto("none"))
	require.Equal(t, crm.ConversationStatus(""), statusFromProto(crmpb.ConversationStatus_CONVERSATION_STATUS_UNSPECIFIED))
}

// TestChangeStatus walks the grain's changeStatus through agents' status
// paths: allowed moves apply (and stamp or clear resolved_at), asking for
// the current status changes nothing, and a move CanTransition refuses is an
// invalid_transition that leaves the conversation as it was.
func TestChangeStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    []crm.ConversationStatus
		want    crm.ConversationStatus
		wantErr string
	}{
		{name: "work it", path: []crm.ConversationStatus{crm.ConversationInProgress, crm.ConversationWaiting, crm.ConversationResolved}, want: crm.ConversationResolved},
		{name: "reopen resolved", path: []crm.ConversationStatus{crm.ConversationResolved, crm.ConversationOpen}, want: crm.ConversationOpen},
		{name: "same status is a no-op", path: []crm.ConversationStatus{crm.ConversationOpen}, want: crm.ConversationOpen},
		{name: "resolved cannot wait", path: []crm.ConversationStatus{crm.ConversationResolved, crm.ConversationWaiting}, want: crm.ConversationResolved, wantErr: "invalid_transition"},
		{name: "archived is terminal", path: []crm.ConversationStatus{crm.ConversationArchived, crm.ConversationOpen}, want: crm.ConversationArchived, wantErr: "invalid_transition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &crm.Conversation{Status: "open"}
			var e *crmpb.ResultError
			for i, to := range tt.path {
				before := c.Status
				var changed bool
				changed, e = changeStatus(c, statusToProto(to), t0.Add(time.Duration(i+1)*time.Minute))
				if e != nil {
					require.Equal(t, before, c.Status, "a refused move changes nothing")
					break
				}
				require.Equal(t, before != to, changed)
			}
			if tt.wantErr != "" {
				require.NotNil(t, e)
				require.Equal(t, tt.wantErr, e.GetCode())
			} else {
				require.Nil(t, e)
			}
			require.Equal(t, tt.want, c.Status)
			require.Equal(t, tt.want == crm.ConversationResolved, c.ResolvedAt != nil, "resolved_at is set exactly while resolved")
		})
	}
}
