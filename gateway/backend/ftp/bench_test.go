package ftp

import (
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
	"github.com/ftpsgw/ftpsgw/gateway/backend/ftp/ftptest"
)

// TestThroughput compares 1 GiB uploads and downloads through the
// backend (io.Copy into an Upload, out of a reader, 256 KiB at a time as
// the gateway does) with curl on the same vsftpd, in FTPS and in clear:
// median of 3 alternating runs each, in MB/s (10^6 B/s). It runs only
// with FTPSGW_FTP_BENCH=1 (FTPSGW_FTP_BENCH_MIB sets the size); it
// asserts nothing about speed.
func TestThroughput(t *testing.T) {
	if os.Getenv("FTPSGW_FTP_BENCH") != "1" {
		t.Skip("set FTPSGW_FTP_BENCH=1 to measure throughput")
	}
	size := int64(1 << 30)
	if n, err := strconv.Atoi(os.Getenv("FTPSGW_FTP_BENCH_MIB")); err == nil && n > 0 {
		size = int64(n) << 20
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	src := filepath.Join(t.TempDir(), "src.bin")
	f, _ := os.Create(src)
	io.CopyN(f, rand.Reader, size)
	f.Close()
	for _, mode := range []string{"explicit", ""} {
		t.Run("tls="+mode, func(t *testing.T) {
			srv := ftptest.Start(t, ftptest.Options{TLS: mode})
			o, _ := openWith(t, srv, nil)
			fsys := mustOpen(t, o, "/")
			curlArgs := []string{"-sS", "-u", ftptest.User + ":" + ftptest.Password}
			if mode != "" {
				curlArgs = append(curlArgs, "--ssl-reqd", "--cacert", srv.CAFile)
			}
			rate := func(f func()) float64 {
				start := time.Now()
				f()
				return float64(size) / time.Since(start).Seconds() / 1e6
			}
			runCurl := func(args ...string) {
				if out, err := exec.Command(curl, append(curlArgs, args...)...).CombinedOutput(); err != nil {
					t.Fatalf("curl: %v: %s", err, out)
				}
			}
			var up, upCurl, down, downCurl []float64
			for range 3 {
				up = append(up, rate(func() { benchPut(t, fsys, src) }))
				upCurl = append(upCurl, rate(func() { runCurl("-T", src, "ftp://"+srv.Addr+"/curl.bin") }))
				down = append(down, rate(func() { benchGet(t, fsys) }))
				downCurl = append(downCurl, rate(func() { runCurl("-o", "/dev/null", "ftp://"+srv.Addr+"/curl.bin") }))
			}
			t.Logf("%d MiB, tls %q, median MB/s: upload backend %.0f vs curl %.0f (%.2fx); download backend %.0f vs curl %.0f (%.2fx)",
				size>>20, mode, med(up), med(upCurl), med(up)/med(upCurl), med(down), med(downCurl), med(down)/med(downCurl))
		})
	}
}

func benchPut(t *testing.T, fsys backend.FS, src string) {
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u, err := fsys.Create(t.Context(), "bench.bin", backend.WriteReplace, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyBuffer(struct{ io.Writer }{u}, f, make([]byte, 256<<10)); err != nil {
		u.Abort()
		t.Fatal(err)
	}
	if err := u.Commit(); err != nil {
		t.Fatal(err)
	}
}

func benchGet(t *testing.T, fsys backend.FS) {
	r, err := fsys.Open(t.Context(), "bench.bin", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, make([]byte, 256<<10)); err != nil {
		t.Fatal(err)
	}
}

func med(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
