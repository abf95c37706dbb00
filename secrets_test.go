package crm

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealerRoundTripAndTamper(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	s, err := NewSealer(key)
	require.NoError(t, err)
	sealed := s.Seal([]byte(`{"access_token":"EAAG-secret"}`), []byte("conn-1"))
	require.NotContains(t, string(sealed), "EAAG-secret")
	plain, err := s.Open(sealed, []byte("conn-1"))
	require.NoError(t, err)
	require.Equal(t, `{"access_token":"EAAG-secret"}`, string(plain))

	_, err = s.Open(sealed, []byte("conn-2"))
	require.ErrorIs(t, err, ErrUnseal, "bound to its owner")
	for i := range sealed {
		tampered := bytes.Clone(sealed)
		tampered[i] ^= 1
		_, err := s.Open(tampered, []byte("conn-1"))
		require.ErrorIs(t, err, ErrUnseal, "byte %d flipped", i)
	}
	_, err = s.Open(nil, nil)
	require.ErrorIs(t, err, ErrUnseal)
	require.NotEqual(t, sealed, s.Seal([]byte(`{"access_token":"EAAG-secret"}`), []byte("conn-1")), "fresh nonce each time")
}

func TestSealerRotation(t *testing.T) {
	t.Parallel()
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	old, err := NewSealer(oldKey)
	require.NoError(t, err)
	sealed := old.Seal([]byte("s3cret"), nil)

	rotated, err := NewSealer(newKey, oldKey)
	require.NoError(t, err)
	require.True(t, rotated.NeedsRotation(sealed))
	plain, err := rotated.Open(sealed, nil)
	require.NoError(t, err)
	resealed := rotated.Seal(plain, nil)
	require.False(t, rotated.NeedsRotation(resealed))

	onlyNew, err := NewSealer(newKey)
	require.NoError(t, err)
	_, err = onlyNew.Open(sealed, nil)
	require.ErrorIs(t, err, ErrUnseal, "the old key is needed to read old values")
	_, err = NewSealer([]byte("short"))
	require.Error(t, err)
}
