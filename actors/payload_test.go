package actors

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm"
)

// fill sets every field of v, recursively, to a value that is not its zero:
// strings that need escaping, raw JSON with spaces to compact, times with
// nanoseconds, every pointer and slice non-nil.
func fill(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 11, 29, 3, 4, 5, 123456789, time.FixedZone("BRT", -3*3600))))
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i))
			}
		}
	case reflect.Array:
		for i := range v.Len() {
			v.Index(i).Set(reflect.ValueOf(byte(i*17 + 1)).Convert(v.Type().Elem()))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(`{ "id" : "x <y> & z",  "n": [1, 2.5e3] , "u": "\u00e9" }`))
			return
		}
		s := reflect.MakeSlice(v.Type(), 2, 2)
		fill(s.Index(0))
		fill(s.Index(1))
		v.Set(s)
	case reflect.String:
		v.SetString("Olá <b>&</b> \"aspas\" \\ \u2028 \x01 🎉 </script>")
	case reflect.Int, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-42)
	case reflect.Uint, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(42)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(-23.5505)
	case reflect.Bool:
		v.SetBool(true)
	}
}

// The event payloads are encoded by a faster library than encoding/json;
// consoles, the REST API and stored events must not tell them apart.
func TestEventPayloadsAreWhatEncodingJSONWrites(t *testing.T) {
	t.Parallel()
	var m crm.Message
	var c crm.Conversation
	fill(reflect.ValueOf(&m).Elem())
	fill(reflect.ValueOf(&c).Elem())

	want := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return string(b)
	}
	ev, err := messageCreated(&c, &m)
	require.NoError(t, err)
	require.Equal(t, "message.created", ev.Type)
	require.JSONEq(t, want(&m), want(mapWithout(t, ev.Payload, "conversation")))
	require.Equal(t, want(struct {
		*crm.Message
		Conversation *crm.Conversation `json:"conversation"`
	}{&m, &c}), string(ev.Payload))
	convEv, err := conversationEvent("conversation.updated", &c)
	require.NoError(t, err)
	require.Equal(t, want(&c), string(convEv.Payload))
	msgEv, err := messageEvent("message.updated", &c, &m)
	require.NoError(t, err)
	require.Equal(t, want(&m), string(msgEv.Payload))
	require.Equal(t, c.ID, *ev.ConversationID)
	require.Equal(t, c.AssigneeID, ev.AssigneeID)
	require.Equal(t, c.TeamID, ev.TeamID)
}

func mapWithout(t *testing.T, payload []byte, key string) map[string]any {
	var v map[string]any
	require.NoError(t, json.Unmarshal(payload, &v))
	require.Contains(t, v, key)
	delete(v, key)
	return v
}

// BenchmarkMessageCreated encodes the one event of an inbound text message
// in an existing conversation (message and conversation JSON).
func BenchmarkMessageCreated(b *testing.B) {
	var m crm.Message
	var c crm.Conversation
	fill(reflect.ValueOf(&m).Elem())
	fill(reflect.ValueOf(&c).Elem())
	m.Media, m.Location, m.Contacts, m.Reaction, m.Interactive, m.Template, m.Referral = nil, nil, nil, nil, nil, nil, nil
	m.ReplyToID, m.Error, m.SentBy, m.SentAt, m.DeliveredAt, m.ReadAt = nil, nil, nil, nil, nil, nil
	m.Text = "Olá, gostaria de saber o horário de funcionamento amanhã"
	c.LastMessagePreview, c.TeamID, c.FirstResponseAt, c.ResolvedAt, c.LabelIDs = m.Text, nil, nil, nil, nil
	b.ReportAllocs()
	for b.Loop() {
		ev, err := messageCreated(&c, &m)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(ev.Payload)))
	}
}

// A message whose stored JSON fields are not JSON (a provider's payload
// cut short) cannot be encoded: building its event is an error, not an
// event with no payload.
func TestEventOfAMessageThatCannotBeEncodedIsAnError(t *testing.T) {
	t.Parallel()
	c := crm.Conversation{ID: crm.NewID()}
	m := crm.Message{ID: crm.NewID(), Media: json.RawMessage(`{"id": "cut sho`)}
	_, err := messageCreated(&c, &m)
	require.Error(t, err)
	_, err = messageEvent("message.updated", &c, &m)
	require.Error(t, err)
	_, err = inboundEvents(&c, &m, true)
	require.Error(t, err)
	events, err := inboundEvents(&c, &crm.Message{ID: crm.NewID()}, true)
	require.NoError(t, err)
	require.Len(t, events, 2)
}
