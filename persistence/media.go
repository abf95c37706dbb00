package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"crm"
)

// MediaRecord is a stored file: the row in media, its bytes in the blob store.
type MediaRecord struct {
	ID              uuid.UUID  `json:"id"`
	TenantID        uuid.UUID  `json:"-"`
	StorageKey      string     `json:"-"`
	MimeType        string     `json:"mime_type"`
	Size            int64      `json:"size"`
	SHA256          string     `json:"sha256"`
	Filename        string     `json:"filename"`
	Source          string     `json:"source"` // upload, inbound
	ProviderMediaID string     `json:"provider_media_id,omitempty"`
	CreatedBy       *uuid.UUID `json:"created_by"`
	CreatedAt       time.Time  `json:"created_at"`
}

// MediaStore keeps media: metadata in PostgreSQL under RLS, bytes in a
// BlobStore under "<tenant id>/<media id>".
type MediaStore struct {
	db    *DB
	blobs BlobStore
}

// NewMediaStore ties the database to a blob store.
func NewMediaStore(db *DB, blobs BlobStore) (*MediaStore, error) {
	if db == nil || blobs == nil {
		return nil, errors.New("media store needs a database and a blob store")
	}
	return &MediaStore{db: db, blobs: blobs}, nil
}

// MediaStorageKey is where a media file's bytes live in the blob store.
func MediaStorageKey(tenantID, id uuid.UUID) string { return tenantID.String() + "/" + id.String() }

// NewMedia describes bytes about to be stored. Size and SHA256 (hex) must be
// those of the body; the caller computed them while reading it.
type NewMedia struct {
	MimeType        string
	Size            int64
	SHA256          string
	Filename        string
	Source          string // upload (default) or inbound
	ProviderMediaID string
	CreatedBy       *uuid.UUID
}

const mediaColumns = `m.id, m.tenant_id, m.storage_key, m.mime_type, m.size, m.sha256, m.filename, m.source,
	m.provider_media_id, m.created_by, m.created_at`

func scanMedia(row pgx.Row) (MediaRecord, error) {
	var m MediaRecord
	err := row.Scan(&m.ID, &m.TenantID, &m.StorageKey, &m.MimeType, &m.Size, &m.SHA256, &m.Filename, &m.Source,
		&m.ProviderMediaID, &m.CreatedBy, &m.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, crm.NotFound("media")
	}
	return m, err
}

// cleanFilename keeps a filename displayable and harmless in a header: no
// path, no control characters, at most 200 characters.
func cleanFilename(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	return truncateRunes(strings.TrimSpace(name), 200)
}

// Create stores the body's bytes, then its row. The blob goes first: a row
// never names missing bytes; if the row fails the blob is removed again.
func (s *MediaStore) Create(ctx context.Context, tenantID uuid.UUID, in NewMedia, body io.Reader) (MediaRecord, error) {
	id := crm.NewID()
	return s.create(ctx, tenantID, id, in, body, nil)
}

func (s *MediaStore) create(ctx context.Context, tenantID, id uuid.UUID, in NewMedia, body io.Reader,
	inTx func(pgx.Tx) (*MediaRecord, error)) (MediaRecord, error) {
	if in.Source == "" {
		in.Source = "upload"
	}
	key := MediaStorageKey(tenantID, id)
	var out MediaRecord
	stored := false
	err := s.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		if inTx != nil {
			existing, err := inTx(tx)
			if err != nil || existing != nil {
				if existing != nil {
					out = *existing
				}
				return err
			}
		}
		if err := s.blobs.Put(ctx, key, body, in.Size, in.MimeType); err != nil {
			return err
		}
		stored = true
		if _, err := tx.Exec(ctx, `INSERT INTO media (tenant_id, id, storage_key, mime_type, size, sha256, filename, source,
			provider_media_id, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			tenantID, id, key, in.MimeType, in.Size, in.SHA256, cleanFilename(in.Filename), in.Source, in.ProviderMediaID,
			in.CreatedBy); err != nil {
			return err
		}
		var err error
		out, err = scanMedia(tx.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media m WHERE m.tenant_id = $1 AND m.id = $2`, tenantID, id))
		return err
	})
	if err != nil {
		if stored {
			_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		}
		return MediaRecord{}, translate(err)
	}
	return out, nil
}

