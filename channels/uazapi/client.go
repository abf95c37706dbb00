package uazapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"crm"
	"crm/channels"
	crmpb "crm/proto"
)

type sendTextRequest struct {
	Number      string `json:"number"`
	Text        string `json:"text"`
	ReplyID     string `json:"replyid,omitempty"`
	TrackSource string `json:"track_source,omitempty"`
	TrackID     string `json:"track_id,omitempty"`
}

type sendMediaRequest struct {
	Number      string `json:"number"`
	Type        string `json:"type"`
	File        string `json:"file"`
	DocName     string `json:"docName,omitempty"`
	Text        string `json:"text,omitempty"`
	ReplyID     string `json:"replyid,omitempty"`
	TrackSource string `json:"track_source,omitempty"`
	TrackID     string `json:"track_id,omitempty"`
}

// Send implements channels.Provider: text (POST /send/text) and media
// (POST /send/media, by URL; the gateway has no upload ids). Other types
// are not offered by this adapter and fail as Permanent before any call.
func (p *Provider) Send(ctx context.Context, msg *channels.OutboundMessage) (*channels.SendResult, error) {
	if err := msg.Validate(); err != nil {
		return nil, err
	}
	number := channels.DigitsOnly(msg.To)
	var path string
	var body any
	switch msg.Type {
	case channels.OutText:
		path = "/send/text"
		body = sendTextRequest{Number: number, Text: msg.Text.Body, ReplyID: msg.ReplyTo,
			TrackSource: msg.TrackSource, TrackID: msg.TrackID}
	case channels.OutImage, channels.OutVideo, channels.OutDocument, channels.OutAudio, channels.OutSticker:
		if msg.Media.Link == "" {
			return nil, &channels.SendError{Kind: channels.Permanent, Message: "uazapi sends media by URL, not by upload id"}
		}
		typ := string(msg.Type)
		if msg.Type == channels.OutAudio && msg.Media.Voice {
			typ = "ptt"
		}
		req := sendMediaRequest{Number: number, Type: typ, File: msg.Media.Link, ReplyID: msg.ReplyTo,
			TrackSource: msg.TrackSource, TrackID: msg.TrackID}
		if msg.Type != channels.OutAudio && msg.Type != channels.OutSticker {
			req.Text = msg.Media.Caption
		}
		if msg.Type == channels.OutDocument {
			req.DocName = msg.Media.Filename
		}
		path, body = "/send/media", req
	default:
		return nil, &channels.SendError{Kind: channels.Permanent, Message: "uazapi adapter can't send " + string(msg.Type)}
	}
	var resp json.RawMessage
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodPost, URL: p.Base + path,
		Header: p.header(), Body: body}, &resp); err != nil {
		return nil, err
	}
	id := sentMessageID(channels.ParseLoose(resp))
	if id == "" {
		return nil, &channels.SendError{Kind: channels.Permanent, Message: "uazapi answer without a message id"}
	}
	return &channels.SendResult{ExternalID: id, RecipientID: number}, nil
}

// sentMessageID finds the WhatsApp id in a send answer: messageid, or the
// part after "owner:" in id, at the top or under "message"/"key".
func sentMessageID(resp channels.Loose) string {
	for _, obj := range []channels.Loose{resp, resp.Obj("message"), resp.Obj("key")} {
		if id := obj.Str("messageid", "messageId"); id != "" {
			return id
		}
		if id := obj.Str("id"); id != "" {
			if _, after, found := strings.Cut(id, ":"); found {
				return after
			}
			return id
		}
	}
	return ""
}

// Connect implements channels.InstanceManager: POST /instance/connect,
// with {"phone"} to get a pairing code instead of a QR code.
func (p *Provider) Connect(ctx context.Context, phone string) (*channels.InstanceState, error) {
	body := map[string]string{}
	if phone != "" {
		body["phone"] = channels.DigitsOnly(phone)
	}
	var resp json.RawMessage
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodPost, URL: p.Base + "/instance/connect",
		Header: p.header(), Body: body}, &resp); err != nil {
		return nil, fmt.Errorf("uazapi connect: %w", err)
	}
	return instanceState(channels.ParseLoose(resp)), nil
}

// Status implements channels.InstanceManager: GET /instance/status.
func (p *Provider) Status(ctx context.Context) (*channels.InstanceState, error) {
	var resp json.RawMessage
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodGet, URL: p.Base + "/instance/status",
		Header: p.header()}, &resp); err != nil {
		return nil, fmt.Errorf("uazapi status: %w", err)
	}
	return instanceState(channels.ParseLoose(resp)), nil
}

