package crm

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSignedText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ name, text, want string }{
		{"Bruno", "Olá! Em que posso ajudar?", "*Bruno:*\nOlá! Em que posso ajudar?"},
		{"  Ana Paula ", "oi", "*Ana Paula:*\noi"},
		{"*Bold*", "oi", "*Bold:*\noi"},           // asterisks would break the bold
		{"Two\nLines", "oi", "*Two Lines:*\noi"},  // the signature is one line
		{"", "oi", "oi"},                          // no name, no signature
		{"Bruno", "*Bruno:*\noi", "*Bruno:*\noi"}, // already signed
	} {
		require.Equal(t, c.want, SignedText(c.name, c.text), "%q %q", c.name, c.text)
	}
}
