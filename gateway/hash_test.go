package gateway

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/policy"
)

// opObserver is recObserver plus a count of backend Open calls, which is
// how the tests tell a HASH served from the cache from one that read.
type opObserver struct {
	*recObserver
	opens atomic.Int64
}

func (o *opObserver) BackendOp(_, op string, _ time.Duration, _ error) {
	if op == "open" {
		o.opens.Add(1)
	}
}

// newHashEnv is newEnv with an opObserver; mods run after it is set.
func newHashEnv(t *testing.T, mods ...func(*Config)) (*env, *opObserver) {
	obs := &opObserver{recObserver: newRecObserver()}
	e := newEnv(t, append([]func(*Config){func(c *Config) { c.Observer = obs }}, mods...)...)
	return e, obs
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// want213 is the draft's HASH reply for a whole file of n bytes.
func want213(algo string, n int, hexsum, path string) string {
	return fmt.Sprintf("%s 0-%d %s %s", algo, max(n-1, 0), hexsum, path)
}

// ageFile puts a file's mtime an hour back, so that a download of it may
// be cached (a file changed within the last second never is).
func (e *env) ageFile(rel string) {
	e.t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(e.root, rel), old, old); err != nil {
		e.t.Fatal(err)
	}
}

func TestHashOfUploadFromCache(t *testing.T) {
	e, obs := newHashEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	data := randBytes(300<<10 + 7)
	c.put("up.bin", data)
	opens := obs.opens.Load()
	msg := c.expect(213, "HASH up.bin")
	if want := want213("SHA-256", len(data), sha256Hex(data), "up.bin"); msg != want {
		t.Fatalf("HASH: %q\nwant %q", msg, want)
	}
	if got := c.expect(250, "XSHA256 up.bin"); got != strings.ToUpper(sha256Hex(data)) {
		t.Errorf("XSHA256: %q", got)
	}
	if n := obs.opens.Load() - opens; n != 0 {
		t.Errorf("HASH after STOR opened the file %d times, want 0 (cache)", n)
	}
	// A second login of the same user (another session) shares the cache.
	c2 := e.dial()
	c2.login("alice", alicePW)
	c2.expect(213, "HASH /up.bin")
	// bob sees the same home, but entries are per login.
	b := e.dial()
	b.login("bob", bobPW)
	if msg := b.expect(213, "HASH up.bin"); !strings.Contains(msg, sha256Hex(data)) {
		t.Errorf("bob's HASH: %q", msg)
	}
	if n := obs.opens.Load() - opens; n != 1 {
		t.Errorf("opens after bob's HASH: %d, want 1", n)
	}
}

func TestHashRecomputedWhenFileChanges(t *testing.T) {
	e, obs := newHashEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	c.put("f.txt", []byte("version one"))
	c.expect(213, "HASH f.txt")
	opens := obs.opens.Load()
	e.writeFile("alice/f.txt", "version two") // same size, behind the gateway's back
	msg := c.expect(213, "HASH f.txt")
	if !strings.Contains(msg, sha256Hex([]byte("version two"))) {
		t.Fatalf("HASH after a change: %q", msg)
	}
	if obs.opens.Load() == opens {
		t.Error("changed file answered from the cache")
	}
	// The recomputed hash of a settled file is cached in its turn.
	e.ageFile("alice/f.txt")
	c.expect(213, "HASH f.txt")
	opens = obs.opens.Load()
	c.expect(213, "HASH f.txt")
	if obs.opens.Load() != opens {
		t.Error("settled file hashed again")
	}
	// An overwrite through the gateway replaces the entry.
	c.put("f.txt", []byte("v3"))
	if msg := c.expect(213, "HASH f.txt"); msg != want213("SHA-256", 2, sha256Hex([]byte("v3")), "f.txt") {
		t.Errorf("HASH after STOR: %q", msg)
	}
}

