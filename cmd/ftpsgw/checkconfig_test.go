package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend/s3/s3test"
)

// checkConfigS3 is a valid file whose only backend, at line 5, is an s3
// block: endpoint, bucket, access key, secret file, CA file.
const checkConfigS3 = `tls {
  source    = "self_signed"
  state_dir = %q
}
backend "s3" "bucket" {
  endpoint        = %q
  bucket          = %q
  access_key_id   = %q
  secret_key_file = %q
  ca_file         = %q
  path_style      = true
  op_timeout      = "3s"
}
user "demo" {
  password_hash = %q
  permissions   = ["*"]
}
`

// closedPort returns a loopback address nothing listens on (it was free a
// moment ago).
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runCheckConfig runs check-config with extra flags and returns the exit
// status and stdout.
func runCheckConfig(t *testing.T, path string, flags ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(append([]string{"check-config", "-config", path}, flags...), strings.NewReader(""), &out, &errOut)
	if errOut.Len() > 0 {
		t.Logf("stderr: %s", errOut.String())
	}
	return code, out.String()
}

// TestCheckConfigProbesS3: check-config probes the backend on a real
// versitygw. A bucket that does not exist and a wrong secret are errors
// at the block's line (exit 1); an endpoint nothing listens on is a
// warning (exit 0); -offline sends nothing and reports neither.
func TestCheckConfigProbesS3(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{TLS: true})
	bucket := s3test.NewBucketName("cc")
	srv.CreateBucket(t, bucket)
	dir := t.TempDir()
	wrongSecret := writeFile(t, dir, "wrong.secret", "not-the-secret\n", 0o600)
	closed := "https://" + closedPort(t)
	file := func(name, endpoint, bucket, secret string) string {
		return writeFile(t, dir, name, fmt.Sprintf(checkConfigS3, filepath.Join(dir, "state"),
			endpoint, bucket, s3test.UserAccess, secret, srv.CAFile, demoHash), 0o644)
	}
	for _, tc := range []struct {
		name, endpoint, bucket, secret string
		code                           int
		want                           string // the line at the block, after "path:5: "
	}{
		{"good", srv.Endpoint, bucket, srv.UserSecretFile, 0, ""},
		{"no such bucket", srv.Endpoint, "no-such-bucket-here", srv.UserSecretFile, 1,
			`backend "bucket": the storage refused the probe: probe bucket no-such-bucket-here at ` + srv.Endpoint + `: write: backend unavailable: the bucket does not exist`},
		{"wrong secret", srv.Endpoint, bucket, wrongSecret, 1,
			`backend "bucket": the storage refused the probe: probe bucket ` + bucket + ` at ` + srv.Endpoint + `: write: backend unavailable: the storage refused the access key or its secret`},
		{"closed port", closed, bucket, srv.UserSecretFile, 0,
			`warning: backend "bucket": cannot reach its storage (probe bucket ` + bucket + ` at ` + closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := file(strings.ReplaceAll(tc.name, " ", "_")+".hcl", tc.endpoint, tc.bucket, tc.secret)
			start := time.Now()
			code, out := runCheckConfig(t, path)
			t.Logf("exit %d in %v:\n%s", code, time.Since(start).Round(time.Millisecond), out)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if tc.want == "" {
				if out != "config ok\n" {
					t.Errorf("output %q, want only config ok", out)
				}
			} else if !strings.Contains(out, path+":5: "+tc.want) {
				t.Errorf("output lacks %q", path+":5: "+tc.want)
			}
			if tc.code == 0 && tc.want != "" && !strings.Contains(out, "; not checked\n") {
				t.Errorf("warning does not say the backend was not checked")
			}
			if elapsed := time.Since(start); elapsed > checkProbeTimeout+2*time.Second {
				t.Errorf("check-config took %v, want at most about %v", elapsed, checkProbeTimeout)
			}
			if code, out := runCheckConfig(t, path, "-offline"); code != 0 || out != "config ok\n" {
				t.Errorf("-offline: exit %d, output %q; want 0 and config ok", code, out)
			}
		})
	}
	if keys := srv.Keys(t, bucket, ""); len(keys) != 0 {
		t.Errorf("the probes left %q in the bucket", keys)
	}
}

// TestCheckConfigOfflineFlag: -offline is a flag of check-config (in any
// place on the line) and the usage text names it.
func TestCheckConfigOfflineFlag(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "not-made")
	path := writeFile(t, dir, "c.hcl", fmt.Sprintf(minimal, filepath.Join(dir, "state"), root, demoHash), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"check-config", "-offline", "-config", path}, nil, &out, &errOut); code != 0 || out.String() != "config ok\n" {
		t.Errorf("-offline first: exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if _, err := os.Stat(root); err == nil {
		t.Errorf("check-config -offline opened the local backend (made its root)")
	}
	if !strings.Contains(usageText, "check-config -config FILE [-offline]") {
		t.Errorf("usage text does not name -offline:\n%s", usageText)
	}
	// Online, the local backend is opened and probed as serve would.
	if code, out := checkConfig(t, path); code != 0 || out != "config ok\n" {
		t.Errorf("online: exit %d\n%s", code, out)
	}
	if ents, err := os.ReadDir(root); err != nil || len(ents) != 0 {
		t.Errorf("local root after the probe: %v, %v; want an empty directory", ents, err)
	}
}

// unreachedBackend returns the backend a check-config line warns about as
// unreachable.
func unreachedBackend(line string) (string, bool) {
	_, rest, ok := strings.Cut(line, `: warning: backend "`)
	if !ok {
		return "", false
	}
	name, rest, ok := strings.Cut(rest, `": cannot reach its storage (`)
	if !ok || !strings.HasSuffix(rest, "; not checked") {
		return "", false
	}
	return name, true
}
