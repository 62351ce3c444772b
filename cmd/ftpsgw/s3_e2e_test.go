package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/s3"
	"github.com/ftpsgw/ftpsgw/gateway/backend/s3/s3test"
)

// s3Config is a gateway whose alice lives in a bucket on a real
// versitygw, and whose bob has "/" on the local disk and "/archive" in
// the same bucket. extra goes into the s3 backend block.
func s3Config(t *testing.T, srv *s3test.Server, bucket, extra string) string {
	return binaryHeader(6) + `backend "local" "files" {
  root = "%[3]s/data"
}
backend "s3" "bucket" {
  endpoint           = "` + srv.Endpoint + `"
  bucket             = "` + bucket + `"
  access_key_id      = "` + s3test.UserAccess + `"
  secret_key_file    = "` + srv.UserSecretFile + `"
  path_style         = true
  op_timeout         = "5s"
  max_rename_objects = 50
` + extra + `
}
user "alice" {
  password_hash = "` + mustHash(t, "alice-pw") + `"
  backend       = "bucket"
  home          = "/alice"
  permissions   = ["*"]
}
user "bob" {
  password_hash = "` + mustHash(t, "bob-pw") + `"
  backend       = "files"
  home          = "/bob"
  permissions   = ["*"]
  mount "/archive" {
    backend = "bucket"
    path    = "/bob-archive"
  }
}
`
}

// startS3Gateway starts versitygw with a fresh bucket and the gateway
// in front of it.
func startS3Gateway(t *testing.T, extra string) (*s3test.Server, string, *gatewayProc) {
	t.Helper()
	srv := s3test.Start(t, s3test.Options{})
	bucket := s3test.NewBucketName("e2e")
	srv.CreateBucket(t, bucket)
	return srv, bucket, startBinary(t, s3Config(t, srv, bucket, extra))
}

// randomFile writes n random bytes to path and returns their sha256.
func randomFile(t *testing.T, path string, n int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, n); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// curlArgs are the options every curl here uses against the gateway.
func curlArgs(user string) []string {
	return []string{"-sS", "--ssl-reqd", "-k", "-u", user}
}

// TestS3BackendThroughGateway drives real clients through the real
// binary onto a real versitygw.
func TestS3BackendThroughGateway(t *testing.T) {
	lftp := requireTool(t, "lftp")
	curl := requireTool(t, "curl")
	srv, bucket, g := startS3Gateway(t, "")
	onDisk := func(rel string) string { return filepath.Join(srv.BucketDir(bucket), filepath.FromSlash(rel)) }

	t.Run("lftp mirror", func(t *testing.T) { s3Mirror(t, lftp, g, onDisk("alice/tree")) })
	t.Run("curl resumes a download", func(t *testing.T) {
		dir := t.TempDir()
		sum := randomFile(t, filepath.Join(dir, "src.bin"), 9<<20+11)
		runTool(t, dir, curl, append(curlArgs("alice:alice-pw"), "-T", "src.bin", "ftp://"+g.ctl+"/resume.bin")...)
		src, _ := os.ReadFile(filepath.Join(dir, "src.bin"))
		os.WriteFile(filepath.Join(dir, "part.bin"), src[:3<<20+5], 0o644) // a download cut short
		runTool(t, dir, curl, append(curlArgs("alice:alice-pw"), "-C", "-", "-o", "part.bin", "ftp://"+g.ctl+"/resume.bin")...)
		if got := fileSum(t, filepath.Join(dir, "part.bin")); got != sum {
			t.Errorf("resumed download differs from the upload")
		}
		if got := fileSum(t, onDisk("alice/resume.bin")); got != sum {
			t.Errorf("object at rest differs from the upload")
		}
	})
	t.Run("killed upload leaves nothing", func(t *testing.T) { s3KilledUpload(t, curl, srv, bucket, g) })
	t.Run("failed overwrite keeps the old object", func(t *testing.T) { s3FailedOverwrite(t, curl, srv, bucket, g) })
	t.Run("what S3 refuses", func(t *testing.T) { s3Refusals(t, g) })
	t.Run("local home with an s3 folder", func(t *testing.T) { s3Mount(t, g, onDisk) })
	t.Run("storage down at login", func(t *testing.T) {
		srv.Stop()
		defer func() {
			if err := srv.Restart(); err != nil {
				t.Errorf("restart versitygw: %v", err)
			}
		}()
		n := rawConnect(t, g.ctl, "127.0.0.1")
		if code, _ := n.loginCode("alice", "alice-pw"); code != 421 {
			t.Errorf("login with versitygw down = %d, want 421", code)
		}
	})
}

