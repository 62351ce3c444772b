package main

// Transfer feedback: hash marks (a progress bar when the output is a
// terminal), the tick counter, the bell and the statistics.

import (
	"fmt"
	"io"
	"strings"
	"time"
)

const (
	hashBytes = 1024      // one # per this many bytes
	tickBytes = 10 * 1024 // the tick counter's step
	barWidth  = 30        // stars in the progress bar
	barEvery  = 200 * time.Millisecond
)

// stats prints a transfer's statistics under verbose.
func (c *ftpClient) stats(m *meter, dir string) {
	if !c.verbose {
		return
	}
	secs := time.Since(m.start).Seconds()
	rate := float64(m.n) / max(secs, 1e-6)
	c.printf("%d bytes %s in %.2f secs (%s/s)\n", m.n, dir, secs, humanBytes(int64(rate)))
}

// meter counts a transfer's bytes and draws its feedback: hash marks,
// or a progress bar when the output is a terminal; the tick counter;
// the bell at the end.
type meter struct {
	c     *ftpClient
	w     io.Writer
	total int64 // the whole file's size, -1 unknown
	base  int64 // bytes already there (restart)
	n     int64 // bytes moved now
	marks int64
	ticks int64
	start time.Time
	drawn time.Time
	ended bool // finish ran
}

func (c *ftpClient) newMeter(total, base int64, toOut bool) *meter {
	w := c.out
	if toOut {
		w = c.errOut // the file itself goes to the output
	}
	now := time.Now()
	return &meter{c: c, w: w, total: total, base: base, start: now, drawn: now}
}

func (m *meter) add(k int) {
	m.n += int64(k)
	if m.c.hash {
		if m.c.stdoutTTY {
			if time.Since(m.drawn) >= barEvery {
				m.drawBar()
			}
		} else if want := m.n / hashBytes; want > m.marks {
			io.WriteString(m.w, strings.Repeat("#", int(want-m.marks)))
			m.marks = want
		}
	}
	if m.c.tick && m.n/tickBytes > m.ticks {
		m.ticks = m.n / tickBytes
		fmt.Fprintf(m.w, "\rBytes transferred: %d", m.n)
	}
}

// finish draws the end of the feedback, once.
func (m *meter) finish() {
	if m.ended {
		return
	}
	m.ended = true
	if m.c.hash {
		if m.c.stdoutTTY {
			m.drawBar()
			io.WriteString(m.w, "\n")
		} else if m.marks > 0 {
			io.WriteString(m.w, "\n")
		}
	}
	if m.c.tick {
		fmt.Fprintf(m.w, "\rBytes transferred: %d\n", m.n)
	}
	if m.c.bell {
		io.WriteString(m.w, "\a")
	}
}

// drawBar redraws the progress bar on its line.
func (m *meter) drawBar() {
	m.drawn = time.Now()
	done := m.base + m.n
	rate := float64(m.n) / max(time.Since(m.start).Seconds(), 1e-6)
	if m.total <= 0 {
		fmt.Fprintf(m.w, "\r%10s %10s/s ", humanBytes(done), humanBytes(int64(rate)))
		return
	}
	pct := min(done*100/m.total, 100)
	stars := int(pct) * barWidth / 100
	eta := "--:--"
	if rate > 0 && done < m.total {
		s := int(float64(m.total-done) / rate)
		eta = fmt.Sprintf("%02d:%02d", s/60, s%60)
	} else if done >= m.total {
		eta = "done "
	}
	fmt.Fprintf(m.w, "\r%3d%% |%s%s| %10s %10s/s %s ", pct, strings.Repeat("*", stars), strings.Repeat(" ", barWidth-stars),
		humanBytes(done), humanBytes(int64(rate)), eta)
}

// humanBytes writes n as "512 B", "1.5 KiB", "20.0 MiB".
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		v, unit = v/1024, u
		if v < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// meterReader and meterWriter count through a meter.
type meterReader struct {
	r io.Reader
	m *meter
}

func (r meterReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.m.add(n)
	return n, err
}

type meterWriter struct {
	w io.Writer
	m *meter
}

func (w meterWriter) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	w.m.add(n)
	return n, err
}
