// Package mailtest is a real SMTP server for tests: it listens on a random
// loopback port, accepts PLAIN auth with one user and keeps every message.
package mailtest

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The credentials the sink accepts.
const (
	User     = "crm"
	Password = "sink-secret"
)

// Message is one received e-mail.
type Message struct {
	From    string
	To      []string
	Subject string
	// Text is the body, its transfer encoding undone.
	Text string
	// Raw is the message as it came over the wire.
	Raw []byte
}

// Sink is a running SMTP server.
type Sink struct {
	// URL is the CRM_SMTP_URL that reaches it.
	URL    string
	server *smtp.Server
	mu     sync.Mutex
	msgs   []Message
	added  chan struct{}
}

// Start runs a sink until the test ends.
func Start(t testing.TB) *Sink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: %v", err)
	}
	s := &Sink{added: make(chan struct{}, 1)}
	s.server = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{sink: s}, nil }))
	s.server.Domain = "localhost"
	s.server.AllowInsecureAuth = true // loopback, no TLS
	s.server.ReadTimeout, s.server.WriteTimeout = 10*time.Second, 10*time.Second
	go s.server.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { s.server.Close() })
	s.URL = "smtp://" + User + ":" + Password + "@" + ln.Addr().String() + "?tls=none"
	return s
}

// Messages returns what was received so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the first message to to, waiting up to timeout for it.
func (s *Sink) Wait(t testing.TB, to string, timeout time.Duration) Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		for _, m := range s.Messages() {
			for _, rcpt := range m.To {
				if strings.EqualFold(rcpt, to) {
					return m
				}
			}
		}
		select {
		case <-s.added:
		case <-deadline:
			t.Fatalf("mailtest: no message to %s within %s", to, timeout)
		}
	}
}

type session struct {
	sink   *Sink
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != User || password != Password {
			return errors.New("invalid credentials")
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: s.to, Raw: raw}
	if parsed, err := netmail.ReadMessage(bytes.NewReader(raw)); err == nil {
		dec := new(mime.WordDecoder)
		if subject, err := dec.DecodeHeader(parsed.Header.Get("Subject")); err == nil {
			m.Subject = subject
		}
		var body io.Reader = parsed.Body
		if strings.EqualFold(parsed.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		text, _ := io.ReadAll(body)
		m.Text = strings.ReplaceAll(string(text), "\r\n", "\n")
	}
	s.sink.mu.Lock()
	s.sink.msgs = append(s.sink.msgs, m)
	s.sink.mu.Unlock()
	select {
	case s.sink.added <- struct{}{}:
	default:
	}
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
