package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserListSearchAndViews: staff search their customers in Chinese
// with a date range, save the list as a view shared with their unit, go
// back to all records, and open the view again from its tab; the manager
// of the same store sees the shared tab. Screenshots at 1280 and 390 px.
func TestBrowserListSearchAndViews(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	ids := listFixture(t, h)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	list := srv.URL + "/apps/shop/forms/customer"
	rows := func(what string) string {
		t.Helper()
		return run(t, ctx, what, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('table.records tbody tr')).map(r => r.textContent).join('|')`))
	}

	step(t, ctx, "login", loginAt(list, "staff", "#q")...)
	step(t, ctx, "search", append(typeInto("#q", "伟"), pick("#flt_created_at-range", "today"),
		answered(chromedp.Click(chromedp.CSS(`.filters button[type=submit]`))), chromedp.WaitVisible(chromedp.CSS("table.records")))...)
	got := rows("search rows")
	if !strings.Contains(got, "张伟") || !strings.Contains(got, "王伟明") || strings.Contains(got, "李伟") {
		t.Errorf("search 伟 today shows %q; want 张伟 and 王伟明, not the manager's 李伟", got)
	}
	step(t, ctx, "narrow", append(typeInto("#q", "伟明"),
		answered(chromedp.Click(chromedp.CSS(`.filters button[type=submit]`))), chromedp.WaitVisible(chromedp.CSS("table.records")))...)
	if got := rows("narrowed rows"); !strings.Contains(got, "王伟明") || strings.Contains(got, "张伟") {
		t.Errorf("search 伟明 shows %q", got)
	}
	if strings.Contains(run(t, ctx, "masked", chromedp.Text(chromedp.CSS("table.records"))), "13700001111") {
		t.Error("the list shows staff a masked phone in clear")
	}

	step(t, ctx, "save view",
		chromedp.Click(chromedp.CSS(".view-save summary")),
		chromedp.WaitVisible(chromedp.CSS("#view-name")),
		chromedp.SendKeys(chromedp.CSS("#view-name"), "今日伟明"),
		chromedp.Click(chromedp.CSS("#view-shared")),
		answered(chromedp.Click(chromedp.CSS(`#view-save button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(".view-tab.active")))
	if tab := run(t, ctx, "active tab", chromedp.Text(chromedp.CSS(".view-tab.active"))); !strings.Contains(tab, "今日伟明") || !strings.Contains(tab, "已共享") {
		t.Errorf("active tab %q", tab)
	}
	if flash := run(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); flash != "视图已保存" {
		t.Errorf("flash %q", flash)
	}
	if q := run(t, ctx, "search box", chromedp.Value(chromedp.CSS("#q"))); q != "伟明" {
		t.Errorf("the saved view opens with search %q", q)
	}
	shootBoth(t, ctx, shots, "list-view")

	step(t, ctx, "all records", answered(chromedp.Click(chromedp.CSS(`.view-tab[data-view=""]`))), chromedp.WaitVisible(chromedp.CSS("table.records")))
	if got := rows("all rows"); !strings.Contains(got, "张伟") || !strings.Contains(got, "王伟明") {
		t.Errorf("all records shows %q", got)
	}
	step(t, ctx, "reopen view", answered(chromedp.Click(chromedp.CSS(`.view-tab:not([data-view=""])`))), chromedp.WaitVisible(chromedp.CSS("table.records")))
	if got := rows("view rows"); !strings.Contains(got, "王伟明") || strings.Contains(got, "张伟") {
		t.Errorf("the reopened view shows %q", got)
	}
	if range_ := run(t, ctx, "range", chromedp.Value(chromedp.CSS("#flt_created_at-range"))); range_ != "today" {
		t.Errorf("the reopened view's date range is %q", range_)
	}
	_ = ids
	checkConsole(t, console())
}
