package meta

import (
	"testing"

	"google.golang.org/protobuf/proto"
)

// A body with bytes that are not UTF-8 inside a string still parses into
// events that encode (protobuf strings must be valid UTF-8): the bad bytes
// become U+FFFD, as encoding/json does.
func TestInvalidUTF8InATextStillEncodes(t *testing.T) {
	body := []byte("{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"1\",\"changes\":[{\"field\":\"messages\",\"value\":{\"messaging_product\":\"whatsapp\",\"metadata\":{\"phone_number_id\":\"1\"},\"contacts\":[{\"profile\":{\"name\":\"Jo\xc3\"},\"wa_id\":\"5511987654321\"}],\"messages\":[{\"from\":\"5511987654321\",\"id\":\"wamid.x\",\"timestamp\":\"1732800000\",\"type\":\"text\",\"text\":{\"body\":\"ol\xff\xfe\"}}]}}]}]}")
	events, err := ParseWebhook(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d events", len(events))
	}
	if _, err := proto.Marshal(events[0]); err != nil {
		t.Fatalf("event does not encode: %v", err)
	}
	if got := events[0].GetInboundMessage().GetMessage().GetText(); got != "ol\uFFFD\uFFFD" {
		t.Fatalf("text %q", got)
	}
}