func TestHashAfterDownloadFromCache(t *testing.T) {
	e, obs := newHashEnv(t)
	data := randBytes(100 << 10)
	e.writeFile("alice/d.bin", string(data))
	e.ageFile("alice/d.bin")
	c := e.dial()
	c.login("alice", alicePW)
	c.get("d.bin")
	opens := obs.opens.Load()
	if msg := c.expect(213, "HASH d.bin"); !strings.Contains(msg, sha256Hex(data)) {
		t.Fatalf("HASH: %q", msg)
	}
	if obs.opens.Load() != opens {
		t.Error("HASH after a full RETR read the file again")
	}
	// A file modified within the last second is not cached by a download.
	e.writeFile("alice/new.bin", "fresh")
	c.get("new.bin")
	opens = obs.opens.Load()
	c.expect(213, "HASH new.bin")
	if obs.opens.Load() == opens {
		t.Error("download of a just-modified file was cached")
	}
}

func TestHashAlgorithmsAndOPTS(t *testing.T) {
	e := newEnv(t)
	data := randBytes(70000)
	e.writeFile("alice/a.bin", string(data))
	c := e.dial()
	c.login("alice", alicePW)
	if got := c.expect(200, "OPTS HASH"); got != "SHA-256" {
		t.Errorf("default algorithm %q", got)
	}
	sums := map[string]string{
		"SHA-256": sha256Hex(data),
		"SHA-512": fmt.Sprintf("%x", sha512.Sum512(data)),
		"SHA-1":   fmt.Sprintf("%x", sha1.Sum(data)),
		"MD5":     fmt.Sprintf("%x", md5.Sum(data)),
	}
	for _, algo := range []string{"SHA-512", "sha-1", "Md5", "SHA-256"} {
		name := strings.ToUpper(algo)
		if got := c.expect(200, "OPTS HASH %s", algo); got != name {
			t.Errorf("OPTS HASH %s: %q", algo, got)
		}
		if got := c.expect(200, "OPTS HASH"); got != name {
			t.Errorf("OPTS HASH after selecting %s: %q", name, got)
		}
		if msg := c.expect(213, "HASH a.bin"); msg != want213(name, len(data), sums[name], "a.bin") {
			t.Errorf("HASH with %s: %q", name, msg)
		}
	}
	c.expect(200, "OPTS HASH SHA-1")
	for _, bad := range []string{"CRC-37", "SHA256", "CRC32", "SHA-1 MD5"} {
		if msg := c.expect(501, "OPTS HASH %s", bad); msg != "Unknown algorithm, current selection not changed." {
			t.Errorf("OPTS HASH %s: %q", bad, msg)
		}
	}
	if got := c.expect(200, "OPTS HASH"); got != "SHA-1" {
		t.Errorf("selection after refused changes: %q", got)
	}
	if feat := c.expect(211, "FEAT"); !strings.Contains(feat, "\n HASH SHA-256;SHA-512;SHA-1*;MD5\n") {
		t.Errorf("FEAT with SHA-1 selected:\n%s", feat)
	}
	c.expect(220, "REIN") // the selection lasts until REIN (draft §3.2)
	if got := c.expect(200, "OPTS HASH"); got != "SHA-256" {
		t.Errorf("selection after REIN: %q", got)
	}
}

