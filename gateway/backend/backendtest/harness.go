package backendtest

import (
	"os"
	"testing"
	"time"

	"github.com/ftpsgw/ftpsgw/gateway/backend"
)

// Harness is what a backend's test hands the suite: a constructor and,
// optionally, ways to make its storage fail. The suite runs every
// subtest it can; a subtest whose hook is nil is skipped with t.Skip
// naming the hook, so a backend's test output shows which failures were
// not exercised.
//
// Hooks are called from the subtest's goroutine, after New (or Small)
// returned the Opener under test; subtests do not run in parallel, so a
// harness may apply a hook to every Opener it has created. A hook may call
// t.Skip to say why a failure does not apply to its backend.
type Harness struct {
	// New returns a fresh Opener over empty storage. The suite closes it
	// when the subtest ends. Required.
	New func(t *testing.T) backend.Opener

	// Kill ends every live connection or session to the storage now (for
	// SFTP: kill sshd's per-session processes). Sessions opened afterwards
	// must work again.
	Kill func(t *testing.T)
	// Stop makes the storage unreachable until restart is called. restart
	// may be called more than once.
	Stop func(t *testing.T) (restart func())
	// Deny makes the storage itself refuse access to the directory name,
	// relative to home, on Opener o: chmod 000 on disk, or what the storage
	// offers. It undoes that when the test ends.
	Deny func(t *testing.T, o backend.Opener, home, name string)
	// Small returns an Opener over empty storage with less than 2 MiB free
	// (for example a tmpfs mounted with size=1m). The suite closes it.
	Small func(t *testing.T) backend.Opener
	// Stall freezes the storage (SIGSTOP the server) until resume is
	// called, so that operations run into their timeout. resume may be
	// called more than once.
	Stall func(t *testing.T) (resume func())
	// OpTimeout is the per-operation timeout the Openers were configured
	// with; the Stall subtest needs it and allows 3×OpTimeout.
	OpTimeout time.Duration

	// MemBound is the heap growth the big-listing and big-transfer
	// subtests allow; 0 means DefaultMemBound.
	MemBound int64
	// InHeap says the storage keeps file data in this process's heap (the
	// memory backend): the big-transfer bound is then on the growth beyond
	// the bytes stored.
	InHeap bool
}

// DefaultMemBound is the heap growth allowed when Harness.MemBound is 0.
const DefaultMemBound = 64 << 20

// Run runs the conformance suite with only a constructor: RunHarness with
// Harness{New: newOpener}. The fault subtests are skipped.
func Run(t *testing.T, newOpener func(t *testing.T) backend.Opener) {
	RunHarness(t, Harness{New: newOpener})
}

// RunHarness runs the backend conformance suite. Each contract clause is
// its own subtest, so a backend that cannot honour one clause fails only
// that subtest. The big-transfer subtest moves 1 GiB; with -short or
// FTPSGW_SUITE_BIG=0 it moves 64 MiB.
func RunHarness(t *testing.T, h Harness) {
	if h.New == nil {
		t.Fatal("backendtest: Harness.New is nil")
	}
	if h.MemBound <= 0 {
		h.MemBound = DefaultMemBound
	}
	s := &suite{h: h}
	for _, tc := range s.tests() {
		t.Run(tc.name, tc.fn)
	}
}

type subtest struct {
	name string
	fn   func(t *testing.T)
}

func (s *suite) tests() []subtest {
	return []subtest{
		{"Stat", s.testStat},
		{"ReadDir", s.testReadDir},
		{"Missing", s.testMissing},
		{"MkdirExists", s.testMkdirExists},
		{"RemoveDir", s.testRemoveDir},
		{"Rmdir", s.testRmdir},
		{"OpenDir", s.testOpenDir},
		{"ReadOffset", s.testReadOffset},
		{"CreateReplace", s.testCreateReplace},
		{"CreateNotVisibleBeforeCommit", s.testNotVisibleBeforeCommit},
		{"CreateExclusive", s.testCreateExclusive},
		{"CreateAppend", s.testCreateAppend},
		{"CreateAt", s.testCreateAt},
		{"CreateOnDir", s.testCreateOnDir},
		{"AbortKeepsOld", s.testAbortKeepsOld},
		{"CommitAbortOnce", s.testCommitAbortOnce},
		{"RenameFile", s.testRenameFile},
		{"RenameDir", s.testRenameDir},
		{"InvalidNames", s.testInvalidNames},
		{"ConcurrentReaders", s.testConcurrentReaders},
		{"ReplaceAtomicForReaders", s.testReplaceAtomic},
		{"ConcurrentSessions", s.testConcurrentSessions},
		{"CancelRead", s.testCancelRead},
		{"CancelWrite", s.testCancelWrite},
		{"CancelledContext", s.testCancelledContext},
		{"HomeCreated", s.testHomeCreated},
		{"HomeInvalid", s.testHomeInvalid},
		{"HomesIsolated", s.testHomesIsolated},
		{"Probe", s.testProbe},
		{"ModTime", s.testModTime},
		{"Chtimes", s.testChtimes},
		{"Capabilities", s.testCapabilities},
		{"BigListing", s.testBigListing},
		{"BigTransfer", s.testBigTransfer},
		{"KillRead", s.testKillRead},
		{"KillWrite", s.testKillWrite},
		{"Unreachable", s.testUnreachable},
		{"PermissionDenied", s.testPermissionDenied},
		{"NoSpace", s.testNoSpace},
		{"Stall", s.testStall},
	}
}

type suite struct {
	h Harness
}

// opener returns a fresh Opener closed at the end of the test.
func (s *suite) opener(t *testing.T) backend.Opener {
	t.Helper()
	return closeAtEnd(t, s.h.New(t))
}

// closeAtEnd closes o when the test ends.
func closeAtEnd(t *testing.T, o backend.Opener) backend.Opener {
	t.Helper()
	t.Cleanup(func() {
		if err := o.Close(); err != nil {
			t.Errorf("Opener.Close: %v", err)
		}
	})
	return o
}

// need skips the test unless the hook is set.
func need(t *testing.T, hook string, set bool) {
	t.Helper()
	if !set {
		t.Skipf("Harness.%s is nil: the backend's test provides no way to exercise this failure", hook)
	}
}

// bigSize is the size of the big transfer: 1 GiB, or 64 MiB with -short
// or FTPSGW_SUITE_BIG=0.
func bigSize() int64 {
	if testing.Short() || os.Getenv("FTPSGW_SUITE_BIG") == "0" {
		return 64 << 20
	}
	return 1 << 30
}
