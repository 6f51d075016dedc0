package server

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/designer"
	"formwork/engine"
)

// TestBrowserDesignerStart starts apps from the designer's home page in
// Chromium, the ways a manager would: from the CRM template, as a copy of
// shop, and from an uploaded Excel sheet, whose first publish imports its
// rows. Then it previews shop's customer form as the store staff role,
// whose phone is masked and discount hidden: the masked value shows
// masked, the hidden field is nowhere in the page, and the form's rules
// run live. Screenshots at 1280 and 390 px, in Chinese.
func TestBrowserDesignerStart(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	dz := designer.New(h.svc)
	sheet := filepath.Join(t.TempDir(), "到店记录.xlsx")
	must(t, "write the sheet", os.WriteFile(sheet, sheetFile(t, visitSheet), 0o644))

	step(t, ctx, "home", loginAt(srv.URL+"/designer", "admin", "#dz-tpl")...)
	shootBoth(t, ctx, shots, "designer-start")
	step(t, ctx, "from the CRM template",
		chromedp.Click(chromedp.CSS(`#dz-tpl [data-template=crm]`)),
		chromedp.SendKeys(chromedp.CSS("#dz-tpl-key"), "crm2"),
		answered(chromedp.Click(chromedp.CSS("#dz-tpl-submit"))),
		chromedp.WaitVisible(chromedp.CSS(`#dz-to-preview`)),
	)
	if got := run(t, ctx, "template app", chromedp.Evaluate[string](`document.querySelector('h1').textContent + ' ' + document.querySelectorAll('[data-form]').length`)); got != "客户管理 7" {
		t.Errorf("the app started from the template shows %q, want 客户管理 with 7 forms", got)
	}
	step(t, ctx, "a key taken",
		chromedp.Navigate(srv.URL+"/designer"),
		chromedp.WaitVisible(chromedp.CSS("#dz-copy")),
		chromedp.SetValue(chromedp.CSS("#dz-copy-pick"), "shop"),
		chromedp.SendKeys(chromedp.CSS("#dz-copy-key"), "crm2"),
		answered(chromedp.Click(chromedp.CSS("#dz-copy-submit"))),
		chromedp.WaitVisible(chromedp.CSS("#dz-copy-error")),
	)
	if got := run(t, ctx, "refusal", chromedp.Evaluate[string](`document.querySelector('#dz-copy-error').textContent`)); !strings.Contains(got, "已有同名标识的应用") {
		t.Errorf("a taken key says %q", got)
	}
	step(t, ctx, "a copy of shop",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#dz-copy-key').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#dz-copy-key"), "shop2"),
		answered(chromedp.Click(chromedp.CSS("#dz-copy-submit"))),
		chromedp.WaitVisible(chromedp.CSS(`#dz-to-preview`)),
	)
	if got := run(t, ctx, "copy", chromedp.Evaluate[string](`document.querySelector('h1').textContent`)); !strings.HasSuffix(got, " 副本") {
		t.Errorf("the copy is named %q", got)
	}
	step(t, ctx, "from a sheet",
		chromedp.Navigate(srv.URL+"/designer"),
		chromedp.WaitVisible(chromedp.CSS("#dz-sheet")),
		chromedp.SetUploadFiles(chromedp.CSS("#dz-sheet-file"), []string{sheet}),
		chromedp.SendKeys(chromedp.CSS("#dz-sheet-key"), "visits"),
		chromedp.SendKeys(chromedp.CSS("#dz-sheet-name-zh"), "到店记录"),
		answered(chromedp.Click(chromedp.CSS("#dz-sheet-submit"))),
		chromedp.WaitVisible(chromedp.CSS(`[data-canvas] [data-field]`)),
	)
	if got := canvasKeys(t, ctx); len(got) != 4 {
		t.Errorf("the sheet's form has fields %v, want its 4 columns", got)
	}
	step(t, ctx, "publish the sheet with its rows",
		chromedp.Navigate(srv.URL+"/designer/apps/visits/publish"),
		chromedp.WaitVisible(chromedp.CSS(`#dz-sample-data:checked`)),
		answered(chromedp.Click(chromedp.CSS(`[data-action=publish]`))),
		chromedp.WaitVisible(chromedp.CSS(`#dz-importing`)),
	)
	waitImported(t, h, "visits", 2)

	step(t, ctx, "preview",
		chromedp.Navigate(srv.URL+"/designer/apps/shop"),
		chromedp.WaitVisible(chromedp.CSS("#dz-to-preview")),
		answered(chromedp.Click(chromedp.CSS("#dz-to-preview"))),
		chromedp.WaitVisible(chromedp.CSS("#dz-pv-pick")),
		chromedp.SetValue(chromedp.CSS("#dz-pv-form"), "customer"),
		chromedp.SetValue(chromedp.CSS("#dz-pv-role"), "staff"),
		chromedp.SetValue(chromedp.CSS("#dz-pv-unit"), "store1"),
		answered(chromedp.Click(chromedp.CSS("#dz-pv-show"))),
		chromedp.WaitVisible(chromedp.CSS("#dz-pv-record")),
	)
	html := run(t, ctx, "page", chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	for _, bad := range []string{"13800138000", `data-field="discount"`, "折扣"} {
		if strings.Contains(html, bad) {
			t.Errorf("the preview as staff holds %q", bad)
		}
	}
	if got := run(t, ctx, "record", chromedp.Evaluate[string](`document.querySelector('#dz-pv-record').textContent`)); !strings.Contains(got, "138****8000") {
		t.Errorf("the sample record as staff shows %q, want the phone masked", got)
	}
	if run(t, ctx, "phone is read-only", chromedp.Evaluate[bool](`!!document.querySelector('#dz-pv-form-box [data-field=phone] input')`)) {
		t.Error("staff's masked phone is an input in the previewed form")
	}
	step(t, ctx, "rules live",
		chromedp.WaitVisible(chromedp.CSS(`#dz-pv-form-box [data-field=level] select`)),
		chromedp.SetValue(chromedp.CSS(`#dz-pv-form-box [data-field=level] select`), "gold"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#dz-pv-form-box [data-field=level] select').dispatchEvent(new Event('change', {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS(`#dz-pv-form-box [data-field=vip_since]`)),
	)
	shootBoth(t, ctx, shots, "designer-preview")
	step(t, ctx, "typed values as a record",
		chromedp.SendKeys(chromedp.CSS(`#dz-pv-form-box [data-field=name] input`), "刘备"),
		answered(chromedp.Click(chromedp.CSS("#dz-pv-try"))),
		chromedp.WaitVisible(chromedp.CSS("#dz-pv-record")),
	)
	if got := run(t, ctx, "typed record", chromedp.Evaluate[string](`document.querySelector('#dz-pv-record').textContent`)); !strings.Contains(got, "刘备") || !strings.Contains(got, "你输入的值") {
		t.Errorf("the typed record shows %q", got)
	}

	if _, err := dz.Draft(context.Background(), admin, "crm2"); err != nil {
		t.Errorf("crm2's draft: %v", err)
	}
	checkConsole(t, console(), "422 (Unprocessable Entity)") // the taken key, refused on purpose
}

// waitImported waits up to 10 s for the sample-data import of app to be
// done with n records (it runs in the background after the publish).
func waitImported(tb testing.TB, h *harness, app string, n int) {
	tb.Helper()
	var last engine.ImportJob
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		docs, err := h.svc.Store().FindDocs(context.Background(), engine.DocQuery{Kind: engine.KindImportJob})
		if err != nil {
			tb.Fatal(err)
		}
		for _, d := range docs {
			var j engine.ImportJob
			if engine.DecodeDoc(d, &j) == nil && j.App == app {
				last = j
			}
		}
		if last.State == engine.ImportDone {
			break
		}
	}
	if last.State != engine.ImportDone || last.Done != n {
		tb.Errorf("the import of %s is %q with %d records, want done with %d", app, last.State, last.Done, n)
	}
}
