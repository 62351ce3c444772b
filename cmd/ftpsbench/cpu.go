package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat times; it is 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// cpuSeconds returns the CPU time (user + system) used so far by pid, its
// live descendants and the children they have reaped (cutime, cstime), so
// a forking server's finished sessions count too.
func cpuSeconds(pid int) (float64, error) {
	total, err := procCPUTicks(pid)
	if err != nil {
		return 0, err
	}
	for _, p := range descendants(pid) {
		t, err := procCPUTicks(p)
		if err == nil { // else: exited meanwhile, now in its parent's cutime
			total += t
		}
	}
	return float64(total) / clockTicks, nil
}

// procCPUTicks reads utime+stime+cutime+cstime of one process.
func procCPUTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(string(b))
}

// parseStatTicks sums fields 14-17 of a /proc/PID/stat line. The command
// name (field 2) may hold spaces and ')', so fields count from the last ')'.
func parseStatTicks(s string) (int64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("bad stat line")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, fmt.Errorf("short stat line")
	}
	var sum int64
	for _, v := range f[11:15] { // fields 14..17
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bad stat field %q", v)
		}
		sum += n
	}
	return sum, nil
}

// cpuMeter measures a server's CPU seconds over one timed phase; with no
// pid it measures nothing.
type cpuMeter struct {
	pid   int
	start float64
	err   error
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid}
	if pid > 0 {
		m.start, m.err = cpuSeconds(pid)
	}
	return m
}

// stop returns the CPU seconds since start (0 without a pid).
func (m *cpuMeter) stop(e *errs) float64 {
	if m.pid <= 0 {
		return 0
	}
	end, err := cpuSeconds(m.pid)
	if m.err == nil {
		m.err = err
	}
	if m.err != nil {
		e.add(fmt.Errorf("-pid %d: %w", m.pid, m.err))
		return 0
	}
	return round3(end - m.start)
}
