package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"formwork/engine"
)

// TestBrowserDashboard: an HQ viewer opens the dealership's store
// dashboard from the home page, in Chinese; the leads-per-store bars are
// drawn and the table under them holds both stores; narrowing to store 2
// redraws the charts without reloading the page, as does a refresh after
// a lead is filed; clicking store 1's bar with the mouse opens the lead
// list filtered to store 1's four leads.
// Screenshots at 1280 and 390 px.
func TestBrowserDashboard(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	w := dealerDashboard(t)
	srv := httptest.NewServer(w.e)
	defer srv.Close()
	shots := t.TempDir()

	// HQ roles need a second factor: hqview has enrolled one.
	hq := &engine.Principal{User: w.users["hqview"], IP: "127.0.0.1"}
	enrol, err := w.svc.EnrolMFA(context.Background(), hq)
	if err != nil {
		t.Fatal(err)
	}
	now, _ := totp.GenerateCode(enrol.Secret, time.Now())
	if _, err := w.svc.ConfirmMFA(context.Background(), hq, now); err != nil {
		t.Fatal(err)
	}
	next, _ := totp.GenerateCode(enrol.Secret, time.Now().Add(30*time.Second)) // the code just used is spent
	step(t, ctx, "login", append(loginAt(srv.URL+"/", "hqview", "#totp"),
		chromedp.SendKeys(chromedp.CSS("#totp"), next),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/apps/dealership/dashboards/store_daily"]`)))...)
	step(t, ctx, "open the dashboard", answered(chromedp.Click(chromedp.CSS(`a[href="/apps/dealership/dashboards/store_daily"]`))),
		chromedp.WaitVisible(chromedp.CSS(`#chart-leads_by_store .dash-canvas[data-drawn="true"]`)))
	if h1 := run(t, ctx, "title", chromedp.Text(chromedp.CSS("h1"))); h1 != "门店看板" {
		t.Errorf("title %q, want 门店看板", h1)
	}
	table := `#chart-leads_by_store table`
	rows := run(t, ctx, "table", chromedp.Text(chromedp.CSS(table)))
	for _, want := range []string{"一号店", "二号店", "3", "4"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the leads-per-store table %q lacks %q", rows, want)
		}
	}
	if n := run(t, ctx, "range", chromedp.Evaluate[string](`document.querySelector('#dash-range').value`)); n != "this_month" {
		t.Errorf("the period starts at %q, want this_month", n)
	}
	shootBoth(t, ctx, shots, "dashboard")

	// Narrow to store 2: the charts are read again, the page stays.
	step(t, ctx, "mark the page", chromedp.Evaluate[chromedp.Void](`window.__stayed = true`))
	step(t, ctx, "pick store 2", pick("#dash-unit", "store2"),
		chromedp.Poll[chromedp.Void](`(() => { const t = document.querySelector('`+table+`'); return !!t && !t.textContent.includes('一号店') && window.__stayed === true })()`))
	if loc := run(t, ctx, "url", chromedp.Location()); !strings.Contains(loc, "unit=store2") {
		t.Errorf("the address %q does not keep the unit picked", loc)
	}
	step(t, ctx, "all units again", pick("#dash-unit", ""),
		chromedp.Poll[chromedp.Void](`(() => { const t = document.querySelector('`+table+`'); return !!t && t.textContent.includes('一号店') })()`),
		chromedp.WaitVisible(chromedp.CSS(`#chart-leads_by_store .dash-canvas[data-drawn="true"]`)))

	// A lead filed meanwhile shows at the next refresh (the apply button,
	// as the timer does), the page still the same.
	w.create("a fourth lead", "cons1", "lead", w.sampleWith("lead", map[string]any{"name": "线索新", "phone": "13900009999"}), http.StatusCreated, nil, nil)
	store1 := `(() => { const d = JSON.parse(document.getElementById('dash-grid').dataset.dashboard); const c = d.charts.find(c => c.key === 'leads_by_store'); const p = c && c.series.find(p => p.key === 'store1'); return p ? p.value : 0 })()`
	if n := run(t, ctx, "store 1 before", chromedp.Evaluate[float64](store1)); n != 3 {
		t.Errorf("store 1 shows %v leads before the refresh, want 3", n)
	}
	step(t, ctx, "refresh", chromedp.Click(chromedp.CSS(`#dash-pickers button[type=submit]`)),
		chromedp.Poll[chromedp.Void](`(() => `+store1+` === 4 && window.__stayed === true)()`),
		chromedp.WaitVisible(chromedp.CSS(`#chart-leads_by_store .dash-canvas[data-drawn="true"]`)))

	// Click store 1's bar where it is drawn.
	xy := run(t, ctx, "bar position", chromedp.Evaluate[[]float64](`(() => {
		const box = document.querySelector('#chart-leads_by_store .dash-canvas');
		const d = JSON.parse(document.getElementById('dash-grid').dataset.dashboard);
		const ch = d.charts.find(c => c.key === 'leads_by_store');
		const i = ch.series.findIndex(p => p.key === 'store1');
		const c = echarts.getInstanceByDom(box);
		const [x, y] = c.convertToPixel({seriesIndex: 0}, [i, ch.series[i].value / 2]);
		const r = box.getBoundingClientRect();
		box.scrollIntoView({block: 'center'});
		const r2 = box.getBoundingClientRect();
		return [r2.left + x, r2.top + y, r.top - r2.top];
	})()`))
	step(t, ctx, "click the bar", answered(chromedp.MouseClickXY(xy[0], xy[1])), chromedp.WaitVisible(chromedp.CSS("table.list, .list table, main table")))
	loc := run(t, ctx, "list url", chromedp.Location())
	if !strings.Contains(loc, "/apps/dealership/forms/lead") || !strings.Contains(loc, "filter=") {
		t.Fatalf("the bar opened %q, want the lead list with a filter", loc)
	}
	n := run(t, ctx, "list rows", chromedp.Evaluate[int](`document.querySelectorAll('main table tbody tr').length`))
	if n != 4 {
		body := run(t, ctx, "list", chromedp.Text(chromedp.CSS("main")))
		t.Errorf("the filtered list shows %d rows, want store 1's 4 leads:\n%s", n, body)
	}
	if note := run(t, ctx, "notice", chromedp.Text(chromedp.CSS("#chart-filter"))); !strings.Contains(note, "图表") {
		t.Errorf("the list does not say it is filtered by the chart: %q", note)
	}
	// The list page itself is not this test's: it is taken at 1280 px.
	shoot(t, ctx, shots, "dashboard-list", 1280)
	checkConsole(t, console())
}
