// Package backendtest holds the conformance suite that every ftpsgw backend
// must pass, and an in-memory reference backend.
//
// A backend's tests call Run with a constructor for a fresh, empty Opener,
// or RunHarness with a Harness that adds ways to make the storage fail:
//
//	func TestConformance(t *testing.T) {
//		backendtest.RunHarness(t, backendtest.Harness{
//			New:  func(t *testing.T) backend.Opener { ... },
//			Kill: func(t *testing.T) { ... }, // and Stop, Deny, Small, Stall
//		})
//	}
//
// There is one subtest per clause of the backend contract (see package
// backend): errors, listings, every WriteMode, atomic replacement, aborted
// uploads, renames, name validation, homes, concurrency, cancellation and
// capabilities; then the scale subtests (a 10 000-entry directory streamed
// through a Lister, a 1 GiB transfer, both with bounded heap growth) and
// the failure table below. A subtest whose Harness hook is nil is skipped
// with a message naming the hook.
//
// # Failure table
//
// What the storage does, what the backend must report, and what the
// gateway answers (see gateway/replies.go):
//
//	Storage                         Backend error                     Gateway
//	unreachable at login (Stop)     Opener.Open wraps ErrUnavailable  421, connection closed
//	connection drops mid-transfer   Read/Write/Commit fails           426; the temporary upload is
//	  (Kill)                                                          gone, the destination untouched
//	refuses access (Deny)           wraps fs.ErrPermission            550
//	full (Small)                    Write/Commit wraps ErrNoSpace     452; no partial file is left
//	stops answering (Stall)         fails within 3×OpTimeout, wraps   451
//	                                context.DeadlineExceeded or
//	                                ErrUnavailable
//
// Each row is a subtest: Unreachable, KillRead and KillWrite,
// PermissionDenied, NoSpace, Stall. After Kill, Stop (and its restart)
// and Stall (and its resume) the same Opener must serve new sessions with
// the data intact.
//
// # Memory backend
//
// NewMemOpener returns the in-memory backend, which passes the whole suite
// with every hook (see TestMemConformance); the gateway's unit tests use
// it instead of a disk. Its fault methods (Kill, Stop, Stall, Deny,
// SetLimit, SetOpTimeout, SetCaps) let other tests make it fail the way a
// remote storage does.
//
// # Trust boundary
//
// The suite only drives a backend through its interface. The memory
// backend validates names as the contract requires but stores everything
// in process memory, limited only by SetLimit: it is for tests, never for
// production.
//
// # Concurrency
//
// The memory backend is safe for concurrent use: one mutex per Opener
// guards the whole tree and the fault state, file contents are copied on
// write so open readers keep a stable snapshot, and readers, listings and
// uploads honour the contexts they were opened with.
package backendtest
