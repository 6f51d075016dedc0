package server

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromeOpts tunes chrome. The zero value is a Chinese-speaking browser
// with two minutes for the whole test.
type chromeOpts struct {
	Timeout time.Duration // the test's whole budget in the browser; 0 = 2 minutes
	Lang    string        // the browser's language (Accept-Language); "" = zh-CN
}

// browserTimeoutEnv stretches every browser test's budget on a slow or
// loaded machine: a Go duration, used when longer than the test's own.
const browserTimeoutEnv = "FORMWORK_BROWSER_TIMEOUT"

// chrome starts a headless Chromium for one test, or skips the test when
// none is installed. Messages of the page's console (CSP violations and
// script errors among them) are collected into the returned func's result.
func chrome(tb testing.TB, o chromeOpts) (context.Context, func() []string) {
	tb.Helper()
	var path string
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		tb.Skip("chromium not found: browser tests skipped")
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if v := os.Getenv(browserTimeoutEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			tb.Fatalf("%s=%q: %v", browserTimeoutEnv, v, err)
		}
		o.Timeout = max(o.Timeout, d)
	}
	if o.Lang == "" {
		o.Lang = "zh-CN"
	}
	base, _, _ := strings.Cut(o.Lang, "-")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.Headless, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("lang", o.Lang), chromedp.Flag("accept-lang", o.Lang+","+base),
		chromedp.UserDataDir(tb.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, o.Timeout)
	tb.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatalf("start chromium: %v", err)
	}
	var mu sync.Mutex
	var msgs []string
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, string(m.Type)+": "+m.Text)
			mu.Unlock()
		}
	}()
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

func must(tb testing.TB, what string, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

func run[T any](tb testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, a)
	must(tb, what, err)
	return v
}

// answered runs steps that send the page away (a click on a form's submit
// button or on a link) and waits until the browser has loaded the page the
// server answered with. Waiting for an element alone is not enough when
// the page being left can show it too (an error the live rules already
// showed, the flash of the page before, a heading every page has): the
// wait then ends early and the next steps read or click nodes of a page
// that is being replaced ("No node with given id found").
func answered(steps ...chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.RunResponse(ctx, steps...)
		return chromedp.Void{}, err
	}
}

// settled waits until every form's live rules have answered its last
// change (app.js's data-rules): an answer shows errors and fields, which
// moves what is below them, and a click aimed before it lands beside its
// target.
func settled() chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`Array.from(document.querySelectorAll('form[data-preview]')).every((f) => f.getAttribute('data-rules') !== 'busy')`,
			chromedp.WithPollingTimeout(10*time.Second)))
		return chromedp.Void{}, err
	}
}

// submitted clicks the submit button sel once the live rules have
// settled, and waits for the page the server answers with (answered).
func submitted(sel string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		if _, err := settled()(ctx, tg); err != nil {
			return chromedp.Void{}, err
		}
		return answered(chromedp.Click(chromedp.CSS(sel)))(ctx, tg)
	}
}

var hanRE = regexp.MustCompile(`\p{Han}`)

