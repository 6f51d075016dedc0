package server

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"formwork/engine"
)

// importWorkbook is an .xlsx of n customers whose rows 5 (a phone number
// too short) and 9 (a level not in the list) are bad; the others are
// valid. The level is given by its Chinese label.
func importWorkbook(tb testing.TB, n int) []byte {
	tb.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	must(tb, "stream writer", err)
	must(tb, "header", sw.SetRow("A1", []any{"姓名", "手机号", "等级"}))
	for i := 2; i <= n+1; i++ {
		phone, level := fmt.Sprintf("139%08d", i), "普通"
		switch i {
		case 5:
			phone = "12345"
		case 9:
			level = "白金"
		}
		must(tb, "row", sw.SetRow(fmt.Sprintf("A%d", i), []any{fmt.Sprintf("导入客户%04d", i), phone, level}))
	}
	must(tb, "flush", sw.Flush())
	buf, err := f.WriteToBuffer()
	must(tb, "write workbook", err)
	return buf.Bytes()
}

// TestBrowserImport drives the import in real Chromium, in Chinese: from
// the list page click Import, upload a workbook with two bad rows, see
// the mapping and the dry run's report (rows 5 and 9, by column), import
// the valid rows, watch the progress bar fill and the report come, and
// find the imported customers in the list.
func TestBrowserImport(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 4 * time.Minute})
	h := newHarness(t, testConfig())
	// each record takes a few milliseconds more (as on a busy store), so
	// that a run lasts seconds and the bar is seen between empty and full
	// however fast the machine
	h.svc.AddRecordHook(func(context.Context, *engine.RecordEvent, *engine.Change) error {
		time.Sleep(3 * time.Millisecond)
		return nil
	})
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	const rows = 1000
	file := filepath.Join(t.TempDir(), "客户名单.xlsx")
	must(t, "write workbook", os.WriteFile(file, importWorkbook(t, rows), 0o644))
	before := h.customers()

	step(t, ctx, "log in to the list", loginAt(srv.URL+"/apps/shop/forms/customer", "admin", "#list-import")...)
	step(t, ctx, "open the import page",
		answered(chromedp.Click(chromedp.CSS("#list-import"))),
		chromedp.WaitVisible(chromedp.CSS("#import-file")),
	)
	shootBoth(t, ctx, shots, "import-upload")
	step(t, ctx, "upload and check",
		chromedp.SetUploadFiles(chromedp.CSS("#import-file"), []string{file}),
		answered(chromedp.Click(chromedp.CSS("#import-check"))),
		chromedp.WaitVisible(chromedp.CSS("#import-bar")),
	)
	// the dry run ends with the mapping and the report (the page reloads itself)
	waitPage(t, ctx, "dry run over", `!!document.querySelector('#import-mapping') && !!document.querySelector('#import-report')`, 90*time.Second)
	mapping := run(t, ctx, "mapping", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#import-mapping tr[data-column]')).map(r => r.dataset.column + '=' + r.querySelector('select').value)`))
	if strings.Join(mapping, " ") != "A=name B=phone C=level" {
		t.Errorf("mapping %v, want the three columns matched by their Chinese headers", mapping)
	}
	report := run(t, ctx, "dry-run report", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#import-report tbody tr')).map(r => r.innerText.replace(/\s+/g, ' '))`))
	if len(report) != 2 || !strings.HasPrefix(report[0], "5 B · 手机号") || !strings.HasPrefix(report[1], "9 C · 等级") {
		t.Errorf("dry-run report %q, want rows 5 (B) and 9 (C)", report)
	}
	status := run(t, ctx, "dry-run summary", chromedp.Text(chromedp.CSS("#import-status")))
	if !strings.Contains(status, fmt.Sprintf("%d 行可以导入", rows-2)) || !strings.Contains(status, "尚未写入") {
		t.Errorf("dry-run summary %q", status)
	}
	if n := h.customers(); n != before {
		t.Fatalf("the dry run wrote %d records", n-before)
	}
	page := run(t, ctx, "page text", chromedp.Text(chromedp.CSS("main")))
	for _, dev := range []string{"^1", "pattern", "/phone", "json", "rimp-", "invalid", "error:"} {
		if strings.Contains(page, dev) {
			t.Errorf("the page shows staff %q", dev)
		}
	}
	shootBoth(t, ctx, shots, "import-dry-run")

	step(t, ctx, "import the valid rows",
		answered(chromedp.Click(chromedp.CSS("#import-run"))),
		chromedp.WaitVisible(chromedp.CSS("#import-bar")),
	)
	// watch the bar: sample it until the page shows the final report
	var seen []int
	deadline := time.Now().Add(120 * time.Second)
	for time.Now().Before(deadline) {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`(function(){var b=document.querySelector('#import-bar'); return b ? [b.value|0, b.max|0, document.querySelector('#import-report') ? 1 : 0] : [-1, 0, 0]})()`))
		if err == nil && v[0] >= 0 {
			seen = append(seen, v[0])
			if v[2] == 1 {
				if v[0] != v[1] || v[1] != rows {
					t.Errorf("final bar %d of %d, want %d of %d", v[0], v[1], rows, rows)
				}
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	seen = compact(seen)
	t.Logf("progress bar values seen: %v", seen)
	moving := false
	for _, v := range seen {
		moving = moving || (v > 0 && v < rows)
	}
	if !moving {
		t.Errorf("the progress bar never showed a value between 0 and %d: %v", rows, seen)
	}
	status = run(t, ctx, "final summary", chromedp.Text(chromedp.CSS("#import-status")))
	if !strings.Contains(status, fmt.Sprintf("新建 %d 条", rows-2)) || !strings.Contains(status, "2 行未导入") {
		t.Errorf("final summary %q", status)
	}
	report = run(t, ctx, "final report", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#import-report tbody tr')).map(r => r.dataset.row)`))
	if strings.Join(report, ",") != "5,9" {
		t.Errorf("final report rows %v, want 5,9", report)
	}
	if href := run(t, ctx, "failed rows link", chromedp.Evaluate[string](`document.querySelector("#import-failed").getAttribute("href")`)); !strings.HasSuffix(href, "/failed") {
		t.Errorf("failed rows link %q", href)
	}
	shootBoth(t, ctx, shots, "import-done")
	if n := h.customers(); n != before+rows-2 {
		t.Errorf("%d records written, want %d", n-before, rows-2)
	}
	step(t, ctx, "back to the list",
		answered(chromedp.Click(chromedp.CSS("#import-back"))),
		chromedp.WaitVisible(chromedp.CSS("table.records")),
	)
	if list := run(t, ctx, "list", chromedp.Text(chromedp.CSS("table.records"))); !strings.Contains(list, "导入客户") {
		t.Errorf("no imported customer in the list: %q", list)
	}
	t.Logf("screenshots in %s", shots)
	checkConsole(t, console())
}

// waitPage waits until js is true on the page, across the reloads the
// import page makes when a run ends (a poll that spans a navigation fails,
// so each check is its own evaluation).
func waitPage(tb testing.TB, ctx context.Context, what, js string, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("%s: not within %s", what, timeout)
}

// compact drops repeats from a series of samples.
func compact(vs []int) []int {
	var out []int
	for _, v := range vs {
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}
