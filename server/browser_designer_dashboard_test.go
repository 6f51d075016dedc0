package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserDesignerDashboards: an administrator makes a dashboard on the
// designer's dashboards page and adds a chart: the chart form offers only
// the chosen form's fields and asks for a number field only when the
// measure needs one; the chart is listed in words. Screenshots at 1280
// and 390 px, in Chinese.
func TestBrowserDesignerDashboards(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(srv.URL+"/designer/apps/shop", "admin", "#dz-to-dashboards")...)
	step(t, ctx, "open", answered(chromedp.Click(chromedp.CSS("#dz-to-dashboards"))), chromedp.WaitVisible(chromedp.CSS("#dzd-new-zh")))
	step(t, ctx, "new dashboard", chromedp.SendKeys(chromedp.CSS("#dzd-new-zh"), "销售看板"), chromedp.SendKeys(chromedp.CSS("#dzd-new-en"), "Sales"),
		answered(chromedp.Click(chromedp.CSS("#dzd-new button[type=submit]"))), chromedp.WaitVisible(chromedp.CSS("#dash-sales")))
	step(t, ctx, "open the chart form", chromedp.Click(chromedp.CSS("#dash-sales details.dzd-add summary")), chromedp.WaitVisible(chromedp.CSS("#dzd-type-sales")))
	if shown := run(t, ctx, "measure hidden for a count", chromedp.Evaluate[bool](`!document.querySelector('#dash-sales [data-needs-measure]').hidden`)); shown {
		t.Error("a count asks for a number field")
	}
	step(t, ctx, "fill the chart", pick("#dzd-type-sales", "bar"), pick("#dzd-form-sales", "customer"), pick("#dzd-group-sales", "customer/level"), pick("#dzd-op-sales", "sum"))
	other := run(t, ctx, "other forms' fields", chromedp.Evaluate[int](`document.querySelectorAll('#dzd-group-sales optgroup:not([hidden])').length`))
	if other != 1 {
		t.Errorf("%d groups of fields offered, want the chosen form's only", other)
	}
	step(t, ctx, "measure", pick("#dzd-measure-sales", "customer/budget"), chromedp.SendKeys(chromedp.CSS("#dzd-cname-sales"), "各等级预算"))
	shootBoth(t, ctx, shots, "designer-dashboards-form")
	step(t, ctx, "add", answered(chromedp.Click(chromedp.CSS("#dash-sales .dzd-add-form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS("#dash-sales .dzd-charts li")))
	words := run(t, ctx, "chart", chromedp.Text(chromedp.CSS("#dash-sales .dzd-charts li")))
	for _, want := range []string{"各等级预算", "柱状图", "等级", "合计"} {
		if !strings.Contains(words, want) {
			t.Errorf("the chart reads %q, lacking %q", words, want)
		}
	}
	shootBoth(t, ctx, shots, "designer-dashboards")
	// Deleting asks first: declined, the chart stays; accepted, it goes.
	step(t, ctx, "decline", chromedp.Evaluate[chromedp.Void](`window.confirm = () => false`),
		chromedp.Click(chromedp.CSS(`#dash-sales .dzd-charts button[value="delete_chart"]`)))
	if n := run(t, ctx, "still there", chromedp.Evaluate[int](`document.querySelectorAll('#dash-sales .dzd-charts li').length`)); n != 1 {
		t.Errorf("after declining the delete %d charts are listed, want 1", n)
	}
	step(t, ctx, "accept", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
		answered(chromedp.Click(chromedp.CSS(`#dash-sales .dzd-charts button[value="delete_chart"]`))),
		chromedp.WaitVisible(chromedp.CSS("#dash-sales details.dzd-add")))
	if n := run(t, ctx, "gone", chromedp.Evaluate[int](`document.querySelectorAll('#dash-sales .dzd-charts li').length`)); n != 0 {
		t.Errorf("after accepting the delete %d charts are listed, want 0", n)
	}
	checkConsole(t, console())
}
