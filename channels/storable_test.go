package channels_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"crm/channels"
	"crm/channels/evolution"
	"crm/channels/meta"
	"crm/channels/uazapi"
	crmpb "crm/proto"
)

// withNUL returns one copy of the JSON document per string value in it,
// each with a NUL character put in the middle of that one value.
func withNUL(t *testing.T, raw []byte) [][]byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	require.NoError(t, dec.Decode(&doc))
	var out [][]byte
	var visit func(v any, set func(any))
	visit = func(v any, set func(any)) {
		switch x := v.(type) {
		case map[string]any:
			for k, child := range x {
				visit(child, func(n any) { x[k] = n })
			}
		case []any:
			for i, child := range x {
				visit(child, func(n any) { x[i] = n })
			}
		case string:
			half := len(x) / 2
			set(x[:half] + "\x00" + x[half:])
			body, err := json.Marshal(doc)
			require.NoError(t, err)
			out = append(out, body)
			set(x)
		}
	}
	visit(doc, nil)
	return out
}

func hasNUL(t *testing.T, events []*crmpb.ChannelEvent) bool {
	t.Helper()
	for _, ev := range events {
		raw, err := protojson.Marshal(ev)
		require.NoError(t, err)
		if bytes.Contains(raw, []byte(`\u0000`)) {
			return true
		}
	}
	return false
}

// Every provider's parser passes a NUL character in a webhook's strings
// through to its events (the text, the profile name, the file name, ...);
// MakeStorable leaves none anywhere in them, for each string of each of the
// adapters' fixtures in turn, and what it leaves still encodes.
func TestMakeStorableLeavesNoNULInAnyFixture(t *testing.T) {
	t.Parallel()
	received := time.Unix(1732800000, 0)
	parsers := map[string]func([]byte) ([]*crmpb.ChannelEvent, error){
		"meta":      meta.ParseWebhook,
		"uazapi":    func(b []byte) ([]*crmpb.ChannelEvent, error) { return uazapi.ParseWebhook(b, received) },
		"evolution": func(b []byte) ([]*crmpb.ChannelEvent, error) { return evolution.ParseWebhook(b, received) },
	}
	fixtures := 0
	for provider, parse := range parsers {
		files, err := filepath.Glob(filepath.Join(provider, "testdata", "*.json"))
		require.NoError(t, err)
		for _, file := range files {
			raw, err := os.ReadFile(file)
			require.NoError(t, err)
			if events, err := parse(raw); err != nil || len(events) == 0 || strings.Contains(file, "response") {
				continue // not a webhook
			}
			fixtures++
			reached := 0
			for _, body := range withNUL(t, raw) {
				events, err := parse(body)
				if err != nil {
					continue
				}
				if hasNUL(t, events) {
					reached++
				}
				for _, ev := range events {
					channels.MakeStorable(ev)
					_, err := proto.Marshal(ev)
					require.NoError(t, err, file)
				}
				require.False(t, hasNUL(t, events), "%s: a NUL is left in %v", file, events)
			}
			require.Positive(t, reached, "%s: no NUL reached an event, the case proves nothing", file)
		}
	}
	require.Greater(t, fixtures, 40)
}

// The walk reaches repeated fields, maps (keys and values) and strings only
// made of NULs; bytes that are not UTF-8 become U+FFFD.
func TestMakeStorableEveryShape(t *testing.T) {
	t.Parallel()
	ev := &crmpb.ChannelEvent{DedupeKey: "wamid.\x00x", Event: &crmpb.ChannelEvent_InboundMessage{InboundMessage: &crmpb.InboundMessage{
		Contact: &crmpb.ContactProfile{Name: "\x00\x00"},
		Message: &crmpb.Message{Text: "ol\xe1\x00!"},
	}}}
	channels.MakeStorable(ev)
	require.Equal(t, "wamid.x", ev.GetDedupeKey())
	require.Empty(t, ev.GetInboundMessage().GetContact().GetName())
	require.Equal(t, "ol\uFFFD!", ev.GetInboundMessage().GetMessage().GetText())

	state := &crmpb.BotState{Variables: map[string]string{"no\x00me": "Zé\x00", "ok": "sim"}}
	channels.MakeStorable(state)
	require.Equal(t, map[string]string{"nome": "Zé", "ok": "sim"}, state.GetVariables())

	mask := &fieldmaskpb.FieldMask{Paths: []string{"a\x00", "b"}}
	channels.MakeStorable(mask)
	require.Equal(t, []string{"a", "b"}, mask.GetPaths())
}
