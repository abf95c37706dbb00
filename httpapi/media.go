package httpapi

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"crm"
	"crm/persistence"
)

// MediaURLTTL is how long a signed media URL stays valid.
const MediaURLTTL = time.Hour

// MediaResponse is an uploaded (or inbound) file with a signed URL to fetch
// it without a bearer header (<img src>, <audio src>).
type MediaResponse struct {
	ID        uuid.UUID `json:"id"`
	URL       string    `json:"url"`
	URLExpiry time.Time `json:"url_expires_at"`
	MimeType  string    `json:"mime_type"`
	Kind      string    `json:"kind"` // image, video, audio, document, sticker
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	Filename  string    `json:"filename"`
	Source    string    `json:"source"`
	CreatedAt time.Time `json:"created_at"`
}

type uploadMediaQuery struct {
	Channel string `form:"channel"` // whatsapp (default), messenger, instagram
	Kind    string `form:"kind"`    // optional: sticker, or document to send an image as a file
}

type mediaContentQuery struct {
	Tenant  string `form:"tenant"`
	Expires string `form:"expires"`
	Sig     string `form:"sig"`
}

// mediaRule is what a channel accepts for one kind of media.
type mediaRule struct {
	kind  string
	types []string // empty: any type not refused outright
	limit int64
}

const (
	kib = 1 << 10
	mib = 1 << 20
)

// mediaRules per channel, in the order a type is matched: WhatsApp Cloud API
// media limits; Messenger and Instagram attachment limits.
var mediaRules = map[string][]mediaRule{
	"whatsapp": {
		{kind: "sticker", types: []string{"image/webp"}, limit: 500 * kib},
		{kind: "image", types: []string{"image/jpeg", "image/png"}, limit: 5 * mib},
		{kind: "video", types: []string{"video/mp4", "video/3gpp"}, limit: 16 * mib},
		{kind: "audio", types: []string{"audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg"}, limit: 16 * mib},
		{kind: "document", limit: 100 * mib},
	},
	"messenger": {
		{kind: "image", types: []string{"image/jpeg", "image/png", "image/gif", "image/webp"}, limit: 8 * mib},
		{kind: "video", types: []string{"video/mp4", "video/quicktime", "video/webm"}, limit: 25 * mib},
		{kind: "audio", types: []string{"audio/mpeg", "audio/aac", "audio/mp4", "audio/wav", "audio/ogg"}, limit: 25 * mib},
		{kind: "document", limit: 25 * mib},
	},
	"instagram": {
		{kind: "image", types: []string{"image/jpeg", "image/png"}, limit: 8 * mib},
		{kind: "video", types: []string{"video/mp4", "video/quicktime", "video/webm"}, limit: 25 * mib},
		{kind: "audio", types: []string{"audio/aac", "audio/mp4", "audio/wav", "audio/mpeg"}, limit: 25 * mib},
	},
}

// refusedTypes could run script in our origin if served back; never stored.
var refusedTypes = map[string]bool{"text/html": true, "image/svg+xml": true, "application/xhtml+xml": true,
	"text/xml": true, "application/xml": true, "application/javascript": true, "text/javascript": true,
	"application/x-msdownload": true, "application/x-sh": true}

// MediaURLKeyFrom derives the media URL signing key from the server's
// secret key, so the raw key signs nothing else.
func MediaURLKeyFrom(secret []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("crm/media-url"))
	return m.Sum(nil)
}

func (s *Server) mediaURLKey() []byte {
	if len(s.cfg.MediaURLKey) > 0 {
		return s.cfg.MediaURLKey
	}
	return MediaURLKeyFrom(s.cfg.TokenKey)
}

func mediaSignature(key []byte, tenantID, id uuid.UUID, expires int64) []byte {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "media/%s/%s/%d", tenantID, id, expires)
	return m.Sum(nil)
}

