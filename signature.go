package crm

import "strings"

// SignedText puts an agent's signature on a text message: their name in
// WhatsApp bold on the first line ("*Bruno:*"), so the customer sees who
// answered. A text already starting with the signature is left alone (a
// retried send).
func SignedText(name, text string) string {
	name = strings.TrimSpace(strings.NewReplacer("*", "", "\n", " ", "\r", " ").Replace(name))
	if name == "" {
		return text
	}
	signature := "*" + name + ":*\n"
	if strings.HasPrefix(text, signature) {
		return text
	}
	return signature + text
}
