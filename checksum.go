package crm

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
)

// ErrMediaChecksum: media bytes that do not match their SHA-256. The
// adapters check what they download, the media store what it is given.
var ErrMediaChecksum = &Error{Kind: ErrUnprocessable, Code: "media_checksum_mismatch",
	Message: "downloaded media does not match its sha256"}

// DecodeSHA256 accepts a SHA-256 written as hex or as base64 (standard or
// URL alphabet, padded or not) and returns its 32 bytes.
func DecodeSHA256(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding,
		base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == sha256.Size {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not a sha256: %q", s)
}

// CheckSHA256 hashes data, compares it with expected (hex or base64, as the
// provider gives it; empty skips the check) and returns the hex digest. A
// mismatch is ErrMediaChecksum.
func CheckSHA256(data []byte, expected string) (string, error) {
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	if expected == "" {
		return digest, nil
	}
	want, err := DecodeSHA256(expected)
	if err != nil {
		return digest, fmt.Errorf("%w: %v", ErrMediaChecksum, err)
	}
	if subtle.ConstantTimeCompare(want, sum[:]) != 1 {
		return digest, fmt.Errorf("%w: got %s", ErrMediaChecksum, digest)
	}
	return digest, nil
}
