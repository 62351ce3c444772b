package main

import (
	"math"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1048576", 1048576, true},
		{"512B", 512, true},
		{"1KB", 1000, true},
		{"1kb", 1000, true},
		{"1KiB", 1024, true},
		{"64MiB", 64 << 20, true},
		{"10GiB", 10 << 30, true},
		{"100GiB", 100 << 30, true},
		{"2GB", 2_000_000_000, true},
		{"3MB", 3_000_000, true},
		{"1TiB", 1 << 40, true},
		{"1TB", 1_000_000_000_000, true},
		{"1.5GiB", 3 << 29, true},
		{"0.5KiB", 512, true},
		{" 10 MiB ", 10 << 20, true},
		{"8191PiB", 8191 << 50, true},
		{"8192PiB", 0, false}, // overflows int64
		{"0.3B", 0, false},    // fraction of a byte
		{"1.1KiB", 0, false},  // 1126.4 bytes
		{"", 0, false},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"-1MiB", 0, false},
		{"10XB", 0, false},
		{"1..5MiB", 0, false},
		{"1.MiB", 0, false},
		{".5KiB", 512, true},
		{"10MiB/s", 0, false},
		{"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want && tt.ok {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"10MiB/s", 10 << 20, true},
		{"50MiB/s", 50 << 20, true},
		{"500KB/s", 500_000, true},
		{"1GB/s", 1_000_000_000, true},
		{"1048576", 1048576, true},
		{"1048576/s", 1048576, true},
		{"0", 0, true},
		{"10MiB", 0, false}, // a size, not a rate
		{"fast", 0, false},
		{"/s", 0, false},
		{"-1MiB/s", 0, false},
		{"10MiB/m", 0, false},
	}
	for _, tt := range tests {
		got, err := parseRate(tt.in)
		if (err == nil) != tt.ok || got != tt.want && tt.ok {
			t.Errorf("parseRate(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"5m", 5 * time.Minute, true},
		{"1h30m", 90 * time.Minute, true},
		{"250ms", 250 * time.Millisecond, true},
		{"0s", 0, true},
		{"0", 0, true},
		{"30", 0, false}, // no unit
		{"-5s", 0, false},
		{"5 minutes", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want && tt.ok {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"50000-50999", 50000, 50999, true},
		{"1024-1024", 1024, 1024, true},
		{"60000-65535", 60000, 65535, true},
		{"1023-2000", 0, 0, false},
		{"50000-65536", 0, 0, false},
		{"50999-50000", 0, 0, false},
		{"50000", 0, 0, false},
		{"a-b", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		lo, hi, err := parsePortRange(tt.in)
		if (err == nil) != tt.ok || tt.ok && (lo != tt.lo || hi != tt.hi) {
			t.Errorf("parsePortRange(%q) = %d, %d, %v; want %d, %d, ok=%v", tt.in, lo, hi, err, tt.lo, tt.hi, tt.ok)
		}
	}
}

func TestScaleDecimalLimits(t *testing.T) {
	if _, err := scaleDecimal("9223372036854775807", 1); err != nil {
		t.Errorf("MaxInt64 bytes: %v", err)
	}
	if _, err := scaleDecimal("9223372036854775807", 2); err == nil {
		t.Error("2*MaxInt64: no error")
	}
	if n, err := scaleDecimal("8589934591.5", 1<<30); err != nil || n != math.MaxInt64-(1<<29)+1 {
		t.Errorf("8589934591.5GiB = %d, %v", n, err)
	}
	if n, err := scaleDecimal("8589934591.99999999", 1<<30); err == nil {
		t.Errorf("fraction of a byte: got %d", n)
	}
}
