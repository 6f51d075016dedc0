package server

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/engine"
)

// TestBrowserAuditorFindsWhoViewed: an auditor logs in, filters the audit
// log to one customer record and finds who viewed it and from where, sees
// the activity chart drawn, and fetches the CSV of what is shown; no
// customer data appears anywhere. Screenshots at 1280 and 390 px, in
// Chinese.
func TestBrowserAuditorFindsWhoViewed(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	withAuditor(t, h)
	rec := h.createCustomer("staff", "陈美玲")
	for _, v := range []struct{ user, ip string }{{"manager", "192.0.2.77"}, {"analyst", "198.51.100.9"}} {
		if _, err := h.svc.GetRecord(context.Background(), &engine.Principal{User: h.users[v.user], IP: v.ip}, "shop", "customer", rec.ID); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()

	step(t, ctx, "login as the auditor", loginAt(srv.URL+"/admin/audit", "auditor", "#audit-filters")...)
	if n := run(t, ctx, "nav", chromedp.Evaluate[int](`document.querySelectorAll('.admin-nav a').length`)); n != 3 {
		t.Errorf("the auditor's admin menu has %d items, want the audit log, alerts and explain", n)
	}
	step(t, ctx, "filter to the record",
		chromedp.SetValue(chromedp.CSS("#af-form"), "shop/customer"),
		chromedp.SendKeys(chromedp.CSS("#af-record"), rec.ID),
		chromedp.SetValue(chromedp.CSS("#af-action"), "view"),
		answered(chromedp.Click(chromedp.CSS(`#audit-filters button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS("#audit-events")))
	people := run(t, ctx, "people", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#audit-events tbody tr')).map(r => r.querySelector('[data-person]').textContent + ' ' + r.lastElementChild.textContent)`))
	want := map[string]bool{"manager <manager@example.com> 192.0.2.77": false, "analyst <analyst@example.com> 198.51.100.9": false}
	for _, p := range people {
		if _, ok := want[p]; ok {
			want[p] = true
		} else if !strings.HasPrefix(p, "staff ") {
			t.Errorf("an unexpected viewer row %q", p)
		}
	}
	for p, found := range want {
		if !found {
			t.Errorf("the viewers %v lack %q", people, p)
		}
	}
	if h1 := run(t, ctx, "heading", chromedp.Text(chromedp.CSS("h1"))); h1 != "谁看过这条记录" {
		t.Errorf("heading %q", h1)
	}
	run(t, ctx, "chart drawn", chromedp.Poll[bool](`document.querySelectorAll('.audit-chart[data-drawn=true] canvas').length === 2`, chromedp.WithPollingTimeout(10*time.Second)))
	text := run(t, ctx, "page text", chromedp.Text(chromedp.CSS("body")))
	for _, no := range []string{"陈美玲", "13912345678", "audit.", "view"} {
		if strings.Contains(text, no) {
			t.Errorf("the audit page shows %q", no)
		}
	}
	if !hanRE.MatchString(text) || !strings.Contains(text, "查看") {
		t.Errorf("the audit page is not in Chinese: %q", text)
	}
	shootBoth(t, ctx, shots, "audit")
	csv := run(t, ctx, "csv", chromedp.Evaluate[string](`fetch(document.querySelector('#audit-csv').href).then(r => r.text())`, chromedp.EvalAwaitPromise))
	if !strings.Contains(csv, rec.ID) || strings.Count(csv, "\n") != len(people)+1 || strings.Contains(csv, "陈美玲") {
		t.Errorf("the CSV of %d rows: %q", len(people), csv)
	}
	checkConsole(t, console())
}

// TestBrowserAdminRestoresFromBin: an administrator opens a form's list,
// follows the recycle bin link, finds the deleted customer with who
// deleted it, restores it and finds it in the list again. Screenshots at
// 1280 and 390 px, in Chinese.
func TestBrowserAdminRestoresFromBin(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	rec := h.createCustomer("staff", "林志强")
	if err := h.svc.DeleteRecord(context.Background(), &engine.Principal{User: h.users["admin"]}, "shop", "customer", rec.ID, 0); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	row := `#bin-records tr[data-record="` + rec.ID + `"]`

	step(t, ctx, "login and open the list", loginAt(srv.URL+"/apps/shop/forms/customer", "admin", "#list-bin")...)
	step(t, ctx, "open the bin", answered(chromedp.Click(chromedp.CSS("#list-bin"))), chromedp.WaitVisible(chromedp.CSS(row)))
	cells := run(t, ctx, "row", chromedp.Text(chromedp.CSS(row)))
	if !strings.Contains(cells, "林志强") || !strings.Contains(cells, "admin") {
		t.Errorf("the bin row %q: want the customer and who deleted it", cells)
	}
	text := run(t, ctx, "page text", chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(text, "回收站") || strings.Contains(text, "deleted_by") {
		t.Errorf("the bin page: %q", text)
	}
	shootBoth(t, ctx, shots, "bin")
	step(t, ctx, "restore", answered(chromedp.Click(chromedp.CSS(row+` button[data-action="restore"]`))), chromedp.WaitVisible(chromedp.CSS("#bin-empty")))
	if flash := run(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); flash != "记录已恢复。" {
		t.Errorf("flash %q", flash)
	}
	step(t, ctx, "back to the list", answered(chromedp.Click(chromedp.CSS(`main > p > a`))), chromedp.WaitVisible(chromedp.CSS("#list-bin")))
	if list := run(t, ctx, "list", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(list, "林志强") {
		t.Errorf("the restored customer is not in the list: %q", list)
	}
	checkConsole(t, console())
}
