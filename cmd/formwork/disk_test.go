package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"formwork/engine/store/sqlite"
)

// TestDiskCheck runs `formwork disk check` as an operator would: on a data
// directory that does not exist yet, then with a limit no disk meets, then
// with bad input.
func TestDiskCheck(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	out, code := run(t, data, "", "disk", "check", "--commits", "20")
	if code != 0 {
		t.Fatalf("disk check: exit %d\n%s", code, out)
	}
	m := regexp.MustCompile(`durable commit .*: p50 ([0-9.]+) ms  p90 ([0-9.]+) ms  p99 ([0-9.]+) ms`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no durable commit line:\n%s", out)
	}
	var prev float64
	for _, s := range m[1:] {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < prev {
			t.Errorf("percentiles %v out of order or unreadable:\n%s", m[1:], out)
		}
		prev = v
	}
	if prev <= 0 {
		t.Errorf("a durable commit took no time:\n%s", out)
	}
	if !strings.Contains(out, "writes a second on this disk") {
		t.Errorf("no rate in the report:\n%s", out)
	}
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("disk check left %s in the data directory", e.Name())
	}

	if out, code := run(t, data, "", "disk", "check", "--commits", "10", "--slow", "1ns"); code != 1 {
		t.Errorf("--slow 1ns: exit %d, want 1\n%s", code, out)
	}
	if out, code := run(t, data, "", "disk", "check", "--commits", "5"); code == 0 || !strings.Contains(out, "--commits must be between 10 and 100000") {
		t.Errorf("--commits 5: exit %d\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, file, "", "disk", "check", "--commits", "10"); code == 0 || !strings.Contains(out, file) {
		t.Errorf("a file as the data directory: exit %d\n%s", code, out)
	}
}

// TestReportDisk checks the report's arithmetic and its warnings on
// made-up times.
func TestReportDisk(t *testing.T) {
	times := func(d ...time.Duration) []time.Duration { return d }
	fast := sqlite.CommitTimes{
		Durable: times(400*time.Microsecond, 300*time.Microsecond, 500*time.Microsecond, 300*time.Microsecond),
		Lazy:    times(50*time.Microsecond, 50*time.Microsecond, 60*time.Microsecond, 40*time.Microsecond),
	}
	var b strings.Builder
	if p99 := reportDisk(&b, "d", fast, false); p99 != 500*time.Microsecond {
		t.Errorf("p99 %v, want 500µs", p99)
	}
	for _, want := range []string{"p50 0.40 ms", "about 0.35 ms of a durable commit", "about 2500 writes a second"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "warning") || strings.Contains(b.String(), "MongoDB") {
		t.Errorf("a fast disk on SQLite got a warning or a note:\n%s", b.String())
	}
	slow := sqlite.CommitTimes{Durable: times(time.Millisecond, 30*time.Millisecond), Lazy: times(time.Millisecond, time.Millisecond)}
	b.Reset()
	reportDisk(&b, "d", slow, true)
	for _, want := range []string{"warning: 1 durable commit in 100 took longer than 30.00 ms", "the store is MongoDB", "about 29.00 ms of a durable commit", "about 33 writes a second"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
}
