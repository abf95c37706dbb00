package crm_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"crm"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	at, id := time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC), crm.NewID()
	cursor, err := crm.EncodeCursor(at, id)
	require.NoError(t, err)
	var gotAt time.Time
	var gotID uuid.UUID
	ok, err := crm.DecodeCursor(cursor, &gotAt, &gotID)
	require.NoError(t, err)
	require.True(t, ok)
	require.True(t, at.Equal(gotAt))
	require.Equal(t, id, gotID)
}

// A sort key JSON cannot hold is an error, not an empty cursor that a
// client would send back and get "cursor is malformed" for.
func TestCursorOfAValueJSONCannotHoldIsAnError(t *testing.T) {
	t.Parallel()
	_, err := crm.EncodeCursor(math.NaN(), crm.NewID())
	require.Error(t, err)
}
