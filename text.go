package crm

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
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

// FoldText is s as people compare words: without accents or case, spaces
// collapsed, punctuation and spaces trimmed at the ends ("  Não!" → "nao").
func FoldText(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	out = strings.ToLower(strings.Join(strings.Fields(out), " "))
	return strings.TrimFunc(out, func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSpace(r) })
}