func instanceState(resp channels.Loose) *channels.InstanceState {
	inst := resp.Obj("instance")
	st := resp.Obj("status")
	name := strings.ToLower(firstNonEmpty(inst.Str("status"), resp.Str("status")))
	out := &channels.InstanceState{
		Status:         connectionStatuses[name],
		ProviderStatus: name,
		QRCode:         firstNonEmpty(inst.Str("qrcode"), resp.Str("qrcode")),
		PairingCode:    firstNonEmpty(inst.Str("paircode", "pairingCode"), resp.Str("paircode", "pairingCode")),
		ProfileName:    inst.Str("profileName"),
		Owner:          firstNonEmpty(st.Obj("jid").Str("user"), channels.JIDUser(st.Str("jid")), inst.Str("owner")),
		LoggedIn:       st.Bool("loggedIn") || resp.Bool("loggedIn"),
	}
	if st.Bool("connected") || resp.Bool("connected") {
		out.Status = crmpb.ConnectionStatus_CONNECTION_STATUS_CONNECTED
	}
	return out
}

type webhookConfig struct {
	URL             string   `json:"url"`
	Events          []string `json:"events"`
	ExcludeMessages []string `json:"excludeMessages"`
}

// ConfigureWebhook implements channels.InstanceManager: POST /webhook with
// the events we parse, excluding the echoes of our own API sends.
func (p *Provider) ConfigureWebhook(ctx context.Context, url string) error {
	body := webhookConfig{URL: url, Events: []string{"messages", "messages_update", "connection"},
		ExcludeMessages: []string{"wasSentByApi"}}
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodPost, URL: p.Base + "/webhook",
		Header: p.header(), Body: body}, nil); err != nil {
		return fmt.Errorf("uazapi webhook: %w", err)
	}
	return nil
}

// FetchMedia downloads inbound media by message id: POST /message/download
// answers with a fileURL (or base64) of the decrypted file (UNCONFIRMED
// shape, read defensively), checked against the webhook's fileSHA256.
func (p *Provider) FetchMedia(ctx context.Context, ref channels.MediaRef) (*channels.MediaContent, error) {
	if ref.ID == "" {
		return nil, fmt.Errorf("uazapi media without message id: %w", channels.ErrInvalidPayload)
	}
	var resp json.RawMessage
	if err := channels.DoJSON(ctx, p.Client, channels.JSONCall{Method: http.MethodPost, URL: p.Base + "/message/download",
		Header: p.header(), Body: map[string]any{"id": ref.ID, "return_link": true}}, &resp); err != nil {
		return nil, fmt.Errorf("uazapi media %s: %w", ref.ID, err)
	}
	answer := channels.ParseLoose(resp)
	mimeType := firstNonEmpty(answer.Str("mimetype", "mimeType"), ref.MimeType)
	var data []byte
	if b64 := answer.Str("base64Data", "base64"); b64 != "" {
		if _, after, found := strings.Cut(b64, ";base64,"); found {
			b64 = after
		}
		decoded, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("uazapi media %s: %w", ref.ID, channels.InvalidPayload(err))
		}
		if int64(len(decoded)) > p.Settings.MaxMediaBytes {
			return nil, channels.ErrMediaTooLarge
		}
		data = decoded
	} else {
		fileURL := answer.Str("fileURL", "fileUrl", "url")
		if fileURL == "" {
			return nil, fmt.Errorf("uazapi media %s: no file in answer: %w", ref.ID, channels.ErrInvalidPayload)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fileURL, nil)
		if err != nil {
			return nil, fmt.Errorf("uazapi media %s: %w", ref.ID, err)
		}
		resp, err := p.Client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("uazapi media %s: %w", ref.ID, channels.TransportError(ctx, err))
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("uazapi media %s: download status %d: %w", ref.ID, resp.StatusCode,
				&channels.SendError{Kind: channels.StatusKind(resp.StatusCode), HTTPStatus: resp.StatusCode})
		}
		if data, err = channels.ReadLimited(resp.Body, p.Settings.MaxMediaBytes); err != nil {
			return nil, fmt.Errorf("uazapi media %s: %w", ref.ID, err)
		}
		if mimeType == "" {
			mimeType = resp.Header.Get("Content-Type")
		}
	}
	digest, err := crm.CheckSHA256(data, ref.SHA256)
	if err != nil {
		return nil, fmt.Errorf("uazapi media %s: %w", ref.ID, err)
	}
	return &channels.MediaContent{Data: data, MimeType: mimeType, SHA256: digest}, nil
}