// s3Mirror uploads a 200-file tree with lftp mirror -R, mirrors it back
// and compares both copies and the objects on disk with the source.
func s3Mirror(t *testing.T, lftp string, g *gatewayProc, atRest string) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	for i := range 200 {
		rel := filepath.Join(fmt.Sprintf("d%d", i%7), fmt.Sprintf("sub%d", i%3), fmt.Sprintf("file-%03d.dat", i))
		b := make([]byte, 100+i*97)
		rand.Read(b)
		os.MkdirAll(filepath.Join(src, filepath.Dir(rel)), 0o755)
		if err := os.WriteFile(filepath.Join(src, rel), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	script := strings.Join([]string{
		"set ftp:ssl-force true", "set ftp:ssl-protect-data true", "set ssl:verify-certificate no",
		"set net:max-retries 1", "set net:timeout 20", "set cmd:fail-exit true",
		"open -u alice,alice-pw ftp://" + g.ctl,
		"mirror -R --parallel=2 src tree",
		"mirror tree back",
		"bye",
	}, "\n")
	os.WriteFile(filepath.Join(dir, "script.lftp"), []byte(script), 0o644)
	runTool(t, dir, lftp, "-f", "script.lftp")
	want := sumTree(t, src)
	if len(want) != 200 {
		t.Fatalf("source tree has %d files", len(want))
	}
	for _, root := range []string{atRest, filepath.Join(dir, "back")} {
		got := sumTree(t, root)
		if len(got) != len(want) {
			t.Errorf("%s: %d files, want %d", root, len(got), len(want))
		}
		for rel, sum := range want {
			if got[rel] != sum {
				t.Errorf("%s: %s differs", root, rel)
			}
		}
	}
}

// startCurl runs curl in the background; the test kills it.
func startCurl(t *testing.T, dir, curl string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(curl, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// waitUploadOpen waits until a multipart upload is open in bucket.
func waitUploadOpen(t *testing.T, srv *s3test.Server, bucket string) {
	t.Helper()
	waitForS3(t, "a multipart upload to start", func() bool { return len(srv.OpenUploads(t, bucket)) > 0 })
}

// s3KilledUpload kills curl in the middle of a 300 MiB upload: no
// object appears and no multipart upload stays open.
func s3KilledUpload(t *testing.T, curl string, srv *s3test.Server, bucket string, g *gatewayProc) {
	dir := t.TempDir()
	randomFile(t, filepath.Join(dir, "big.bin"), 300<<20)
	cmd := startCurl(t, dir, curl, append(curlArgs("alice:alice-pw"), "--limit-rate", "40M", "-T", "big.bin", "ftp://"+g.ctl+"/big.bin")...)
	waitUploadOpen(t, srv, bucket)
	time.Sleep(time.Second)
	cmd.Process.Kill()
	cmd.Wait()
	waitForS3(t, "the multipart upload to be aborted", func() bool { return len(srv.OpenUploads(t, bucket)) == 0 })
	if keys := srv.Keys(t, bucket, "alice/big.bin"); len(keys) != 0 {
		t.Errorf("killed upload left %q", keys)
	}
}

// s3FailedOverwrite overwrites an object twice and fails both times: the
// client is killed mid-way, then the storage refuses (a bucket policy
// denies writes) mid-way. The old object stays each time.
func s3FailedOverwrite(t *testing.T, curl string, srv *s3test.Server, bucket string, g *gatewayProc) {
	dir := t.TempDir()
	old := randomFile(t, filepath.Join(dir, "old.bin"), 1<<20)
	randomFile(t, filepath.Join(dir, "new.bin"), 64<<20)
	runTool(t, dir, curl, append(curlArgs("alice:alice-pw"), "-T", "old.bin", "ftp://"+g.ctl+"/keep.bin")...)
	cmd := startCurl(t, dir, curl, append(curlArgs("alice:alice-pw"), "--limit-rate", "20M", "-T", "new.bin", "ftp://"+g.ctl+"/keep.bin")...)
	waitUploadOpen(t, srv, bucket)
	cmd.Process.Kill()
	cmd.Wait()
	waitForS3(t, "the multipart upload to be aborted", func() bool { return len(srv.OpenUploads(t, bucket)) == 0 })
	if got := fileSum(t, filepath.Join(srv.BucketDir(bucket), "alice", "keep.bin")); got != old {
		t.Errorf("a killed overwrite changed the object")
	}
	cmd = startCurl(t, dir, curl, append(curlArgs("alice:alice-pw"), "--limit-rate", "20M", "-T", "new.bin", "ftp://"+g.ctl+"/keep.bin")...)
	waitUploadOpen(t, srv, bucket)
	srv.Deny(t, bucket, "alice/keep.bin")
	err := cmd.Wait()
	if err == nil {
		t.Errorf("curl reported success for an upload the storage refused")
	}
	waitForS3(t, "the multipart upload to be aborted", func() bool { return len(srv.OpenUploads(t, bucket)) == 0 })
	if got := fileSum(t, filepath.Join(srv.BucketDir(bucket), "alice", "keep.bin")); got != old {
		t.Errorf("a refused overwrite changed the object")
	}
}

// s3Refusals checks what S3 cannot do: APPE, REST+STOR and MFMT answer
// 504; a directory with more than max_rename_objects objects is not
// renamed (550); RMD of a non-empty directory is refused (550).
func s3Refusals(t *testing.T, g *gatewayProc) {
	c := g.dialFTP(t, "127.0.0.1")
	defer c.Quit()
	if err := c.Login("alice", "alice-pw"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("r.txt", strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	if err := c.Append("r.txt", strings.NewReader("def")); err == nil || !strings.Contains(err.Error(), "504") {
		t.Errorf("APPE: %v, want 504", err)
	}
	if err := c.StorFrom("r.txt", strings.NewReader("X"), 1); err == nil || !strings.Contains(err.Error(), "504") {
		t.Errorf("REST+STOR: %v, want 504", err)
	}
	raw := rawLogin(t, g.ctl, "127.0.0.1", "alice", "alice-pw")
	if code, msg := raw.cmd("MFMT 20010203040506 r.txt"); code != 504 {
		t.Errorf("MFMT = %d %s, want 504", code, msg)
	}
	if code, msg := raw.cmd("SIZE r.txt"); code != 213 || msg != "3" {
		t.Errorf("SIZE = %d %s, want 213 3", code, msg)
	}
	if code, msg := raw.cmd("MDTM r.txt"); code != 213 || !strings.HasPrefix(msg, time.Now().UTC().Format("2006")) {
		t.Errorf("MDTM = %d %s", code, msg)
	}
	if code, msg := raw.cmd("RNFR tree"); code == 350 {
		if code, msg = raw.cmd("RNTO tree2"); code != 550 || msg != "Directory too large to rename on this storage; nothing was moved." {
			t.Errorf("rename of 200+ objects with max_rename_objects = 50: %d %s, want 550 and its own text", code, msg)
		}
		if code, msg := raw.cmd("CWD tree2"); code != 550 {
			t.Errorf("CWD tree2 after a refused rename = %d %s, want 550 (nothing moved)", code, msg)
		}
	} else {
		t.Errorf("RNFR tree = %d %s", code, msg)
	}
	if code, msg := raw.cmd("RMD tree"); code != 550 {
		t.Errorf("RMD of a non-empty directory = %d %s, want 550", code, msg)
	}
	if code, _ := raw.cmd("MKD small"); code != 257 {
		t.Fatalf("MKD small = %d", code)
	}
	c.Stor("small/f", strings.NewReader("x"))
	raw.want(350, "RNFR small")
	raw.want(250, "RNTO small2")
	if b, err := c.Retr("small2/f"); err != nil {
		t.Errorf("file in the renamed directory: %v", err)
	} else {
		io.Copy(io.Discard, b)
		b.Close()
	}
}

// s3Mount stores through bob's local home and his S3 folder, and checks
// where each landed.
func s3Mount(t *testing.T, g *gatewayProc, onDisk func(string) string) {
	c := g.dialFTP(t, "127.0.0.1")
	defer c.Quit()
	if err := c.Login("bob", "bob-pw"); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("here.txt", strings.NewReader("local")); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("archive/there.txt", strings.NewReader("remote")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(onDisk("bob-archive/there.txt")); err != nil || string(b) != "remote" {
		t.Errorf("object in the bucket: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(g.root, "bob", "here.txt")); err != nil || string(b) != "local" {
		t.Errorf("local file: %q, %v", b, err)
	}
	if err := c.Rename("archive/there.txt", "archive/moved.txt"); err != nil {
		t.Errorf("rename inside the S3 folder: %v", err)
	}
	if _, err := os.Stat(onDisk("bob-archive/moved.txt")); err != nil {
		t.Errorf("renamed object: %v", err)
	}
	if err := c.Rename("here.txt", "archive/x.txt"); err == nil || !strings.Contains(err.Error(), "553") {
		t.Errorf("cross-mount rename: %v, want 553", err)
	}
	entries, err := c.List("archive")
	if err != nil || len(entries) != 1 || entries[0].Name != "moved.txt" || entries[0].Size != 6 {
		t.Errorf("MLSD archive = %v, %v", entries, err)
	}
}

// waitForS3 polls cond for up to 20 s (serve_test.go's waitFor allows 10 s,
// enough for local events, not for a remote abort).
func waitForS3(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestS3Throughput measures, with FTPSGW_S3_BENCH=1, a 1 GiB upload and
// download through the gateway (curl over FTPS) against the same
// transfer made straight to versitygw with the same S3 client (the s3
// backend's own code, in this process), median of 5 alternating rounds,
// with versitygw serving plain HTTP and then HTTPS. Over HTTP the direct
// download is not encrypted at all, where the gateway's is (FTPS toward
// curl); over HTTPS both paths encrypt the storage leg. Each round also
// downloads the same file from a local home through the same gateway:
// the gateway's own ceiling on this machine. It logs the memory the
// gateway grows by during one upload, and asserts nothing about time.
func TestS3Throughput(t *testing.T) {
	if os.Getenv("FTPSGW_S3_BENCH") != "1" {
		t.Skip("set FTPSGW_S3_BENCH=1 to measure S3 throughput")
	}
	for _, tlsOn := range []bool{false, true} {
		name := "storage http"
		if tlsOn {
			name = "storage https"
		}
		t.Run(name, func(t *testing.T) { s3Throughput(t, tlsOn) })
	}
}

func s3Throughput(t *testing.T, tlsOn bool) {
	curl := requireTool(t, "curl")
	srv := s3test.Start(t, s3test.Options{TLS: tlsOn})
	bucket := s3test.NewBucketName("e2e")
	srv.CreateBucket(t, bucket)
	extra := `  part_size = "16MiB"`
	if tlsOn {
		extra += "\n  ca_file = \"" + srv.CAFile + "\""
	}
	g := startBinary(t, s3Config(t, srv, bucket, extra))
	dir := t.TempDir()
	const size = 1 << 30
	sum := randomFile(t, filepath.Join(dir, "big.bin"), size)
	// bob's home on the local disk holds the same file.
	os.MkdirAll(filepath.Join(g.root, "bob"), 0o755)
	if err := os.Link(filepath.Join(dir, "big.bin"), filepath.Join(g.root, "bob", "big.bin")); err != nil {
		t.Fatal(err)
	}
	direct := directFS(t, srv, bucket)
	var up, down [2][]time.Duration // [gateway, direct]
	var local []time.Duration
	var peak int64
	// No upload replaces the last round's object: with the old file's
	// blocks freed under them, uploads on this machine (ext4 mounted
	// with discard) ran at full speed or at about half of it, from one
	// run to the next.
	fresh := func(key string) {
		os.Remove(filepath.Join(srv.BucketDir(bucket), key))
		syscall.Sync()
	}
	for round := range 5 {
		paths := []func(){
			func() {
				fresh("alice/big.bin")
				d, grew := timed(func() {
					runTool(t, dir, curl, append(curlArgs("alice:alice-pw"), "-T", "big.bin", "ftp://"+g.ctl+"/big.bin")...)
				}, g.cmd.Process.Pid)
				up[0], peak = append(up[0], d), max(peak, grew)
				d, _ = timed(func() {
					runTool(t, dir, curl, append(curlArgs("alice:alice-pw"), "-o", "/dev/null", "ftp://"+g.ctl+"/big.bin")...)
				}, 0)
				down[0] = append(down[0], d)
			},
			func() {
				fresh("direct/big.bin")
				d, _ := timed(func() { direct.upload(t, filepath.Join(dir, "big.bin")) }, 0)
				up[1] = append(up[1], d)
				d, _ = timed(func() { direct.download(t) }, 0)
				down[1] = append(down[1], d)
			},
			func() {
				d, _ := timed(func() {
					runTool(t, dir, curl, append(curlArgs("bob:bob-pw"), "-o", "/dev/null", "ftp://"+g.ctl+"/big.bin")...)
				}, 0)
				local = append(local, d)
			},
		}
		for i := range paths {
			paths[(i+round)%len(paths)]()
		}
	}
	if got := fileSum(t, filepath.Join(srv.BucketDir(bucket), "alice", "big.bin")); got != sum {
		t.Errorf("object at rest differs from the upload")
	}
	rate := func(ds []time.Duration) float64 { return size / median(ds).Seconds() / 1e6 }
	mode := "http"
	if tlsOn {
		mode = "https"
	}
	t.Logf("storage %s, 1 GiB upload:   gateway %.0f MB/s, direct %.0f MB/s (%.2fx); runs %v / %v",
		mode, rate(up[0]), rate(up[1]), rate(up[0])/rate(up[1]), up[0], up[1])
	t.Logf("storage %s, 1 GiB download: gateway %.0f MB/s, direct %.0f MB/s (%.2fx); runs %v / %v",
		mode, rate(down[0]), rate(down[1]), rate(down[0])/rate(down[1]), down[0], down[1])
	t.Logf("storage %s, 1 GiB download from the local backend through the same gateway: %.0f MB/s (s3 download %.2fx of it); runs %v",
		mode, rate(local), rate(down[0])/rate(local), local)
	t.Logf("gateway resident memory grew by at most %.1f MiB during one upload (part_size 16 MiB × upload_concurrency 4)",
		float64(peak)/(1<<20))
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// timed runs f and returns how long it took and, when pid is not 0, how
// far that process's resident memory rose above where it started.
func timed(f func(), pid int) (time.Duration, int64) {
	stop := make(chan struct{})
	peak := make(chan int64, 1)
	base := rss(pid)
	go func() {
		var top int64
		for {
			top = max(top, rss(pid)-base)
			select {
			case <-stop:
				peak <- top
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	f()
	d := time.Since(start)
	close(stop)
	return d, <-peak
}

// rss is a process's resident set in bytes (0 for pid 0).
func rss(pid int) int64 {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}

// directS3 is the s3 backend used in this process, straight to the
// storage, with the gateway's settings.
type directS3 struct {
	fsys backend.FS
}

func directFS(t *testing.T, srv *s3test.Server, bucket string) *directS3 {
	t.Helper()
	c := s3.NewConfig()
	c.Endpoint, c.Bucket, c.PathStyle = srv.Endpoint, bucket, true
	c.AccessKeyID, c.SecretKeyFile = s3test.UserAccess, srv.UserSecretFile
	c.CAFile = srv.CAFile // set when versitygw serves HTTPS
	o, err := c.Open(t.Context(), "direct", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	fsys, err := o.Open(t.Context(), "/direct")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return &directS3{fsys: fsys}
}

func (d *directS3) upload(t *testing.T, file string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, err := d.fsys.Create(t.Context(), "big.bin", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyBuffer(u, f, make([]byte, 256<<10)); err != nil {
		u.Abort()
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
}

func (d *directS3) download(t *testing.T) {
	r, err := d.fsys.Open(t.Context(), "big.bin", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.CopyBuffer(io.Discard, r, make([]byte, 256<<10)); err != nil {
		t.Fatal(err)
	}
}
