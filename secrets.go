package crm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Sealer encrypts secrets at rest (provider tokens, app secrets) with
// AES-256-GCM. Each sealed value starts with a one-byte key id, so a rotation
// can decrypt with the old key while sealing with the new one.
type Sealer struct {
	current byte
	aeads   map[byte]cipher.AEAD
}

// ErrUnseal means a sealed value could not be decrypted (wrong key or tampered).
var ErrUnseal = errors.New("secret could not be decrypted")

// NewSealer builds a sealer from the 32-byte CRM_SECRET_KEY and, optionally,
// previous keys still accepted for decryption.
func NewSealer(key []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{aeads: map[byte]cipher.AEAD{}}
	all := append([][]byte{key}, previous...)
	for _, k := range all {
		if len(k) != 32 {
			return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(k))
		}
		aead, err := newAEAD(k)
		if err != nil {
			return nil, err
		}
		id := keyID(k)
		if _, dup := s.aeads[id]; dup {
			return nil, errors.New("two secret keys share a key id; generate a new key")
		}
		s.aeads[id] = aead
	}
	s.current = keyID(key)
	return s, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	// The encryption key is derived, so the raw CRM_SECRET_KEY is never used
	// directly by two algorithms.
	m := hmac.New(sha256.New, key)
	m.Write([]byte("crm/secrets-at-rest"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// keyID is a short fingerprint of a key (not secret: one byte of a hash).
func keyID(key []byte) byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("crm/key-id"))
	return m.Sum(nil)[0]
}

// Seal encrypts plaintext; aad binds it to its owner (e.g. the connection id)
// so a sealed value copied to another row does not decrypt.
func (s *Sealer) Seal(plaintext, aad []byte) []byte {
	aead := s.aeads[s.current]
	nonce := make([]byte, aead.NonceSize(), 1+aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	out := append([]byte{s.current}, nonce...)
	return aead.Seal(out, nonce, plaintext, aad)
}

// Open decrypts a value made by Seal with any known key.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1 {
		return nil, ErrUnseal
	}
	aead, ok := s.aeads[sealed[0]]
	if !ok || len(sealed) < 1+aead.NonceSize()+aead.Overhead() {
		return nil, ErrUnseal
	}
	nonce := sealed[1 : 1+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, sealed[1+aead.NonceSize():], aad)
	if err != nil {
		return nil, ErrUnseal
	}
	return plain, nil
}

// NeedsRotation reports whether a sealed value was made with an older key.
func (s *Sealer) NeedsRotation(sealed []byte) bool {
	return len(sealed) > 0 && sealed[0] != s.current
}
