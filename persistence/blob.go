package persistence

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"crm"
)

// BlobStore keeps media bytes. The database holds what a blob is (the media
// row); the store holds only the bytes under a key. Keys are slash-separated
// paths of safe segments (see CheckBlobKey); implementations refuse others.
type BlobStore interface {
	// Put stores r under key, replacing any previous blob. size is the exact
	// length, or -1 when unknown; a body of another length is an error and
	// nothing is stored.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Get opens a blob; the caller closes it. A missing key is crm.ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error)
	// Delete removes a blob; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// BlobInfo describes a stored blob.
type BlobInfo struct {
	Size        int64
	ContentType string
	ModTime     time.Time
}

// BlobConfig chooses and configures the blob store: S3 (MinIO, AWS…) when
// S3Endpoint is set, else a local directory.
type BlobConfig struct {
	// Dir is the local directory (CRM_MEDIA_DIR); default ./var/media.
	Dir string
	// S3Endpoint is host:port or a URL (CRM_S3_ENDPOINT); an http:// URL
	// turns TLS off.
	S3Endpoint  string
	S3Bucket    string // CRM_S3_BUCKET, default crm-media
	S3AccessKey string // CRM_S3_ACCESS_KEY
	S3SecretKey string // CRM_S3_SECRET_KEY
	S3Region    string // CRM_S3_REGION, optional
}

// BlobConfigFromEnv reads the CRM_MEDIA_DIR and CRM_S3_* variables.
func BlobConfigFromEnv(getenv func(string) string) BlobConfig {
	return BlobConfig{
		Dir:         getenv("CRM_MEDIA_DIR"),
		S3Endpoint:  getenv("CRM_S3_ENDPOINT"),
		S3Bucket:    getenv("CRM_S3_BUCKET"),
		S3AccessKey: getenv("CRM_S3_ACCESS_KEY"),
		S3SecretKey: getenv("CRM_S3_SECRET_KEY"),
		S3Region:    getenv("CRM_S3_REGION"),
	}
}

// OpenBlobStore returns the store cfg describes. The S3 store makes its
// bucket when it does not exist.
func OpenBlobStore(ctx context.Context, cfg BlobConfig) (BlobStore, error) {
	if cfg.S3Endpoint != "" {
		return NewS3BlobStore(ctx, S3BlobConfig{Endpoint: cfg.S3Endpoint, Bucket: cfg.S3Bucket,
			AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey, Region: cfg.S3Region})
	}
	dir := cfg.Dir
	if dir == "" {
		dir = filepath.Join("var", "media")
	}
	return NewLocalBlobStore(dir)
}

const maxBlobKeyLen = 512

// CheckBlobKey refuses keys that could escape the store's root: empty,
// absolute, "." or ".." segments, backslashes, control characters or
// anything beyond [A-Za-z0-9._-] in a segment.
func CheckBlobKey(key string) error {
	bad := func(why string) error {
		return crm.NewError(crm.ErrInvalid, "invalid_blob_key", "blob key "+why, nil)
	}
	if key == "" || len(key) > maxBlobKeyLen {
		return bad("is empty or too long")
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return bad("has an empty, . or .. segment")
		}
		for _, r := range seg {
			ok := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') || r == '.' || r == '_' || r == '-'
			if !ok {
				return bad("has a character outside [A-Za-z0-9._-]")
			}
		}
	}
	return nil
}

// LocalBlobStore keeps blobs as files under a directory: the bytes under
// data/<key>, the content type beside them under meta/<key>. Writes go to a
// temporary file in the same directory, are synced and renamed into place, so
// a reader sees the old blob or the new one, never a partial file.
type LocalBlobStore struct {
	root string
}

var _ BlobStore = (*LocalBlobStore)(nil)

// NewLocalBlobStore creates the directory when missing.
func NewLocalBlobStore(dir string) (*LocalBlobStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("media directory %q: %w", dir, err)
	}
	for _, sub := range []string{"data", "meta"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o750); err != nil {
			return nil, fmt.Errorf("creating media directory: %w", err)
		}
	}
	return &LocalBlobStore{root: abs}, nil
}

type localBlobMeta struct {
	ContentType string `json:"content_type"`
}

func (s *LocalBlobStore) paths(key string) (data, meta string, err error) {
	if err := CheckBlobKey(key); err != nil {
		return "", "", err
	}
	rel := filepath.FromSlash(key)
	return filepath.Join(s.root, "data", rel), filepath.Join(s.root, "meta", rel), nil
}

// Put implements BlobStore.
func (s *LocalBlobStore) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	dataPath, metaPath, err := s.paths(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	meta, err := json.Marshal(localBlobMeta{ContentType: contentType})
	if err != nil {
		return err
	}
	// The content type goes first: a Get racing a first Put then finds no
	// data (not found) rather than data without its type.
	if err := writeFileAtomic(metaPath, strings.NewReader(string(meta)), int64(len(meta))); err != nil {
		return fmt.Errorf("storing blob %s: %w", key, err)
	}
	if err := writeFileAtomic(dataPath, &ctxReader{ctx: ctx, r: r}, size); err != nil {
		return fmt.Errorf("storing blob %s: %w", key, err)
	}
	return nil
}

func writeFileAtomic(path string, r io.Reader, size int64) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var n int64
	if size >= 0 {
		n, err = io.Copy(tmp, io.LimitReader(r, size+1))
	} else {
		n, err = io.Copy(tmp, r)
	}
	if err != nil {
		return err
	}
	if size >= 0 && n != size {
		return fmt.Errorf("body has %d bytes, expected %d", n, size)
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Get implements BlobStore.
func (s *LocalBlobStore) Get(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error) {
	dataPath, metaPath, err := s.paths(key)
	if err != nil {
		return nil, BlobInfo{}, err
	}
	f, err := os.Open(dataPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, BlobInfo{}, crm.NotFound("blob")
	}
	if err != nil {
		return nil, BlobInfo{}, fmt.Errorf("opening blob %s: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		f.Close()
		return nil, BlobInfo{}, crm.NotFound("blob")
	}
	info := BlobInfo{Size: st.Size(), ModTime: st.ModTime(), ContentType: "application/octet-stream"}
	if raw, err := os.ReadFile(metaPath); err == nil {
		var m localBlobMeta
		if json.Unmarshal(raw, &m) == nil && m.ContentType != "" {
			info.ContentType = m.ContentType
		}
	}
	return f, info, nil
}

// Delete implements BlobStore.
func (s *LocalBlobStore) Delete(ctx context.Context, key string) error {
	dataPath, metaPath, err := s.paths(key)
	if err != nil {
		return err
	}
	for _, p := range []string{dataPath, metaPath} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("deleting blob %s: %w", key, err)
		}
	}
	return nil
}

// ctxReader stops a long copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
