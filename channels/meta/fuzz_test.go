package meta

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// seedFuzz adds the shared fixtures of dirs and our testdata files whose
// name starts with one of prefixes.
func seedFuzz(f *testing.F, dirs []string, prefixes []string) {
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(sharedFixtures(f), dir, "*.json"))
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, file := range files {
		for _, p := range prefixes {
			if strings.HasPrefix(filepath.Base(file), p) {
				if b, err := os.ReadFile(file); err == nil {
					f.Add(b)
				}
			}
		}
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"value":{"messages":[{"type":"image","image":"x"}]}}]}]}`))
	f.Add([]byte(`{"object":"page","entry":[{"messaging":[{"delivery":{"mids":[null,1]}}]}]}`))
	f.Add([]byte(`{"object":"instagram","entry":null}`))
}

// checkParse is the parsers' contract: never panic; either an error or
// events; every event has a dedupe key and survives proto encoding (the
// inbox stores it).
func checkParse(t *testing.T, body []byte) {
	events, err := ParseWebhook(body)
	if err != nil {
		if events != nil {
			t.Fatalf("events and an error: %v", err)
		}
		return
	}
	if events == nil {
		t.Fatal("nil events without an error")
	}
	for _, ev := range events {
		if ev.GetDedupeKey() == "" {
			t.Fatalf("event without dedupe key: %v", ev)
		}
		if ev.GetEvent() == nil {
			t.Fatalf("event without payload: %v", ev)
		}
		if _, err := proto.Marshal(ev); err != nil {
			t.Fatalf("event does not encode: %v", err)
		}
	}
}

func FuzzParseWhatsApp(f *testing.F) {
	seedFuzz(f, []string{"whatsapp"}, []string{"whatsapp_"})
	f.Fuzz(checkParse)
}

func FuzzParseMessaging(f *testing.F) {
	seedFuzz(f, []string{"messenger", "instagram"}, []string{"messenger_", "instagram_"})
	f.Fuzz(checkParse)
}
