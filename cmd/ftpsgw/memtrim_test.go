package main

import (
	"runtime"
	"runtime/metrics"
	"testing"
)

// TestMemTrimmerDecides: the trimmer collects once on the first quiet
// interval after a busy one, never on its first sample, never on a
// small heap.
func TestMemTrimmerDecides(t *testing.T) {
	const MiB = 1 << 20
	var cur heapSample
	trims := 0
	m := &memTrimmer{read: func() heapSample { return cur }, trim: func() { trims++ }, busy: true}
	steps := []struct {
		allocs, heap uint64 // allocated this interval; heap held
		trim         bool
	}{
		{0, 200 * MiB, false},       // first sample
		{0, 200 * MiB, true},        // quiet after starting up
		{0, 200 * MiB, false},       // still quiet: once is enough
		{7 * MiB, 200 * MiB, false}, // busy: more than live/16
		{8 * MiB, 200 * MiB, false}, // busy
		{6 * MiB, 200 * MiB, true},  // quiet: under live/16
		{50 * MiB, 10 * MiB, false}, // busy
		{0, 10 * MiB, false},        // quiet, but the heap is small
		{40 * MiB, 20 * MiB, false}, // busy
		{MiB / 2, 20 * MiB, true},   // under quietAllocs
	}
	for i, st := range steps {
		cur.allocs += st.allocs
		cur.heap, cur.live = st.heap, 100*MiB
		before := trims
		_, ok := m.check()
		if ok != st.trim || trims-before != map[bool]int{true: 1}[st.trim] {
			t.Fatalf("step %d (%+v): trimmed %v, want %v", i, st, ok, st.trim)
		}
	}
}

// TestMemTrimmerReturnsMemory: with the runtime's own figures, a quiet
// heap that has just dropped 64 MiB gives them back to the system.
func TestMemTrimmerReturnsMemory(t *testing.T) {
	released := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	m := newMemTrimmer()
	m.check()
	m.busy = false
	junk := make([][]byte, 64)
	for i := range junk {
		junk[i] = make([]byte, 1<<20)
	}
	runtime.KeepAlive(junk)
	junk = nil
	if _, ok := m.check(); ok {
		t.Fatal("trimmed while 64 MiB were being allocated")
	}
	before := released()
	n, ok := m.check()
	if !ok {
		t.Fatalf("no trim on a quiet interval after a busy one: %+v", m.last)
	}
	got := released() - before
	t.Logf("trim returned %d B (reported %d)", got, n)
	if got < 48<<20 || n < 48<<20 {
		t.Fatalf("trim returned %d B to the system (reported %d), want the 64 MiB dropped", got, n)
	}
}
