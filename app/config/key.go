package config

import "crypto/sha256"

func deriveKey(passphrase string) []byte {
	sum := sha256.Sum256([]byte("atiende-secret-key:" + passphrase))
	return sum[:]
}
