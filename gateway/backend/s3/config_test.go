package s3

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/backendtest"
)

func validConfig(t *testing.T) *Config {
	t.Helper()
	c := NewConfig()
	c.Endpoint = "https://s3.internal:9000"
	c.Bucket = "ftp"
	c.AccessKeyID = "AK"
	c.SecretKeyFile = filepath.Join(t.TempDir(), "secret")
	os.WriteFile(c.SecretKeyFile, []byte("SECRET\n"), 0o600)
	return c
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	tests := []struct {
		name   string
		change func(c *Config)
		key    string // "" means valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"aws default endpoint", func(c *Config) { c.Endpoint = "" }, ""},
		{"prefix", func(c *Config) { c.Prefix = "site/ftp/" }, ""},
		{"part_size in MB", func(c *Config) { c.PartSize = "64MB" }, ""},
		{"ftp scheme", func(c *Config) { c.Endpoint = "ftp://s3.internal" }, "endpoint"},
		{"endpoint with path", func(c *Config) { c.Endpoint = "https://s3.internal/bucket" }, "endpoint"},
		{"endpoint without host", func(c *Config) { c.Endpoint = "https://" }, "endpoint"},
		{"no bucket", func(c *Config) { c.Bucket = "" }, "bucket"},
		{"upper-case bucket", func(c *Config) { c.Bucket = "FTP" }, "bucket"},
		{"bucket with slash", func(c *Config) { c.Bucket = "a/b" }, "bucket"},
		{"no region", func(c *Config) { c.Region = "" }, "region"},
		{"no access key", func(c *Config) { c.AccessKeyID = "" }, "access_key_id"},
		{"no secret file", func(c *Config) { c.SecretKeyFile = "" }, "secret_key_file"},
		{"missing secret file", func(c *Config) { c.SecretKeyFile = "/nonexistent/secret" }, "secret_key_file"},
		{"absolute prefix", func(c *Config) { c.Prefix = "/ftp" }, "prefix"},
		{"dot-dot prefix", func(c *Config) { c.Prefix = "a/../b" }, "prefix"},
		{"reserved prefix", func(c *Config) { c.Prefix = ".ftpsgw-x" }, "prefix"},
		{"missing ca_file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "ca_file"},
		{"ca_file not PEM", func(c *Config) { c.CAFile = notPEM }, "ca_file"},
		{"ca_file with http", func(c *Config) { c.Endpoint, c.CAFile = "http://s3.internal", notPEM }, "ca_file"},
		{"bad part_size", func(c *Config) { c.PartSize = "big" }, "part_size"},
		{"fractional part_size", func(c *Config) { c.PartSize = "1.5MiB" }, "part_size"},
		{"part_size below 5MiB", func(c *Config) { c.PartSize = "4MiB" }, "part_size"},
		{"part_size above 5GiB", func(c *Config) { c.PartSize = "6GiB" }, "part_size"},
		{"zero concurrency", func(c *Config) { c.UploadConcurrency = 0 }, "upload_concurrency"},
		{"huge concurrency", func(c *Config) { c.UploadConcurrency = 1000 }, "upload_concurrency"},
		{"zero max_rename_objects", func(c *Config) { c.MaxRenameObjects = 0 }, "max_rename_objects"},
		{"bad op_timeout", func(c *Config) { c.OpTimeout = "30" }, "op_timeout"},
		{"zero op_timeout", func(c *Config) { c.OpTimeout = "0s" }, "op_timeout"},
		{"negative retries", func(c *Config) { c.Retries = -1 }, "retries"},
		{"unbounded retries", func(c *Config) { c.Retries = 100 }, "retries"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validConfig(t)
			tc.change(c)
			r := backendtest.NewReporter()
			c.Validate(r)
			if tc.key == "" {
				if len(r.Errs) != 0 {
					t.Errorf("valid config reported %v", r.Errs)
				}
				if _, err := c.open("test", nil); err != nil {
					t.Errorf("Open: %v", err)
				}
				return
			}
			if len(r.Errs[tc.key]) == 0 {
				t.Errorf("no error on %q; got %v", tc.key, r.Errs)
			}
			if _, err := c.open("test", nil); err == nil {
				t.Errorf("Open accepted the config")
			}
		})
	}
}

func TestValidateWarnings(t *testing.T) {
	c := validConfig(t)
	c.Endpoint = "http://s3.internal:9000"
	c.PartSize, c.UploadConcurrency = "512MiB", 4
	r := backendtest.NewReporter()
	c.Validate(r)
	if len(r.Errs) != 0 {
		t.Fatalf("errors %v", r.Errs)
	}
	if len(r.Warns["endpoint"]) == 0 || !strings.Contains(r.Warns["endpoint"][0], "unencrypted") {
		t.Errorf("plain http endpoint not warned about: %v", r.Warns)
	}
	if len(r.Warns["part_size"]) == 0 {
		t.Errorf("2 GiB per upload not warned about: %v", r.Warns)
	}
	if secret, ok := r.Files["secret_key_file"]; !ok || !secret {
		t.Errorf("secret_key_file not checked as a secret: %v", r.Files)
	}
}

