package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAdminResolvesAlert: an administrator has /admin/alerts open
// with no alerts; a staff member is refused an action, which trips the
// repeated-refusals rule; the alert appears on the page (it is reloaded
// until then, within 10 s), in Chinese, and the administrator resolves it
// and it leaves the open list. Screenshots at 1280 and 390 px.
func TestBrowserAdminResolvesAlert(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	h.putRules(t, `[{"kind": "denials", "threshold": 1, "window": "PT1H", "action": "alert", "roles": ["staff"]}]`)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(srv.URL+"/admin/alerts", "admin", "#alerts [data-alerts-empty]")...)
	if rules := run(t, ctx, "rules form", chromedp.Evaluate[int](`document.querySelectorAll('#alert-rules [data-rule]').length`)); rules != 2 {
		t.Errorf("the rules form has %d rows, want the stored rule and an empty one", rules)
	}
	if rec := h.do("GET", "/api/v1/audit", "staff", "", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("staff reads the audit log: %d", rec.Code)
	}
	row := `#alerts tr[data-status="open"]`
	deadline := time.Now().Add(10 * time.Second)
	for {
		step(t, ctx, "reload", answered(chromedp.Reload()), chromedp.WaitVisible(chromedp.CSS("#alerts")))
		n := run(t, ctx, "rows", chromedp.Evaluate[int](`document.querySelectorAll('`+row+`').length`))
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no alert on the page 10 s after the refusal (%d rows)", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cells := run(t, ctx, "row", chromedp.Text(chromedp.CSS(row)))
	for _, want := range []string{"多次被拒", "staff <staff@example.com>", "1 小时内 1 次操作被拒绝", "待处理", "仅告警"} {
		if !strings.Contains(cells, want) {
			t.Errorf("the alert row %q lacks %q", cells, want)
		}
	}
	shootBoth(t, ctx, shots, "alerts")
	step(t, ctx, "resolve", answered(chromedp.Click(chromedp.CSS(row+` button[data-action="resolve"]`))),
		chromedp.WaitVisible(chromedp.CSS("#alerts [data-alerts-empty]")))
	if flash := run(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); flash != "告警已解决" {
		t.Errorf("flash %q", flash)
	}
	if as := h.openAlerts(t); len(as) != 0 {
		t.Errorf("open alerts after resolving on the page: %v", as)
	}
	checkConsole(t, console())
}
