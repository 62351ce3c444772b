package policy

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"testing"

	"golang.org/x/crypto/argon2"
)

// cheapHash returns an argon2id PHC string with tiny parameters, so tests
// that are not about hashing cost stay fast under -race.
func cheapHash(t testing.TB, pw string) string {
	t.Helper()
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte(pw), salt, 1, 64, 1, 32)
	b := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=19$m=64,t=1,p=1$%s$%s", b.EncodeToString(salt), b.EncodeToString(key))
}

func mustCompile(t testing.TB, cfg Config) *Policy {
	t.Helper()
	p, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func r(path string, perms ...string) RuleConfig {
	if perms == nil {
		perms = []string{}
	}
	return RuleConfig{Path: path, Permissions: perms}
}

var netipZero netip.Addr
