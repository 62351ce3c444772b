package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// result is what every mode reports; unused fields are omitted from JSON.
type result struct {
	Mode     string `json:"mode"`
	Addr     string `json:"addr"`
	TLSMax   string `json:"tls_max"`
	Parallel int    `json:"parallel"`
	Users    int    `json:"users,omitempty"` // sessions: distinct user names, when above 1
	Label    string `json:"label,omitempty"`

	// throughput
	SizeBytes  int64   `json:"size_bytes,omitempty"`
	UpMBps     float64 `json:"up_mb_per_s,omitempty"`   // aggregate, 1 MB = 10^6 bytes
	DownMBps   float64 `json:"down_mb_per_s,omitempty"` // aggregate
	UpSeconds  float64 `json:"up_seconds,omitempty"`
	DownSecs   float64 `json:"down_seconds,omitempty"`
	Verified   int     `json:"verified,omitempty"` // downloads whose sha256 matched
	Resumed    int     `json:"data_resumed,omitempty"`
	DataConns  int     `json:"data_conns,omitempty"`
	SessionsOK int     `json:"sessions_ok,omitempty"`
	DataTLS    string  `json:"data_tls,omitempty"`          // version and cipher suite of a data connection
	UpCPU      float64 `json:"server_cpu_up_s,omitempty"`   // with -pid: server CPU seconds over the upload phase
	DownCPU    float64 `json:"server_cpu_down_s,omitempty"` // ... and over the download phase

	// smallfiles (also UpSeconds, DownSecs, UpCPU, DownCPU, Verified)
	StorFiles  int     `json:"stor_files,omitempty"`
	RetrFiles  int     `json:"retr_files,omitempty"`
	StorPerSec float64 `json:"stor_files_per_s,omitempty"`
	RetrPerSec float64 `json:"retr_files_per_s,omitempty"`

	// sessions
	DurationSecs float64 `json:"duration_seconds,omitempty"`
	Sessions     int     `json:"sessions,omitempty"`
	PerSecond    float64 `json:"sessions_per_s,omitempty"`
	P50ms        float64 `json:"p50_ms,omitempty"`
	P99ms        float64 `json:"p99_ms,omitempty"`
	Maxms        float64 `json:"max_ms,omitempty"`
	CPUSecs      float64 `json:"server_cpu_s,omitempty"` // with -pid

	// idle
	Requested   int     `json:"requested,omitempty"`
	Opened      int     `json:"opened,omitempty"`
	AliveAfter  int     `json:"alive_after_hold,omitempty"`
	HoldSecs    float64 `json:"hold_seconds,omitempty"`
	Sources     int     `json:"sources,omitempty"`
	RSSBaseKiB  int64   `json:"rss_before_kib,omitempty"`
	RSSHeldKiB  int64   `json:"rss_held_kib,omitempty"`
	PSSBaseKiB  int64   `json:"pss_before_kib,omitempty"`
	PSSHeldKiB  int64   `json:"pss_held_kib,omitempty"`
	Processes   int     `json:"processes,omitempty"`
	KiBPerSess  float64 `json:"pss_kib_per_session,omitempty"`
	OpenSeconds float64 `json:"open_seconds,omitempty"`

	Errors      int      `json:"errors"`
	ErrorSample []string `json:"error_sample,omitempty"`
}

// mbps is bytes per second in MB/s (10^6).
func mbps(bytes int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round2(float64(bytes) / d.Seconds() / 1e6)
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

func ms(d time.Duration) float64 { return round2(float64(d) / float64(time.Millisecond)) }

// percentile of sorted durations, nearest-rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	k = max(0, min(k, len(sorted)-1))
	return sorted[k]
}

func sortDurations(d []time.Duration) { sort.Slice(d, func(i, j int) bool { return d[i] < d[j] }) }

// write prints r as one JSON line or as a short human summary.
func (r *result) write(w io.Writer, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	_, err := io.WriteString(w, r.text())
	return err
}

