package server

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"formwork/engine"
	"formwork/engine/queue"
)

// startJobs runs the real background machinery for the test: the embedded
// Redis-compatible queue, the outbox relay and a worker with the reassign
// handler. It returns when they run; they stop with the test.
func startJobs(tb testing.TB, h *harness) {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	emb, err := queue.StartEmbedded(queue.EmbeddedOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	client := queue.NewClient(emb.ConnOpt())
	w := queue.NewWorker(emb.ConnOpt(), h.store, queue.WorkerOptions{Logger: log})
	w.Handle(engine.JobReassign, h.svc.HandleReassignJob)
	if err := w.Start(); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	r := queue.NewRelay(h.store, client, queue.RelayOptions{Interval: 200 * time.Millisecond, Logger: log})
	go func() { defer close(done); _ = r.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done; w.Shutdown(); _ = client.Close(); emb.Close() })
}

// TestBrowserAdminOffboarding: an administrator creates a unit and a user
// with a role through the admin pages, freezes the user and hands their
// records to a colleague, and watches the progress bar reach its end
// without reloading the page.
func TestBrowserAdminOffboarding(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 5 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()

	must(t, "login", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS(".admin-stats")),
	))
	// a unit under store1
	must(t, "create unit", chromedp.Do(ctx,
		answered(chromedp.Click(chromedp.CSS(`.admin-nav a[href="/admin/units"]`))),
		chromedp.WaitVisible(chromedp.CSS("#unit-form")),
		chromedp.SetValue(chromedp.CSS("#unit-parent"), "store1"),
		chromedp.SendKeys(chromedp.CSS("#unit-key"), "sales"),
		chromedp.SendKeys(chromedp.CSS("#unit-name-zh"), "销售部"),
		chromedp.SendKeys(chromedp.CSS("#unit-name-en"), "Sales"),
		answered(chromedp.Click(chromedp.CSS("#unit-form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS(`[data-unit="sales"]`)),
	))
	if cls := run(t, ctx, "depth", chromedp.Evaluate[string](`document.querySelector('[data-unit="sales"]').className`)); !strings.Contains(cls, "depth-2") {
		t.Errorf("the new unit is not two levels down the tree: %q", cls)
	}
	// a user in it, with the staff role of the shop app
	must(t, "create user", chromedp.Do(ctx,
		answered(chromedp.Click(chromedp.CSS(`.admin-nav a[href="/admin/users"]`))),
		chromedp.WaitVisible(chromedp.CSS("#user-form")),
		chromedp.SendKeys(chromedp.CSS("#nu-name"), "韩梅梅"),
		chromedp.SendKeys(chromedp.CSS("#nu-email"), "hanmeimei@example.com"),
		chromedp.SendKeys(chromedp.CSS("#nu-password"), testPassword),
		chromedp.SetValue(chromedp.CSS("#nu-unit"), "sales"),
		answered(chromedp.Click(chromedp.CSS("#user-form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS("#role-shop-staff")),
		chromedp.Click(chromedp.CSS("#role-shop-staff")),
		answered(chromedp.Click(chromedp.CSS(`form[data-app="shop"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	))
	bg := context.Background()
	// The page after creating the user already shows a flash, so the wait
	// above may end before the roles form's answer: wait for the store.
	var u *engine.User
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		u, err = h.org.FindUserByEmail(bg, "hanmeimei@example.com")
		if err == nil && strings.Join(u.Roles["shop"], ",") == "staff" || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || u.Unit != "sales" || strings.Join(u.Roles["shop"], ",") != "staff" {
		t.Fatalf("the user as stored: %+v %v", u, err)
	}
	// the user's records: 30, so the job takes two batches
	for i := range 30 {
		if _, err := h.svc.CreateRecord(bg, &engine.Principal{User: u}, "shop", "customer", map[string]any{"name": "客户" + string(rune('甲'+i)), "phone": "13912345678"}); err != nil {
			t.Fatal(err)
		}
	}
	must(t, "freeze", chromedp.Do(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#freeze")),
		answered(chromedp.Click(chromedp.CSS("#freeze"))),
		chromedp.WaitVisible(chromedp.CSS("#reassign-form")),
	))
	if owned := run(t, ctx, "owned", chromedp.Text(chromedp.CSS("#owned"))); owned != "30" {
		t.Errorf("records owned %q, want 30", owned)
	}
	must(t, "reassign", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS("#reassign-to"), h.users["manager"].ID),
		answered(chromedp.Click(chromedp.CSS("#reassign"))),
		chromedp.WaitVisible(chromedp.CSS("#reassign-progress")),
	))
	if st := run(t, ctx, "pending", chromedp.Evaluate[string](`document.getElementById('reassign-status').dataset.status`)); st != "pending" {
		t.Errorf("status before the workers run: %q", st)
	}
	// mark the page, so a reload would show
	must(t, "mark", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.__noReload = true`)))
	startJobs(t, h)
	run(t, ctx, "progress to the end", chromedp.Poll[bool](`document.getElementById('reassign-status').dataset.status === 'done' && document.getElementById('reassign-progress').value === 100`,
		chromedp.WithPollingTimeout(60*time.Second)))
	if ok := run(t, ctx, "no reload", chromedp.Evaluate[bool](`window.__noReload === true`)); !ok {
		t.Error("the page reloaded to show the progress")
	}
	status := run(t, ctx, "status text", chromedp.Text(chromedp.CSS("#reassign-status")))
	if !strings.Contains(status, "30 / 30") || !hanRE.MatchString(status) {
		t.Errorf("status text %q", status)
	}
	if n, _ := h.svc.CountOwnedRecords(bg, &engine.Principal{User: h.users["admin"]}, h.users["manager"].ID); n != 30 {
		t.Errorf("the colleague owns %d records, want 30", n)
	}
	for _, m := range console() {
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "exception") {
			t.Errorf("browser console: %s", m)
		}
	}
}

// TestBrowserLoginTOTP: a user whose role needs two-factor logs in, is sent
// to enrolment, scans (reads) the key, confirms with a code, sees the
// recovery codes; logged out, they log in again with a code.
func TestBrowserLoginTOTP(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 5 * time.Minute})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	if _, err := h.org.CreateUser(context.Background(), engine.AuditActor{ID: engine.SystemActor}, engine.NewUser{Email: "boss@example.com", Name: "boss", Unit: "hq",
		Roles: map[string][]string{"shop": {"hq_admin"}}, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	password := func() error {
		return chromedp.Do(ctx,
			chromedp.Navigate(srv.URL+"/apps/shop/forms/customer"),
			chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), "boss@example.com"),
			chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
			answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		)
	}
	must(t, "password", password())
	must(t, "enrolment page", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#mfa-qr"))))
	if ok := run(t, ctx, "qr drawn", chromedp.Poll[bool](`document.getElementById('mfa-qr').complete && document.getElementById('mfa-qr').naturalWidth >= 200`,
		chromedp.WithPollingTimeout(10*time.Second))); !ok {
		t.Error("the QR code is not drawn")
	}
	secret := run(t, ctx, "secret", chromedp.Text(chromedp.CSS("#mfa-secret")))
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	must(t, "confirm", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#totp"), code),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
	))
	if n := run(t, ctx, "codes", chromedp.Evaluate[int](`document.querySelectorAll('#recovery-codes li').length`)); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	must(t, "continue and log out", chromedp.Do(ctx,
		answered(chromedp.Click(chromedp.CSS("#mfa-continue"))),
		chromedp.WaitVisible(chromedp.CSS("table.records, .records, main h1")),
		answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))),
		chromedp.WaitVisible(chromedp.CSS("#email")),
	))
	// log in again: the code step; the next time step's code (the one just used is spent)
	must(t, "password again", password())
	must(t, "code step", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#totp"))))
	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	must(t, "code", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#totp"), next),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)),
	))
	if loc := run(t, ctx, "where", chromedp.Evaluate[string](`location.pathname`)); loc != "/apps/shop/forms/customer" {
		t.Errorf("after the code the browser is at %s, want the page it asked for", loc)
	}
	for _, m := range console() {
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "exception") {
			t.Errorf("browser console: %s", m)
		}
	}
}
