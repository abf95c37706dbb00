package actors

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"crm"
	"crm/channels"
)

// MediaSaver stores inbound media bytes (checked against their SHA-256) in
// the blob store and returns our media id; idempotent per provider media id.
type MediaSaver func(ctx context.Context, tenantID uuid.UUID, providerMediaID string, content *channels.MediaContent) (uuid.UUID, error)

// inboundMedia is the provider media a stored message refers to.
type inboundMedia struct {
	ID       string `json:"id"`
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	MediaID  string `json:"media_id"`
}

// fetchInboundMedia downloads a message's media once (provider URLs live five
// minutes), stores it, and points the message at our copy. It runs after the
// message is stored so ingest never waits on a download; failures are
// retried a few times and leave the message with the provider's reference.
func (e *Engine) fetchInboundMedia(tenantID, connectionID uuid.UUID, m *crm.Message) {
	if e.cfg.SaveMedia == nil || e.cfg.Connections == nil || len(m.Media) == 0 {
		return
	}
	var media inboundMedia
	if json.Unmarshal(m.Media, &media) != nil || (media.ID == "" && media.URL == "") || media.MediaID != "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * time.Second)
		}
		if err = e.saveMedia(ctx, tenantID, connectionID, m, media); err == nil {
			e.metrics.sends.WithLabelValues("media_fetched").Inc()
			return
		}
	}
	e.log.Warn("inbound media not fetched", "message_id", m.ID, "error", err)
}

func (e *Engine) saveMedia(ctx context.Context, tenantID, connectionID uuid.UUID, m *crm.Message, media inboundMedia) error {
	provider, err := e.cfg.Connections.Provider(ctx, tenantID, connectionID)
	if err != nil {
		return err
	}
	content, err := provider.FetchMedia(ctx, channels.MediaRef{ID: media.ID, URL: media.URL, SHA256: media.SHA256, MimeType: media.MimeType})
	if err != nil {
		return err
	}
	key := media.ID
	if key == "" {
		key = media.URL
	}
	id, err := e.cfg.SaveMedia(ctx, tenantID, key, content)
	if err != nil {
		return err
	}
	return e.recordEvents(ctx, tenantID, func(tx TenantStore) ([]crm.TenantEvent, error) {
		updated, err := tx.SetMessageMediaID(ctx, m.ID, id, content.MimeType, int64(len(content.Data)))
		if err != nil {
			return nil, err
		}
		ev, err := messageUpdated(ctx, tx, updated)
		return []crm.TenantEvent{ev}, err
	})
}
