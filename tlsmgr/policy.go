package tlsmgr

import (
	"crypto/tls"
)

// cipherSuites are the TLS 1.2 suites we allow: ECDHE key exchange with an
// AEAD cipher only. TLS 1.3 suites are not configurable in crypto/tls and
// are all AEAD.
var cipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// CipherSuites returns the TLS 1.2 cipher suites the gateway offers
// (ECDHE with AEAD only), for documentation and tests.
func CipherSuites() []uint16 {
	return append([]uint16(nil), cipherSuites...)
}

// policyConfig returns a server config carrying only the version and
// cipher policy. crypto/tls never renegotiates as a server and never
// compresses, so nothing needs turning off for those.
func policyConfig(minVersion uint16) *tls.Config {
	return &tls.Config{
		MinVersion:   minVersion,
		MaxVersion:   tls.VersionTLS13,
		CipherSuites: CipherSuites(),
		// ALPN "ftp" only (checkHello refuses other offers): a client that
		// offers h2 or http/1.1 is not talking FTP (ALPACA), and
		// certmagic's acme-tls/1 path stays off the FTP listeners.
		NextProtos: []string{ALPNProtocol},
	}
}
