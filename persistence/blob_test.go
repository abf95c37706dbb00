package persistence_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/stretchr/testify/require"

	"crm"
	"crm/persistence"
)

// TestBlobStoreConformance runs one suite against every BlobStore.
func TestBlobStoreConformance(t *testing.T) {
	t.Parallel()
	t.Run("local", func(t *testing.T) {
		t.Parallel()
		store, err := persistence.NewLocalBlobStore(t.TempDir())
		require.NoError(t, err)
		exerciseBlobStore(t, store)
	})
	t.Run("s3", func(t *testing.T) {
		t.Parallel()
		exerciseBlobStore(t, newFakeS3BlobStore(t))
	})
}

// newFakeS3BlobStore talks to an in-process S3 server (gofakes3, in memory).
func newFakeS3BlobStore(t *testing.T) *persistence.S3BlobStore {
	t.Helper()
	faker := gofakes3.New(s3mem.New())
	ts := httptest.NewServer(faker.Server())
	t.Cleanup(ts.Close)
	store, err := persistence.NewS3BlobStore(context.Background(), persistence.S3BlobConfig{
		Endpoint: ts.URL, Bucket: "crm-test", AccessKey: "test", SecretKey: "testsecret", Region: "us-east-1", PathStyle: true})
	require.NoError(t, err)
	// Opening again finds the bucket made the first time.
	_, err = persistence.NewS3BlobStore(context.Background(), persistence.S3BlobConfig{
		Endpoint: ts.URL, Bucket: "crm-test", AccessKey: "test", SecretKey: "testsecret", Region: "us-east-1", PathStyle: true})
	require.NoError(t, err)
	return store
}

func exerciseBlobStore(t *testing.T, store persistence.BlobStore) {
	ctx := context.Background()
	read := func(t *testing.T, key string) ([]byte, persistence.BlobInfo) {
		t.Helper()
		rc, info, err := store.Get(ctx, key)
		require.NoError(t, err)
		defer rc.Close()
		data, err := io.ReadAll(rc)
		require.NoError(t, err)
		return data, info
	}
	isNotFound := func(err error) bool { return errors.Is(err, crm.ErrNotFound) }

	t.Run("put get delete", func(t *testing.T) {
		key := "tenant-a/media/0195f0a2-1111-7000-8000-000000000001"
		body := []byte("\x89PNG\r\n\x1a\nnot really a png")
		require.NoError(t, store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), "image/png"))
		data, info := read(t, key)
		require.Equal(t, body, data)
		require.Equal(t, int64(len(body)), info.Size)
		require.Equal(t, "image/png", info.ContentType)
		require.False(t, info.ModTime.IsZero())

		require.NoError(t, store.Delete(ctx, key))
		_, _, err := store.Get(ctx, key)
		require.True(t, isNotFound(err), "after delete: %v", err)
		require.NoError(t, store.Delete(ctx, key), "deleting twice is fine")
	})

	t.Run("missing", func(t *testing.T) {
		_, _, err := store.Get(ctx, "tenant-a/never-written")
		require.True(t, isNotFound(err), "%v", err)
	})

	t.Run("overwrite", func(t *testing.T) {
		key := "tenant-a/overwrite.bin"
		require.NoError(t, store.Put(ctx, key, strings.NewReader("first"), 5, "text/plain"))
		require.NoError(t, store.Put(ctx, key, strings.NewReader("second version"), 14, "application/pdf"))
		data, info := read(t, key)
		require.Equal(t, "second version", string(data))
		require.Equal(t, "application/pdf", info.ContentType)
	})

	t.Run("unknown size and large body", func(t *testing.T) {
		key := "tenant-a/large.bin"
		body := make([]byte, 3<<20+17)
		_, err := rand.Read(body)
		require.NoError(t, err)
		require.NoError(t, store.Put(ctx, key, bytes.NewReader(body), -1, "video/mp4"))
		data, info := read(t, key)
		require.True(t, bytes.Equal(body, data), "unknown size: got %d bytes", len(data))
		require.Equal(t, int64(len(body)), info.Size)

		require.NoError(t, store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), "video/mp4"))
		data, _ = read(t, key)
		require.True(t, bytes.Equal(body, data), "known size: got %d bytes", len(data))
	})

	t.Run("short body is refused and stores nothing", func(t *testing.T) {
		key := "tenant-a/short"
		err := store.Put(ctx, key, strings.NewReader("abc"), 10, "text/plain")
		require.Error(t, err)
		_, _, err = store.Get(ctx, key)
		require.True(t, isNotFound(err), "%v", err)
	})

	t.Run("keys that could escape are refused", func(t *testing.T) {
		for _, key := range []string{"", "../etc/passwd", "a/../../b", "/abs", "a//b", "a/./b", `a\b`, "a/b/", "nul\x00", "sp ace", "é"} {
			err := store.Put(ctx, key, strings.NewReader("x"), 1, "text/plain")
			require.ErrorIs(t, err, crm.ErrInvalid, "key %q", key)
			_, _, err = store.Get(ctx, key)
			require.ErrorIs(t, err, crm.ErrInvalid, "key %q", key)
			require.ErrorIs(t, store.Delete(ctx, key), crm.ErrInvalid, "key %q", key)
		}
	})

	t.Run("concurrent writers leave one whole version", func(t *testing.T) {
		key := "tenant-a/race"
		a := bytes.Repeat([]byte("a"), 256<<10)
		b := bytes.Repeat([]byte("b"), 256<<10)
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			body := a
			if i%2 == 1 {
				body = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				require.NoError(t, store.Put(ctx, key, bytes.NewReader(body), int64(len(body)), "application/octet-stream"))
			}()
		}
		wg.Wait()
		data, _ := read(t, key)
		require.True(t, bytes.Equal(data, a) || bytes.Equal(data, b), "a torn write")
	})
}

func TestBlobLocalLeavesNoTempFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, err := persistence.NewLocalBlobStore(dir)
	require.NoError(t, err)
	ctx := context.Background()
	require.Error(t, store.Put(ctx, "t/short", strings.NewReader("abc"), 10, "text/plain"))
	require.NoError(t, store.Put(ctx, "t/ok", strings.NewReader("abc"), 3, "text/plain"))
	err = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		require.False(t, strings.HasPrefix(info.Name(), ".tmp-"), "temporary file left: %s", path)
		return nil
	})
	require.NoError(t, err)
	// Nothing is written outside the root, whatever the key.
	require.Error(t, store.Put(ctx, "../outside", strings.NewReader("x"), 1, "text/plain"))
	_, err = os.Stat(filepath.Join(filepath.Dir(dir), "outside"))
	require.True(t, os.IsNotExist(err))
}

func TestBlobOpenFromConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{"CRM_MEDIA_DIR": t.TempDir()}
	cfg := persistence.BlobConfigFromEnv(func(k string) string { return env[k] })
	store, err := persistence.OpenBlobStore(context.Background(), cfg)
	require.NoError(t, err)
	require.IsType(t, &persistence.LocalBlobStore{}, store)
}
