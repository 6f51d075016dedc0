package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/engine"
)

// contrastJS is the WCAG contrast ratio of an element's text colour
// against its background colour (both as the browser computed them).
const contrastJS = `(function(sel){
	const s = getComputedStyle(document.querySelector(sel));
	const rgb = (c) => c.match(/[\d.]+/g).slice(0, 3).map(Number);
	const lum = (c) => { const [r, g, b] = rgb(c).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
		return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
	const a = lum(s.color), b = lum(s.backgroundColor);
	return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
})(%q)`

// TestBrowserPlainWords drives Chromium in Chinese as staff would: a bad
// mobile number reads 手机号格式不正确，应为11位数字 next to the field
// after submitting, a radio not chosen says 请选择一项 until one is
// picked; the approver's inbox names the record and its amount, the task
// page's reject button can be read (contrast at least 4.5:1), the record
// page says 审批中 and names the related company; the users page names
// roles and the top bar does not read "Admin Admin". Screenshots of each
// page at 1280 and 390 px.
func TestBrowserPlainWords(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 4 * time.Minute})
	h, w, srv := taskFixture(t)
	shots := t.TempDir()
	bg := context.Background()
	co, err := h.svc.CreateRecord(bg, &engine.Principal{User: h.users["admin"]}, "shop", "company", map[string]any{"name": "星光科技"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := h.svc.CreateRecord(bg, &engine.Principal{User: h.users["manager"]}, "shop", "customer", map[string]any{"name": "欧阳娜娜",
		"phone": "13912345678", "level": "normal", "discount": 0.15, "budget": 128000.5, "company": co.ID})
	if err != nil {
		t.Fatal(err)
	}
	task := openTask(t, h, w, "analyst", r.ID)
	text := func(sel string) string { return run(t, ctx, sel, chromedp.Text(chromedp.CSS(sel))) }
	logout := answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))

	// staff: a bad phone, then the radio hint
	step(t, ctx, "staff logs in", loginAt(srv.URL+"/apps/visit/forms/visit/new", "staff", "#f-guest")...)
	if got := text("#f-purpose-choose"); got != "请选择一项" {
		t.Errorf("radio hint %q", got)
	}
	step(t, ctx, "submit a bad phone",
		chromedp.SendKeys(chromedp.CSS("#f-guest"), "王先生"),
		chromedp.SendKeys(chromedp.CSS("#f-phone"), "123"),
		answered(chromedp.Click(chromedp.CSS(`form.fw-form button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS("#f-phone-err")))
	if got := text("#f-phone-err"); got != "手机号格式不正确，应为11位数字" {
		t.Errorf("phone error reads %q", got)
	}
	shootBoth(t, ctx, shots, "words-form-error")
	step(t, ctx, "pick a purpose", chromedp.Click(chromedp.CSS(`input[name="purpose"][value="test_drive"]`)))
	if shown := run(t, ctx, "hint after a pick", chromedp.Evaluate[bool](`getComputedStyle(document.querySelector('#f-purpose-choose')).display !== 'none'`)); shown {
		t.Error("the radio hint stays after a purpose is picked")
	}
	step(t, ctx, "staff logs out", logout, chromedp.WaitVisible(chromedp.CSS("#email")))

	// the approver: inbox and task
	step(t, ctx, "analyst logs in", loginAt(srv.URL+"/tasks", "analyst", ".task-row")...)
	if got, amt := text(".task-row .task-title"), text(".task-row .task-amount"); got == "" || amt != "128000.5" {
		t.Errorf("inbox line: title %q, amount %q", got, amt)
	}
	shootBoth(t, ctx, shots, "words-inbox")
	step(t, ctx, "open the task", chromedp.Navigate(srv.URL+"/tasks/"+task), chromedp.WaitVisible(chromedp.CSS("#do-reject")))
	if c := run(t, ctx, "reject contrast", chromedp.Evaluate[float64](fmt.Sprintf(contrastJS, "#do-reject"))); c < 4.5 {
		t.Errorf("the reject button's contrast is %.2f:1, want at least 4.5:1", c)
	}
	if got := text("main"); !strings.Contains(got, "（无权查看的关联记录）") || !strings.Contains(got, "审批中") || strings.Contains(got, co.ID) {
		t.Errorf("task page reads %q", got)
	}
	shootBoth(t, ctx, shots, "words-task")
	step(t, ctx, "analyst logs out", logout, chromedp.WaitVisible(chromedp.CSS("#email")))

	// the submitter's record page
	step(t, ctx, "manager logs in", loginAt(srv.URL+"/apps/shop/forms/customer/records/"+r.ID, "manager", "main h1")...)
	if got := text("main"); !strings.Contains(got, "审批中") || !strings.Contains(got, "星光科技") || !strings.Contains(got, "一号店") || strings.Contains(got, co.ID) || strings.Contains(got, "in_review") || strings.Contains(got, "store1") {
		t.Errorf("record page reads %q", got)
	}
	shootBoth(t, ctx, shots, "words-record")
	step(t, ctx, "manager logs out", logout, chromedp.WaitVisible(chromedp.CSS("#email")))

	// the administrator's users page
	step(t, ctx, "admin logs in", loginAt(srv.URL+"/admin/users", "admin", "#nav-admin")...)
	if got := text(".top-nav"); strings.Contains(got, "管理 admin") || !strings.Contains(got, "系统管理") {
		t.Errorf("top bar reads %q", got)
	}
	if got := text("main"); !strings.Contains(got, "门店客户：店长") || strings.Contains(got, "store_manager") {
		t.Errorf("users page reads %q", got)
	}
	shootBoth(t, ctx, shots, "words-users")
	checkConsole(t, console(), "status of 422") // the refused submission
}
