package server

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"formwork/engine"
	"formwork/engine/workflow"
)

// TestBrowserDiscountApproval runs the shop's discount approval end to end
// in Chromium: the store manager submits a customer with a big discount
// from the form page, the head of the store (the analyst here) logs in,
// sees the inbox badge, opens the task from the inbox, approves it with a
// comment, and the record page's timeline shows the decision.
func TestBrowserDiscountApproval(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 4 * time.Minute})
	h := newHarness(t, testConfig())
	h.withWorkflows(workflow.Options{})
	if _, err := h.org.UpdateUnitHead(context.Background(), engine.AuditActor{ID: engine.SystemActor}, "store1", h.users["analyst"].ID); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	login := func(email string) {
		t.Helper()
		must(t, "login "+email, chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+"/login"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
			chromedp.WaitVisible(chromedp.CSS("#nav-tasks")),
		))
	}

	// the store manager submits a customer with a 15% discount
	login("manager@example.com")
	must(t, "submit", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/apps/shop/forms/customer/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-discount")),
		chromedp.SendKeys(chromedp.CSS("#f-name"), "折扣客户"),
		chromedp.SendKeys(chromedp.CSS("#f-phone"), "13912345678"),
		chromedp.SetValue(chromedp.CSS("#f-level"), "normal"),
		chromedp.Evaluate[chromedp.Void](`(function(){var d=document.getElementById('f-discount'); d.value='0.15'; d.dispatchEvent(new Event('change',{bubbles:true}));})()`),
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS("#flow-panel")),
	))
	flow := run(t, ctx, "flow after submit", chromedp.Text(chromedp.CSS("#flow-panel")))
	if !strings.Contains(flow, "审批中") || !strings.Contains(flow, "analyst") {
		t.Errorf("the record page does not show the approval waiting for the store head: %q", flow)
	}
	// the panel is styled: the waiting step sits in its bordered box
	if b := run(t, ctx, "panel style", chromedp.Evaluate[string](`getComputedStyle(document.querySelector('#flow-panel .active-node')).borderTopStyle`)); b != "solid" {
		t.Errorf("the record page's flow panel is unstyled (border %q): tasks.css not loaded", b)
	}
	recordURL := run(t, ctx, "record url", chromedp.Evaluate[string]("location.pathname"))
	must(t, "logout", chromedp.Do(ctx, answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))), chromedp.WaitVisible(chromedp.CSS("#email"))))

	// the approver sees the badge, opens the task from the inbox, approves
	login("analyst@example.com")
	if badge := strings.TrimSpace(run(t, ctx, "badge", chromedp.Text(chromedp.CSS("#nav-tasks .badge")))); badge != "1" {
		t.Errorf("inbox badge %q, want 1", badge)
	}
	must(t, "approve", chromedp.Do(ctx,
		answered(chromedp.Click(chromedp.CSS("#nav-tasks"))),
		chromedp.WaitVisible(chromedp.CSS("a.task-link")),
		answered(chromedp.Click(chromedp.CSS("a.task-link"))),
		chromedp.WaitVisible(chromedp.CSS("#do-approve")),
	))
	if v := run(t, ctx, "editable discount", chromedp.Value(chromedp.CSS(`#decide-form [name="discount"]`))); v != "0.15" {
		t.Errorf("the task page's discount input holds %q, want 0.15", v)
	}
	values := run(t, ctx, "values", chromedp.Text(chromedp.CSS("#task-values")))
	// the step shows every field ("*": "read") but names no sensitive
	// one, so the customer's name and phone stay masked for the approver
	if !strings.Contains(values, "折***") || !strings.Contains(values, "139****5678") || strings.Contains(values, "折扣客户") {
		t.Errorf("the task page does not show the record as the step lets the approver see it: %q", values)
	}
	must(t, "decide", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#comment"), "同意，下不为例"),
		answered(chromedp.Click(chromedp.CSS("#do-approve"))),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	))
	if n := run(t, ctx, "badge gone", chromedp.Evaluate[int](`document.querySelectorAll('#nav-tasks .badge').length`)); n != 0 {
		t.Errorf("the badge is still there after approving")
	}

	// the record page's timeline shows who approved, with the comment
	must(t, "timeline", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+recordURL),
		chromedp.WaitVisible(chromedp.CSS("#flow-panel .step-approved")),
	))
	line := run(t, ctx, "approve step", chromedp.Text(chromedp.CSS("#flow-panel .step-approve")))
	if !strings.Contains(line, "analyst") || !strings.Contains(line, "同意，下不为例") || !strings.Contains(line, "店长审批") {
		t.Errorf("timeline approve step: %q", line)
	}
	if st := run(t, ctx, "status", chromedp.Text(chromedp.CSS("#flow-status"))); st != "已同意" {
		t.Errorf("flow status %q, want 已同意", st)
	}
	time.Sleep(100 * time.Millisecond)
	for _, m := range console() {
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "exception") {
			t.Errorf("browser console: %s", m)
		}
	}
}
