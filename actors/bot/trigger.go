package bot

import (
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Event is an inbound message seen by the trigger matcher.
type Event struct {
	ConnectionID uuid.UUID
	Text         string
	FirstMessage bool // the conversation is new (or reopened)
	InHours      bool
}

// Matches reports whether a flow's trigger starts a session for the event.
// A keyword matches the whole message or one of its words, without case
// or accents ("Quero COMPRAR" matches "comprar").
func Matches(t Trigger, e Event) bool {
	if len(t.ConnectionIDs) > 0 && !slices.Contains(t.ConnectionIDs, e.ConnectionID) {
		return false
	}
	switch t.On {
	case TriggerAlways:
		return true
	case TriggerFirstMessage:
		return e.FirstMessage
	case TriggerOutsideHours:
		return !e.InHours
	case TriggerKeyword:
		text := fold(e.Text)
		if text == "" {
			return false
		}
		padded := " " + wordsOnly(text) + " "
		for _, k := range t.Keywords {
			k = fold(k)
			if k == "" {
				continue
			}
			if k == text || strings.Contains(padded, " "+wordsOnly(k)+" ") {
				return true
			}
		}
	}
	return false
}

// wordsOnly turns punctuation into spaces, so "oi, comprar!" has the word
// "comprar".
func wordsOnly(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return !(r == '_' || r == '-' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') || r > 127)
	}), " ")
}
