package sandbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"crm"
	"crm/channels/meta"
)

// envelope wraps one change value in Meta's WhatsApp webhook envelope.
func envelope(conn Connection, value map[string]any) ([]byte, error) {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]string{"display_phone_number": conn.DisplayPhoneNumber, "phone_number_id": conn.PhoneNumberID}
	body, err := json.Marshal(map[string]any{
		"object": "whatsapp_business_account",
		"entry": []any{map[string]any{"id": conn.WABAID, "changes": []any{
			map[string]any{"field": "messages", "value": value}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: encoding the webhook: %w", err)
	}
	return body, nil
}

func unixString(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

// statusWebhook is the webhook Meta posts when an outbound message changes
// status.
func statusWebhook(conn Connection, messageID, recipient, status, conversationID string, now time.Time) ([]byte, error) {
	st := map[string]any{"id": messageID, "status": status, "timestamp": unixString(now), "recipient_id": recipient}
	switch status {
	case "sent", "delivered":
		st["conversation"] = map[string]any{"id": conversationID, "origin": map[string]string{"type": "service"},
			"expiration_timestamp": unixString(now.Add(24 * time.Hour))}
		st["pricing"] = map[string]any{"billable": true, "pricing_model": "CBP", "category": "service"}
	case "failed":
		st["errors"] = []any{map[string]any{"code": 131026, "title": "Message undeliverable",
			"message": "Message undeliverable", "error_data": map[string]string{
				"details": "Message could not be delivered to the recipient (sandbox injected failure)."}}}
	}
	return envelope(conn, map[string]any{"statuses": []any{st}})
}

// post sends a signed webhook, retrying a few times as Meta does (Meta
// keeps trying for days; the sandbox gives up after attempts).
func (s *Sandbox) post(ctx context.Context, url, appSecret string, body []byte, attempts int) error {
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(i*i) * 200 * time.Millisecond):
			}
		}
		status, err := s.postOnce(ctx, url, appSecret, body)
		if err == nil && status/100 == 2 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("%w: HTTP %d", errWebhookRejected, status)
			if status/100 == 4 {
				return err // our endpoint refused it; repeating won't help
			}
		}
		lastErr = err
	}
	return lastErr
}