func TestHashDigestAliases(t *testing.T) {
	e, obs := newHashEnv(t)
	data := randBytes(12345)
	e.writeFile("alice/x.bin", string(data))
	c := e.dial()
	c.login("alice", alicePW)
	var crc [4]byte
	v := crc32.ChecksumIEEE(data)
	crc = [4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
	for verb, want := range map[string]string{
		"XCRC":    hex.EncodeToString(crc[:]),
		"XMD5":    fmt.Sprintf("%x", md5.Sum(data)),
		"XSHA1":   fmt.Sprintf("%x", sha1.Sum(data)),
		"XSHA256": sha256Hex(data),
		"XSHA512": fmt.Sprintf("%x", sha512.Sum512(data)),
		"xsha256": sha256Hex(data),
	} {
		if got := c.expect(250, "%s x.bin", verb); got != strings.ToUpper(want) {
			t.Errorf("%s: %q, want %q", verb, got, strings.ToUpper(want))
		}
	}
	c.expect(501, "XSHA256")
	for _, line := range []string{"XSHA2567 x.bin", "XSHA25 x.bin", "XABCDEF x.bin"} {
		if code, msg := c.cmd("%s", line); code != 500 {
			t.Errorf("%s: %d %q, want 500", line, code, msg)
		}
	}
	// Counted once each, after the reply (as for transfers).
	waitFor(t, func() bool { return obs.get("cmd:XSHA256:250") == 2 && obs.get("cmd:XCRC:250") == 1 })
	if n := obs.get("cmd:XSHA256:250"); n != 2 {
		t.Errorf("XSHA256 counted %d times", n)
	}
}

func TestHashRefusals(t *testing.T) {
	e, obs := newHashEnv(t, func(c *Config) { c.HashMaxSize = 16 })
	e.writeFile("carol/incoming/up.txt", "dropped")
	e.writeFile("carol/pub/big.txt", strings.Repeat("b", 17))
	e.writeFile("carol/pub/empty.txt", "")
	c := e.dial()
	c.login("carol", carolPW)
	missing := c.expect(550, "HASH nothere.txt")
	for _, cmd := range []string{"HASH /secret/plans.txt", "XSHA256 /secret/plans.txt", "HASH secret/../secret/plans.txt"} {
		if msg := c.expect(550, "%s", cmd); msg != missing || msg != "No such file or directory." {
			t.Errorf("%s: %q, want %q as for a missing file", cmd, msg, missing)
		}
	}
	if msg := c.expect(550, "HASH /incoming/up.txt"); msg != "Permission denied." {
		t.Errorf("HASH without download permission: %q", msg)
	}
	c.expect(553, "HASH /pub")
	c.expect(553, "XMD5 /")
	opens := obs.opens.Load()
	if msg := c.expect(556, "HASH /pub/big.txt"); !strings.Contains(msg, "policy") {
		t.Errorf("HASH over HashMaxSize: %q", msg)
	}
	c.expect(556, "XCRC /pub/big.txt")
	if obs.opens.Load() != opens {
		t.Error("a file over HashMaxSize was opened")
	}
	if msg := c.expect(213, "HASH /pub/empty.txt"); msg != want213("SHA-256", 0, sha256Hex(nil), "/pub/empty.txt") {
		t.Errorf("HASH of an empty file: %q", msg)
	}
	c.expect(213, "HASH /pub/readme.txt")
	// The computation above may have been cached: the file was written
	// when the environment was set up, which under -race on a busy machine
	// can be more than the cache's one second of slack before. A newer
	// mtime makes the entry stale and keeps the next one uncached.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(e.root, "carol/pub/readme.txt"), later, later); err != nil {
		t.Fatal(err)
	}

	// Busy: every computation slot taken (draft §3.5: 450).
	for range maxHashJobs {
		e.srv.hashes.acquire()
	}
	c.expect(450, "HASH /pub/readme.txt")
	for range maxHashJobs {
		e.srv.hashes.release()
	}
	c.expect(213, "HASH /pub/readme.txt")

	u := e.dial()
	u.banner()
	u.expect(530, "HASH x") // before TLS
	u.expect(530, "OPTS HASH")
	u.authTLS()
	u.expect(530, "HASH x") // before login
	u.expect(200, "OPTS HASH MD5")
}

// shrinkStatFS under-reports the size of every file, as if it grew after
// the Stat.
type shrinkStatFS struct{ backend.FS }

func (f shrinkStatFS) Stat(ctx context.Context, name string) (fs.FileInfo, error) {
	fi, err := f.FS.Stat(ctx, name)
	if err != nil || fi.IsDir() {
		return fi, err
	}
	return backend.FileInfo{FName: fi.Name(), FSize: 1, FMode: fi.Mode(), FModTime: fi.ModTime()}, nil
}

// The size limit also holds for bytes read beyond what Stat reported.
func TestHashSizeLimitWhileReading(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		o := c.Backends["files"]
		c.Backends = map[string]backend.Opener{"files": wrapOpener{o, func(f backend.FS) backend.FS { return shrinkStatFS{f} }}}
		c.HashMaxSize = 100 << 10
	})
	e.writeFile("alice/grew.bin", string(randBytes(300<<10)))
	c := e.dial()
	c.login("alice", alicePW)
	c.expect(556, "HASH grew.bin")
	c.expect(556, "XSHA1 grew.bin")
}

// A cached hash costs no read, so it is served even over HashMaxSize.
func TestHashCacheServedOverSizeLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.HashMaxSize = 4 })
	c := e.dial()
	c.login("alice", alicePW)
	c.put("five.txt", []byte("12345"))
	c.expect(213, "HASH five.txt")
	c.expect(556, "XMD5 five.txt")
}

