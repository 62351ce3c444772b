package tlsmgr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
)

// ALPNProtocol is the one application protocol the gateway's listeners
// offer (IANA's ALPN protocol ID for FTP). A ClientHello that offers ALPN
// without it is refused, so a browser tricked into speaking HTTPS to an
// FTPS port (ALPACA) fails in the handshake.
const ALPNProtocol = "ftp"

// Errors of checkHello, wrapped with the offending values.
var (
	// ErrALPN: the ClientHello offers ALPN but not "ftp".
	ErrALPN = errors.New("tls client offered alpn without ftp")
	// ErrSNI: with strict_sni, the SNI name is not covered by the
	// certificate.
	ErrSNI = errors.New("tls sni name not covered by the certificate")
)

// checkHello refuses cross-protocol ClientHellos: ALPN offered without
// "ftp", and with StrictSNI an SNI name the certificate for it does not
// cover. A ClientHello without ALPN or without SNI passes. host is the
// HOST name, which only selects a certificate when SNI is absent.
func (m *Manager) checkHello(hello *tls.ClientHelloInfo, host string) error {
	if len(hello.SupportedProtos) > 0 && !slices.Contains(hello.SupportedProtos, ALPNProtocol) {
		return fmt.Errorf("%w: %q", ErrALPN, truncList(hello.SupportedProtos))
	}
	if !m.cfg.StrictSNI || hello.ServerName == "" {
		return nil
	}
	cert, err := m.getCertificate(hello, host)
	if err != nil {
		return fmt.Errorf("%w: %q: %w", ErrSNI, hello.ServerName, err)
	}
	leaf := cert.Leaf
	if leaf == nil && len(cert.Certificate) > 0 {
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("%w: %q: %w", ErrSNI, hello.ServerName, err)
		}
	}
	if leaf == nil || leaf.VerifyHostname(hello.ServerName) != nil {
		return fmt.Errorf("%w: %q", ErrSNI, hello.ServerName)
	}
	return nil
}

// truncList keeps at most 4 client-sent values of at most 32 bytes each
// for a log line.
func truncList(vals []string) []string {
	out := make([]string, 0, 4)
	for _, v := range vals {
		if len(out) == 4 {
			break
		}
		if len(v) > 32 {
			v = v[:32]
		}
		out = append(out, v)
	}
	return out
}
