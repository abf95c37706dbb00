package channels

import (
	"errors"
	"fmt"
	"time"

	"crm"
)

// Errors the HTTP layer maps with its one table: each wraps a crm sentinel.
var (
	// ErrInvalidSignature: missing or wrong webhook signature or secret → 401.
	ErrInvalidSignature = &crm.Error{Kind: crm.ErrUnauthenticated, Code: "invalid_signature",
		Message: "webhook signature missing or invalid"}
	// ErrHandshakeRejected: wrong hub.mode or verify token → 403.
	ErrHandshakeRejected = &crm.Error{Kind: crm.ErrForbidden, Code: "verification_failed",
		Message: "webhook verification rejected"}
	// ErrInvalidPayload: a body that is not the provider's JSON → 400.
	ErrInvalidPayload = &crm.Error{Kind: crm.ErrInvalid, Code: "invalid_payload",
		Message: "webhook body is not a valid provider payload"}
	// ErrUnsupported: the provider has no such operation.
	ErrUnsupported = &crm.Error{Kind: crm.ErrUnprocessable, Code: "unsupported_by_provider",
		Message: "operation not supported by this provider"}
	// ErrMediaChecksum: downloaded media does not match its SHA-256
	// (crm.CheckSHA256, which the media store applies too).
	ErrMediaChecksum = crm.ErrMediaChecksum
	// ErrMediaTooLarge: media beyond Settings.MaxMediaBytes.
	ErrMediaTooLarge = &crm.Error{Kind: crm.ErrTooLarge, Code: "media_too_large",
		Message: "media exceeds the size limit"}
)

// InvalidPayload wraps ErrInvalidPayload with the reason.
func InvalidPayload(err error) error {
	return fmt.Errorf("%w: %v", ErrInvalidPayload, err)
}

// SendErrorKind says what the engine should do about a failed send.
type SendErrorKind int

const (
	// Permanent: don't retry; mark the message failed.
	Permanent SendErrorKind = iota
	// Retryable: a transient failure (5xx, timeout, maintenance); retry
	// with backoff, no sooner than RetryAfter.
	Retryable
	// RateLimited: throughput reached; back off (RetryAfter) and retry.
	RateLimited
	// WindowClosed: the 24-hour window is closed; only a template may go.
	WindowClosed
	// Unreachable: the recipient can't receive messages (not on WhatsApp,
	// blocked, unavailable); don't retry.
	Unreachable
)

func (k SendErrorKind) String() string {
	switch k {
	case Retryable:
		return "retryable"
	case RateLimited:
		return "rate_limited"
	case WindowClosed:
		return "window_closed"
	case Unreachable:
		return "unreachable"
	default:
		return "permanent"
	}
}

// Sentinels for errors.Is on a *SendError's kind.
var (
	ErrSendPermanent   = errors.New("send failed permanently")
	ErrSendRetryable   = errors.New("send failed, retryable")
	ErrSendRateLimited = errors.New("send rate limited")
	ErrWindowClosed    = errors.New("24-hour window closed")
	ErrUnreachable     = errors.New("recipient unreachable")
)

// SendError is the typed error every Send returns.
type SendError struct {
	Kind SendErrorKind
	// RetryAfter is the least wait before retrying (Retryable, RateLimited).
	RetryAfter time.Duration
	// Code and Subcode are the provider's error codes (0 when none).
	Code    int
	Subcode int
	// HTTPStatus of the provider's answer (0 for transport errors).
	HTTPStatus int
	Message    string
	Details    string
	TraceID    string
	// Err is the underlying transport error, if any.
	Err error
}

func (e *SendError) Error() string {
	s := "send " + e.Kind.String()
	if e.Code != 0 {
		s += fmt.Sprintf(" (code %d)", e.Code)
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Details != "" {
		s += ": " + e.Details
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches the kind sentinels, so errors.Is(err, ErrWindowClosed) works.
func (e *SendError) Is(target error) bool {
	switch target {
	case ErrSendPermanent:
		return e.Kind == Permanent
	case ErrSendRetryable:
		return e.Kind == Retryable
	case ErrSendRateLimited:
		return e.Kind == RateLimited
	case ErrWindowClosed:
		return e.Kind == WindowClosed
	case ErrUnreachable:
		return e.Kind == Unreachable
	}
	return false
}

func (e *SendError) Unwrap() error { return e.Err }

// Temporary reports whether a later retry can succeed.
func (e *SendError) Temporary() bool { return e.Kind == Retryable || e.Kind == RateLimited }

// KindOf returns the kind of a send error; errors that are not *SendError
// count as Retryable (a context cancel, say, should not lose the message).
func KindOf(err error) SendErrorKind {
	var se *SendError
	if errors.As(err, &se) {
		return se.Kind
	}
	return Retryable
}

// IsRetryable reports whether the send may succeed later (Retryable or
// RateLimited).
func IsRetryable(err error) bool {
	k := KindOf(err)
	return err != nil && (k == Retryable || k == RateLimited)
}

// RetryAfter returns the least wait before retrying err, and whether
// retrying makes sense at all.
func RetryAfter(err error) (time.Duration, bool) {
	if !IsRetryable(err) {
		return 0, false
	}
	var se *SendError
	if errors.As(err, &se) {
		return se.RetryAfter, true
	}
	return 0, true
}