func (r *result) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mode=%s addr=%s tls-max=%s parallel=%d\n", r.Mode, r.Addr, r.TLSMax, r.Parallel)
	switch r.Mode {
	case "throughput", "tls":
		fmt.Fprintf(&b, "size=%d bytes x %d sessions (%d ok)\n", r.SizeBytes, r.Parallel, r.SessionsOK)
		fmt.Fprintf(&b, "up:   %.2f MB/s aggregate (%.3fs)\n", r.UpMBps, r.UpSeconds)
		fmt.Fprintf(&b, "down: %.2f MB/s aggregate (%.3fs), sha256 verified %d/%d\n", r.DownMBps, r.DownSecs, r.Verified, r.Parallel)
		if r.Mode == "throughput" {
			fmt.Fprintf(&b, "data TLS resumed %d/%d\n", r.Resumed, r.DataConns)
		}
		if r.UpCPU > 0 || r.DownCPU > 0 {
			fmt.Fprintf(&b, "server CPU: %.2fs up, %.2fs down\n", r.UpCPU, r.DownCPU)
		}
	case "smallfiles":
		fmt.Fprintf(&b, "%d-byte files, %d sessions (%d ok)\n", r.SizeBytes, r.Parallel, r.SessionsOK)
		fmt.Fprintf(&b, "STOR: %d files in %.2fs: %.1f files/s\n", r.StorFiles, r.UpSeconds, r.StorPerSec)
		fmt.Fprintf(&b, "RETR: %d files in %.2fs: %.1f files/s (sha256 verified)\n", r.RetrFiles, r.DownSecs, r.RetrPerSec)
		if r.UpCPU > 0 || r.DownCPU > 0 {
			fmt.Fprintf(&b, "server CPU: %.2fs STOR, %.2fs RETR\n", r.UpCPU, r.DownCPU)
		}
	case "sessions":
		fmt.Fprintf(&b, "%d sessions in %.2fs: %.1f sessions/s, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			r.Sessions, r.DurationSecs, r.PerSecond, r.P50ms, r.P99ms, r.Maxms)
		if r.CPUSecs > 0 {
			fmt.Fprintf(&b, "server CPU: %.2fs\n", r.CPUSecs)
		}
	case "idle":
		fmt.Fprintf(&b, "opened %d/%d sessions from %d source addresses in %.2fs; %d alive after %.1fs hold\n",
			r.Opened, r.Requested, r.Sources, r.OpenSeconds, r.AliveAfter, r.HoldSecs)
		if r.RSSHeldKiB > 0 {
			fmt.Fprintf(&b, "server RSS %d -> %d KiB, PSS %d -> %d KiB over %d process(es), %.1f KiB PSS/session\n",
				r.RSSBaseKiB, r.RSSHeldKiB, r.PSSBaseKiB, r.PSSHeldKiB, r.Processes, r.KiBPerSess)
		}
	}
	fmt.Fprintf(&b, "errors: %d\n", r.Errors)
	for _, e := range r.ErrorSample {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	return b.String()
}

// errs collects errors, keeping a small sample.
type errs struct {
	n      int
	sample []string
}

func (e *errs) add(err error) {
	e.n++
	if len(e.sample) < 5 {
		e.sample = append(e.sample, err.Error())
	}
}

// memUsage sums VmRSS and Pss (KiB) over pid and its descendants (a
// forking server such as pure-ftpd keeps one process per session).
func memUsage(pid int) (rss, pss int64, procs int, err error) {
	pids := append([]int{pid}, descendants(pid)...)
	for i, p := range pids {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		if err != nil {
			if i == 0 {
				return 0, 0, 0, err
			}
			continue // exited meanwhile
		}
		procs++
		rss += kibField(string(st), "VmRSS:")
		if sr, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", p)); err == nil {
			pss += kibField(string(sr), "Pss:")
		}
	}
	return rss, pss, procs, nil
}

// kibField returns the value of a "Name:   1234 kB" line.
func kibField(s, name string) int64 {
	for line := range strings.SplitSeq(s, "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}

// descendants lists the transitive children of pid from /proc/*/stat.
func descendants(pid int) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	children := map[int][]int{}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and ')'.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		p, _ := strconv.Atoi(strings.Fields(s)[0])
		pp, _ := strconv.Atoi(f[1])
		children[pp] = append(children[pp], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 1<<16 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// describeTLS names a connection's TLS version and cipher suite.
func describeTLS(st tls.ConnectionState) string {
	return tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite)
}
