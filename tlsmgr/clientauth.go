package tlsmgr

import (
	"crypto/x509"
	"strings"
)

// MatchSubject reports whether a verified client certificate matches want,
// which is one of:
//
//	CN=alice            the subject common name, exactly
//	DNS:host.example    one of the DNS subject alternative names (case-insensitive)
//	email:a@example.com one of the email subject alternative names (case-insensitive)
//
// The prefixes are case-insensitive; anything else never matches. It only
// compares names: the caller must pass a certificate that crypto/tls has
// already verified against the client CAs.
func MatchSubject(cert *x509.Certificate, want string) bool {
	if cert == nil {
		return false
	}
	if len(want) > 3 && strings.EqualFold(want[:3], "CN=") {
		return cert.Subject.CommonName == want[3:]
	}
	kind, val, ok := strings.Cut(want, ":")
	if !ok || val == "" {
		return false
	}
	var list []string
	switch strings.ToLower(kind) {
	case "dns":
		list = cert.DNSNames
	case "email":
		list = cert.EmailAddresses
	default:
		return false
	}
	for _, n := range list {
		if strings.EqualFold(n, val) {
			return true
		}
	}
	return false
}
