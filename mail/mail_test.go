package mail_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"crm/mail"
	"crm/mail/mailtest"
)

func TestNewSMTPChecksTheURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, from, err string
	}{
		{"smtp://user:pass@mail.example.com:587", "no-reply@example.com", ""},
		{"smtps://user:pass@mail.example.com", "CRM <no-reply@example.com>", ""},
		{"smtp://localhost:1025?tls=none", "no-reply@example.com", ""},
		{"smtp://localhost:1025?tls=maybe", "no-reply@example.com", "tls="},
		{"http://mail.example.com", "no-reply@example.com", "scheme"},
		{"smtp://:25", "no-reply@example.com", "no host"},
		{"smtp://mail.example.com:99999", "no-reply@example.com", "port"},
		{"smtp://mail.example.com", "not an address", "sender"},
		{"smtp://user:se%cret@host", "no-reply@example.com", "does not parse"},
	} {
		m, err := mail.NewSMTP(mail.Config{URL: tc.url, From: tc.from})
		if tc.err == "" {
			require.NoError(t, err, tc.url)
			require.NotContains(t, m.String(), "pass", "the display form has no credentials")
			continue
		}
		require.ErrorContains(t, err, tc.err, tc.url)
		require.NotContains(t, err.Error(), "se%cret")
	}
}

func TestSMTPSendsToARealServer(t *testing.T) {
	t.Parallel()
	sink := mailtest.Start(t)
	m, err := mail.NewSMTP(mail.Config{URL: sink.URL, From: "CRM <no-reply@crm.test>", Timeout: 5 * time.Second})
	require.NoError(t, err)
	ctx := context.Background()
	long := "https://crm.test/redefinir-senha?token=" + strings.Repeat("x", 120)
	require.NoError(t, m.Send(ctx, mail.Message{To: "maria@acme.test", Subject: "Redefinição de senha", Text: "Olá, Maria.\n\n" + long + "\n"}))
	got := sink.Wait(t, "maria@acme.test", 5*time.Second)
	require.Equal(t, "no-reply@crm.test", got.From)
	require.Equal(t, "Redefinição de senha", got.Subject)
	require.Contains(t, got.Text, "Olá, Maria.")
	require.Contains(t, got.Text, long, "a long link survives the transfer encoding")

	// Wrong credentials: refused, and the error does not repeat them.
	bad, err := mail.NewSMTP(mail.Config{URL: strings.Replace(sink.URL, mailtest.Password, "wrong-secret", 1), From: "no-reply@crm.test"})
	require.NoError(t, err)
	err = bad.Send(ctx, mail.Message{To: "x@acme.test", Subject: "s", Text: "t"})
	require.Error(t, err)
	require.NotContains(t, err.Error(), "wrong-secret")

	// STARTTLS is required unless tls=none says otherwise; the sink offers none.
	strict, err := mail.NewSMTP(mail.Config{URL: strings.TrimSuffix(sink.URL, "?tls=none"), From: "no-reply@crm.test"})
	require.NoError(t, err)
	require.Error(t, strict.Send(ctx, mail.Message{To: "y@acme.test", Subject: "s", Text: "t"}))
	require.Len(t, sink.Messages(), 1)
}
