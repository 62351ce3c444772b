package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"github.com/hashicorp/go-hclog"
)

// The Go runtime keeps the heap pages a burst of work freed (thousands of
// logins, say) and returns them to the system only slowly, so a gateway
// that goes quiet after a burst can hold about twice the memory its idle
// sessions use. memTrimmer samples the heap every interval and, on the
// first quiet interval after a busy one, collects and returns the free
// pages at once (debug.FreeOSMemory: one garbage collection). While the
// gateway stays busy, or stays quiet, it does nothing more; the
// runtime's own pacing stays in charge.
type memTrimmer struct {
	read func() heapSample // the runtime's figures
	trim func()            // return free memory to the system

	last heapSample
	have bool
	busy bool // the last interval allocated much
}

// heapSample holds the runtime/metrics figures the trimmer decides on.
type heapSample struct {
	live     uint64 // bytes the last garbage collection found live
	heap     uint64 // bytes of heap held: objects, garbage and free pages
	released uint64 // heap bytes returned to the system
	allocs   uint64 // bytes allocated since the process started
}

const (
	trimEvery = 15 * time.Second
	// trimMinHeap: a heap smaller than this is not worth a collection.
	trimMinHeap = 16 << 20
	// quietAllocs: an interval that allocates less than this, or a
	// sixteenth of the live heap if more, is quiet (a metrics scrape is).
	quietAllocs = 1 << 20
)

func newMemTrimmer() *memTrimmer {
	s := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
	}
	return &memTrimmer{
		read: func() heapSample {
			metrics.Read(s)
			return heapSample{live: s[0].Value.Uint64(), heap: s[1].Value.Uint64() + s[2].Value.Uint64(),
				released: s[3].Value.Uint64(), allocs: s[4].Value.Uint64()}
		},
		trim: debug.FreeOSMemory,
		busy: true, // starting up is
	}
}

// check takes a sample and trims if this interval was quiet, the one
// before was not, and the heap is worth it. It reports how many bytes
// the trim returned to the system.
func (m *memTrimmer) check() (uint64, bool) {
	cur := m.read()
	prev, had := m.last, m.have
	m.last, m.have = cur, true
	if !had {
		return 0, false
	}
	quiet := cur.allocs-prev.allocs < max(cur.live/16, quietAllocs)
	wasBusy := m.busy
	m.busy = !quiet
	if !quiet || !wasBusy || cur.heap < trimMinHeap {
		return 0, false
	}
	m.trim()
	m.last = m.read()
	return m.last.released - min(cur.released, m.last.released), true
}

// run checks every interval until ctx ends.
func (m *memTrimmer) run(ctx context.Context, every time.Duration, log hclog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, ok := m.check(); ok {
				log.Debug("returned free heap memory to the system", "bytes", n)
			}
		}
	}
}
