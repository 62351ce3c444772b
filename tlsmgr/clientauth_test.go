package tlsmgr

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMatchSubject(t *testing.T) {
	ca := newTestCA(t, "client CA")
	certPEM, _ := ca.issue(t, "alice", []string{"alice.example.com"}, time.Now().Add(time.Hour), true, "alice@example.com")
	cert, err := x509.ParseCertificate(mustDER(t, certPEM))
	if err != nil {
		t.Fatal(err)
	}
	for want, ok := range map[string]bool{
		"CN=alice":                true,
		"cn=alice":                true,
		"CN=Alice":                false,
		"CN=ali":                  false,
		"CN=":                     false,
		"DNS:alice.example.com":   true,
		"dns:ALICE.example.com":   true,
		"DNS:bob.example.com":     false,
		"email:alice@example.com": true,
		"email:bob@example.com":   false,
		"alice":                   false,
		"URI:alice":               false,
		"DNS:":                    false,
		"":                        false,
	} {
		if got := MatchSubject(cert, want); got != ok {
			t.Errorf("MatchSubject(%q) = %v, want %v", want, got, ok)
		}
	}
	if MatchSubject(nil, "CN=alice") {
		t.Error("nil certificate matched")
	}
}

func TestClientCertificates(t *testing.T) {
	serverCA := newTestCA(t, "server CA")
	clientCA := newTestCA(t, "client CA")
	otherCA := newTestCA(t, "other CA")
	caFile := filepath.Join(t.TempDir(), "clients.pem")
	if err := os.WriteFile(caFile, clientCA.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	pair := func(ca *testCA) tls.Certificate {
		c, k := ca.issue(t, "alice", nil, time.Now().Add(time.Hour), true)
		p, err := tls.X509KeyPair(c, k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, foreign := pair(clientCA), pair(otherCA)
	for _, mode := range []string{ClientCertRequired, ClientCertOptional, ""} {
		t.Run("mode="+mode, func(t *testing.T) {
			m := fileManager(t, serverCA, func(c *Config) { c.ClientCAFile = caFile; c.ClientCert = mode })
			for _, ver := range versions {
				try := func(certs []tls.Certificate) result {
					c := clientConfig(serverCA, ver.v, nil)
					c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
						if len(certs) == 0 {
							return &tls.Certificate{}, nil
						}
						return &certs[0], nil // sent even if the server's CA list does not name its issuer
					}
					return dial(t, m.NewSession("c").Control(""), c)
				}
				r := try([]tls.Certificate{good})
				if r.srvErr != nil || !MatchSubject(r.server.PeerCertificates[0], "CN=alice") {
					t.Fatalf("%s good cert: %v", ver.name, r.srvErr)
				}
				if r := try([]tls.Certificate{foreign}); r.srvErr == nil {
					t.Fatalf("%s cert from another CA accepted", ver.name)
				}
				r = try(nil)
				if wantErr := mode == ClientCertRequired; (r.srvErr != nil) != wantErr {
					t.Fatalf("%s no cert: server error %v, want error %v", ver.name, r.srvErr, wantErr)
				}
			}
		})
	}
}