func (s *Sandbox) postOnce(ctx context.Context, url, appSecret string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set(meta.SignatureHeader, meta.Sign(appSecret, body))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// InboundRequest is a simulated customer message, in the WhatsApp message
// shape: the part matching Type is used.
type InboundRequest struct {
	From string `json:"from"`
	Name string `json:"name"`
	// Type: text, image, audio, video, document, sticker, location, contacts,
	// reaction, interactive, button, unsupported.
	Type        string              `json:"type"`
	Text        string              `json:"text,omitempty"`
	Media       *InboundMedia       `json:"media,omitempty"`
	Location    *InboundPlace       `json:"location,omitempty"`
	Contacts    json.RawMessage     `json:"contacts,omitempty"` // WhatsApp contact cards, as Meta sends them
	Reaction    *InboundReaction    `json:"reaction,omitempty"`
	Interactive *InboundInteractive `json:"interactive,omitempty"`
	Button      *InboundButton      `json:"button,omitempty"`
	Context     *InboundContext     `json:"context,omitempty"`
	Referral    json.RawMessage     `json:"referral,omitempty"` // a click-to-WhatsApp ad, as Meta sends it
	// ID reuses a message id (to simulate Meta delivering a webhook twice);
	// default a new wamid.
	ID string `json:"id,omitempty"`
}

// InboundReaction reacts to one of our messages; an empty emoji removes it.
type InboundReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// InboundInteractive is a tap on one of our buttons or list rows.
type InboundInteractive struct {
	Type        string `json:"type"` // button_reply or list_reply
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// InboundButton is a tap on a template's quick-reply button.
type InboundButton struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

// InboundContext makes the message a reply to message_id, or forwarded.
type InboundContext struct {
	MessageID string `json:"message_id"`
	Forwarded bool   `json:"forwarded,omitempty"`
}

// InboundMedia is the file a customer sends: inline or fetched from a URL.
type InboundMedia struct {
	MimeType   string `json:"mime_type"`
	Filename   string `json:"filename,omitempty"`
	Caption    string `json:"caption,omitempty"`
	Voice      bool   `json:"voice,omitempty"`
	Animated   bool   `json:"animated,omitempty"`
	DataBase64 string `json:"data_base64,omitempty"`
	URL        string `json:"url,omitempty"`
}

// InboundPlace is a shared location.
type InboundPlace struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Name      string   `json:"name,omitempty"`
	Address   string   `json:"address,omitempty"`
	URL       string   `json:"url,omitempty"`
}

// InboundResult says what the simulator posted.
type InboundResult struct {
	MessageID     string `json:"message_id"`
	MediaID       string `json:"media_id,omitempty"`
	WebhookStatus int    `json:"webhook_status"`
	// Payload is the webhook body exactly as signed and posted.
	Payload json.RawMessage `json:"payload"`
}

func fieldError(field, message string) error {
	fields := crm.FieldErrors{}
	fields.Add(field, "%s", message)
	return fields.Err()
}

// Inbound builds the WhatsApp webhook a customer's message would cause,
// signs it with the connection's app secret and posts it to the
// connection's webhook URL on this server (Config.BaseURL).
// Invalid input is a crm.ErrInvalid field error; a webhook answered with
// anything but 2xx is crm.ErrUnprocessable webhook_rejected.
func (s *Sandbox) Inbound(ctx context.Context, conn Connection, in InboundRequest) (*InboundResult, error) {
	from := onlyDigits(in.From)
	if len(from) < 8 || len(from) > 15 {
		return nil, fieldError("from", "must be a phone number with 8 to 15 digits")
	}
	now := s.cfg.Now()
	id := in.ID
	if id == "" {
		id = newWAMID()
	}
	msg := map[string]any{"from": from, "id": id, "timestamp": unixString(now), "type": in.Type}
	res := &InboundResult{MessageID: id}
	switch in.Type {
	case "text":
		if strings.TrimSpace(in.Text) == "" {
			return nil, fieldError("text", "is required for a text message")
		}
		msg["text"] = map[string]string{"body": in.Text}
	case "image", "audio", "video", "document", "sticker":
		media, err := s.inboundMedia(ctx, conn, in)
		if err != nil {
			return nil, err
		}
		res.MediaID = media["id"].(string)
		msg[in.Type] = media
	case "location":
		l := in.Location
		if l == nil || l.Latitude == nil || l.Longitude == nil || *l.Latitude < -90 || *l.Latitude > 90 ||
			*l.Longitude < -180 || *l.Longitude > 180 {
			return nil, fieldError("location", "needs latitude (-90..90) and longitude (-180..180)")
		}
		loc := map[string]any{"latitude": *l.Latitude, "longitude": *l.Longitude}
		for k, v := range map[string]string{"name": l.Name, "address": l.Address, "url": l.URL} {
			if v != "" {
				loc[k] = v
			}
		}
		msg["location"] = loc
	case "contacts":
		var cards []map[string]any
		if err := json.Unmarshal(in.Contacts, &cards); err != nil || len(cards) == 0 {
			return nil, fieldError("contacts", "must be a non-empty array of contact cards")
		}
		for _, c := range cards {
			name, _ := c["name"].(map[string]any)
			if formatted, _ := name["formatted_name"].(string); formatted == "" {
				return nil, fieldError("contacts", "each contact needs name.formatted_name")
			}
		}
		msg["contacts"] = cards
	case "reaction":
		if in.Reaction == nil || in.Reaction.MessageID == "" {
			return nil, fieldError("reaction.message_id", "is required")
		}
		r := map[string]string{"message_id": in.Reaction.MessageID}
		if in.Reaction.Emoji != "" {
			r["emoji"] = in.Reaction.Emoji
		}
		msg["reaction"] = r
	case "interactive":
		it := in.Interactive
		if it == nil || it.ID == "" || it.Title == "" || (it.Type != "button_reply" && it.Type != "list_reply") {
			return nil, fieldError("interactive", "needs type button_reply or list_reply, id and title")
		}
		reply := map[string]string{"id": it.ID, "title": it.Title}
		if it.Type == "list_reply" && it.Description != "" {
			reply["description"] = it.Description
		}
		msg["interactive"] = map[string]any{"type": it.Type, it.Type: reply}
	case "button":
		if in.Button == nil || in.Button.Text == "" {
			return nil, fieldError("button", "needs text (and the template's payload)")
		}
		msg["button"] = map[string]string{"payload": in.Button.Payload, "text": in.Button.Text}
	case "unsupported":
		msg["errors"] = []any{map[string]any{"code": 131051, "title": "Message type unknown",
			"message": "Message type unknown", "error_data": map[string]string{"details": "Message type is currently not supported."}}}
	default:
		return nil, fieldError("type", "must be text, image, audio, video, document, sticker, location, contacts, reaction, interactive, button or unsupported")
	}
	if in.Context != nil && (in.Context.MessageID != "" || in.Context.Forwarded) {
		ctxObj := map[string]any{}
		if in.Context.MessageID != "" {
			ctxObj["from"] = onlyDigits(conn.DisplayPhoneNumber)
			ctxObj["id"] = in.Context.MessageID
		}
		if in.Context.Forwarded {
			ctxObj["forwarded"] = true
		}
		msg["context"] = ctxObj
	}
	if len(in.Referral) > 0 && string(in.Referral) != "null" {
		var referral map[string]any
		if err := json.Unmarshal(in.Referral, &referral); err != nil {
			return nil, fieldError("referral", "must be an object")
		}
		msg["referral"] = referral
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		name = "Cliente " + from[len(from)-4:]
	}
	body, err := envelope(conn, map[string]any{
		"contacts": []any{map[string]any{"profile": map[string]string{"name": name}, "wa_id": from}},
		"messages": []any{msg},
	})
	if err != nil {
		return res, err
	}
	res.Payload = body
	status, err := s.postOnce(ctx, s.WebhookURL(conn.ID), conn.AppSecret, body)
	res.WebhookStatus = status
	if err != nil {
		return res, fmt.Errorf("sandbox: posting the inbound webhook: %w", err)
	}
	if status/100 != 2 {
		return res, crm.NewError(crm.ErrUnprocessable, "webhook_rejected", "our webhook endpoint did not accept the message",
			map[string]any{"webhook_status": status})
	}
	return res, nil
}

// inboundMedia stores the customer's file in the sandbox (as Meta holds
// inbound media) and returns the webhook's media object.
func (s *Sandbox) inboundMedia(ctx context.Context, conn Connection, in InboundRequest) (map[string]any, error) {
	m := in.Media
	if m == nil || (m.DataBase64 == "") == (m.URL == "") {
		return nil, fieldError("media", "needs exactly one of data_base64 and url")
	}
	var data []byte
	mimeType := m.MimeType
	if m.DataBase64 != "" {
		var err error
		if data, err = base64.StdEncoding.DecodeString(m.DataBase64); err != nil {
			return nil, fieldError("media.data_base64", "must be standard base64")
		}
	} else {
		u, err := url.Parse(m.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fieldError("media.url", "must be an http(s) URL")
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fieldError("media.url", "must be an http(s) URL")
		}
		resp, err := s.mediaFetch.Do(req)
		if err != nil {
			return nil, fieldError("media.url", "could not be fetched: "+err.Error())
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return nil, fieldError("media.url", fmt.Sprintf("answered HTTP %d", resp.StatusCode))
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxFileBytes+1)); err != nil {
			return nil, fieldError("media.url", "could not be read")
		}
		if mimeType == "" {
			mimeType = resp.Header.Get("Content-Type")
		}
	}
	if len(data) == 0 {
		return nil, fieldError("media", "is empty")
	}
	if int64(len(data)) > s.cfg.MaxFileBytes {
		return nil, crm.NewError(crm.ErrTooLarge, "media_too_large", "the sandbox keeps files up to its limit",
			map[string]any{"limit_bytes": s.cfg.MaxFileBytes})
	}
	if mimeType == "" {
		mimeType = http.DetectContentType(data)
	}
	if in.Type == "sticker" && mimeType != "image/webp" {
		return nil, fieldError("media.mime_type", "a sticker is image/webp")
	}
	if in.Type == "audio" && m.Voice {
		mimeType = "audio/ogg; codecs=opus"
	}
	stored, err := s.storeMedia(conn.ID, data, mimeType, m.Filename)
	if err != nil {
		return nil, fieldError("media", err.Error())
	}
	// Meta's webhook checksum is base64 of the SHA-256.
	sum, _ := hexToBase64(stored.sha256)
	out := map[string]any{"id": stored.id, "mime_type": mimeType, "sha256": sum}
	switch in.Type {
	case "image", "video":
		if m.Caption != "" {
			out["caption"] = m.Caption
		}
	case "document":
		if m.Caption != "" {
			out["caption"] = m.Caption
		}
		filename := m.Filename
		if filename == "" {
			filename = "documento"
		}
		out["filename"] = filename
	case "audio":
		out["voice"] = m.Voice
	case "sticker":
		out["animated"] = m.Animated
	}
	return out, nil
}
