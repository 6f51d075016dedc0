package server

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/designer"
	"formwork/engine"
	"formwork/engine/backup"
	"formwork/engine/store/sqlite"
)

// backupRunsFor takes and verifies real backups of the harness's SQLite
// store into dir, as cmd wires them; gate, when not nil, holds a backup
// after its first step until it is closed, so a test sees it running.
func backupRunsFor(tb testing.TB, h *harness, dir string, gate chan struct{}) (*BackupRuns, func() ([]BackupFile, error)) {
	tb.Helper()
	key := make([]byte, backup.KeySize)
	if _, err := rand.Read(key); err != nil {
		tb.Fatal(err)
	}
	open := func(path string) (backup.Store, error) { return sqlite.Open(path, sqlite.Options{Readers: 2}) }
	runs := &BackupRuns{
		Create: func(ctx context.Context, step func(done, total int)) (string, int64, error) {
			path, m, err := backup.CreateSteps(ctx, h.store.(backup.Store), open, dir, key, time.Now(), func(done, total int) {
				step(done, total)
				if done == 1 && gate != nil {
					<-gate
				}
			})
			if err != nil {
				return "", 0, err
			}
			return filepath.Base(path), m.AuditEvents, nil
		},
		Verify: func(ctx context.Context, name string, step func(done, total int)) (int64, error) {
			m, err := backup.VerifySteps(ctx, open, filepath.Join(dir, name), key, tb.TempDir(), step)
			if err != nil {
				return 0, err
			}
			return m.AuditEvents, nil
		},
	}
	list := func() ([]BackupFile, error) {
		bs, err := backup.List(dir)
		var out []BackupFile
		for _, b := range bs {
			out = append(out, BackupFile{Name: filepath.Base(b.Path), Size: b.Size, Time: b.Time})
		}
		return out, err
	}
	return runs, list
}

// TestBrowserAdminBackups: an administrator takes a backup from
// /admin/backups, watches it run (the bar at its first step while it is
// held there), reads the result and finds it listed, verifies it, and sees
// a damaged copy refused; everything is audited. Screenshots of the
// running and the finished page at 1280 and 390 px, in Chinese.
func TestBrowserAdminBackups(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	dir := t.TempDir()
	gate := make(chan struct{})
	runs, list := backupRunsFor(t, h, dir, gate)
	e := New(Deps{Store: h.store, Org: h.org, Service: h.svc, Designer: designer.New(h.svc), Config: h.cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Backups: list, BackupRuns: runs})
	srv := httptest.NewServer(e)
	defer srv.Close()
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(srv.URL+"/admin/backups", "admin", "#backups-none")...)
	step(t, ctx, "create", answered(chromedp.Click(chromedp.CSS("#backup-create"))),
		chromedp.WaitVisible(chromedp.CSS(`#backup-job[data-status="running"]`)))
	if ok := run(t, ctx, "bar at the first step", chromedp.Poll[bool](`document.getElementById('bk-bar').value === 1 && document.getElementById('bk-bar').max === 3`,
		chromedp.WithPollingTimeout(20*time.Second))); !ok {
		t.Error("the progress bar does not stand at step 1 of 3")
	}
	if st := run(t, ctx, "state", chromedp.Text(chromedp.CSS("#bk-state"))); !strings.Contains(st, "进行中") {
		t.Errorf("the running state reads %q", st)
	}
	shootBoth(t, ctx, shots, "backups-running")
	close(gate)
	step(t, ctx, "finished", chromedp.WaitVisible(chromedp.CSS(`#backup-job[data-status="done"] #bk-result`)))
	files, err := list()
	if err != nil || len(files) != 1 {
		t.Fatalf("backups after the click = %v, %v; want one", files, err)
	}
	name := files[0].Name
	if res := run(t, ctx, "result", chromedp.Text(chromedp.CSS("#bk-result"))); !strings.Contains(res, "备份已完成") || !strings.Contains(res, name) {
		t.Errorf("the result reads %q, want the backup %s taken", res, name)
	}
	if n := run(t, ctx, "listed", chromedp.Evaluate[int](`document.querySelectorAll('#backups tr[data-backup="`+name+`"]').length`)); n != 1 {
		t.Errorf("the new backup is listed %d times", n)
	}
	shootBoth(t, ctx, shots, "backups")

	step(t, ctx, "verify", answered(chromedp.Click(chromedp.CSS(`button[data-verify="`+name+`"]`))),
		chromedp.WaitVisible(chromedp.CSS(`#backup-job[data-kind="verify"][data-status="done"] #bk-result`)))
	if res := run(t, ctx, "verified", chromedp.Text(chromedp.CSS("#bk-result"))); !strings.Contains(res, "校验通过") {
		t.Errorf("the verify result reads %q", res)
	}

	// one flipped byte: the verify is refused, in words
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	step(t, ctx, "verify damaged", answered(chromedp.Click(chromedp.CSS(`button[data-verify="`+name+`"]`))),
		chromedp.WaitVisible(chromedp.CSS(`#backup-job[data-kind="verify"][data-status="failed"] #bk-result`)))
	if res := run(t, ctx, "refused", chromedp.Text(chromedp.CSS("#bk-result"))); !strings.Contains(res, "已损坏") {
		t.Errorf("the damaged backup's verify reads %q", res)
	}

	for action, want := range map[string]map[string]int{"backup.create": {engine.ResultOK: 1}, "backup.verify": {engine.ResultOK: 1, engine.ResultFailed: 1}} {
		page, err := h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: action})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, ev := range page.Items {
			got[ev.Result]++
			if ev.Actor != h.users["admin"].ID || ev.Object != name {
				t.Errorf("%s event by %s on %s, want the admin on %s", action, ev.Actor, ev.Object, name)
			}
		}
		if len(got) != len(want) || got[engine.ResultOK] != want[engine.ResultOK] || got[engine.ResultFailed] != want[engine.ResultFailed] {
			t.Errorf("%s events = %v, want %v", action, got, want)
		}
	}
	checkConsole(t, console())
}