func TestHashAbortAndQuitWhileComputing(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) { u.DownloadRate = 64 << 10 }))
	e.writeFile("alice/slow.bin", string(randBytes(2<<20)))
	c := e.dial()
	c.login("alice", alicePW)
	start := time.Now()
	c.send("HASH slow.bin")
	time.Sleep(300 * time.Millisecond)
	c.expect(200, "NOOP")
	c.expect(503, "PWD") // busy, as during a transfer
	c.send("ABOR")
	if code, msg := c.read(); code != 451 || msg != "HASH aborted." {
		t.Fatalf("HASH under ABOR: %d %q", code, msg)
	}
	if code, _ := c.read(); code != 226 {
		t.Fatalf("ABOR reply %d", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("ABOR took %v", d)
	}
	c.expect(257, "PWD")
	c.send("XSHA1 slow.bin")
	time.Sleep(200 * time.Millisecond)
	c.send("QUIT")
	if code, _ := c.read(); code != 451 {
		t.Errorf("XSHA1 under QUIT: %d", code)
	}
	if code, _ := c.read(); code != 221 {
		t.Errorf("QUIT reply %d", code)
	}
	waitFor(t, func() bool { return e.srv.hashes.jobs.Load() == 0 })
}

func TestTransferRecordsCarrySHA256(t *testing.T) {
	e, obs := newHashEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	data := randBytes(200 << 10)
	c.put("r.bin", data)
	if !e.srv.hashes.cache.has(hashKey{user: "alice", backend: "files", home: "/alice", path: "/r.bin"}) {
		t.Error("STOR did not cache its hash")
	}
	c.get("r.bin")
	c.rest = 1000
	if got, code, _ := c.transfer("RETR r.bin", nil); code != 226 || len(got) != len(data)-1000 {
		t.Fatalf("REST RETR: %d, %d bytes", code, len(got))
	}
	more := []byte("appended tail")
	if _, code, _ := c.transfer("APPE r.bin", more); code != 226 {
		t.Fatalf("APPE: %d", code)
	}
	c.expect(200, "TYPE A")
	c.put("t.txt", []byte("line\r\n"))
	c.expect(200, "TYPE I")
	waitFor(t, func() bool { obs.mu.Lock(); defer obs.mu.Unlock(); return len(obs.recs) == 5 })
	obs.mu.Lock()
	recs := append([]TransferRecord(nil), obs.recs...)
	obs.mu.Unlock()
	for i, want := range []struct {
		sha, rangeSHA string
		offset        int64
	}{
		{sha: sha256Hex(data)},                                // STOR
		{sha: sha256Hex(data)},                                // RETR
		{rangeSHA: sha256Hex(data[1000:]), offset: 1000},      // REST + RETR
		{rangeSHA: sha256Hex(more), offset: int64(len(data))}, // APPE
		{}, // ASCII
	} {
		r := recs[i]
		if r.SHA256 != want.sha || r.RangeSHA256 != want.rangeSHA || r.Offset != want.offset {
			t.Errorf("record %d (%s %s): sha256 %q range %q offset %d; want %q %q %d", i, r.Direction, r.Mode,
				r.SHA256, r.RangeSHA256, r.Offset, want.sha, want.rangeSHA, want.offset)
		}
	}
	// APPE changed the file in place: its entry is gone, HASH reads.
	if e.srv.hashes.cache.has(hashKey{user: "alice", backend: "files", home: "/alice", path: "/r.bin"}) {
		t.Error("cache entry kept after APPE")
	}
	opens := obs.opens.Load()
	if msg := c.expect(213, "HASH r.bin"); !strings.Contains(msg, sha256Hex(append(data, more...))) {
		t.Errorf("HASH after APPE: %q", msg)
	}
	if obs.opens.Load() == opens {
		t.Error("HASH after APPE answered from the cache")
	}
}