// SignMediaURL returns the URL that streams a tenant's media until expires:
// the signature binds the tenant, the media and the expiry.
func SignMediaURL(key []byte, base string, tenantID, id uuid.UUID, expires time.Time) string {
	exp := expires.Unix()
	q := url.Values{}
	q.Set("tenant", tenantID.String())
	q.Set("expires", strconv.FormatInt(exp, 10))
	q.Set("sig", hex.EncodeToString(mediaSignature(key, tenantID, id, exp)))
	return strings.TrimRight(base, "/") + "/api/v1/media/" + id.String() + "/content?" + q.Encode()
}

func (s *Server) mediaRoutes() {
	var store *persistence.MediaStore
	if s.cfg.Blobs != nil {
		store, _ = persistence.NewMediaStore(s.db, s.cfg.Blobs)
	}
	withStore := func(h func(*gin.Context, crm.Principal, *persistence.MediaStore) error) handler {
		return func(c *gin.Context, p crm.Principal) error {
			if store == nil {
				return errors.New("httpapi: Config.Blobs is not set; media is unavailable")
			}
			return h(c, p, store)
		}
	}
	s.route(op{Method: http.MethodPost, Path: "/api/v1/media", Summary: "Upload a file (multipart field \"file\"), checked against the channel's type and size limits",
		Tag: "media", Access: accessTenant, Perm: crm.PermMediaUpload, Query: uploadMediaQuery{}, Raw: "multipart/form-data",
		Response: MediaResponse{}, Status: http.StatusCreated}, withStore(s.uploadMedia))
	s.route(op{Method: http.MethodGet, Path: "/api/v1/media/:id", Summary: "A file's details with a fresh signed URL (to who may see a conversation it is in, its uploader before it is sent, anyone for a quick reply's)",
		Tag: "media", Access: accessTenant, Perm: crm.PermConversationsRead, Response: MediaResponse{}}, withStore(s.getMedia))
	s.raw(op{Method: http.MethodGet, Path: "/api/v1/media/:id/content", Summary: "Stream a file by its signed, expiring URL (no bearer header)",
		Tag: "media", Query: mediaContentQuery{}, Raw: "application/octet-stream"}, func(c *gin.Context) {
		if store == nil {
			writeError(c, s.log, errors.New("httpapi: Config.Blobs is not set; media is unavailable"))
			return
		}
		if err := s.mediaContent(c, store); err != nil {
			writeError(c, s.log, err)
		}
	})
}

func (s *Server) mediaResponse(c *gin.Context, m persistence.MediaRecord) MediaResponse {
	expires := s.now().Add(MediaURLTTL)
	return MediaResponse{ID: m.ID, URL: SignMediaURL(s.mediaURLKey(), s.publicBase(), m.TenantID, m.ID, expires),
		URLExpiry: expires.UTC().Truncate(time.Second), MimeType: m.MimeType, Kind: mediaKind(m.MimeType), Size: m.Size,
		SHA256: m.SHA256, Filename: m.Filename, Source: m.Source, CreatedAt: m.CreatedAt}
}

// mediaKind names the message type a MIME type is sent as on WhatsApp.
func mediaKind(mimeType string) string {
	for _, rule := range mediaRules["whatsapp"] {
		for _, t := range rule.types {
			if t == mimeType {
				return rule.kind
			}
		}
	}
	return "document"
}

func mediaError(kind error, code, message string, details map[string]any) error {
	return crm.NewError(kind, code, message, details)
}