// TestBrowserFillForms drives real Chromium through the staff pages: log
// in, watch the rules reveal fields, submit invalid data and read the
// Chinese error next to its field, submit valid data and find the record
// in the list, and draw the form at phone width.
func TestBrowserFillForms(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{})
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()

	// log in
	must(t, "login", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "staff@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/apps/shop/forms/customer/new"]`)),
	))
	if lang := run(t, ctx, "lang", chromedp.Evaluate[string]("document.documentElement.lang")); lang != "zh" {
		t.Errorf("page language %q, want zh (the browser prefers Chinese)", lang)
	}

	// shop: the select level = gold reveals vip_since and makes it required
	must(t, "open shop form", chromedp.Do(ctx,
		answered(chromedp.Click(chromedp.CSS(`a[href="/apps/shop/forms/customer/new"]`))),
		chromedp.WaitVisible(chromedp.CSS("#f-level")),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-field="vip_since"]`)),
		chromedp.SetValue(chromedp.CSS("#f-level"), "gold"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById('f-level').dispatchEvent(new Event('change', {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="vip_since"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="vip_since"] .req`)),
	))
	// the page was not reloaded: the value picked is still there
	if v := run(t, ctx, "level", chromedp.Value(chromedp.CSS("#f-level"))); v != "gold" {
		t.Errorf("level %q after the rules ran, want gold", v)
	}

	// visit: ticking the checkbox reveals the plate; the formula follows
	must(t, "open visit form", chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/apps/visit/forms/visit/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-by_car")),
		chromedp.WaitNotVisible(chromedp.CSS(`[data-field="plate"]`)),
		chromedp.Click(chromedp.CSS("#f-by_car")),
		chromedp.WaitVisible(chromedp.CSS(`[data-field="plate"]`)),
		chromedp.SendKeys(chromedp.CSS("#f-adults"), "2"),
		chromedp.SendKeys(chromedp.CSS("#f-kids"), "1"),
	))
	run(t, ctx, "formula", chromedp.Poll[bool](`document.getElementById('f-party').textContent.trim() === '3'`, chromedp.WithPollingTimeout(10*time.Second)))
	// invalid: bad phone, missing plate → errors next to the fields, in Chinese
	must(t, "submit invalid", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#f-guest"), "王先生"),
		chromedp.SendKeys(chromedp.CSS("#f-phone"), "12"),
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS("#f-phone-err")),
	))
	phoneErr := run(t, ctx, "phone error", chromedp.Text(chromedp.CSS(`[data-field="phone"] .field-error`)))
	plateErr := run(t, ctx, "plate error", chromedp.Text(chromedp.CSS(`[data-field="plate"] .field-error`)))
	if !hanRE.MatchString(phoneErr) || !hanRE.MatchString(plateErr) {
		t.Errorf("errors not shown in Chinese next to their fields: phone %q, plate %q", phoneErr, plateErr)
	}
	if v := run(t, ctx, "guest kept", chromedp.Value(chromedp.CSS("#f-guest"))); v != "王先生" {
		t.Errorf("guest %q after the refused submit, want the typed value", v)
	}
	// valid: fix both and submit; the record shows up in the list
	must(t, "submit valid", chromedp.Do(ctx,
		chromedp.Evaluate[chromedp.Void](`document.getElementById('f-phone').value = ''`),
		chromedp.SendKeys(chromedp.CSS("#f-phone"), "13800138000"),
		chromedp.SendKeys(chromedp.CSS("#f-plate"), "沪A12345"),
		chromedp.Click(chromedp.CSS("#f-purpose-1")),
		submitted(".actions button[type=submit]"),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
		chromedp.Navigate(srv.URL+"/apps/visit/forms/visit"),
		chromedp.WaitVisible(chromedp.CSS("table.records")),
	))
	list := run(t, ctx, "list", chromedp.Text(chromedp.CSS("table.records")))
	if !strings.Contains(list, "王先生") || !strings.Contains(list, "沪A12345") {
		t.Errorf("the new record is not in the list: %q", list)
	}

	// phone width: no sideways scrolling; a screenshot as the artifact
	must(t, "390px", chromedp.Do(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(srv.URL+"/apps/shop/forms/customer/new"),
		chromedp.WaitVisible(chromedp.CSS("#f-name")),
	))
	if ok := run(t, ctx, "width", chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); !ok {
		w := run(t, ctx, "scroll width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
		t.Errorf("the form is %dpx wide at 390px: it scrolls sideways", w)
	}
	png := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	shot := filepath.Join(t.TempDir(), "customer-form-390.png")
	must(t, "save screenshot", os.WriteFile(shot, png, 0o644))
	t.Logf("screenshot at 390px: %s (%d bytes)", shot, len(png))
	if dir := os.Getenv("FORMWORK_ARTIFACTS"); dir != "" {
		must(t, "copy screenshot", os.WriteFile(filepath.Join(dir, "customer-form-390.png"), png, 0o644))
	}

	for _, m := range console() {
		if strings.Contains(m, "Content Security Policy") || strings.HasPrefix(m, "exception") {
			t.Errorf("browser console: %s", m)
		}
	}
}
