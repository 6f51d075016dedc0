package server

import (
	"context"
	"encoding/json"
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
	// a masked field is entered on create (never changed after), so the
	// previewed new record's form asks for it
	if !run(t, ctx, "phone is entered", chromedp.Evaluate[bool](`!!document.querySelector('#dz-pv-form-box [data-field=phone] input')`)) {
		t.Error("staff's masked phone cannot be entered in the previewed new record's form")
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

// TestBrowserDesignerRoleMore works the roles page's extras on shop in
// Chromium: the store staff's data scope becomes a custom condition built
// from two rows joined by "any" (a bad value is refused next to the rows
// and nothing is written), the role is renamed, must use two-step
// verification and gets hours (first wrong, shown as a problem under the
// role, then right); the page says how many people hold it.
func TestBrowserDesignerRoleMore(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 2 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	dz := designer.New(h.svc)
	staffRole := func() map[string]any {
		t.Helper()
		d, err := dz.Draft(context.Background(), admin, "shop")
		must(t, "draft", err)
		var b struct {
			Roles []map[string]any `json:"roles"`
		}
		must(t, "decode", json.Unmarshal(d.Bundle, &b))
		for _, r := range b.Roles {
			if r["key"] == "staff" {
				return r
			}
		}
		t.Fatal("no staff role in the draft")
		return nil
	}
	scope := func() string {
		t.Helper()
		s, _ := json.Marshal(staffRole()["permissions"].(map[string]any)["customer"].(map[string]any)["scope"])
		return string(s)
	}
	step(t, ctx, "open", loginAt(srv.URL+"/designer/apps/shop/roles", "admin", `#roles[data-ready=true] [data-role=staff]`)...)
	step(t, ctx, "custom scope, one row",
		pick(`[data-scope="staff/customer"]`, "custom"),
		chromedp.WaitVisible(chromedp.CSS(`[data-cond-row="staff/customer/0"]`)),
		pick(`[data-cond-field="staff/customer/0"]`, "level"),
		chromedp.WaitVisible(chromedp.CSS(`select[data-cond-value="staff/customer/0"]`)),
		pick(`[data-cond-value="staff/customer/0"]`, "vip"),
	)
	waitSaved(t, ctx)
	waitFor(t, func() bool { return scope() == `{"filter":{"level":{"$eq":"vip"}}}` }, func() string { return "scope " + scope() })
	step(t, ctx, "a second row, any",
		chromedp.Click(chromedp.CSS(`[data-cond-add="staff/customer"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-cond-row="staff/customer/1"]`)),
		pick(`[data-cond-field="staff/customer/1"]`, "budget"),
		pick(`[data-cond-op="staff/customer/1"]`, "ge"),
		pick(`[data-cond-value="staff/customer/1"]`, "many"),
		chromedp.WaitVisible(chromedp.CSS(`[data-cond-error="staff/customer"]`)),
	)
	if got := run(t, ctx, "refusal", chromedp.Evaluate[string](`document.querySelector('[data-cond-error="staff/customer"]').textContent`)); got != "请填写一个数字" {
		t.Errorf("a bad value says %q", got)
	}
	if got := scope(); got != `{"filter":{"level":{"$eq":"vip"}}}` {
		t.Errorf("a bad value changed the scope to %s", got)
	}
	step(t, ctx, "fixed",
		pick(`[data-cond-value="staff/customer/1"]`, "1000"),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-cond-error="staff/customer"]`)),
		pick(`[data-cond-join="staff/customer"]`, "any"),
	)
	waitSaved(t, ctx)
	want := `{"filter":{"$or":[{"level":{"$eq":"vip"}},{"budget":{"$gte":1000}}]}}`
	waitFor(t, func() bool { return scope() == want }, func() string { return "scope " + scope() })

	step(t, ctx, "rename, two-step, hours",
		chromedp.Click(chromedp.CSS(`[data-role-settings=staff] summary`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-role-name="staff/zh"]`)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-role-name="staff/zh"]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`[data-role-name="staff/zh"]`), "导购\t"),
		chromedp.WaitVisible(chromedp.CSS(`[data-role=staff] [data-role-mfa=staff]`)),
		chromedp.Click(chromedp.CSS(`[data-role-mfa=staff]`)),
		chromedp.SendKeys(chromedp.CSS(`[data-role-hours=staff]`), "25:00-26:00\t"),
		chromedp.WaitVisible(chromedp.CSS(`[data-role-problems=staff]:not([hidden])`)),
	)
	if got := run(t, ctx, "name", chromedp.Evaluate[string](`document.querySelector('[data-role=staff] h2').textContent`)); got != "导购" {
		t.Errorf("the renamed role shows %q", got)
	}
	step(t, ctx, "hours right",
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-role-hours=staff]').value = ''`),
		chromedp.SendKeys(chromedp.CSS(`[data-role-hours=staff]`), "09:00-21:00\t"),
		chromedp.WaitNotPresent(chromedp.CSS(`[data-role-problems=staff]:not([hidden])`)),
	)
	waitSaved(t, ctx)
	r := staffRole()
	got, _ := json.Marshal(map[string]any{"name": r["name"], "mfa": r["mfa"], "policy": r["policy"]})
	if string(got) != `{"mfa":true,"name":{"en":"Store staff","zh":"导购"},"policy":{"hours":"09:00-21:00"}}` {
		t.Errorf("the staff role is %s", got)
	}
	if got := run(t, ctx, "holders", chromedp.Evaluate[string](`document.querySelector('[data-role-holders=staff]').textContent`)); !strings.HasPrefix(got, "1 人拥有此角色") {
		t.Errorf("holders say %q", got)
	}
	shootBoth(t, ctx, shots, "designer-roles-more")
	checkConsole(t, console(), "422 (Unprocessable Entity)") // the bad value, refused on purpose
}

// waitFor polls ok for up to 10 s (the page saves in the background).
func waitFor(tb testing.TB, ok func() bool, what func() string) {
	tb.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	tb.Errorf("waited in vain: %s", what())
}
