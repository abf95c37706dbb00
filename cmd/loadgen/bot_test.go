package main

import (
	"encoding/json"
	"os"
	"testing"

	"crm/actors/bot"
)

// The bot scenario counts on its flow making exactly one bot message per
// inbound message (the question on a start, the thank-you on an answer) and
// on the thank-you quoting the generator's text, whose number names the
// message: run the flow's steps on a generated webhook's text.
func TestOneQuestionFlowRepliesOncePerMessageQuotingIt(t *testing.T) {
	body := oneQuestionFlow("Pedido")
	delete(body, "name") // the API's fields, around the definition
	delete(body, "description")
	raw, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	f, err := bot.DecodeFlow(raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Trigger.On != "always" {
		t.Fatalf("trigger %q, want always", f.Trigger.On)
	}
	c, err := bot.Compile(f, 1)
	if err != nil {
		t.Fatal(err)
	}
	sends := func(acts []bot.Action) []string {
		var out []string
		for _, a := range acts {
			if a.Kind == bot.ActSendMessage {
				out = append(out, a.Message.Text)
			}
		}
		return out
	}
	env := bot.Env{Channel: "whatsapp"}
	st, acts := bot.Step(c, bot.State{}, bot.Input{Kind: bot.InputStart}, env)
	if got := sends(acts); len(got) != 1 || got[0] != botQuestion || st.Done {
		t.Fatalf("start: sends %q, done %v; want the question, waiting", got, st.Done)
	}

	gen := &webhookGen{run: "t", conns: []connection{{PhoneID: "1"}}, contacts: 3, batch: 1}
	gen.seq.Store(5_000_000_123)
	hookBody, _, n := gen.next(nil)
	var hook struct {
		Entry []struct {
			Changes []struct {
				Value struct {
					Messages []struct {
						Text struct {
							Body string `json:"body"`
						} `json:"text"`
					} `json:"messages"`
				} `json:"value"`
			} `json:"changes"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(hookBody, &hook); err != nil {
		t.Fatal(err)
	}
	text := hook.Entry[0].Changes[0].Value.Messages[0].Text.Body
	st, acts = bot.Step(c, st, bot.Input{Kind: bot.InputReply, Text: text}, env)
	got := sends(acts)
	if len(got) != 1 || !st.Done {
		t.Fatalf("answer: sends %q, done %v; want one thank-you and the end", got, st.Done)
	}
	if m, ok := thanksNumber(got[0]); !ok || m != n {
		t.Fatalf("thank-you %q names message %d (%v), want %d", got[0], m, ok, n)
	}
	if _, ok := thanksNumber(botQuestion); ok {
		t.Fatal("the question must not read as a thank-you")
	}
}

func TestProcCPUReadsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	for i := 0; i < 3_000_000; i++ { // some CPU to count
		_ = i * i
	}
	if _, ok := procCPU(os.Getpid()); !ok {
		t.Fatal("procCPU could not read this process")
	}
}
