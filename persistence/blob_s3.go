package persistence

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"crm"
)

// S3BlobConfig reaches an S3-compatible server (MinIO, AWS S3, …).
type S3BlobConfig struct {
	// Endpoint is host:port (TLS) or a URL: http://minio:9000 turns TLS off.
	Endpoint  string
	Bucket    string // default crm-media
	AccessKey string
	SecretKey string
	Region    string
	// PathStyle forces path-style bucket addressing (MinIO and most
	// self-hosted servers); it is the default for non-AWS endpoints anyway.
	PathStyle bool
}

// S3BlobStore keeps blobs as objects of one bucket.
type S3BlobStore struct {
	client *minio.Client
	bucket string
}

var _ BlobStore = (*S3BlobStore)(nil)

// NewS3BlobStore connects and makes the bucket when missing.
func NewS3BlobStore(ctx context.Context, cfg S3BlobConfig) (*S3BlobStore, error) {
	if cfg.Bucket == "" {
		cfg.Bucket = "crm-media"
	}
	endpoint, secure := cfg.Endpoint, true
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("S3 endpoint %q is not host:port or a URL", cfg.Endpoint)
		}
		endpoint, secure = u.Host, u.Scheme != "http"
	}
	opts := &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: secure,
		Region: cfg.Region,
	}
	if cfg.PathStyle {
		opts.BucketLookup = minio.BucketLookupPath
	}
	client, err := minio.New(endpoint, opts)
	if err != nil {
		return nil, fmt.Errorf("S3 client: %w", err)
	}
	exists, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, fmt.Errorf("checking S3 bucket %s: %w", cfg.Bucket, err)
	}
	if !exists {
		if err := client.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
			// Another node may have made it in between.
			if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
				return nil, fmt.Errorf("making S3 bucket %s: %w", cfg.Bucket, err)
			}
		}
	}
	return &S3BlobStore{client: client, bucket: cfg.Bucket}, nil
}

// Put implements BlobStore. An object appears whole or not at all: S3 has
// no partial objects.
func (s *S3BlobStore) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := CheckBlobKey(key); err != nil {
		return err
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if size < 0 {
		// Spool a body of unknown length to learn it: one plain PUT then
		// serves every S3 server alike (a streamed multipart upload of
		// unknown length buffers 16 MiB parts in memory, and some
		// S3-compatible servers mishandle its chunked encoding).
		spool, n, err := spoolToTempFile(ctx, r)
		if err != nil {
			return fmt.Errorf("storing blob %s: %w", key, err)
		}
		defer func() {
			spool.Close()
			os.Remove(spool.Name())
		}()
		r, size = spool, n
	}
	// A body longer than announced must fail, not be cut silently.
	body := &exactReader{r: r, left: size}
	if _, err := s.client.PutObject(ctx, s.bucket, key, body, size, minio.PutObjectOptions{ContentType: contentType}); err != nil {
		return fmt.Errorf("storing blob %s: %w", key, err)
	}
	return nil
}

// Get implements BlobStore.
func (s *S3BlobStore) Get(ctx context.Context, key string) (io.ReadCloser, BlobInfo, error) {
	if err := CheckBlobKey(key); err != nil {
		return nil, BlobInfo{}, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, BlobInfo{}, s.notFound(key, err)
	}
	st, err := obj.Stat()
	if err != nil {
		obj.Close()
		return nil, BlobInfo{}, s.notFound(key, err)
	}
	return obj, BlobInfo{Size: st.Size, ContentType: st.ContentType, ModTime: st.LastModified}, nil
}

func (s *S3BlobStore) notFound(key string, err error) error {
	if code := minio.ToErrorResponse(err).Code; code == minio.NoSuchKey || code == "NotFound" {
		return crm.NotFound("blob")
	}
	return fmt.Errorf("reading blob %s: %w", key, err)
}

// Delete implements BlobStore.
func (s *S3BlobStore) Delete(ctx context.Context, key string) error {
	if err := CheckBlobKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
			return nil
		}
		return fmt.Errorf("deleting blob %s: %w", key, err)
	}
	return nil
}

func spoolToTempFile(ctx context.Context, r io.Reader) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "crm-blob-*")
	if err != nil {
		return nil, 0, err
	}
	n, err := io.Copy(f, &ctxReader{ctx: ctx, r: r})
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, 0, err
	}
	return f, n, nil
}

var errBlobSize = errors.New("blob body does not match its announced size")

// exactReader reads exactly left bytes: fewer or more is an error.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left == 0 {
		// Announced size reached: anything more is an error.
		var one [1]byte
		if n, _ := e.r.Read(one[:]); n > 0 {
			return 0, errBlobSize
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, errBlobSize
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
