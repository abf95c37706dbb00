package meta

import (
	"os"
	"path/filepath"
	"testing"

	crmpb "crm/proto"

	"google.golang.org/protobuf/proto"
)

// sharedFixtures is ../shared/fixtures beside the repository: from this
// package's directory (channels/meta) that is three levels up.
func sharedFixtures(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(wd, "..", "..", "..", "shared", "fixtures")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("shared fixtures not found at %s: %v", dir, err)
	}
	return dir
}

func fixture(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{sharedFixtures(t)}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, body []byte) []*crmpb.ChannelEvent {
	t.Helper()
	events, err := ParseWebhook(body)
	if err != nil {
		t.Fatalf("ParseWebhook: %v", err)
	}
	return events
}

// parseOne parses body and requires exactly one event.
func parseOne(t *testing.T, body []byte) *crmpb.ChannelEvent {
	t.Helper()
	events := parse(t, body)
	if len(events) != 1 {
		t.Fatalf("want 1 event, got %d: %v", len(events), events)
	}
	return events[0]
}

// inbound returns the event's inbound message, failing otherwise.
func inbound(t *testing.T, ev *crmpb.ChannelEvent) (*crmpb.ContactProfile, *crmpb.Message) {
	t.Helper()
	in := ev.GetInboundMessage()
	if in == nil {
		t.Fatalf("want an inbound message, got %T", ev.GetEvent())
	}
	return in.GetContact(), in.GetMessage()
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func protoEq(t *testing.T, what string, got, want proto.Message) {
	t.Helper()
	if !proto.Equal(got, want) {
		t.Errorf("%s =\n  %v\nwant\n  %v", what, got, want)
	}
}
