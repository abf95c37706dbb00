package crm

import (
	"strings"
	"unicode/utf8"
)

// StorableText is s as PostgreSQL can store it in text and jsonb: without
// NUL characters (which neither accepts) and with bytes that are not UTF-8
// replaced by U+FFFD. Text from outside that cannot be refused (a provider's
// webhook, already acknowledged) goes through it; API input with either is
// refused instead.
func StorableText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
