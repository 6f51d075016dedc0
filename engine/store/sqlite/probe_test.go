package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"formwork/engine/store/sqlite"
)

func TestProbeCommits(t *testing.T) {
	dir := t.TempDir()
	times, err := sqlite.ProbeCommits(context.Background(), dir, 12)
	if err != nil {
		t.Fatal(err)
	}
	if len(times.Durable) != 12 || len(times.Lazy) != 12 {
		t.Fatalf("%d durable and %d lazy commits, want 12 each", len(times.Durable), len(times.Lazy))
	}
	for i := range times.Durable {
		if times.Durable[i] <= 0 || times.Lazy[i] <= 0 {
			t.Errorf("commit %d took %v / %v", i, times.Durable[i], times.Lazy[i])
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the probe left %d files behind", len(entries))
	}
	if _, err := sqlite.ProbeCommits(context.Background(), dir, 0); err == nil {
		t.Error("no commits: no error")
	}
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.ProbeCommits(context.Background(), file, 3); err == nil {
		t.Error("a file for a directory: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := sqlite.ProbeCommits(ctx, dir, 3); err == nil {
		t.Error("a cancelled probe: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("%d files in the directory, want only f", len(entries))
	}
}

// BenchmarkProbeCommit is a durable and a lazy one-row commit on the
// disk the tests run on: the floor under every record write (make bench).
func BenchmarkProbeCommit(b *testing.B) {
	times, err := sqlite.ProbeCommits(context.Background(), b.TempDir(), b.N)
	if err != nil {
		b.Fatal(err)
	}
	var durable, lazy float64
	for i := range times.Durable {
		durable += float64(times.Durable[i].Microseconds())
		lazy += float64(times.Lazy[i].Microseconds())
	}
	b.ReportMetric(durable/float64(b.N), "durable-us/op")
	b.ReportMetric(lazy/float64(b.N), "lazy-us/op")
}
