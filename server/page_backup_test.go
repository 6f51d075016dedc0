package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"formwork/designer"
)

// TestAdminBackupsPage: an administrator sees the backups serve keeps,
// newest first, or that it takes none.
func TestAdminBackupsPage(t *testing.T) {
	h := newHarness(t, testConfig())
	list := []BackupFile{
		{Name: "formwork-20260302T003000Z.fwbk", Size: 4_050_593, Time: time.Date(2026, 3, 2, 0, 30, 0, 0, time.UTC)},
		{Name: "formwork-20260301T003000Z.fwbk", Size: 4_000_000, Time: time.Date(2026, 3, 1, 0, 30, 0, 0, time.UTC)},
	}
	for _, tc := range []struct {
		name    string
		backups func() ([]BackupFile, error)
		want    []string
		forbid  []string
	}{
		{"listed", func() ([]BackupFile, error) { return list, nil }, []string{"formwork-20260302T003000Z.fwbk", "4.1 MB", "2026-03-01 00:30", "backup verify"}, []string{"backups-off"}},
		{"none yet", func() ([]BackupFile, error) { return nil, nil }, []string{`id="backups-none"`}, []string{"<table id=\"backups\""}},
		{"off", nil, []string{`id="backups-off"`}, []string{"<table id=\"backups\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := New(Deps{Store: h.store, Org: h.org, Service: h.svc, Designer: designer.New(h.svc), Config: h.cfg,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Backups: tc.backups})
			srv := httptest.NewServer(e)
			defer srv.Close()
			b := newBrowser(t, srv)
			b.lang = "en"
			b.login("admin@example.com")
			resp, body := b.get("/admin/backups")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /admin/backups: %d\n%s", resp.StatusCode, body)
			}
			mustContain(t, "backups page", body, tc.want...)
			for _, f := range tc.forbid {
				if strings.Contains(body, f) {
					t.Errorf("backups page holds %q", f)
				}
			}
		})
	}
}
