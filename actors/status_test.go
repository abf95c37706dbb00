package actors

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
	crmpb "crm/proto"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

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

// TestChangeStatus walks the grain's changeStatus through agents' status
// paths: allowed moves apply (and stamp or clear resolved_at), asking for
// the current status changes nothing, and a move CanTransition refuses is an
// invalid_transition that leaves the conversation as it was.
func TestChangeStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		path    []Status
		want    Status
		wantErr string
	}{
		{name: "work it", path: []Status{StatusInProgress, StatusWaiting, StatusResolved}, want: StatusResolved},
		{name: "reopen resolved", path: []Status{StatusResolved, StatusOpen}, want: StatusOpen},
		{name: "same status is a no-op", path: []Status{StatusOpen}, want: StatusOpen},
		{name: "resolved cannot wait", path: []Status{StatusResolved, StatusWaiting}, want: StatusResolved, wantErr: "invalid_transition"},
		{name: "archived is terminal", path: []Status{StatusArchived, StatusOpen}, want: StatusArchived, wantErr: "invalid_transition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &persistence.Conversation{Status: "open"}
			var e *crmpb.ResultError
			for i, to := range tt.path {
				before := c.Status
				var changed bool
				changed, e = changeStatus(c, to.Proto(), t0.Add(time.Duration(i+1)*time.Minute))
				if e != nil {
					require.Equal(t, before, c.Status, "a refused move changes nothing")
					break
				}
				require.Equal(t, before != to.String(), changed)
			}
			if tt.wantErr != "" {
				require.NotNil(t, e)
				require.Equal(t, tt.wantErr, e.GetCode())
			} else {
				require.Nil(t, e)
			}
			require.Equal(t, tt.want.String(), c.Status)
			require.Equal(t, tt.want == StatusResolved, c.ResolvedAt != nil, "resolved_at is set exactly while resolved")
		})
	}
}