// resolveMediaType decides a file's type from its first bytes and the type
// the client declared: the content wins where it is recognisable, the
// declared type refines it where the sniffer only knows the container (ogg,
// mp4, zip) or nothing at all.
func resolveMediaType(head []byte, declared string) (string, error) {
	detected, _, _ := mime.ParseMediaType(http.DetectContentType(head))
	declared, _, _ = mime.ParseMediaType(declared)
	declared = strings.ToLower(declared)
	mismatch := func() error {
		return mediaError(crm.ErrInvalid, "media_type_mismatch", "the file's content is not the declared type",
			map[string]any{"declared": declared, "detected": detected})
	}
	var resolved string
	switch {
	case detected == "application/ogg":
		resolved = "audio/ogg"
		if strings.HasPrefix(declared, "video/") {
			resolved = declared
		}
	case detected == "video/mp4":
		// An ISO-BMFF container: mp4 video, 3gpp, m4a audio.
		resolved = detected
		if declared == "video/3gpp" || declared == "audio/mp4" || declared == "audio/aac" || declared == "audio/x-m4a" {
			resolved = declared
		}
	case detected == "application/zip":
		// Office documents are zip files.
		resolved = detected
		if strings.HasPrefix(declared, "application/vnd.") {
			resolved = declared
		}
	case detected == "application/octet-stream", detected == "text/plain":
		if declared == "" || declared == "application/octet-stream" {
			resolved = detected
			break
		}
		// A declared image or video would have been recognised.
		if strings.HasPrefix(declared, "image/") || (strings.HasPrefix(declared, "video/") && declared != "video/3gpp") {
			return "", mismatch()
		}
		if detected == "text/plain" && !strings.HasPrefix(declared, "text/") && declared != "application/json" &&
			declared != "text/csv" {
			// Text declared as, say, audio: keep it text.
			resolved = detected
			break
		}
		resolved = declared
	default:
		resolved = detected
	}
	if resolved == "audio/x-m4a" {
		resolved = "audio/mp4"
	}
	if resolved == "audio/wave" {
		resolved = "audio/wav"
	}
	if refusedTypes[resolved] || refusedTypes[declared] {
		return "", mediaError(crm.ErrInvalid, "unsupported_media_type", "this file type is not accepted",
			map[string]any{"mime_type": resolved})
	}
	return resolved, nil
}

// mediaRuleFor finds the rule a type falls under on a channel.
func mediaRuleFor(channel, mimeType, kind string) (mediaRule, bool) {
	for _, rule := range mediaRules[channel] {
		if kind != "" && rule.kind != kind {
			continue
		}
		if len(rule.types) == 0 {
			return rule, true
		}
		for _, t := range rule.types {
			if t == mimeType {
				return rule, true
			}
		}
	}
	return mediaRule{}, false
}

func (s *Server) uploadMedia(c *gin.Context, p crm.Principal, store *persistence.MediaStore) error {
	channel := c.DefaultQuery("channel", "whatsapp")
	rules, ok := mediaRules[channel]
	if !ok {
		return crm.FieldErrors{"channel": "must be whatsapp, messenger or instagram"}.Err()
	}
	kind := c.Query("kind")
	var largest int64
	for _, r := range rules {
		if r.limit > largest {
			largest = r.limit
		}
	}
	if kind != "" && kind != "image" && kind != "video" && kind != "audio" && kind != "document" && kind != "sticker" {
		return crm.FieldErrors{"kind": "must be image, video, audio, document or sticker"}.Err()
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, largest+1*mib)
	reader, err := c.Request.MultipartReader()
	if err != nil {
		return crm.NewError(crm.ErrInvalid, "invalid_multipart", "send the file as multipart/form-data in the field \"file\"", nil)
	}
	tooLarge := func(limit int64) error {
		return mediaError(crm.ErrTooLarge, "media_too_large", "the file is larger than the channel allows",
			map[string]any{"limit_bytes": limit, "channel": channel})
	}
	for {
		part, err := reader.NextPart()
		if err == io.EOF {
			return crm.FieldErrors{"file": "is required"}.Err()
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return tooLarge(largest)
			}
			return crm.NewError(crm.ErrInvalid, "invalid_multipart", "malformed multipart body", nil)
		}
		if part.FormName() != "file" {
			part.Close()
			continue
		}
		defer part.Close()
		// Spool to a temporary file: the size, checksum and first bytes are
		// known before anything is stored, and memory stays flat.
		tmp, err := os.CreateTemp("", "crm-upload-*")
		if err != nil {
			return err
		}
		defer func() {
			tmp.Close()
			os.Remove(tmp.Name())
		}()
		digest := sha256.New()
		head := &headBuffer{max: 512}
		n, err := io.Copy(io.MultiWriter(tmp, digest, head), io.LimitReader(part, largest+1))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return tooLarge(largest)
			}
			return crm.NewError(crm.ErrInvalid, "invalid_multipart", "the upload was interrupted", nil)
		}
		if n > largest {
			return tooLarge(largest)
		}
		if n == 0 {
			return crm.FieldErrors{"file": "is empty"}.Err()
		}
		declared := part.Header.Get("Content-Type")
		if declared == "" || declared == "application/octet-stream" {
			if byExt := mime.TypeByExtension(strings.ToLower(filepath.Ext(part.FileName()))); byExt != "" {
				declared = byExt
			}
		}
		mimeType, err := resolveMediaType(head.buf, declared)
		if err != nil {
			return err
		}
		rule, ok := mediaRuleFor(channel, mimeType, kind)
		if !ok {
			return mediaError(crm.ErrInvalid, "unsupported_media_type", "this channel does not accept "+mimeType,
				map[string]any{"mime_type": mimeType, "channel": channel})
		}
		if n > rule.limit {
			return tooLarge(rule.limit)
		}
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return err
		}
		createdBy := p.UserID
		m, err := store.Create(c, p.TenantID, persistence.NewMedia{MimeType: mimeType, Size: n,
			SHA256: hex.EncodeToString(digest.Sum(nil)), Filename: part.FileName(), Source: "upload", CreatedBy: &createdBy}, tmp)
		if err != nil {
			return err
		}
		res := s.mediaResponse(c, m)
		res.Kind = rule.kind
		c.JSON(http.StatusCreated, res)
		return nil
	}
}

