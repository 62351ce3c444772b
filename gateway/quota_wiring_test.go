package gateway

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ftpsgw/ftpsgw/policy"
)

// soFar matches the STAT line of a transfer in flight.
var soFar = regexp.MustCompile(`Transferring \S+: (\d+) bytes so far`)

// waitMoved polls STAT on c until its transfer in flight has moved at
// least n bytes.
func waitMoved(t *testing.T, c *ftpc, n int64) {
	t.Helper()
	waitFor(t, func() bool {
		code, msg := c.cmd("STAT")
		if code != 211 {
			t.Fatalf("STAT during transfer: %d %q", code, msg)
		}
		m := soFar.FindStringSubmatch(msg)
		if m == nil {
			return false
		}
		got, _ := strconv.ParseInt(m[1], 10, 64)
		return got >= n
	})
}

// TestQuotaSharedAcrossSessions: two sessions of one user uploading at the
// same time draw on one byte quota, reserved before the bytes are written,
// so together they cannot store more than the quota.
func TestQuotaSharedAcrossSessions(t *testing.T) {
	const quota = 100 << 10
	e := newEnv(t)
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) { u.QuotaBytes = quota }))
	a, b := e.dial(), e.dial()
	a.login("alice", alicePW)
	b.login("alice", alicePW)

	// a has 60 KiB on the way to the storage and 20 KiB still to come.
	ta, _ := a.begin("STOR a.bin")
	defer ta.Close() // keeps it reachable: a collected conn closes its fd
	ta.Write(make([]byte, 60<<10))
	waitMoved(t, a, 60<<10)

	// b's 80 KiB cannot fit beside a's: it is cut off with 552.
	tb, _ := b.begin("STOR b.bin")
	tb.Write(make([]byte, 80<<10)) // may fail once the gateway gives up
	tb.Close()
	if code, msg := b.read(); code != 552 {
		t.Errorf("second session's upload beyond the shared quota: %d %q, want 552", code, msg)
	}

	ta.Write(make([]byte, 20<<10))
	ta.Close()
	if code, msg := a.read(); code != 226 {
		t.Fatalf("first session's upload within the quota: %d %q", code, msg)
	}

	var stored int64
	for _, name := range []string{"a.bin", "b.bin"} {
		if fi, err := os.Stat(filepath.Join(e.root, "alice", name)); err == nil {
			stored += fi.Size()
		}
	}
	if stored > quota {
		t.Errorf("two sessions stored %d bytes under a %d byte quota", stored, quota)
	}
	q := e.srv.cfg.Quotas
	if used, files := q.Usage("alice"); used != 80<<10 || files != 1 {
		t.Errorf("usage after the uploads = %d bytes, %d files; want %d, 1", used, files, 80<<10)
	}
	if rb, rf := q.Reserved("alice"); rb != 0 || rf != 0 {
		t.Errorf("reservations left after the uploads ended: %d bytes, %d files", rb, rf)
	}
}

// TestQuotaReservationEnds: ABOR and a dropped connection end an upload's
// reservation without charging it; APPE and REST+STOR charge the file's
// real change; DELE gives the file's size back.
func TestQuotaReservationEnds(t *testing.T) {
	e := newEnv(t)
	e.writeFile("alice/old.bin", strings.Repeat("o", 1000))
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) { u.QuotaBytes = 1 << 20; u.QuotaFiles = 10 }))
	q := e.srv.cfg.Quotas
	c := e.dial()
	c.login("alice", alicePW) // usage measured: 1000 bytes, 1 file
	checkUsage := func(what string, bytes, files int64) {
		t.Helper()
		if b, f := q.Usage("alice"); b != bytes || f != files {
			t.Errorf("%s: usage %d bytes %d files, want %d %d", what, b, f, bytes, files)
		}
		if rb, rf := q.Reserved("alice"); rb != 0 || rf != 0 {
			t.Errorf("%s: %d bytes %d files still reserved", what, rb, rf)
		}
	}

	tc, _ := c.begin("STOR new.bin")
	defer tc.Close() // keeps it reachable: a collected conn closes its fd
	tc.Write(make([]byte, 50<<10))
	waitMoved(t, c, 50<<10)
	if rb, rf := q.Reserved("alice"); rb < 50<<10 || rf != 1 {
		t.Errorf("upload in flight holds %d bytes %d files, want >= %d and 1", rb, rf, 50<<10)
	}
	c.send("ABOR")
	if code, _ := c.read(); code != 426 {
		t.Errorf("ABOR first reply %d", code)
	}
	if code, _ := c.read(); code != 226 {
		t.Errorf("ABOR second reply %d", code)
	}
	checkUsage("after ABOR", 1000, 1)

	if _, code, msg := c.transfer("APPE old.bin", make([]byte, 500)); code != 226 {
		t.Fatalf("APPE: %d %q", code, msg)
	}
	checkUsage("after APPE", 1500, 1)
	c.rest = 200
	if _, code, msg := c.transfer("STOR old.bin", make([]byte, 100)); code != 226 {
		t.Fatalf("REST+STOR: %d %q", code, msg)
	}
	checkUsage("after REST+STOR", 300, 1) // truncated to offset+written
	if got := len(e.file("alice/old.bin")); got != 300 {
		t.Errorf("file after REST+STOR is %d bytes, the quota charged 300", got)
	}
	if _, code, msg := c.transfer("STOR other.bin", make([]byte, 700)); code != 226 {
		t.Fatalf("STOR other.bin: %d %q", code, msg)
	}
	checkUsage("after a second file", 1000, 2)
	c.expect(350, "RNFR other.bin")
	c.expect(250, "RNTO old.bin") // the 300 bytes of old.bin are gone
	checkUsage("after a rename over a file", 700, 1)
	c.expect(250, "DELE old.bin")
	checkUsage("after DELE", 0, 0)

	d := e.dial()
	d.login("alice", alicePW)
	td, _ := d.begin("STOR dropped.bin")
	defer td.Close()
	td.Write(make([]byte, 50<<10))
	waitMoved(t, d, 50<<10)
	d.conn.Close()
	waitFor(t, func() bool { rb, rf := q.Reserved("alice"); return rb == 0 && rf == 0 })
	checkUsage("after a dropped session", 0, 0)
}

