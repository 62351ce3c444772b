package sftp

import (
	"bufio"
	"context"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/sftp/sshdtest"
)

// TestThroughput compares 1 GiB uploads and downloads through the backend
// (io.Copy into an Upload, out of a reader) with OpenSSH's sftp client on
// the same sshd: median of 3 alternating runs each, in MB/s (10^6 B/s).
// It also reports the live heap growth during one transfer each way. It
// runs only with FTPSGW_SFTP_BENCH=1 (FTPSGW_SFTP_BENCH_MIB sets the
// size); it asserts nothing about speed.
func TestThroughput(t *testing.T) {
	if os.Getenv("FTPSGW_SFTP_BENCH") != "1" {
		t.Skip("set FTPSGW_SFTP_BENCH=1 to measure throughput")
	}
	size := int64(1 << 30)
	if n, err := strconv.Atoi(os.Getenv("FTPSGW_SFTP_BENCH_MIB")); err == nil && n > 0 {
		size = int64(n) << 20
	}
	srv := sshdtest.Start(t, sshdtest.Options{})
	b := newBench(t, srv, size)
	var ours, theirs, oursDown, theirsDown, theirsFsync, gwUp, gwDown []float64
	for i := range 3 {
		ours = append(ours, b.rate(func() { b.ourPut(false) }))
		theirs = append(theirs, b.rate(func() { b.sftpBatch("put " + b.src + " " + b.remote) }))
		theirsFsync = append(theirsFsync, b.rate(func() { b.sftpBatch("put -f " + b.src + " " + b.remote) }))
		gwUp = append(gwUp, b.rate(func() { b.ourPut(true) }))
		oursDown = append(oursDown, b.rate(func() { b.ourGet(false) }))
		theirsDown = append(theirsDown, b.rate(func() { b.sftpBatch("get " + b.remote + " " + b.dst) }))
		gwDown = append(gwDown, b.rate(func() { b.ourGet(true) }))
		t.Logf("run %d: up ours %.0f, sftp %.0f, sftp -f %.0f, gateway-style %.0f; down ours %.0f, sftp %.0f, gateway-style %.0f MB/s",
			i+1, ours[i], theirs[i], theirsFsync[i], gwUp[i], oursDown[i], theirsDown[i], gwDown[i])
	}
	t.Logf("%d MiB, median MB/s: upload ours %.0f (with fsync), sftp put %.0f, sftp put -f %.0f (%.2fx, %.2fx), gateway-style %.0f; "+
		"download ours %.0f, sftp get %.0f (%.2fx), gateway-style %.0f",
		size>>20, median(ours), median(theirs), median(theirsFsync), median(ours)/median(theirs), median(ours)/median(theirsFsync), median(gwUp),
		median(oursDown), median(theirsDown), median(oursDown)/median(theirsDown), median(gwDown))
	up := b.heapGrowth(func() { b.ourPut(false) })
	down := b.heapGrowth(func() { b.ourGet(false) })
	t.Logf("peak live heap growth during one transfer: upload %.2f MiB, download %.2f MiB", up/(1<<20), down/(1<<20))
}

// bench holds one measurement set-up: a source file on local disk, an
// FS on the server and the paths.
type bench struct {
	t        *testing.T
	srv      *sshdtest.Server
	fsys     backend.FS
	size     int64
	src, dst string // local files
	remote   string // the server path of the uploaded file
	onCopy   func() // called every 64 MiB during our transfers
}

