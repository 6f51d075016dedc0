package main

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine/backup"
)

// TestBackupSchedule: hourly checks over 60 days with a fake clock take one
// backup a day, copy each, and keep 7 daily and 4 weekly in both places;
// every kept backup verifies.
// envBackupEvery is the setting of how often scheduled backups are taken.
const envBackupEvery = "FORMWORK_BACKUP_EVERY"

func TestBackupSchedule(t *testing.T) {
	if testing.Short() {
		t.Skip("CLI test with subprocesses: skipped under -short")
	}
	data := seedData(t, "a long and fine password")
	copyDir := filepath.Join(t.TempDir(), "offsite")
	cli := parseSettings(t, map[string]string{"FORMWORK_BACKUP_COPY_DIR": copyDir, "FORMWORK_BACKUP_KEEP_DAILY": "3", "FORMWORK_BACKUP_KEEP_WEEKLY": "2"}, "--data", data, "serve")
	now := time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)
	s := newBackupSchedule(&cli.Globals, &cli.Serve.Process, func() time.Time { return now }, newLogger(io.Discard))
	if s == nil {
		t.Fatal("no backup schedule with the default settings")
	}
	taken := 0
	for h := 0; h < 24*21; h++ {
		before, _ := backup.List(s.dir)
		if err := s.check(context.Background()); err != nil {
			t.Fatalf("hour %d: %v", h, err)
		}
		after, _ := backup.List(s.dir)
		if len(after) > 0 && (len(before) == 0 || after[0].Path != before[0].Path) {
			taken++
		}
		now = now.Add(time.Hour)
	}
	if taken != 21 {
		t.Errorf("%d backups taken in 21 days, want 21", taken)
	}
	names := func(dir string) []string {
		list, err := backup.List(dir)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range list {
			out = append(out, filepath.Base(b.Path))
		}
		return out
	}
	// 2026-01-21 is a Wednesday: 3 days (21, 20, 19: week 4), then the newest of weeks 3 (18th)
	want := []string{"formwork-20260121T003000Z.fwbk", "formwork-20260120T003000Z.fwbk", "formwork-20260119T003000Z.fwbk", "formwork-20260118T003000Z.fwbk"}
	if diff := cmp.Diff(want, names(s.dir)); diff != "" {
		t.Errorf("kept (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, names(copyDir)); diff != "" {
		t.Errorf("kept in the copy (-want +got):\n%s", diff)
	}
	if out, code := run(t, data, "", "backup", "verify", filepath.Join(copyDir, want[3])); code != 0 {
		t.Errorf("verify the oldest copy: exit %d\n%s", code, out)
	}
	off := parseSettings(t, map[string]string{envBackupEvery: "off"}, "--data", data, "serve")
	if s := newBackupSchedule(&off.Globals, &off.Serve.Process, time.Now, newLogger(io.Discard)); s != nil {
		t.Errorf("FORMWORK_BACKUP_EVERY=off: %v, want no schedule", s)
	}
	if _, err := parseArgs(t, map[string]string{envBackupEvery: "soon"}, "--data", data, "serve"); err == nil || !strings.Contains(err.Error(), envBackupEvery) {
		t.Errorf("FORMWORK_BACKUP_EVERY=soon: %v; want an error naming it", err)
	}
}

// TestBackupMetrics: the process that takes the scheduled backups shows
// when the newest was taken, the schedule's period and how many scheduled
// backups failed, as the backup alerts of deploy/prometheus read them.
func TestBackupMetrics(t *testing.T) {
	data := seedData(t, "a long and fine password")
	cli := parseSettings(t, map[string]string{"FORMWORK_BACKUP_EVERY": "12h"}, "--data", data, "serve")
	now := time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC)
	s := newBackupSchedule(&cli.Globals, &cli.Serve.Process, func() time.Time { return now }, newLogger(io.Discard))
	m := newProcMetrics(newLogger(io.Discard))
	scrapeAt := time.Now()
	m.now = func() time.Time { return scrapeAt }
	m.watchBackups(s)
	gauge := func(name string) (float64, bool) {
		t.Helper()
		fams, err := m.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == name {
				mt := f.GetMetric()[0]
				if mt.Gauge != nil {
					return mt.Gauge.GetValue(), true
				}
				return mt.Counter.GetValue(), true
			}
		}
		return 0, false
	}
	if v, ok := gauge("formwork_backup_newest_timestamp_seconds"); !ok || v != 0 {
		t.Errorf("newest backup before any: %v (shown %v), want 0", v, ok)
	}
	if v, _ := gauge("formwork_backup_interval_seconds"); v != 12*3600 {
		t.Errorf("interval %v, want 43200", v)
	}
	if err := s.check(context.Background()); err != nil {
		t.Fatal(err)
	}
	scrapeAt = scrapeAt.Add(backupScrapeTTL) // past the listing's cache
	if v, _ := gauge("formwork_backup_newest_timestamp_seconds"); v != float64(now.Unix()) {
		t.Errorf("newest backup %v, want %d (the one just taken)", v, now.Unix())
	}
	// a check that cannot open the store fails, and counts
	s.db, s.firstCheck, s.checkPeriod = filepath.Join(t.TempDir(), "missing", "dir", "formwork.db"), time.Millisecond, time.Hour
	now = now.Add(13 * time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.run(ctx) }()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if v, _ := gauge("formwork_backup_failures_total"); v == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a failed scheduled backup was not counted")
		}
	}
	cancel()
	<-done
}
