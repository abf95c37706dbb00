package cluster

import (
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
	"github.com/stretchr/testify/require"
)

func TestMetaRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []nodeMeta{
		{ID: "n1", Host: "127.0.0.1", Port: 41234, Kinds: []string{"conversation", "connection", "tenant"}},
		{ID: "n2", Host: "::1", Port: 1, Kinds: []string{}},
		{ID: "c1", Host: "crm-3.internal", Port: 65535, Kinds: []string{}, Client: true},
	}
	for _, m := range tests {
		raw, err := m.encode()
		require.NoError(t, err)
		require.LessOrEqual(t, len(raw), memberlist.MetaMaxSize)
		got, err := decodeMeta(raw)
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
	raw, err := tests[0].encode()
	require.NoError(t, err)
	require.Less(t, len(raw), 64, "compact: %d bytes", len(raw))
}

func TestMetaRejects(t *testing.T) {
	t.Parallel()
	_, err := nodeMeta{ID: "n", Host: "h", Port: 0}.encode()
	require.Error(t, err)
	_, err = nodeMeta{ID: "n", Host: "h", Port: 1, Kinds: []string{strings.Repeat("k", 600)}}.encode()
	require.ErrorContains(t, err, "512")

	good, err := nodeMeta{ID: "n", Host: "h", Port: 80, Kinds: []string{"a"}}.encode()
	require.NoError(t, err)
	for name, b := range map[string][]byte{
		"empty":         nil,
		"wrong version": append([]byte{9}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"trailing":      append(append([]byte{}, good...), 0),
		"huge count":    {1, 0, 1, 'n', 1, 'h', 80, 0xff, 0xff, 0x03},
	} {
		_, err := decodeMeta(b)
		require.ErrorIs(t, err, errBadMeta, name)
	}
}

// FuzzDecodeMeta: metadata comes from the network; decoding must never
// panic, and whatever decodes survives a re-encode unchanged.
func FuzzDecodeMeta(f *testing.F) {
	good, _ := nodeMeta{ID: "n1", Host: "127.0.0.1", Port: 4000, Kinds: []string{"a", "b"}}.encode()
	f.Add(good)
	f.Add([]byte{1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		again, err := m.encode()
		if err != nil {
			return // e.g. decoded a meta over the size limit
		}
		back, err := decodeMeta(again)
		require.NoError(t, err)
		require.Equal(t, m, back)
	})
}
