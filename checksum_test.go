package crm

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"
)

func TestSHA256(t *testing.T) {
	t.Parallel()
	data := []byte("hello")
	sum := sha256.Sum256(data)
	for _, enc := range []string{hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]),
		base64.RawURLEncoding.EncodeToString(sum[:]), ""} {
		if _, err := CheckSHA256(data, enc); err != nil {
			t.Errorf("%q: %v", enc, err)
		}
	}
	for _, bad := range []string{"nope", base64.StdEncoding.EncodeToString(make([]byte, 32))} {
		if _, err := CheckSHA256(data, bad); !errors.Is(err, ErrMediaChecksum) {
			t.Errorf("%q: want ErrMediaChecksum, got %v", bad, err)
		}
	}
}
