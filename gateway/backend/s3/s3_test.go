package s3

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/s3/s3test"
)

// TestRenameDirTooManyObjects: above max_rename_objects the rename fails
// with backend.ErrTooManyObjects (its own 550 text, not a permission
// error) before anything is copied: the target has no key, the source
// all of its keys, on the server and on its disk. At exactly the limit
// the rename goes through.
func TestRenameDirTooManyObjects(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, func(c *Config) { c.MaxRenameObjects = 5 })
	defer o.Close()
	fsys := session(t, o, "/u")
	fsys.Mkdir(t.Context(), "d")
	fsys.Mkdir(t.Context(), "d/sub")
	for i := range 4 {
		put(t, fsys, fmt.Sprintf("d/sub/f%d", i), []byte("x"))
	}
	// d/, d/sub/ and four files: six objects, one above the limit.
	err := fsys.Rename(t.Context(), "d", "e")
	if !errors.Is(err, backend.ErrTooManyObjects) || errors.Is(err, fs.ErrPermission) {
		t.Fatalf("rename of 6 objects with max_rename_objects = 5: %v, want only backend.ErrTooManyObjects", err)
	}
	if _, err := fsys.Stat(t.Context(), "e"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("target exists after a refused rename: %v", err)
	}
	if keys := srv.Keys(t, bucket, "u/e"); len(keys) != 0 {
		t.Errorf("a refused rename left %q", keys)
	}
	if _, err := os.Stat(filepath.Join(srv.BucketDir(bucket), "u", "e")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("target on disk after a refused rename: %v", err)
	}
	if got := len(srv.Keys(t, bucket, "u/d/")); got != 6 {
		t.Errorf("source holds %d keys, want 6", got)
	}
	if err := fsys.Remove(t.Context(), "d/sub/f3"); err != nil {
		t.Fatal(err)
	}
	if err := fsys.Rename(t.Context(), "d", "e"); err != nil {
		t.Fatalf("rename of exactly max_rename_objects objects: %v", err)
	}
	if got := len(srv.Keys(t, bucket, "u/e/")); got != 5 {
		t.Errorf("renamed directory holds %d keys, want 5", got)
	}
}

// TestRenameDirMovesEveryObject moves a tree with nested directories and
// checks the keys on the server.
func TestRenameDirMovesEveryObject(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	defer o.Close()
	fsys := session(t, o, "/u")
	for _, d := range []string{"d", "d/a", "d/a/b", "d/empty"} {
		if err := fsys.Mkdir(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	put(t, fsys, "d/a/b/f", []byte("deep"))
	put(t, fsys, "d/g", []byte("top"))
	if err := fsys.Rename(t.Context(), "d", "moved"); err != nil {
		t.Fatal(err)
	}
	got := srv.Keys(t, bucket, "u/")
	want := []string{"u/", "u/moved/", "u/moved/a/", "u/moved/a/b/", "u/moved/a/b/f", "u/moved/empty/", "u/moved/g"}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("keys after the rename:\n%q\nwant\n%q", got, want)
	}
	if b := get(t, fsys, "moved/a/b/f"); string(b) != "deep" {
		t.Errorf("moved file holds %q", b)
	}
}

// TestMultipartCopy renames a file above the copy threshold (lowered for
// the test from S3's 5 GiB) through UploadPartCopy.
func TestMultipartCopy(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	defer o.Close()
	o.st.copyThreshold, o.st.copyPart = 6<<20, 5<<20
	fsys := session(t, o, "/u")
	data := randomBytes(12<<20 + 3)
	put(t, fsys, "big", data)
	if err := fsys.Rename(t.Context(), "big", "copy"); err != nil {
		t.Fatal(err)
	}
	if got := get(t, fsys, "copy"); !bytes.Equal(got, data) {
		t.Errorf("copied %d bytes that differ", len(got))
	}
	if _, err := fsys.Stat(t.Context(), "big"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source after the rename: %v", err)
	}
	wantNoUploads(t, srv, bucket)
}

// TestRenameFailureKeepsSource: a copy the storage refuses leaves the
// source where it was.
func TestRenameFailureKeepsSource(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	defer o.Close()
	fsys := session(t, o, "/u")
	fsys.Mkdir(t.Context(), "locked")
	put(t, fsys, "f", []byte("data"))
	srv.Deny(t, bucket, "u/locked/")
	if err := fsys.Rename(t.Context(), "f", "locked/f"); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("rename into a denied directory: %v, want fs.ErrPermission", err)
	}
	if b := get(t, fsys, "f"); string(b) != "data" {
		t.Errorf("source holds %q after a failed rename", b)
	}
}

// TestListingAcrossPages lists and measures 2 100 objects (three pages)
// written straight to the bucket, with reserved and unaddressable keys
// left out.
func TestListingAcrossPages(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	defer o.Close()
	fsys := session(t, o, "/u")
	dir := filepath.Join(srv.BucketDir(bucket), "u")
	for i := range 2100 {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d", i)), []byte("12345"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, ".ftpsgw-probe-x"), []byte("hidden"), 0o644)
	infos, err := backend.ReadAll(t.Context(), fsys, ".")
	if err != nil || len(infos) != 2100 {
		t.Fatalf("listed %d entries, %v; want 2100", len(infos), err)
	}
	u, err := fsys.Usage(t.Context())
	if err != nil || u != (backend.Usage{Bytes: 5 * 2100, Files: 2100}) {
		t.Errorf("Usage = %+v, %v", u, err)
	}
	if _, err := fsys.Stat(t.Context(), ".ftpsgw-probe-x"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Stat of a reserved name: %v, want fs.ErrInvalid", err)
	}
}

// TestTLSWithCAFile: an https endpoint works with its CA in ca_file and
// is refused without it.
func TestTLSWithCAFile(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{TLS: true})
	o, _ := newTestOpener(t, srv, nil)
	defer o.Close()
	if err := o.Probe(t.Context()); err != nil {
		t.Fatalf("Probe over TLS with ca_file: %v", err)
	}
	put(t, session(t, o, "/u"), "f", []byte("over tls"))
	bare, _ := newTestOpener(t, srv, func(c *Config) { c.CAFile = "" })
	defer bare.Close()
	if err := bare.Probe(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Probe without the CA: %v, want a certificate error", err)
	}
}

