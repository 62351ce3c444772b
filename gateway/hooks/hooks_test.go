package hooks

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryThenDeliver(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	d := New([]Hook{{Name: "h", Events: []string{"upload"}, URL: srv.URL, Secret: []byte("k")}}, nil)
	defer d.Close()
	d.Emit(Event{Event: "upload"})
	d.Emit(Event{Event: "login"}) // not subscribed
	for i := 0; calls.Load() < 3; i++ {
		if i > 200 {
			t.Fatalf("%d attempts", calls.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	if calls.Load() != 3 || d.Dropped() != 0 {
		t.Errorf("calls %d dropped %d, want 3 and 0", calls.Load(), d.Dropped())
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	d := New([]Hook{{Name: "h", Events: []string{"upload"}, URL: srv.URL, Timeout: time.Minute}}, nil)
	defer d.Close()
	start := time.Now()
	for range QueueSize + 10 {
		d.Emit(Event{Event: "upload"})
	}
	if time.Since(start) > time.Second {
		t.Error("Emit blocked")
	}
	if d.Dropped() < 9 {
		t.Errorf("dropped %d, want at least 9", d.Dropped())
	}
}

func TestSign(t *testing.T) {
	// RFC 4231 test case 2.
	got := Sign([]byte("Jefe"), []byte("what do ya want for nothing?"))
	if got != "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Error(got)
	}
}
