package sftp

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"strconv"
	"testing"

	"golang.org/x/crypto/ssh"
)

// rsaPublicKey returns a new RSA public key.
func rsaPublicKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// mustEd25519 returns a new ed25519 public key.
func mustEd25519(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func itoa(n int) string { return strconv.Itoa(n) }
