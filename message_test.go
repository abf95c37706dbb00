package crm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDeliveryStatusRank(t *testing.T) {
	t.Parallel()
	order := []DeliveryStatus{DeliveryPending, DeliverySent, DeliveryDelivered, DeliveryRead, DeliveryPlayed}
	for i := 1; i < len(order); i++ {
		require.Less(t, order[i-1].Rank(), order[i].Rank(), "%s < %s", order[i-1], order[i])
	}
	require.Equal(t, DeliveryPending.Rank(), DeliveryFailed.Rank(), "failed ranks with pending")
	require.Zero(t, DeliveryReceived.Rank())
	require.Zero(t, DeliveryStatus("").Rank())
	require.Zero(t, DeliveryStatus("bounced").Rank())
}

func TestDeliveryStatusCanAdvance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, next DeliveryStatus
		ok         bool
	}{
		{DeliveryPending, DeliverySent, true},
		{DeliveryPending, DeliveryRead, true},
		{DeliverySent, DeliveryDelivered, true},
		{DeliveryDelivered, DeliveryRead, true},
		{DeliveryRead, DeliveryPlayed, true},
		{DeliveryFailed, DeliverySent, true},
		{DeliveryFailed, DeliveryDelivered, true},
		{DeliveryReceived, DeliveryDelivered, true},
		{DeliveryPending, DeliveryFailed, true},
		{DeliverySent, DeliveryFailed, true},
		{DeliverySent, DeliverySent, false},
		{DeliveryDelivered, DeliverySent, false},
		{DeliveryRead, DeliveryDelivered, false},
		{DeliveryPlayed, DeliveryRead, false},
		{DeliveryDelivered, DeliveryFailed, false},
		{DeliveryRead, DeliveryFailed, false},
		{DeliveryFailed, DeliveryFailed, false},
		{DeliveryReceived, DeliveryFailed, false},
		{DeliveryFailed, DeliveryPending, false},
		{DeliverySent, "", false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.ok, tt.from.CanAdvance(tt.next), "%q → %q", tt.from, tt.next)
	}
}

// TestDeliveryStatusCanSettle: the outcome of our own send moves a message
// like a provider's report, except that a failure does not override a sent
// status the provider reported first.
func TestDeliveryStatusCanSettle(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from, outcome DeliveryStatus
		ok            bool
	}{
		{DeliveryPending, DeliverySent, true},
		{DeliveryFailed, DeliverySent, true},
		{DeliverySent, DeliverySent, false},
		{DeliveryDelivered, DeliverySent, false},
		{DeliveryPending, DeliveryFailed, true},
		{DeliverySent, DeliveryFailed, false},
		{DeliveryDelivered, DeliveryFailed, false},
		{DeliveryFailed, DeliveryFailed, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.ok, tt.from.CanSettle(tt.outcome), "%q → %q", tt.from, tt.outcome)
	}
}
