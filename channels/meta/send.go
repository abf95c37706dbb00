package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"crm/channels"
	crmpb "crm/proto"
)

// Send implements channels.Provider: WhatsApp posts to
// /{phone_number_id}/messages, Messenger and Instagram to /me/messages.
func (p *Provider) Send(ctx context.Context, msg *channels.OutboundMessage) (*channels.SendResult, error) {
	if err := msg.Validate(); err != nil {
		return nil, err
	}
	if p.channel == crmpb.Channel_CHANNEL_WHATSAPP {
		if p.creds.PhoneNumberID == "" {
			return nil, &channels.SendError{Kind: channels.Permanent, Message: "connection has no phone_number_id"}
		}
		body, err := whatsAppRequest(msg)
		if err != nil {
			return nil, err
		}
		var resp struct {
			Contacts []struct {
				WaID flex `json:"wa_id"`
			} `json:"contacts"`
			Messages []struct {
				ID flex `json:"id"`
			} `json:"messages"`
		}
		if err := p.postJSON(ctx, p.graphURL(p.creds.PhoneNumberID, "messages"), body, &resp); err != nil {
			return nil, err
		}
		if len(resp.Messages) == 0 || resp.Messages[0].ID == "" {
			return nil, &channels.SendError{Kind: channels.Retryable, RetryAfter: 5 * time.Second,
				Message: "success response without a message id"}
		}
		res := &channels.SendResult{ExternalID: string(resp.Messages[0].ID)}
		if len(resp.Contacts) > 0 {
			res.RecipientID = string(resp.Contacts[0].WaID)
		}
		return res, nil
	}

	body, err := messagingRequest(p.channel, msg)
	if err != nil {
		return nil, err
	}
	var resp struct {
		RecipientID flex `json:"recipient_id"`
		MessageID   flex `json:"message_id"`
	}
	if err := p.postJSON(ctx, p.graphURL("me", "messages"), body, &resp); err != nil {
		return nil, err
	}
	if resp.MessageID == "" && msg.Type != channels.OutReaction {
		return nil, &channels.SendError{Kind: channels.Retryable, RetryAfter: 5 * time.Second,
			Message: "success response without a message id"}
	}
	return &channels.SendResult{ExternalID: string(resp.MessageID), RecipientID: string(resp.RecipientID)}, nil
}

func (p *Provider) graphURL(parts ...string) string {
	u := p.settings.GraphBaseURL + "/" + p.settings.APIVersion
	for _, part := range parts {
		u += "/" + urlPathEscape(part)
	}
	return u
}

// postJSON posts body with the bearer token and decodes a 2xx answer into
// out; any other answer becomes a *SendError.
func (p *Provider) postJSON(ctx context.Context, url string, body any, out any) error {
	payload, err := json.Marshal(body)
	if err != nil {
		return &channels.SendError{Kind: channels.Permanent, Message: "encoding request", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return &channels.SendError{Kind: channels.Permanent, Message: "building request", Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.creds.AccessToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return channels.TransportError(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return channels.TransportError(ctx, err)
	}
	if resp.StatusCode/100 != 2 {
		return MapError(resp.StatusCode, resp.Header, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		// Accepted, but we can't read the id: retrying could send twice, so
		// it is reported as permanent for a human to look at.
		return &channels.SendError{Kind: channels.Permanent, HTTPStatus: resp.StatusCode,
			Message: "unreadable success response", Err: err}
	}
	return nil
}

// Graph error codes and what they mean for a retry (CHANNELS.md).
var errorKinds = map[int]channels.SendErrorKind{
	131047: channels.WindowClosed, // more than 24 hours since the customer's last message
	131026: channels.Unreachable,  // message undeliverable
	130429: channels.RateLimited,  // cloud API throughput reached
	131056: channels.RateLimited,  // too many messages to the same recipient
	4:      channels.RateLimited,  // application request limit
	80007:  channels.RateLimited,  // WABA rate limit
	80006:  channels.RateLimited,  // Messenger rate limit
	613:    channels.RateLimited,  // calls exceed the rate limit
	131057: channels.Retryable,    // business account in maintenance
	131000: channels.Retryable,    // something went wrong
	131016: channels.Retryable,    // service unavailable
	133004: channels.Retryable,    // server temporarily unavailable
	1:      channels.Retryable,    // API unknown
	2:      channels.Retryable,    // API service
	131048: channels.Permanent,    // spam rate limit: don't hammer
	131050: channels.Permanent,    // user stopped marketing messages
	551:    channels.Unreachable,  // Messenger: this person isn't available
}

// Least waits before retrying, per code; a Retry-After header can only make
// them longer.
var retryAfter = map[int]time.Duration{
	130429: 2 * time.Second,
	131056: 6 * time.Second, // Meta allows about one message per 6 s per recipient
	4:      60 * time.Second,
	80007:  60 * time.Second,
	80006:  60 * time.Second,
	613:    60 * time.Second,
	131057: 60 * time.Second,
}

const defaultRetryAfter = 5 * time.Second

// MapError turns a non-2xx Graph answer into a typed *SendError: known
// error codes first (CHANNELS.md), else 5xx → Retryable, 429 → RateLimited,
// other 4xx → Permanent.
func MapError(status int, header http.Header, body []byte) *channels.SendError {
	var env struct {
		Error struct {
			Message   flex `json:"message"`
			Type      flex `json:"type"`
			Code      flex `json:"code"`
			Subcode   flex `json:"error_subcode"`
			FBTraceID flex `json:"fbtrace_id"`
			ErrorData struct {
				Details flex `json:"details"`
			} `json:"error_data"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	code := int(env.Error.Code.Int64())
	subcode := int(env.Error.Subcode.Int64())
	se := &channels.SendError{
		Code:       code,
		Subcode:    subcode,
		HTTPStatus: status,
		Message:    string(env.Error.Message),
		Details:    string(env.Error.ErrorData.Details),
		TraceID:    string(env.Error.FBTraceID),
	}
	if se.Message == "" {
		se.Message = http.StatusText(status)
	}
	kind, known := errorKinds[code]
	switch {
	case known:
		se.Kind = kind
	case code >= 132000 && code <= 132016:
		se.Kind = channels.Permanent // template errors: fix the template, don't retry
	case code == 10 && subcode == 2018278:
		se.Kind = channels.WindowClosed // Messenger: outside the allowed window
	default:
		se.Kind = channels.StatusKind(status)
	}
	if se.Kind == channels.Retryable || se.Kind == channels.RateLimited {
		se.RetryAfter = defaultRetryAfter
		if d, ok := retryAfter[code]; ok {
			se.RetryAfter = d
		}
		if d := parseRetryAfter(header); d > se.RetryAfter {
			se.RetryAfter = d
		}
	}
	return se
}

func parseRetryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

func urlPathEscape(s string) string {
	// Graph ids are digits or "me"; escape anything else so a bad id can't
	// change the path.
	var b bytes.Buffer
	for _, c := range []byte(s) {
		if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '.' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// SendsInteractive implements channels.InteractiveSender: WhatsApp shows
// reply buttons and lists.
func (p *Provider) SendsInteractive() bool { return p.channel == crmpb.Channel_CHANNEL_WHATSAPP }
