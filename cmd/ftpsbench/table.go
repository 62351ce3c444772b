package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// "-mode table" reads the JSON lines of earlier runs, each with -label
// "server/test/round", and prints for every measured figure its value per
// round, the median per server, the median server CPU per operation, and
// the ratios of the -base server's median to every other server's.

// sample is one figure of one run.
type sample struct {
	value float64
	cpu   float64 // server CPU per operation; <0: not measured
	bad   bool    // the run had errors
}

// figure is one figure of a result: its name (after the test's), unit,
// the unit of its CPU cost, and the sample.
type figure struct {
	name, unit, cpuUnit string
	s                   sample
}

func figuresOf(r *result) []figure {
	gib := func(cpu float64, bytes int64) float64 {
		if cpu <= 0 || bytes <= 0 {
			return -1
		}
		return cpu / (float64(bytes) / (1 << 30))
	}
	per := func(cpu float64, n int) float64 {
		if cpu <= 0 || n <= 0 {
			return -1
		}
		return cpu * 1000 / float64(n)
	}
	bad := r.Errors > 0
	moved := r.SizeBytes * int64(r.Parallel)
	switch r.Mode {
	case "throughput", "tls":
		return []figure{
			{"STOR", "MB/s", "CPU s/GiB", sample{r.UpMBps, gib(r.UpCPU, moved), bad}},
			{"RETR", "MB/s", "CPU s/GiB", sample{r.DownMBps, gib(r.DownCPU, moved), bad}},
		}
	case "sessions":
		return []figure{{"", "sessions/s", "CPU ms/session", sample{r.PerSecond, per(r.CPUSecs, r.Sessions), bad}}}
	case "smallfiles", "tlssmall":
		return []figure{
			{"STOR", "files/s", "CPU ms/file", sample{r.StorPerSec, per(r.UpCPU, r.StorFiles), bad}},
			{"RETR", "files/s", "CPU ms/file", sample{r.RetrPerSec, per(r.DownCPU, r.RetrFiles), bad}},
		}
	case "idle":
		return []figure{{"", "PSS KiB/session", "", sample{r.KiBPerSess, -1, bad || r.KiBPerSess <= 0}}}
	}
	return nil
}

type tableData struct {
	metrics []string // "test figure", in order of appearance
	units   map[string][2]string
	servers []string
	rounds  []string
	cells   map[[3]string]sample // metric, server, round
	errs    []string
	dataTLS map[string]string // server -> the data connections' TLS, as seen first
}

