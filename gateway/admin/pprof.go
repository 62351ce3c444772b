package admin

import (
	"net/http"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Profiles the admin API serves with EnableProfiling, by the runtime's
// names.
var profiles = []string{"allocs", "block", "goroutine", "heap", "mutex", "threadcreate"}

// maxCPUProfile bounds GET /debug/pprof/profile?seconds=N.
const maxCPUProfile = 60 * time.Second

// EnableProfiling serves runtime profiles, behind the API's
// authentication, in the format `go tool pprof` reads:
// GET /debug/pprof/profile?seconds=N (a CPU profile over N seconds,
// default 30, at most 60; one at a time, 409 while another runs) and
// GET /debug/pprof/{allocs,block,goroutine,heap,mutex,threadcreate}
// (?debug=1 or 2 for text; ?gc=1 collects first for heap and allocs). It uses runtime/pprof directly, so nothing is
// registered on http.DefaultServeMux. Call it before serving.
func (h *Handler) EnableProfiling() {
	var cpu sync.Mutex
	h.api("/debug/pprof/profile", methods{"GET": func(w http.ResponseWriter, r *http.Request) {
		d := 30 * time.Second
		if v := r.URL.Query().Get("seconds"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || time.Duration(n)*time.Second > maxCPUProfile {
				writeErr(w, http.StatusBadRequest, "seconds: want 1 to 60")
				return
			}
			d = time.Duration(n) * time.Second
		}
		if !cpu.TryLock() {
			writeErr(w, http.StatusConflict, "a CPU profile is already running")
			return
		}
		defer cpu.Unlock()
		// The listener's write timeout is shorter than a long profile.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + 10*time.Second))
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="cpu.pprof"`)
		if err := pprof.StartCPUProfile(w); err != nil {
			// Someone else (a test binary's -cpuprofile) holds the profiler.
			writeErr(w, http.StatusConflict, "the CPU profiler is in use")
			return
		}
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		pprof.StopCPUProfile()
	}})
	h.api("/debug/pprof/{name}", methods{"GET": func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		p := pprof.Lookup(name)
		if p == nil || !slices.Contains(profiles, name) {
			writeErr(w, http.StatusNotFound, "no such profile")
			return
		}
		debug, _ := strconv.Atoi(r.URL.Query().Get("debug"))
		if debug < 0 || debug > 2 {
			debug = 0
		}
		if debug == 0 {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pprof"`)
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		if (name == "heap" || name == "allocs") && r.URL.Query().Get("gc") == "1" {
			runtime.GC() // what is live now, not as of the last collection
		}
		p.WriteTo(w, debug)
	}})
}
