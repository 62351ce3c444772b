package gateway

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMLSDLargeDirectoryConstantMemory: MLSD of a 100 000-entry directory
// on the local backend streams. While the client holds back after the
// first lines, the gateway's live heap has grown by far less than the
// listing would take in memory (about 100 bytes per entry as FileInfo,
// and as much again as lines), and every entry arrives in the end. The
// time to the first entry is logged, not asserted (the machine is shared).
func TestMLSDLargeDirectoryConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 100 000 files")
	}
	const n = 100_000
	e := newEnv(t)
	dir := filepath.Join(e.root, "alice", "big")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("entry-%06d.dat", i)))
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	c := e.dial()
	c.login("alice", alicePW)

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	tc, dc := c.begin("MLSD big")
	defer dc.Close()
	r := bufio.NewReaderSize(tc, 4096)
	first, err := r.ReadString('\n')
	firstByte := time.Since(start)
	if err != nil || !strings.Contains(first, "entry-") {
		t.Fatalf("first line %q, %v", first, err)
	}
	for range 999 {
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	// The gateway now blocks on a full data connection (or has sent what
	// the socket buffers hold); its listing state is what is live.
	time.Sleep(200 * time.Millisecond)
	runtime.GC()
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	grown := int64(during.HeapAlloc) - int64(before.HeapAlloc)

	lines := 1000
	for {
		l, err := r.ReadString('\n')
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(l, "entry-") {
			lines++
		}
	}
	tc.Close()
	if code, msg := c.read(); code != 226 {
		t.Fatalf("after MLSD: %d %s", code, msg)
	}
	total := time.Since(start)
	t.Logf("MLSD of %d entries: first entry after %v, all after %v; live heap grew %d KiB while the client held back",
		n, firstByte.Round(time.Microsecond), total.Round(time.Millisecond), grown>>10)
	if lines != n {
		t.Errorf("listed %d entries, want %d", lines, n)
	}
	// Held whole, the listing would take at least 10 MiB.
	if grown > 4<<20 {
		t.Errorf("live heap grew %d KiB during the listing; it does not stream", grown>>10)
	}
}