// Get loads a media row of the tenant.
func (s *MediaStore) Get(ctx context.Context, tenantID, id uuid.UUID) (MediaRecord, error) {
	var out MediaRecord
	err := s.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanMedia(tx.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media m WHERE m.tenant_id = $1 AND m.id = $2`, tenantID, id))
		return err
	})
	return out, translate(err)
}

// GetVisible loads a media row the viewer may see. Media follows the
// conversations it was sent or received in: someone who may see one of them
// sees it. Media in no conversation yet (uploaded, not sent) is its
// uploader's; a quick reply's media is everyone's who reads quick replies.
// Admins see all of the tenant's. Anything else is not found.
func (s *MediaStore) GetVisible(ctx context.Context, tenantID, id uuid.UUID, v crm.Visibility) (MediaRecord, error) {
	args := []any{tenantID, id}
	cond := "true"
	if !v.All {
		args = append(args, id.String(), v.UserID)
		// Written so the planner looks the messages up in the partial index messages_media.
		inMessages := func(join, extra string) string {
			return `EXISTS (SELECT 1 FROM messages msg ` + join + ` WHERE msg.tenant_id = $1 AND msg.media ? 'media_id'
				AND msg.media->>'media_id' = $3` + extra + `)`
		}
		inVisibleConversation := inMessages(`JOIN conversations c ON c.tenant_id = msg.tenant_id AND c.id = msg.conversation_id`,
			" AND "+visibilitySQL(v, &args))
		cond = `(` + inVisibleConversation + `
			OR EXISTS (SELECT 1 FROM quick_replies q WHERE q.tenant_id = $1 AND q.media_id = m.id)
			OR (m.created_by = $4 AND NOT ` + inMessages("", "") + `))`
	}
	var out MediaRecord
	err := s.db.TenantTx(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = scanMedia(tx.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media m WHERE m.tenant_id = $1 AND m.id = $2 AND `+cond, args...))
		return err
	})
	return out, translate(err)
}

// MediaExists reports whether the tenant has a media row with this id (a
// send must name media that exists; RLS hides other tenants' anyway).
func MediaExists(ctx context.Context, tx pgx.Tx, tenantID, id uuid.UUID) (bool, error) {
	var ok bool
	err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM media WHERE tenant_id = $1 AND id = $2)`, tenantID, id).Scan(&ok)
	return ok, translate(err)
}

// Open returns a media file's bytes (the caller closes them) and its row.
func (s *MediaStore) Open(ctx context.Context, tenantID, id uuid.UUID) (io.ReadCloser, MediaRecord, error) {
	m, err := s.Get(ctx, tenantID, id)
	if err != nil {
		return nil, m, err
	}
	rc, _, err := s.blobs.Get(ctx, m.StorageKey)
	if err != nil {
		return nil, m, fmt.Errorf("media %s: %w", id, err)
	}
	return rc, m, nil
}

// StoreInboundMedia stores media downloaded from a provider, once per
// provider media id: a second call (a retried webhook, a redelivered event)
// returns the first record. The bytes must match sha256 (hex or base64, as
// the provider gives it; empty when the provider has none), else
// crm.ErrMediaChecksum and nothing is stored.
func (s *MediaStore) StoreInboundMedia(ctx context.Context, tenantID uuid.UUID, providerMediaID string, data []byte,
	mime, sha256, filename string) (MediaRecord, error) {
	digest, err := crm.CheckSHA256(data, sha256)
	if err != nil {
		return MediaRecord{}, crm.NewError(crm.ErrUnprocessable, "media_checksum_mismatch", err.Error(), nil)
	}
	if providerMediaID == "" {
		return MediaRecord{}, crm.NewError(crm.ErrInvalid, "validation_failed", "inbound media needs its provider media id", nil)
	}
	if mime == "" {
		mime = "application/octet-stream"
	}
	in := NewMedia{MimeType: mime, Size: int64(len(data)), SHA256: digest, Filename: filename, Source: "inbound",
		ProviderMediaID: providerMediaID}
	return s.create(ctx, tenantID, crm.NewID(), in, bytes.NewReader(data), func(tx pgx.Tx) (*MediaRecord, error) {
		// Serialise the callers storing the same provider media, then look
		// for an earlier copy. (A unique index on (tenant_id,
		// provider_media_id) would let this be ON CONFLICT; see the report.)
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`,
			"media:"+tenantID.String()+":"+providerMediaID); err != nil {
			return nil, err
		}
		m, err := scanMedia(tx.QueryRow(ctx, `SELECT `+mediaColumns+` FROM media m
			WHERE m.tenant_id = $1 AND m.source = 'inbound' AND m.provider_media_id = $2 ORDER BY m.id LIMIT 1`,
			tenantID, providerMediaID))
		if errors.Is(err, crm.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &m, nil
	})
}