func newBench(t *testing.T, srv *sshdtest.Server, size int64) *bench {
	src := filepath.Join(srv.Dir, "src.bin")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	o, err := testConfig(srv, sshdtest.RemoteDataDir).open("bench", testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	fsys, err := o.Open(t.Context(), "/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return &bench{
		t: t, srv: srv, fsys: fsys, size: size, src: src,
		dst: filepath.Join(srv.Dir, "dst.bin"), remote: sshdtest.RemoteDataDir + "/big.bin",
	}
}

// rate runs f and returns MB/s for one transfer of size.
func (b *bench) rate(f func()) float64 {
	start := time.Now()
	f()
	return float64(b.size) / time.Since(start).Seconds() / 1e6
}

// ourPut uploads with io.Copy, or (gateway) as the gateway does: 64 KiB
// reads gathered into 256 KiB writes.
func (b *bench) ourPut(gateway bool) {
	in, err := os.Open(b.src)
	if err != nil {
		b.t.Fatal(err)
	}
	defer in.Close()
	u, err := b.fsys.Create(context.Background(), "big.bin", backend.WriteReplace, 0)
	if err != nil {
		b.t.Fatal(err)
	}
	var dst io.Writer = u
	var flush func() error
	if gateway {
		bw := bufio.NewWriterSize(u, 256<<10)
		dst, flush = writerOnly{bw}, bw.Flush
	}
	n, err := io.CopyBuffer(dst, readerOnly{b.tick(in)}, make([]byte, 64<<10))
	if err == nil && flush != nil {
		err = flush()
	}
	if err != nil || n != b.size {
		u.Abort()
		b.t.Fatalf("upload: %d bytes, %v", n, err)
	}
	if err := u.Commit(); err != nil {
		b.t.Fatal(err)
	}
}

// ourGet downloads with io.Copy, or (gateway) as the gateway does: Read
// into a 64 KiB buffer.
func (b *bench) ourGet(gateway bool) {
	out, err := os.Create(b.dst)
	if err != nil {
		b.t.Fatal(err)
	}
	defer out.Close()
	r, err := b.fsys.Open(context.Background(), "big.bin", 0)
	if err != nil {
		b.t.Fatal(err)
	}
	defer r.Close()
	var src io.Reader = r
	if gateway {
		src = readerOnly{r}
	}
	if n, err := io.CopyBuffer(writerOnly{b.tickW(out)}, src, make([]byte, 64<<10)); err != nil || n != b.size {
		b.t.Fatalf("download: %d bytes, %v", n, err)
	}
}

// sftpBatch runs OpenSSH's sftp with one batch command.
func (b *bench) sftpBatch(cmd string) {
	batch := filepath.Join(b.srv.Dir, "batch")
	if err := os.WriteFile(batch, []byte(cmd+"\n"), 0o600); err != nil {
		b.t.Fatal(err)
	}
	out, err := exec.Command("sftp", "-q", "-b", batch, "-i", b.srv.ClientKey,
		"-o", "UserKnownHostsFile="+b.srv.KnownHosts, "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-P", strconv.Itoa(b.srv.Port), sshdtest.User+"@127.0.0.1").CombinedOutput()
	if err != nil {
		b.t.Fatalf("sftp %s: %v: %s", cmd, err, out)
	}
}

// heapGrowth runs f, sampling the live heap every 64 MiB copied, and
// returns the peak growth in bytes.
func (b *bench) heapGrowth(f func()) float64 {
	base, peak := liveHeap(), int64(0)
	b.onCopy = func() { peak = max(peak, liveHeap()-base) }
	defer func() { b.onCopy = nil }()
	f()
	return float64(peak)
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// tick wraps r to call onCopy every 64 MiB.
func (b *bench) tick(r io.Reader) io.Reader {
	if b.onCopy == nil {
		return r
	}
	return &ticker{r: r, f: b.onCopy}
}

// tickW wraps w to call onCopy every 64 MiB.
func (b *bench) tickW(w io.Writer) io.Writer {
	if b.onCopy == nil {
		return w
	}
	return &ticker{w: w, f: b.onCopy}
}

type ticker struct {
	r io.Reader
	w io.Writer
	n int64
	f func()
}

func (k *ticker) count(n int) {
	if k.n/(64<<20) != (k.n+int64(n))/(64<<20) {
		k.f()
	}
	k.n += int64(n)
}

func (k *ticker) Read(p []byte) (int, error) {
	n, err := k.r.Read(p)
	k.count(n)
	return n, err
}

func (k *ticker) Write(p []byte) (int, error) {
	n, err := k.w.Write(p)
	k.count(n)
	return n, err
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}
