package channels

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Helpers shared by the adapters: lenient JSON scalars, timestamps, checksums
// and constant-time comparison.

// FlexString decodes a JSON string, number or bool as a string: providers
// are inconsistent (Meta's timestamps are strings, Messenger's numbers).
type FlexString string

func (f *FlexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if b[0] == '"' {
		if s, ok := plainJSONString(b); ok {
			*f = FlexString(s)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = FlexString(s)
		return nil
	}
	if b[0] == '{' || b[0] == '[' {
		// An object where a scalar was expected: keep nothing rather than
		// failing the whole batch.
		*f = ""
		return nil
	}
	*f = FlexString(b)
	return nil
}

// plainJSONString returns the contents of a quoted JSON string that needs
// no decoding (no escapes, no control characters, valid UTF-8): most of a
// webhook's strings, which then cost one copy instead of a pass through
// encoding/json.
func plainJSONString(b []byte) (string, bool) {
	if len(b) < 2 || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	ascii := true
	for _, c := range in {
		if c == '\\' || c == '"' || c < 0x20 {
			return "", false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	if !ascii && !utf8.Valid(in) {
		return "", false // encoding/json replaces invalid bytes with U+FFFD
	}
	return string(in), true
}

// Int64 parses the value as an integer (floats are truncated); 0 when it is
// not a number.
func (f FlexString) Int64() int64 {
	s := strings.TrimSpace(string(f))
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) &&
		v < math.MaxInt64 && v > math.MinInt64 {
		return int64(v)
	}
	return 0
}

// Bool is true for true, "true" and non-zero numbers.
func (f FlexString) Bool() bool {
	s := strings.ToLower(strings.TrimSpace(string(f)))
	return s == "true" || (s != "" && s != "false" && s != "0" && f.Int64() != 0)
}

// Float parses the value as a float; 0 when it is not a finite number.
func (f FlexString) Float() float64 {
	v, err := strconv.ParseFloat(strings.TrimSpace(string(f)), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// UnixMillis normalises a provider timestamp to unix milliseconds: values
// below 1e11 are seconds (1e11 s is the year 5138; 1e11 ms is 1973), larger
// ones milliseconds, and values above 1e14 microseconds.
func UnixMillis(v int64) int64 {
	switch {
	case v <= 0:
		return 0
	case v < 1e11:
		return v * 1000
	case v > 1e14:
		return v / 1000
	default:
		return v
	}
}

// DedupeKey builds a stable key from parts; used for events without a
// provider id of their own.
func DedupeKey(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}

// SecretEqual compares two secrets in constant time. An empty expected
// secret never matches: a misconfigured connection must not accept anyone.
func SecretEqual(expected, got string) bool {
	if expected == "" {
		return false
	}
	e := sha256.Sum256([]byte(expected))
	g := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(e[:], g[:]) == 1
}

// ReadLimited reads at most limit bytes of r; more is ErrMediaTooLarge.
func ReadLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, ErrMediaTooLarge
	}
	return data, nil
}

// TransportError classifies an error from http.Client.Do: timeouts and
// connection failures are Retryable; a cancelled context is returned as is,
// wrapped, and also Retryable (the message is not lost). An address the
// egress guard refused is Permanent: retrying reaches the same address.
func TransportError(ctx context.Context, err error) *SendError {
	if errors.Is(err, ErrForbiddenAddress) {
		return &SendError{Kind: Permanent, Message: "provider address refused", Err: err}
	}
	se := &SendError{Kind: Retryable, Message: "provider unreachable", Err: err}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		se.Message = "provider timeout"
	}
	if ctx.Err() != nil {
		se.Message = "cancelled"
	}
	return se
}

// StatusKind is the fallback classification of an HTTP status when the body
// names no known error code: 5xx and 408 retry, 429 backs off, other 4xx are
// permanent.
func StatusKind(status int) SendErrorKind {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status >= 500, status == http.StatusRequestTimeout:
		return Retryable
	default:
		return Permanent
	}
}

// LogValue masks every secret so credentials can be logged by accident
// without leaking.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("access_token", mask(c.AccessToken)),
		slog.String("app_secret", mask(c.AppSecret)),
		slog.String("verify_token", mask(c.VerifyToken)),
		slog.String("phone_number_id", c.PhoneNumberID),
		slog.String("waba_id", c.WABAID),
		slog.String("page_id", c.PageID),
		slog.String("ig_account_id", c.IGAccountID),
		slog.String("base_url", c.BaseURL),
		slog.String("instance_name", c.InstanceName),
		slog.String("instance_token", mask(c.InstanceToken)),
		slog.String("admin_token", mask(c.AdminToken)),
		slog.String("webhook_secret", mask(c.WebhookSecret)),
	)
}

// String masks secrets too (fmt's %v, %+v).
func (c Credentials) String() string { return c.LogValue().String() }

// GoString masks secrets for %#v.
func (c Credentials) GoString() string { return c.String() }

func mask(s string) string {
	if s == "" {
		return ""
	}
	return "***"
}

// VerifyURLSecret is the check of the unofficial gateways, which sign
// nothing: the webhook URL's secret segment, then a credential the gateway
// echoes in the body (field), both compared in constant time. A wrong or
// missing one wraps ErrInvalidSignature (401); a body that is not a JSON
// object after a good URL secret is ErrInvalidPayload (400).
func VerifyURLSecret(gateway, webhookSecret, field, expected string, req WebhookRequest) error {
	if !SecretEqual(webhookSecret, req.PathSecret) {
		return fmt.Errorf("%w: webhook url secret mismatch", ErrInvalidSignature)
	}
	payload := ParseLoose(req.Body)
	if payload == nil {
		return InvalidPayload(fmt.Errorf("%s webhook body is not a JSON object", gateway))
	}
	if !SecretEqual(expected, payload.Str(field)) {
		return fmt.Errorf("%w: %s mismatch", ErrInvalidSignature, field)
	}
	return nil
}
