// Package secrets encrypts channel secrets at rest with AES-256-GCM.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// Box seals and opens secrets with one 32-byte key.
type Box struct{ aead cipher.AEAD }

// ErrUndecryptable: the ciphertext was not sealed with this key (or was altered).
var ErrUndecryptable = errors.New("secret cannot be decrypted: was ATIENDE_SECRET_KEY changed?")

// New returns a Box for key (32 bytes).
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("secret key must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plain; the nonce is stored in front of the ciphertext.
func (b *Box) Seal(plain string) []byte {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return b.aead.Seal(nonce, nonce, []byte(plain), nil)
}

// Open decrypts what Seal produced.
func (b *Box) Open(sealed []byte) (string, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return "", ErrUndecryptable
	}
	plain, err := b.aead.Open(nil, sealed[:n], sealed[n:], nil)
	if err != nil {
		return "", ErrUndecryptable
	}
	return string(plain), nil
}

// Mask shows only the last four characters of a secret ("••••abcd").
func Mask(s string) string {
	r := []rune(s)
	if len(r) <= 4 {
		return "••••"
	}
	return "••••" + string(r[len(r)-4:])
}
