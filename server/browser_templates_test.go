package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTemplateImport drives real Chromium: an administrator opens
// the template gallery, imports the CRM with its sample data in one click,
// watches the progress bar finish without a reload, then fills one of the
// CRM's forms.
func TestBrowserTemplateImport(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 4 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()

	must(t, "login", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin/templates"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS("#tpl-crm")),
	))
	card := run(t, ctx, "card", chromedp.Text(chromedp.CSS("#tpl-crm")))
	for _, w := range []string{"客户管理", "224", "尚未导入"} {
		if !strings.Contains(card, w) {
			t.Errorf("the CRM card lacks %q: %s", w, card)
		}
	}
	if !run(t, ctx, "samples ticked", chromedp.Evaluate[bool](`document.getElementById('tpl-samples-crm').checked`)) {
		t.Fatal("sample data not offered by default")
	}
	must(t, "import", chromedp.Do(ctx,
		answered(chromedp.Click(chromedp.CSS("#tpl-import-crm"))),
		chromedp.WaitVisible(chromedp.CSS("#tpl-progress")),
		chromedp.Evaluate[chromedp.Void](`window.tplMarker = 1`),
	))
	run(t, ctx, "progress finishes", chromedp.Poll[bool](`!document.getElementById('tpl-job-done').hidden`, chromedp.WithPollingTimeout(90*time.Second)))
	if !run(t, ctx, "no reload", chromedp.Evaluate[bool](`window.tplMarker === 1`)) {
		t.Error("the job page reloaded instead of polling")
	}
	if v := run(t, ctx, "bar", chromedp.Evaluate[float64](`document.getElementById('tpl-progress').value`)); v != 224 {
		t.Errorf("progress bar at %v, want 224", v)
	}
	if c := run(t, ctx, "count", chromedp.Text(chromedp.CSS("#tpl-count"))); !strings.Contains(c, "224 / 224") {
		t.Errorf("count %q", c)
	}
	if s := run(t, ctx, "state", chromedp.Text(chromedp.CSS("#tpl-state"))); s != "导入完成" {
		t.Errorf("state %q", s)
	}

	// fill one of its forms: a lead
	must(t, "fill a lead", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/apps/crm/forms/lead/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "测试浏览器联系人"),
		chromedp.SendKeys(chromedp.CSS("#f-company"), "测试浏览器有限公司"),
		chromedp.SendKeys(chromedp.CSS("#f-phone"), "13800004444"),
		chromedp.SetValue(chromedp.CSS("#f-source"), "website"),
		chromedp.SetValue(chromedp.CSS("#f-status"), "new"),
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	))
	loc := run(t, ctx, "location", chromedp.Evaluate[string](`location.pathname`))
	if !strings.HasPrefix(loc, "/apps/crm/forms/lead/records/") {
		t.Fatalf("after submit at %s", loc)
	}
	if body := run(t, ctx, "record", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(body, "测试浏览器有限公司") {
		t.Errorf("the record page lacks the company: %s", body)
	}
	for _, m := range console() {
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "error") {
			t.Errorf("console: %s", m)
		}
	}
}
