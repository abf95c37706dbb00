package channels

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// JSONCall is one JSON request to a provider API without Meta's error
// format (the unofficial gateways).
type JSONCall struct {
	Method string
	URL    string
	// Header holds the auth header (token, apikey); it is never logged.
	Header http.Header
	// Body is marshalled to JSON when not nil.
	Body any
}

// DoJSON runs call and decodes a 2xx answer into out (when not nil). Other
// answers become a *SendError classified by status (StatusKind), with the
// answer's message; transport failures are Retryable.
func DoJSON(ctx context.Context, client *http.Client, call JSONCall, out any) error {
	var body io.Reader
	if call.Body != nil {
		payload, err := json.Marshal(call.Body)
		if err != nil {
			return &SendError{Kind: Permanent, Message: "encoding request", Err: err}
		}
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, call.Method, call.URL, body)
	if err != nil {
		return &SendError{Kind: Permanent, Message: "building request", Err: err}
	}
	for k, v := range call.Header {
		req.Header[k] = v
	}
	if call.Body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return TransportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return TransportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		se := &SendError{Kind: StatusKind(resp.StatusCode), HTTPStatus: resp.StatusCode,
			Message: gatewayMessage(data, resp.StatusCode)}
		if se.Kind == Retryable || se.Kind == RateLimited {
			se.RetryAfter = 5 * time.Second
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 5 {
				se.RetryAfter = time.Duration(secs) * time.Second
			}
		}
		return se
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return &SendError{Kind: Permanent, HTTPStatus: resp.StatusCode, Message: "unreadable response", Err: err}
		}
	}
	return nil
}

// gatewayMessage pulls a human message out of an error answer.
func gatewayMessage(data []byte, status int) string {
	var body struct {
		Error    FlexString `json:"error"`
		Message  FlexString `json:"message"`
		Response struct {
			Message json.RawMessage `json:"message"`
		} `json:"response"`
	}
	if json.Unmarshal(data, &body) == nil {
		switch {
		case body.Error != "":
			return string(body.Error)
		case body.Message != "":
			return string(body.Message)
		case len(body.Response.Message) > 0:
			return string(body.Response.Message)
		}
	}
	return http.StatusText(status)
}
