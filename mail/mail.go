// Package mail sends the server's few e-mails (password reset links) over
// SMTP. The server holds it behind a one-method interface (httpapi.Mailer),
// so a node without SMTP configured simply has none.
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one plain-text e-mail to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
}

// Config says where and as whom to send.
type Config struct {
	// URL is CRM_SMTP_URL: smtp://user:pass@host:587 (STARTTLS required),
	// smtps://user:pass@host:465 (TLS from the first byte), or
	// smtp://host:1025?tls=none for a local relay or mail catcher that
	// speaks no TLS (credentials are then sent only to a loopback host).
	URL string
	// From is the sender address, "Name <addr>" or "addr".
	From string
	// Timeout bounds connecting and each SMTP command; default 15 seconds.
	Timeout time.Duration
}

// SMTP sends mail through one SMTP server, a new connection per message
// (these mails are rare).
type SMTP struct {
	host string
	opts []gomail.Option
	from string
	// display is the server without its credentials, for logs.
	display string
}

// NewSMTP checks the configuration; it does not connect.
func NewSMTP(cfg Config) (*SMTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, errors.New("mail: the SMTP URL does not parse") // the error would repeat the password
	}
	if u.Hostname() == "" {
		return nil, errors.New("mail: the SMTP URL names no host")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("mail: sender address %q: %w", cfg.From, err)
	}
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
	port := 0
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil || port <= 0 || port > 65535 {
			return nil, fmt.Errorf("mail: bad SMTP port %q", p)
		}
	}
	query := u.Query()
	switch u.Scheme {
	case "smtps":
		opts = append(opts, gomail.WithSSL())
		if port == 0 {
			port = gomail.DefaultPortSSL
		}
	case "smtp":
		switch tls := query.Get("tls"); tls {
		case "", "starttls":
			opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		case "none":
			opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		default:
			return nil, fmt.Errorf("mail: tls=%q: want starttls or none", tls)
		}
		if port == 0 {
			port = gomail.DefaultPortTLS
		}
	default:
		return nil, fmt.Errorf("mail: SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil && u.User.Username() != "" {
		password, _ := u.User.Password()
		// PLAIN over TLS, or to a loopback relay: go-mail refuses to send
		// it in clear to anything else.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(u.User.Username()),
			gomail.WithPassword(password))
	}
	return &SMTP{host: u.Hostname(), opts: opts, from: from.String(),
		display: u.Scheme + "://" + u.Host}, nil
}

// String names the server without credentials.
func (s *SMTP) String() string { return s.display }

// Send delivers one message.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("mail: sender: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("mail: recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	client, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := client.DialAndSendWithContext(ctx, msg); err != nil {
		return fmt.Errorf("mail: sending through %s: %w", s.display, err)
	}
	return nil
}