func TestRegistered(t *testing.T) {
	typ, ok := backend.Lookup("s3")
	if !ok {
		t.Fatal(`backend type "s3" not registered`)
	}
	c, ok := typ.NewConfig().(*Config)
	if !ok {
		t.Fatalf("NewConfig returned %T", typ.NewConfig())
	}
	if *c != *NewConfig() {
		t.Errorf("registered NewConfig = %+v, want the defaults", c)
	}
}

// decode decodes an HCL body over the defaults, as the loader does.
func decode(t *testing.T, src string) (*Config, string) {
	c := NewConfig()
	return c, backendtest.Decode(t, src, c)
}

func TestDecodeHCL(t *testing.T) {
	c, diags := decode(t, `
endpoint           = "https://s3.internal:9000"
bucket             = "ftp"
region             = "eu-west-1"
access_key_id      = "AK"
secret_key_file    = "/etc/ftpsgw/s3.secret"
prefix             = "site"
path_style         = true
ca_file            = "/etc/ftpsgw/ca.pem"
part_size          = "32MiB"
upload_concurrency = 8
max_rename_objects = 50
op_timeout         = "10s"
retries            = 5
`)
	if diags != "no diagnostics" {
		t.Fatalf("decode: %s", diags)
	}
	want := &Config{Endpoint: "https://s3.internal:9000", Bucket: "ftp", Region: "eu-west-1", AccessKeyID: "AK",
		SecretKeyFile: "/etc/ftpsgw/s3.secret", Prefix: "site", PathStyle: true, CAFile: "/etc/ftpsgw/ca.pem",
		PartSize: "32MiB", UploadConcurrency: 8, MaxRenameObjects: 50, OpTimeout: "10s", Retries: 5}
	if *c != *want {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	if _, diags := decode(t, "bucket = \"b\"\naccess_key_id = \"a\"\nsecret_key_file = \"s\"\nsecret_key = \"x\"\n"); !strings.Contains(diags, "secret_key") {
		t.Errorf("unknown key accepted: %s", diags)
	}
	if _, diags := decode(t, "access_key_id = \"a\"\nsecret_key_file = \"s\"\n"); !strings.Contains(diags, "bucket") {
		t.Errorf("missing bucket accepted: %s", diags)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"16MiB": 16 << 20, "5242880": 5 << 20, "64 MB": 64e6, "1gib": 1 << 30, "7b": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "1.5MiB", "-1MiB", "16 furlongs", "99999999999999999999"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

// apiErr is an S3 error answer with code and HTTP status, as the client
// builds it.
func apiErr(code string, status int) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "Op", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
			Err: &smithy.GenericAPIError{Code: code, Message: code}},
	}}
}

func TestClassify(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		err  error
		want error
	}{
		{apiErr("NoSuchKey", 404), fs.ErrNotExist},
		{apiErr("NotFound", 404), fs.ErrNotExist},
		{apiErr("AccessDenied", 403), fs.ErrPermission},
		{apiErr("", 403), fs.ErrPermission},
		{apiErr("SlowDown", 503), backend.ErrUnavailable},
		{apiErr("ServiceUnavailable", 503), backend.ErrUnavailable},
		{apiErr("", 503), backend.ErrUnavailable},
		{apiErr("InvalidAccessKeyId", 403), backend.ErrUnavailable},
		{apiErr("NoSuchBucket", 404), backend.ErrUnavailable},
		{apiErr("PreconditionFailed", 412), fs.ErrExist},
		{apiErr("InsufficientStorage", 507), backend.ErrNoSpace},
		{apiErr("QuotaExceeded", 403), backend.ErrNoSpace},
		{apiErr("InvalidRange", 416), fs.ErrInvalid},
		{refused, backend.ErrUnavailable},
		{fmt.Errorf("read: %w", errors.New("unexpected EOF")), nil},
		{fmt.Errorf("op: %w", context.DeadlineExceeded), context.DeadlineExceeded},
		{fmt.Errorf("op: %w", errStalled), context.DeadlineExceeded},
	}
	for _, tc := range tests {
		got := classify(tc.err)
		if tc.want == nil {
			if got != tc.err {
				t.Errorf("classify(%v) = %v, want it unchanged", tc.err, got)
			}
			continue
		}
		if !errors.Is(got, tc.want) {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
		if errors.Is(got, os.ErrDeadlineExceeded) {
			t.Errorf("classify(%v) keeps os.ErrDeadlineExceeded, which the gateway answers 425", tc.err)
		}
		if again := classify(got); again != got {
			t.Errorf("classify is not idempotent: %v", again)
		}
	}
}
