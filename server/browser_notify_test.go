package server

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/engine"
	"formwork/engine/workflow"
	"formwork/plugins/email"
)

// TestBrowserBellRisesWhenTaskArrives: the store head has the home page
// open with no notification; the store manager submits a customer with a
// discount through the API, whose workflow asks the store head; the bell's
// count (and the tasks badge) rise to 1 on the open page without a reload;
// the bell leads to /notifications, the notification to the task, and the
// count falls back. Screenshots of /notifications at 1280 and 390 px.
func TestBrowserBellRisesWhenTaskArrives(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h, _, srv := taskFixture(t)
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(srv.URL+"/", "analyst", "#nav-bell")...)
	if hidden := run(t, ctx, "badge before", chromedp.Evaluate[bool](`document.querySelector('#nav-bell [data-unread]').hidden`)); !hidden {
		t.Fatal("the bell shows a count before any notification")
	}
	// a mark that a full reload would wipe
	run(t, ctx, "mark the page", chromedp.Evaluate[bool](`(window.__samePage = true)`))

	rec := h.do("POST", "/api/v1/apps/shop/forms/customer/records", "manager",
		`{"data": {"name": "铃声客户", "phone": "13912345678", "level": "normal", "discount": 0.15}}`, nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("the manager submits: %d %s", rec.Code, rec.Body)
	}
	run(t, ctx, "the bell rises", chromedp.Poll[bool](`(() => {
		const b = document.querySelector('#nav-bell [data-unread]');
		const tk = document.querySelector('#nav-tasks .badge');
		return !b.hidden && b.textContent === '1' && !!tk && tk.textContent === '1';
	})()`, chromedp.WithPollingTimeout(0)))
	if same := run(t, ctx, "same page", chromedp.Evaluate[bool](`window.__samePage === true`)); !same {
		t.Error("the page was reloaded to show the count")
	}

	step(t, ctx, "open the bell", answered(chromedp.Click(chromedp.CSS("#nav-bell"))), chromedp.WaitVisible(chromedp.CSS(`#notifications li[data-kind="task"].unread`)))
	item := run(t, ctx, "the notification", chromedp.Text(chromedp.CSS(`#notifications li[data-kind="task"]`)))
	for _, want := range []string{"待审批", "待审批：折扣审批", "门店客户 · 客户", "标为已读"} {
		if !strings.Contains(item, want) {
			t.Errorf("the notification %q lacks %q", item, want)
		}
	}
	shootBoth(t, ctx, shots, "notifications")
	step(t, ctx, "open the notification", answered(chromedp.Click(chromedp.CSS(`#notifications li[data-kind="task"] a.notify-open`))),
		chromedp.WaitVisible(chromedp.CSS("#do-approve")))
	if path := run(t, ctx, "path", chromedp.Evaluate[string](`location.pathname`)); !strings.HasPrefix(path, "/tasks/") {
		t.Errorf("the notification led to %s, want the task", path)
	}
	if hidden := run(t, ctx, "badge after", chromedp.Evaluate[bool](`document.querySelector('#nav-bell [data-unread]').hidden`)); !hidden {
		t.Error("the bell still counts the notification that was opened")
	}
	checkConsole(t, console())
}

// TestBrowserMailSettings: an administrator fills /admin/mail in Chinese
// (server, port, encryption, login, sender), saves, and sends a test mail
// that a local SMTP sink receives in Chinese; the password is not on the
// page after the save. Screenshots at 1280 and 390 px.
func TestBrowserMailSettings(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	reg := engine.NewPluginRegistry()
	email.Register(reg, email.Options{Settings: h.svc.MailConfig, Store: h.store})
	h.withWorkflows(workflow.Options{Plugins: reg, Channels: []string{email.Name}})
	sink := startMailSink(t, "mailer", "pw-123")
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(srv.URL+"/admin/mail", "admin", "#mail-form")...)
	step(t, ctx, "fill",
		chromedp.SendKeys(chromedp.CSS("#mail-host"), "127.0.0.1"),
		chromedp.SetValue(chromedp.CSS("#mail-port"), strconv.Itoa(sink.addr.Port)),
		pick("#mail-security", "plain"),
		chromedp.SendKeys(chromedp.CSS("#mail-username"), "mailer"),
		chromedp.SendKeys(chromedp.CSS("#mail-password"), "pw-123"),
		chromedp.SendKeys(chromedp.CSS("#mail-from"), "formwork@example.com"),
		answered(chromedp.Click(chromedp.CSS("#mail-save"))),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	if flash := run(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); flash != "邮件设置已保存" {
		t.Errorf("flash after saving: %q", flash)
	}
	if html := run(t, ctx, "page", chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, "pw-123") {
		t.Error("the saved password is on the page")
	}
	shootBoth(t, ctx, shots, "admin-mail")
	step(t, ctx, "test mail", answered(chromedp.Click(chromedp.CSS("#mail-test"))), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if flash := run(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); flash != "测试邮件已发出，请查收" {
		t.Errorf("flash after the test mail: %q", flash)
	}
	if got := sink.mails(); len(got) != 1 || got[0].To[0] != "admin@example.com" || got[0].Subject != "Formwork 测试邮件" {
		t.Errorf("the sink received %+v", got)
	}
	checkConsole(t, console())
}
