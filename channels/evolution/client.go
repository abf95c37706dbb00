package evolution

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"crm"
	"crm/channels"
	crmpb "crm/proto"
)

type quoted struct {
	Key struct {
		ID string `json:"id"`
	} `json:"key"`
}

type sendText struct {
	Number string  `json:"number"`
	Text   string  `json:"text"`
	Quoted *quoted `json:"quoted,omitempty"`
}

type sendMedia struct {
	Number    string  `json:"number"`
	MediaType string  `json:"mediatype"`
	Mimetype  string  `json:"mimetype,omitempty"`
	Caption   string  `json:"caption,omitempty"`
	Media     string  `json:"media"`
	FileName  string  `json:"fileName,omitempty"`
	Quoted    *quoted `json:"quoted,omitempty"`
}

type sendAudio struct {
	Number string  `json:"number"`
	Audio  string  `json:"audio"`
	Quoted *quoted `json:"quoted,omitempty"`
}

type sendSticker struct {
	Number  string `json:"number"`
	Sticker string `json:"sticker"`
}

type sendLocation struct {
	Number    string  `json:"number"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type sendReaction struct {
	Key struct {
		RemoteJid string `json:"remoteJid"`
		FromMe    bool   `json:"fromMe"`
		ID        string `json:"id"`
	} `json:"key"`
	Reaction string `json:"reaction"`
}

// Send implements channels.Provider (Evolution API v2 routes): text, media
// by URL (audio as a voice note through sendWhatsAppAudio), sticker,
// location and reactions (to the customer's messages). Others are Permanent
// errors before any call.
func (p *Provider) Send(ctx context.Context, msg *channels.OutboundMessage) (*channels.SendResult, error) {
	if err := msg.Validate(); err != nil {
		return nil, err
	}
	number := channels.DigitsOnly(msg.To)
	var q *quoted
	if msg.ReplyTo != "" {
		q = &quoted{}
		q.Key.ID = msg.ReplyTo
	}
	var path string
	var body any
	switch msg.Type {
	case channels.OutText:
		path, body = "/message/sendText", sendText{Number: number, Text: msg.Text.Body, Quoted: q}
	case channels.OutImage, channels.OutVideo, channels.OutDocument, channels.OutAudio, channels.OutSticker:
		if msg.Media.Link == "" {
			return nil, &channels.SendError{Kind: channels.Permanent, Message: "evolution sends media by URL, not by upload id"}
		}
		switch msg.Type {
		case channels.OutAudio:
			path, body = "/message/sendWhatsAppAudio", sendAudio{Number: number, Audio: msg.Media.Link, Quoted: q}
		case channels.OutSticker:
			path, body = "/message/sendSticker", sendSticker{Number: number, Sticker: msg.Media.Link}
		default:
			req := sendMedia{Number: number, MediaType: string(msg.Type), Mimetype: msg.Media.MimeType,
				Caption: msg.Media.Caption, Media: msg.Media.Link, Quoted: q}
			if msg.Type == channels.OutDocument {
				req.FileName = msg.Media.Filename
			}
			path, body = "/message/sendMedia", req
		}
	case channels.OutLocation:
		l := msg.Location
		path, body = "/message/sendLocation", sendLocation{Number: number, Name: l.Name, Address: l.Address,
			Latitude: l.Latitude, Longitude: l.Longitude}
	case channels.OutReaction:
		r := sendReaction{Reaction: msg.Reaction.Emoji}
		r.Key.RemoteJid, r.Key.ID = number+"@s.whatsapp.net", msg.Reaction.MessageID
		path, body = "/message/sendReaction", r
	default:
		return nil, &channels.SendError{Kind: channels.Permanent, Message: "evolution adapter can't send " + string(msg.Type)}
	}
	var resp json.RawMessage
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodPost, URL: p.endpoint(path),
		Header: p.header(), Body: body}, &resp); err != nil {
		return nil, err
	}
	id := channels.ParseLoose(resp).Obj("key").Str("id")
	if id == "" {
		return nil, &channels.SendError{Kind: channels.Permanent, Message: "evolution answer without key.id"}
	}
	return &channels.SendResult{ExternalID: id, RecipientID: number}, nil
}

// Connect implements channels.InstanceManager: GET /instance/connect/{instance}
// (?number= for a pairing code).
func (p *Provider) Connect(ctx context.Context, phone string) (*channels.InstanceState, error) {
	u := p.endpoint("/instance/connect")
	if phone != "" {
		u += "?number=" + url.QueryEscape(channels.DigitsOnly(phone))
	}
	var resp json.RawMessage
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodGet, URL: u, Header: p.header()}, &resp); err != nil {
		return nil, fmt.Errorf("evolution connect: %w", err)
	}
	r := channels.ParseLoose(resp)
	st := &channels.InstanceState{
		Status:      crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTING,
		QRCode:      firstNonEmpty(r.Str("base64"), r.Str("code")),
		PairingCode: r.Str("pairingCode"),
	}
	if state := strings.ToLower(r.Obj("instance").Str("state")); state != "" {
		st.ProviderStatus, st.Status = state, connectionStates[state]
	}
	return st, nil
}

// Status implements channels.InstanceManager: GET /instance/connectionState/{instance}.
func (p *Provider) Status(ctx context.Context) (*channels.InstanceState, error) {
	var resp json.RawMessage
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodGet,
		URL: p.endpoint("/instance/connectionState"), Header: p.header()}, &resp); err != nil {
		return nil, fmt.Errorf("evolution status: %w", err)
	}
	state := strings.ToLower(channels.ParseLoose(resp).Obj("instance").Str("state"))
	return &channels.InstanceState{Status: connectionStates[state], ProviderStatus: state,
		LoggedIn: state == "open"}, nil
}

type webhookSet struct {
	Webhook struct {
		Enabled         bool     `json:"enabled"`
		URL             string   `json:"url"`
		WebhookByEvents bool     `json:"webhookByEvents"`
		WebhookBase64   bool     `json:"webhookBase64"`
		Events          []string `json:"events"`
	} `json:"webhook"`
}

// ConfigureWebhook implements channels.InstanceManager: POST /webhook/set/{instance}.
func (p *Provider) ConfigureWebhook(ctx context.Context, webhookURL string) error {
	var body webhookSet
	body.Webhook.Enabled = true
	body.Webhook.URL = webhookURL
	body.Webhook.Events = []string{"MESSAGES_UPSERT", "MESSAGES_UPDATE", "CONNECTION_UPDATE", "QRCODE_UPDATED"}
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodPost, URL: p.endpoint("/webhook/set"),
		Header: p.header(), Body: body}, nil); err != nil {
		return fmt.Errorf("evolution webhook: %w", err)
	}
	return nil
}

// FetchMedia downloads inbound media by message id through
// POST /chat/getBase64FromMediaMessage/{instance}, checked against the
// webhook's fileSha256.
func (p *Provider) FetchMedia(ctx context.Context, ref channels.MediaRef) (*channels.MediaContent, error) {
	if ref.ID == "" {
		return nil, fmt.Errorf("evolution media without message id: %w", channels.ErrInvalidPayload)
	}
	body := map[string]any{"message": map[string]any{"key": map[string]any{"id": ref.ID}}, "convertToMp4": false}
	var resp json.RawMessage
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodPost,
		URL: p.endpoint("/chat/getBase64FromMediaMessage"), Header: p.header(), Body: body}, &resp); err != nil {
		return nil, fmt.Errorf("evolution media %s: %w", ref.ID, err)
	}
	r := channels.ParseLoose(resp)
	b64 := r.Str("base64")
	if _, after, found := strings.Cut(b64, ";base64,"); found {
		b64 = after
	}
	if int64(len(b64))/4*3 > p.Settings.MaxMediaBytes {
		return nil, channels.ErrMediaTooLarge
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(data) == 0 {
		return nil, fmt.Errorf("evolution media %s: no data (%s): %w", ref.ID, strconv.Quote(r.Str("message")), channels.ErrInvalidPayload)
	}
	digest, err := crm.CheckSHA256(data, ref.SHA256)
	if err != nil {
		return nil, fmt.Errorf("evolution media %s: %w", ref.ID, err)
	}
	return &channels.MediaContent{Data: data, MimeType: firstNonEmpty(r.Str("mimetype"), ref.MimeType),
		SHA256: digest, Filename: r.Str("fileName")}, nil
}