func readTable(in io.Reader) (*tableData, error) {
	t := &tableData{units: map[string][2]string{}, cells: map[[3]string]sample{}, dataTLS: map[string]string{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || !strings.HasPrefix(text, "{") {
			continue
		}
		var r result
		if err := json.Unmarshal([]byte(text), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		parts := strings.Split(r.Label, "/")
		if len(parts) != 3 {
			return nil, fmt.Errorf("line %d: label %q is not server/test/round", line, r.Label)
		}
		server, test, round := parts[0], parts[1], parts[2]
		if !slices.Contains(t.servers, server) {
			t.servers = append(t.servers, server)
		}
		if !slices.Contains(t.rounds, round) {
			t.rounds = append(t.rounds, round)
		}
		if _, ok := t.dataTLS[server]; !ok && r.DataTLS != "" {
			t.dataTLS[server] = r.DataTLS
		}
		for _, f := range figuresOf(&r) {
			m := strings.TrimSpace(test + " " + f.name)
			if _, ok := t.units[m]; !ok {
				t.metrics = append(t.metrics, m)
				t.units[m] = [2]string{f.unit, f.cpuUnit}
			}
			t.cells[[3]string{m, server, round}] = f.s
		}
		if r.Errors > 0 {
			t.errs = append(t.errs, fmt.Sprintf("%s: %d error(s): %s", r.Label, r.Errors, strings.Join(r.ErrorSample, "; ")))
		}
	}
	return t, sc.Err()
}

// median of the values; ok is false for none.
func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func fmtNum(f float64) string {
	switch {
	case f >= 100:
		return strconv.FormatFloat(f, 'f', 0, 64)
	case f >= 10:
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// writeTable prints the table; it returns how many runs had errors.
func (t *tableData) write(w io.Writer, base string) int {
	medians := map[[2]string]float64{}
	// Column widths: the longest server name ("/" and the name in the
	// summary's ratio columns).
	nameW, colW := 10, 10
	for _, s := range t.servers {
		nameW, colW = max(nameW, len(s)), max(colW, len(s)+1)
	}
	for _, s := range t.servers {
		if d := t.dataTLS[s]; d != "" {
			fmt.Fprintf(w, "data connections of %s: %s\n", s, d)
		}
	}
	for _, m := range t.metrics {
		u := t.units[m]
		fmt.Fprintf(w, "\n%s (%s; server %s)\n", m, u[0], u[1])
		fmt.Fprintf(w, "  %-*s", nameW, "server")
		for _, r := range t.rounds {
			fmt.Fprintf(w, " %9s", "round "+r)
		}
		fmt.Fprintf(w, " %9s %9s\n", "median", "cpu/op")
		for _, s := range t.servers {
			var vals, cpus []float64
			row := fmt.Sprintf("  %-*s", nameW, s)
			for _, r := range t.rounds {
				c, ok := t.cells[[3]string{m, s, r}]
				switch {
				case !ok:
					row += fmt.Sprintf(" %9s", "-")
					continue
				case c.bad:
					row += fmt.Sprintf(" %9s", fmtNum(c.value)+"!")
				default:
					row += fmt.Sprintf(" %9s", fmtNum(c.value))
				}
				vals = append(vals, c.value)
				if c.cpu >= 0 {
					cpus = append(cpus, c.cpu)
				}
			}
			if len(vals) == 0 {
				continue // this server does not do this test
			}
			med, _ := median(vals)
			medians[[2]string{m, s}] = med
			cpu := "-"
			if c, ok := median(cpus); ok {
				cpu = fmtNum(c)
			}
			fmt.Fprintf(w, "%s %9s %9s\n", row, fmtNum(med), cpu)
		}
		if b, ok := medians[[2]string{m, base}]; ok {
			var rs []string
			for _, s := range t.servers {
				if o, ok := medians[[2]string{m, s}]; ok && s != base && o > 0 {
					rs = append(rs, fmt.Sprintf("%s/%s %.2f", base, s, b/o))
				}
			}
			if len(rs) > 0 {
				fmt.Fprintf(w, "  ratio: %s\n", strings.Join(rs, ", "))
			}
		}
	}
	// Summary: medians side by side, then the ratios.
	fmt.Fprintf(w, "\nSummary (medians over %d round(s); ratio > 1: %s is faster)\n", len(t.rounds), base)
	fmt.Fprintf(w, "  %-34s", "figure")
	for _, s := range t.servers {
		fmt.Fprintf(w, " %*s", colW, s)
	}
	for _, s := range t.servers {
		if s != base {
			fmt.Fprintf(w, " %*s", colW, "/"+s)
		}
	}
	fmt.Fprintln(w)
	for _, m := range t.metrics {
		fmt.Fprintf(w, "  %-34s", m+" "+t.units[m][0])
		for _, s := range t.servers {
			if v, ok := medians[[2]string{m, s}]; ok {
				fmt.Fprintf(w, " %*s", colW, fmtNum(v))
			} else {
				fmt.Fprintf(w, " %*s", colW, "-")
			}
		}
		b, hasBase := medians[[2]string{m, base}]
		for _, s := range t.servers {
			if s == base {
				continue
			}
			if o, ok := medians[[2]string{m, s}]; ok && hasBase && o > 0 {
				fmt.Fprintf(w, " %*.2f", colW, b/o)
			} else {
				fmt.Fprintf(w, " %*s", colW, "-")
			}
		}
		fmt.Fprintln(w)
	}
	if len(t.errs) > 0 {
		fmt.Fprintf(w, "\nRuns with errors (marked !):\n")
		for _, e := range t.errs {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	return len(t.errs)
}