func (s *Server) getMedia(c *gin.Context, p crm.Principal, store *persistence.MediaStore) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	v, err := s.visibility(c, p)
	if err != nil {
		return err
	}
	m, err := store.GetVisible(c, p.TenantID, id, v)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.mediaResponse(c, m))
	return nil
}

// mediaContent streams a file to whoever holds a valid signed URL. A bad
// signature is 403, an expired one 403 url_expired, unknown media 404.
func (s *Server) mediaContent(c *gin.Context, store *persistence.MediaStore) error {
	id, err := pathID(c, "id")
	if err != nil {
		return err
	}
	forbidden := crm.NewError(crm.ErrForbidden, "invalid_signature", "this media link is invalid", nil)
	tenantID, err := uuid.Parse(c.Query("tenant"))
	if err != nil {
		return forbidden
	}
	expires, err := strconv.ParseInt(c.Query("expires"), 10, 64)
	if err != nil {
		return forbidden
	}
	sig, err := hex.DecodeString(c.Query("sig"))
	if err != nil || !hmac.Equal(sig, mediaSignature(s.mediaURLKey(), tenantID, id, expires)) {
		return forbidden
	}
	if s.now().Unix() > expires {
		return crm.NewError(crm.ErrForbidden, "url_expired", "this media link has expired; ask for a new one", nil)
	}
	rc, m, err := store.Open(c, tenantID, id)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := c.Writer.Header()
	h.Set("Content-Type", m.MimeType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; media-src 'self'; img-src 'self'; sandbox")
	h.Set("Cache-Control", "private, max-age="+strconv.FormatInt(max(expires-s.now().Unix(), 0), 10))
	disposition := "attachment"
	if k := mediaKind(m.MimeType); k != "document" {
		disposition = "inline"
	}
	if m.Filename != "" {
		disposition = mime.FormatMediaType(disposition, map[string]string{"filename": m.Filename})
	}
	h.Set("Content-Disposition", disposition)
	if seeker, ok := rc.(io.ReadSeeker); ok {
		// Range requests: audio and video players seek.
		http.ServeContent(c.Writer, c.Request, "", m.CreatedAt, seeker)
		return nil
	}
	h.Set("Content-Length", strconv.FormatInt(m.Size, 10))
	c.Status(http.StatusOK)
	_, _ = io.Copy(c.Writer, rc)
	return nil
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	buf []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.buf); room > 0 {
		h.buf = append(h.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

var _ io.Writer = (*headBuffer)(nil)
