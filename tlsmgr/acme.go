package tlsmgr

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/hashicorp/go-hclog"
)

// acmeSource is source "acme": certificates obtained, stored and renewed
// by certmagic through our own Config, cache and ACME issuer (the package
// defaults are never touched).
type acmeSource struct {
	magic   *certmagic.Config
	cache   *certmagic.Cache
	domains []string
}

func newACMESource(ctx context.Context, ac ACMEConfig, log hclog.Logger) (*acmeSource, error) {
	zl := newZapLogger(log)
	var roots *x509.CertPool
	if ac.CARootFile != "" {
		pemBytes, err := os.ReadFile(ac.CARootFile)
		if err != nil {
			return nil, fmt.Errorf("tls: read acme ca_root_file: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("tls: acme ca_root_file %s holds no PEM certificate", ac.CARootFile)
		}
	}
	src := &acmeSource{domains: append([]string(nil), ac.Domains...)}
	src.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) {
			return src.magic, nil
		},
		RenewCheckInterval: ac.renewCheckInterval,
		Logger:             zl,
	})
	src.magic = certmagic.New(src.cache, certmagic.Config{
		RenewalWindowRatio: ac.renewalWindowRatio,
		DefaultServerName:  ac.Domains[0],
		FallbackServerName: ac.Domains[0],
		OCSP:               certmagic.OCSPConfig{DisableStapling: ac.DisableOCSPStapling},
		Storage:            &certmagic.FileStorage{Path: ac.Storage},
		Logger:             zl,
	})
	http01, tlsalpn01 := ac.challenges()
	tmpl := certmagic.ACMEIssuer{
		CA:                      ac.CAURL,
		Email:                   ac.Email,
		Agreed:                  true,
		DisableHTTPChallenge:    !http01,
		DisableTLSALPNChallenge: !tlsalpn01,
		ListenHost:              ac.ListenHost,
		AltHTTPPort:             ac.HTTPPort,
		AltTLSALPNPort:          ac.TLSALPNPort,
		TrustedRoots:            roots,
		Logger:                  zl,
	}
	if ac.CAURL != "" {
		// A private CA: never fall back to Let's Encrypt's staging CA.
		tmpl.TestCA = ac.CAURL
	}
	src.magic.Issuers = []certmagic.Issuer{certmagic.NewACMEIssuer(src.magic, tmpl)}
	if err := src.magic.ManageSync(ctx, src.domains); err != nil {
		src.cache.Stop()
		return nil, fmt.Errorf("tls: acme: %w", err)
	}
	return src, nil
}

func (a *acmeSource) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return a.magic.GetCertificate(hello)
}

// reload is a no-op: certmagic renews on its own schedule.
func (a *acmeSource) reload() error { return nil }

func (a *acmeSource) expiries() map[string]time.Time {
	out := make(map[string]time.Time, len(a.domains))
	for _, d := range a.domains {
		for _, c := range a.cache.AllMatchingCertificates(d) {
			if c.Leaf != nil && c.Leaf.NotAfter.After(out[d]) {
				out[d] = c.Leaf.NotAfter
			}
		}
	}
	return out
}

func (a *acmeSource) close() { a.cache.Stop() }
