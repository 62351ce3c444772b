package s3test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// newClient is an S3 client for s with the given credentials.
func newClient(s *Server, access, secret string) *s3.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.CAFile != "" {
		pool := x509.NewCertPool()
		if b, err := os.ReadFile(s.CAFile); err == nil {
			pool.AppendCertsFromPEM(b)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		HTTPClient:   &http.Client{Transport: tr},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: access, SecretAccessKey: secret}, nil
		}),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// UserClient is an S3 client with the plain user's credentials.
func (s *Server) UserClient() *s3.Client { return newClient(s, UserAccess, UserSecret) }

// CreateBucket creates bucket (as root) with a policy that lets the plain
// user do everything in it.
func (s *Server) CreateBucket(t testing.TB, bucket string) {
	t.Helper()
	c, cancel := ctx(t)
	defer cancel()
	if _, err := s.Client.CreateBucket(c, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	s.setPolicy(t, bucket, "")
}

// Deny makes the storage refuse the plain user every write and delete
// of keys starting with prefix in bucket (a Deny statement of the bucket
// policy), until the test ends.
func (s *Server) Deny(t testing.TB, bucket, prefix string) {
	t.Helper()
	s.setPolicy(t, bucket, prefix)
	t.Cleanup(func() { s.setPolicy(t, bucket, "") })
}

type statement struct {
	Effect    string
	Principal map[string][]string
	Action    []string
	Resource  []string
}

// setPolicy puts the bucket's policy: the user may do everything, except
// writing under deny when it is not empty.
func (s *Server) setPolicy(t testing.TB, bucket, deny string) {
	t.Helper()
	who := map[string][]string{"AWS": {UserAccess}}
	arn := "arn:aws:s3:::" + bucket
	stmts := []statement{{Effect: "Allow", Principal: who, Action: []string{"s3:*"}, Resource: []string{arn, arn + "/*"}}}
	if deny != "" {
		stmts = append(stmts, statement{Effect: "Deny", Principal: who,
			Action:   []string{"s3:PutObject", "s3:DeleteObject"},
			Resource: []string{arn + "/" + deny + "*"}})
	}
	doc, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": stmts})
	c, cancel := ctx(t)
	defer cancel()
	if _, err := s.Client.PutBucketPolicy(c, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(string(doc))}); err != nil {
		t.Fatalf("put bucket policy on %s: %v", bucket, err)
	}
}

// OpenUploads lists the multipart uploads open in bucket, as
// "KEY UPLOADID".
func (s *Server) OpenUploads(t testing.TB, bucket string) []string {
	t.Helper()
	c, cancel := ctx(t)
	defer cancel()
	out, err := s.Client.ListMultipartUploads(c, &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)})
	if err != nil {
		t.Fatalf("list multipart uploads in %s: %v", bucket, err)
	}
	var open []string
	for _, u := range out.Uploads {
		open = append(open, aws.ToString(u.Key)+" "+aws.ToString(u.UploadId))
	}
	return open
}

// Keys lists every key under prefix in bucket (as root).
func (s *Server) Keys(t testing.TB, bucket, prefix string) []string {
	t.Helper()
	c, cancel := ctx(t)
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(c)
		if err != nil {
			t.Fatalf("list %s/%s: %v", bucket, prefix, err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// selfSigned writes a certificate for 127.0.0.1 and localhost and its
// key into dir.
func selfSigned(dir string) (certFile, keyFile string, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "versitygw test"},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", "", err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", err
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600)
}

// NewBucketName returns a fresh bucket name with the given stem.
func NewBucketName(stem string) string {
	return stem + "-" + strings.ToLower(rand.Text()[:10])
}
