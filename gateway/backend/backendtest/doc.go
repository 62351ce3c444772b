// Package backendtest holds the conformance suite that every ftpsgw backend
// must pass, and an in-memory reference backend.
//
// A backend's tests call Run with a constructor for a fresh, empty Opener:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T) backend.Opener { ... })
//	}
//
// Run has one subtest per clause of the backend contract (see package
// backend): errors, listings, every WriteMode, atomic replacement, aborted
// uploads, renames, name validation, homes, concurrency and cancellation.
//
// NewMemOpener returns the in-memory backend, which passes the same suite;
// the gateway's unit tests use it instead of a disk.
//
// # Trust boundary
//
// The suite only drives a backend through its interface. The memory
// backend validates names as the contract requires but stores everything
// in process memory without limits: it is for tests, never for production.
//
// # Concurrency
//
// The memory backend is safe for concurrent use: one mutex per Opener
// guards the whole tree, file contents are copied on write so open readers
// keep a stable snapshot, and readers and uploads honour the contexts they
// were opened with.
package backendtest
