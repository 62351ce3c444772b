package admin

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/gateway/testkit"
)

// TestMutualTLS: with TrustClientCertificates, a client certificate the
// listener verified stands in for the token; without it, or without a
// certificate, the API answers 401; a certificate from another CA does
// not get through the handshake.
func TestMutualTLS(t *testing.T) {
	ca, other := testkit.NewCA(t, "operators CA"), testkit.NewCA(t, "other CA")
	client, stranger := ca.Issue(t, "ops-laptop"), other.Issue(t, "stranger")
	pool := x509.NewCertPool()
	pool.AddCert(ca.Cert)

	for _, trusted := range []bool{true, false} {
		var logs strings.Builder
		h := testHandler(t, &logs)
		if trusted {
			h.TrustClientCertificates()
		}
		srv := httptest.NewUnstartedServer(h)
		srv.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: pool}
		srv.StartTLS()
		get := func(cert *tls.Certificate) (int, error) {
			tr := srv.Client().Transport.(*http.Transport).Clone()
			if cert != nil {
				// Offered whatever CAs the server names, so a stranger's
				// certificate is really sent.
				tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
			}
			resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/api/v1/sessions")
			if err != nil {
				return 0, err
			}
			resp.Body.Close()
			return resp.StatusCode, nil
		}
		want := 401
		if trusted {
			want = 200
		}
		if code, err := get(&client); err != nil || code != want {
			t.Errorf("trusted=%v: operator certificate: %d %v, want %d", trusted, code, err, want)
		}
		if code, err := get(nil); err != nil || code != 401 {
			t.Errorf("trusted=%v: no certificate: %d %v, want 401", trusted, code, err)
		}
		if code, err := get(&stranger); err == nil {
			t.Errorf("trusted=%v: a certificate of another CA got through the handshake: %d", trusted, code)
		}
		if trusted && !strings.Contains(logs.String(), "CN=ops-laptop") {
			t.Errorf("the audit line does not name the client certificate:\n%s", logs.String())
		}
		srv.Close()
	}
}
