package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"crm"
	"crm/channels"
	crmpb "crm/proto"
)

// FetchMedia downloads inbound media. WhatsApp: GET /{version}/{media_id}
// gives a short-lived URL, downloaded with the bearer token and checked
// against the sha256 Meta reports (or the webhook's, ref.SHA256). Messenger
// and Instagram attachments carry a CDN URL (ref.URL) that needs no token
// and comes without a checksum.
func (p *Provider) FetchMedia(ctx context.Context, ref channels.MediaRef) (*channels.MediaContent, error) {
	if p.channel != crmpb.Channel_CHANNEL_WHATSAPP || (ref.ID == "" && ref.URL != "") {
		if ref.URL == "" {
			return nil, fmt.Errorf("meta: media without url: %w", channels.ErrInvalidPayload)
		}
		return p.download(ctx, ref.URL, false, ref.SHA256, ref.MimeType)
	}
	if ref.ID == "" {
		return nil, fmt.Errorf("meta: media without id: %w", channels.ErrInvalidPayload)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.graphURL(ref.ID), nil)
	if err != nil {
		return nil, fmt.Errorf("meta: media lookup: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+p.creds.AccessToken)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("meta: media lookup %s: %w", ref.ID, channels.TransportError(ctx, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("meta: media lookup %s: %w", ref.ID, channels.TransportError(ctx, err))
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("meta: media lookup %s: %w", ref.ID, MapError(resp.StatusCode, resp.Header, data))
	}
	var info struct {
		URL      flex `json:"url"`
		MimeType flex `json:"mime_type"`
		SHA256   flex `json:"sha256"`
		FileSize flex `json:"file_size"`
	}
	if err := json.Unmarshal(data, &info); err != nil || info.URL == "" {
		return nil, fmt.Errorf("meta: media lookup %s: no url in answer: %w", ref.ID, channels.ErrInvalidPayload)
	}
	if size := info.FileSize.Int64(); size > p.settings.MaxMediaBytes {
		return nil, fmt.Errorf("meta: media %s is %d bytes: %w", ref.ID, size, channels.ErrMediaTooLarge)
	}
	want := string(info.SHA256)
	if want == "" {
		want = ref.SHA256
	}
	mimeType := string(info.MimeType)
	if mimeType == "" {
		mimeType = ref.MimeType
	}
	content, err := p.download(ctx, string(info.URL), true, want, mimeType)
	if err != nil {
		return nil, fmt.Errorf("meta: media %s: %w", ref.ID, err)
	}
	return content, nil
}

func (p *Provider) download(ctx context.Context, rawURL string, bearer bool, wantSHA256, mimeType string) (*channels.MediaContent, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("media url %q: %w", rawURL, channels.ErrInvalidPayload)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if bearer {
		req.Header.Set("Authorization", "Bearer "+p.creds.AccessToken)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading media: %w", channels.TransportError(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("downloading media: %w", MapError(resp.StatusCode, resp.Header, body))
	}
	data, err := channels.ReadLimited(resp.Body, p.settings.MaxMediaBytes)
	if err != nil {
		return nil, fmt.Errorf("downloading media: %w", err)
	}
	digest, err := crm.CheckSHA256(data, wantSHA256)
	if err != nil {
		return nil, err
	}
	if mimeType == "" {
		mimeType = resp.Header.Get("Content-Type")
	}
	content := &channels.MediaContent{Data: data, MimeType: mimeType, SHA256: digest}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		content.Filename = params["filename"]
	}
	return content, nil
}

// ListTemplates lists the WhatsApp Business Account's message templates,
// following Graph paging (at most 20 pages).
func (p *Provider) ListTemplates(ctx context.Context) ([]channels.Template, error) {
	if p.channel != crmpb.Channel_CHANNEL_WHATSAPP {
		return nil, channels.ErrUnsupported
	}
	if p.creds.WABAID == "" {
		return nil, fmt.Errorf("meta: connection has no waba_id: %w", channels.ErrUnsupported)
	}
	next := p.graphURL(p.creds.WABAID, "message_templates") +
		"?fields=id,name,language,status,category,components&limit=100"
	var out []channels.Template
	for page := 0; next != "" && page < 20; page++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		if err != nil {
			return nil, fmt.Errorf("meta: listing templates: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+p.creds.AccessToken)
		resp, err := p.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("meta: listing templates: %w", channels.TransportError(ctx, err))
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("meta: listing templates: %w", channels.TransportError(ctx, err))
		}
		if resp.StatusCode/100 != 2 {
			return nil, fmt.Errorf("meta: listing templates: %w", MapError(resp.StatusCode, resp.Header, data))
		}
		var body struct {
			Data []struct {
				ID         flex            `json:"id"`
				Name       flex            `json:"name"`
				Language   flex            `json:"language"`
				Status     flex            `json:"status"`
				Category   flex            `json:"category"`
				Components json.RawMessage `json:"components"`
			} `json:"data"`
			Paging struct {
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := json.Unmarshal(data, &body); err != nil {
			return nil, fmt.Errorf("meta: listing templates: %w", channels.InvalidPayload(err))
		}
		for _, t := range body.Data {
			out = append(out, channels.Template{
				ID: string(t.ID), Name: string(t.Name), Language: string(t.Language),
				Status: string(t.Status), Category: string(t.Category), Components: []byte(t.Components),
			})
		}
		// Follow paging only on the configured Graph host: the bearer token
		// must not leave it.
		next = ""
		if strings.HasPrefix(body.Paging.Next, p.settings.GraphBaseURL+"/") {
			next = body.Paging.Next
		}
	}
	return out, nil
}