// TestRenameJudgedAsWhole: RNTO asks the policy about the whole move, so
// renaming a directory cannot bring a hidden subtree into view.
func TestRenameJudgedAsWhole(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(withUser(t, "alice", func(u *policy.UserConfig) {
		u.Rules = append(u.Rules, policy.RuleConfig{Path: "/docs/secret/**", Permissions: []string{}})
	}))
	e.writeFile("alice/docs/secret/plan.txt", "hidden")
	e.writeFile("alice/docs/readme.txt", "visible")
	e.writeFile("alice/other/sub/f.txt", "plain")
	c := e.dial()
	c.login("alice", alicePW)

	c.expect(350, "RNFR docs")
	if code, msg := c.cmd("RNTO docs2"); code != 550 || msg != replyDenied.text {
		t.Errorf("rename revealing a hidden subtree: %d %q, want 550 %q", code, msg, replyDenied.text)
	}
	if e.file("alice/docs/secret/plan.txt") != "hidden" {
		t.Fatal("refused rename moved the hidden subtree")
	}
	if e.obs.get("denied:rename") == 0 {
		t.Error("refused rename not counted as a denial")
	}

	// A hidden destination answers exactly as a missing one.
	c.expect(350, "RNFR docs/readme.txt")
	_, missing := c.cmd("RNTO nodir/readme.txt")
	c.expect(350, "RNFR docs/readme.txt")
	if code, msg := c.cmd("RNTO docs/secret/readme.txt"); code != 550 || msg != missing {
		t.Errorf("rename into a hidden path: %d %q, want 550 %q", code, msg, missing)
	}

	// Renames the rules judge alike on both sides still work.
	c.expect(350, "RNFR docs/readme.txt")
	c.expect(250, "RNTO docs/readme2.txt")
	c.expect(350, "RNFR other")
	c.expect(250, "RNTO other2")
	if e.file("alice/other2/sub/f.txt") != "plain" || e.file("alice/docs/readme2.txt") != "visible" {
		t.Error("allowed renames did not happen")
	}
}

// TestMetadataUsesCanStat: SIZE, MDTM and MLST need list or download; a
// hidden path answers exactly as a missing one and counts as a denial.
func TestMetadataUsesCanStat(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(withUser(t, "carol", func(u *policy.UserConfig) {
		u.Rules = append(u.Rules,
			policy.RuleConfig{Path: "/fetch/**", Permissions: []string{"download"}},
			policy.RuleConfig{Path: "/blind/**", Permissions: []string{"upload"}})
	}))
	e.writeFile("carol/fetch/f.bin", "12345")
	e.writeFile("carol/blind/b.bin", "12")
	c := e.dial()
	c.login("carol", carolPW)

	if msg := c.expect(213, "SIZE fetch/f.bin"); msg != "5" {
		t.Errorf("SIZE on a download-only path: %q", msg)
	}
	c.expect(213, "MDTM fetch/f.bin")
	c.expect(250, "MLST fetch/f.bin")

	for _, verb := range []string{"SIZE", "MDTM", "MLST"} {
		_, missing := c.cmd("%s pub/nothere.txt", verb)
		before := e.obs.get("denied:list")
		if code, msg := c.cmd("%s secret/plans.txt", verb); code != 550 || msg != missing {
			t.Errorf("%s on a hidden path: %d %q, want 550 %q", verb, code, msg, missing)
		}
		if e.obs.get("denied:list") != before+1 {
			t.Errorf("%s on a hidden path not counted as a denial", verb)
		}
		if code, msg := c.cmd("%s blind/b.bin", verb); code != 550 || msg != replyDenied.text {
			t.Errorf("%s without list or download: %d %q, want 550 %q", verb, code, msg, replyDenied.text)
		}
	}
}