// TestProbeExplains: a missing bucket and a wrong secret are named.
func TestProbeExplains(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	missing, _ := newTestOpener(t, srv, func(c *Config) { c.Bucket = "no-such-bucket" })
	defer missing.Close()
	err := missing.Probe(t.Context())
	if !errors.Is(err, errNoBucket) || !strings.Contains(err.Error(), "no-such-bucket") {
		t.Errorf("Probe of a missing bucket: %v", err)
	}
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(wrong, []byte("not-the-secret\n"), 0o600)
	bad, _ := newTestOpener(t, srv, func(c *Config) { c.SecretKeyFile = wrong })
	defer bad.Close()
	if err := bad.Probe(t.Context()); !errors.Is(err, errCredentials) {
		t.Errorf("Probe with a wrong secret: %v, want the credentials named", err)
	}
	if _, err := bad.Open(t.Context(), "/u"); !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Open with a wrong secret: %v, want ErrUnavailable (421)", err)
	}
	// Only a storage that could not be reached keeps the network error
	// under ErrUnavailable (check-config warns about it and fails on the
	// refusals above).
	var oe *net.OpError
	if err := bad.Probe(t.Context()); errors.As(err, &oe) {
		t.Errorf("Probe with a wrong secret carries a network error: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	down, _ := newTestOpener(t, srv, func(c *Config) { c.Endpoint, c.Retries = closed, 0 })
	defer down.Close()
	err = down.Probe(t.Context())
	if !errors.Is(err, backend.ErrUnavailable) || !errors.As(err, &oe) || oe.Op != "dial" {
		t.Errorf("Probe of a closed port: %v, want ErrUnavailable with the failed dial", err)
	}
}

// slowDownProxy answers the first n requests (or all, n < 0) with 503
// SlowDown and passes the rest to srv.
func slowDownProxy(t *testing.T, srv *s3test.Server, n int64) (*httptest.Server, *atomic.Int64) {
	target, _ := url.Parse(srv.Endpoint)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var seen atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := seen.Add(1); n < 0 || k <= n {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	return ts, &seen
}

// TestSlowDownRetried: throttled requests are sent again with backoff; a
// storage that keeps throttling fails after retries+1 attempts with
// ErrUnavailable (451). The throttling comes from a proxy in front of
// versitygw, which cannot be made to throttle.
func TestSlowDownRetried(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, nil)
	o.Close()
	fsys := session(t, mustOpener(t, srv, bucket, ""), "/u")
	put(t, fsys, "f", []byte("kept"))

	twice, seen := slowDownProxy(t, srv, 2)
	if b := get(t, session(t, mustOpener(t, srv, bucket, twice.URL), "/u"), "f"); string(b) != "kept" {
		t.Errorf("read through two SlowDowns: %q", b)
	}
	if seen.Load() < 3 {
		t.Errorf("%d requests reached the proxy, want the two throttled ones sent again", seen.Load())
	}
	always, seen := slowDownProxy(t, srv, -1)
	o2 := mustOpener(t, srv, bucket, always.URL)
	_, err := o2.Open(t.Context(), "/u")
	if !errors.Is(err, backend.ErrUnavailable) {
		t.Errorf("Open against a storage that always throttles: %v, want ErrUnavailable", err)
	}
	if got, want := seen.Load(), int64(o2.st.retries+1); got != want {
		t.Errorf("%d attempts, want retries+1 = %d", got, want)
	}
}

// mustOpener is an Opener on bucket, through endpoint when not empty.
func mustOpener(t *testing.T, srv *s3test.Server, bucket, endpoint string) *Opener {
	t.Helper()
	c := testConfig(srv, bucket)
	if endpoint != "" {
		c.Endpoint = endpoint
	}
	o, err := c.open("test", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// TestPrefix keeps every home under the configured key prefix.
func TestPrefix(t *testing.T) {
	srv := s3test.Start(t, s3test.Options{})
	o, bucket := newTestOpener(t, srv, func(c *Config) { c.Prefix = "site/ftp/" })
	defer o.Close()
	put(t, session(t, o, "/alice"), "f", []byte("x"))
	root := session(t, o, "/")
	if infos, err := backend.ReadAll(t.Context(), root, "."); err != nil || len(infos) != 1 || infos[0].Name() != "alice" {
		t.Errorf("root lists %v, %v", infos, err)
	}
	if keys := srv.Keys(t, bucket, ""); !slices.Contains(keys, "site/ftp/alice/f") {
		t.Errorf("keys %q lack site/ftp/alice/f", keys)
	}
	if err := o.Probe(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, _ := srv.Client.ListObjectsV2(t.Context(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String("site/ftp/.ftpsgw")})
	if len(out.Contents) != 0 {
		t.Errorf("probe left %d objects", len(out.Contents))
	}
}