func TestFEATAndHELPFollowBackendCaps(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		o := c.Backends["files"]
		c.Backends = map[string]backend.Opener{"files": wrapOpener{o, func(f backend.FS) backend.FS {
			return capsFS{f, backend.CapAppend | backend.CapChtimes} // see vfs_test.go
		}}}
	})
	c := e.dial()
	c.banner()
	feat := c.expect(211, "FEAT")
	for _, l := range []string{"MFMT", "REST STREAM", "HASH SHA-256*;SHA-512;SHA-1;MD5", "XCRC", "XMD5", "XSHA1", "XSHA256", "XSHA512"} {
		if !strings.Contains(feat, "\n "+l+"\n") {
			t.Errorf("FEAT before login lacks %q:\n%s", l, feat)
		}
	}
	help := c.expect(214, "HELP")
	for _, v := range []string{"APPE", "MFMT", "HASH", "XSHA256"} {
		if !strings.Contains(help, " "+v) {
			t.Errorf("HELP before login lacks %s:\n%s", v, help)
		}
	}
	c.authTLS()
	c.expect(200, "PBSZ 0")
	c.expect(200, "PROT P")
	c.expect(331, "USER alice")
	c.expect(230, "PASS %s", alicePW)
	feat = c.expect(211, "FEAT")
	if strings.Contains(feat, "MFMT") || !strings.Contains(feat, "\n REST STREAM\n") {
		t.Errorf("FEAT without CapChtimes:\n%s", feat)
	}
	help = c.expect(214, "HELP")
	if strings.Contains(help, "APPE") || strings.Contains(help, "MFMT") || !strings.Contains(help, "HASH") {
		t.Errorf("HELP without CapAppend and CapChtimes:\n%s", help)
	}
}

func TestCurlUploadThenHASH(t *testing.T) {
	curl := requirePeer(t, "curl")
	e := newEnv(t)
	dir := t.TempDir()
	data := randBytes(1<<20 + 11)
	os.WriteFile(filepath.Join(dir, "c.bin"), data, 0o644)
	base := []string{"--ssl-reqd", "-k", "-sS", "-u", "alice:" + alicePW}
	if out, err := run(t, dir, curl, append(base, "-T", "c.bin", e.url("c.bin"))...); err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
	out, err := run(t, dir, curl, append(base, "-v", "-Q", "HASH c.bin", e.url(""))...)
	if err != nil {
		t.Fatalf("curl HASH: %v\n%s", err, out)
	}
	want := "< 213 " + want213("SHA-256", len(data), sha256Hex(data), "c.bin")
	if !strings.Contains(out, want) {
		t.Fatalf("curl output lacks %q:\n%s", want, out)
	}
}

func (c *hashCache) has(k hashKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.idx[k]
	return ok
}

// TestKnownDownloadNotHashedAgain: a whole-file download of a file whose
// hash is cached and unchanged is sent without hashing, and its record
// carries the cached sum (a planted wrong sum shows it was not computed);
// once the file changes behind the gateway the cache no longer matches,
// and the download is hashed again.
func TestKnownDownloadNotHashedAgain(t *testing.T) {
	e, obs := newHashEnv(t)
	c := e.dial()
	c.login("alice", alicePW)
	data := randBytes(64 << 10)
	c.put("k.bin", data)
	key := hashKey{user: "alice", backend: "files", home: "/alice", path: "/k.bin"}
	fi, err := os.Stat(filepath.Join(e.root, "alice", "k.bin"))
	if err != nil {
		t.Fatal(err)
	}
	planted := sha256.Sum256([]byte("not the file"))
	e.srv.hashes.cache.put(key, fi, planted)
	if got := c.get("k.bin"); !bytes.Equal(got, data) {
		t.Fatal("RETR sent other bytes")
	}
	changed := randBytes(70 << 10)
	os.WriteFile(filepath.Join(e.root, "alice", "k.bin"), changed, 0o644)
	if got := c.get("k.bin"); !bytes.Equal(got, changed) {
		t.Fatal("RETR after the change sent other bytes")
	}
	waitFor(t, func() bool { obs.mu.Lock(); defer obs.mu.Unlock(); return len(obs.recs) == 3 })
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if got := obs.recs[1].SHA256; got != hex.EncodeToString(planted[:]) {
		t.Errorf("download of a known file recorded %q, want the cached sum (it was hashed again)", got)
	}
	if got := obs.recs[2].SHA256; got != sha256Hex(changed) {
		t.Errorf("download after a change recorded %q, want the new file's sum", got)
	}
}
