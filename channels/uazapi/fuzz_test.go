package uazapi

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzParseWebhook: never panic; an error or events; every event has a
// dedupe key and encodes. (That the token never reaches an event is checked
// on every parse of the unit tests.)
func FuzzParseWebhook(f *testing.F) {
	for _, dir := range []string{filepath.Join(sharedFixtures(f), "uazapi"), "testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"EventType":"messages","message":{"messageType":"ReactionMessage","content":"x","reaction":{}}}`))
	f.Add([]byte(`{"EventType":"messages_update","event":{"Type":"read","MessageIDs":[1,"a",null]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		events, err := ParseWebhook(body, received)
		if err != nil {
			if events != nil {
				t.Fatal("events and an error")
			}
			return
		}
		if events == nil {
			t.Fatal("nil events without an error")
		}
		for _, ev := range events {
			if ev.GetDedupeKey() == "" || ev.GetEvent() == nil {
				t.Fatalf("incomplete event %v", ev)
			}
			if _, err := proto.Marshal(ev); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
	})
}
