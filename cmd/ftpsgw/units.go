package main

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// sizeUnits maps a unit suffix (lower-cased) to its multiplier. KB, MB, ...
// are powers of 1000; KiB, MiB, ... powers of 1024.
var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kb":  1000,
	"mb":  1000 * 1000,
	"gb":  1000 * 1000 * 1000,
	"tb":  1000 * 1000 * 1000 * 1000,
	"pb":  1000 * 1000 * 1000 * 1000 * 1000,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
	"pib": 1 << 50,
}

// parseSize parses a byte size: plain bytes ("1048576"), or a number with a
// unit ("64MiB", "1.5GB", "10 GiB"). Units are case-insensitive.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty size")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	mult, ok := sizeUnits[unit]
	if !ok || num == "" {
		return 0, fmt.Errorf("size %q: want a number of bytes or a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s)
	}
	n, err := scaleDecimal(num, mult)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	return n, nil
}

// scaleDecimal returns the decimal number num ("12", "1.5") times mult,
// exactly, refusing fractions of a byte and overflow.
func scaleDecimal(num string, mult int64) (int64, error) {
	whole, frac, hasDot := strings.Cut(num, ".")
	if whole == "" && frac == "" || strings.Contains(frac, ".") || hasDot && frac == "" {
		return 0, errors.New("malformed number")
	}
	var w int64
	if whole != "" {
		v, err := strconv.ParseInt(whole, 10, 64)
		if err != nil {
			return 0, errors.New("number out of range")
		}
		w = v
	}
	if w > math.MaxInt64/mult {
		return 0, errors.New("number out of range")
	}
	total := w * mult
	if frac != "" {
		if len(frac) > 18 {
			return 0, errors.New("too many decimal places")
		}
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, errors.New("malformed number")
		}
		den := int64(1)
		for range len(frac) {
			den *= 10
		}
		// f/den*mult must be a whole number of bytes.
		hi, lo := bits.Mul64(uint64(f), uint64(mult))
		if hi != 0 {
			return 0, errors.New("too many decimal places")
		}
		if lo%uint64(den) != 0 {
			return 0, errors.New("not a whole number of bytes")
		}
		add := int64(lo / uint64(den))
		if total > math.MaxInt64-add {
			return 0, errors.New("number out of range")
		}
		total += add
	}
	return total, nil
}

// parseRate parses a transfer rate in bytes per second: "10MiB/s",
// "500KB/s", or a plain number of bytes per second ("1048576"). "0" means
// unlimited.
func parseRate(s string) (int64, error) {
	t := strings.TrimSpace(s)
	num, hasPerSec := strings.CutSuffix(t, "/s")
	if !hasPerSec {
		// Without "/s" only a plain number of bytes per second is accepted,
		// so "10MiB" (a size, not a rate) is caught as a likely mistake.
		if _, err := strconv.ParseInt(t, 10, 64); err != nil {
			return 0, fmt.Errorf("rate %q: want a size per second such as \"10MiB/s\"", s)
		}
	}
	n, err := parseSize(num)
	if err != nil {
		return 0, fmt.Errorf("rate %q: want a size per second such as \"10MiB/s\"", s)
	}
	return n, nil
}

// parseDuration parses a Go duration ("30s", "5m", "1h30m") that must not
// be negative.
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("duration %q: want a Go duration such as \"30s\" or \"5m\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return d, nil
}
