package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserReauthAfterAlert: a staff member with two-factor on works in
// the browser; a reauth rule trips on them; their next page is the code
// page (in Chinese, saying why), a wrong code is refused there, and the
// right one sends them back to the page they asked for. Screenshots of the
// code page at 1280 and 390 px.
func TestBrowserReauthAfterAlert(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	secret, recovery := enrolTOTP(t, h, "staff")
	h.putRules(t, `[{"kind": "denials", "threshold": 3, "window": "PT1H", "action": "reauth", "roles": ["staff"]}]`)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	shots := t.TempDir()
	list := "/apps/shop/forms/customer"

	step(t, ctx, "login", loginAt(srv.URL+list, "staff", "#totp")...)
	step(t, ctx, "login code", chromedp.SendKeys(chromedp.CSS("#totp"), recovery[0]),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)))
	h.tripDenials(t, "staff", 3)
	h.waitStatus(t, "/api/v1/apps", "staff", http.StatusUnauthorized)

	step(t, ctx, "next page", chromedp.Navigate(srv.URL+list), chromedp.WaitVisible(chromedp.CSS("#reauth-why")))
	if loc := run(t, ctx, "where", chromedp.Evaluate[string](`location.pathname + location.search`)); !strings.HasPrefix(loc, "/reauth?next=") {
		t.Errorf("the browser is at %s, want the code page", loc)
	}
	if why := run(t, ctx, "why", chromedp.Text(chromedp.CSS("#reauth-why"))); !hanRE.MatchString(why) {
		t.Errorf("the code page says %q, want Chinese", why)
	}
	shootBoth(t, ctx, shots, "reauth")
	step(t, ctx, "wrong code", chromedp.SendKeys(chromedp.CSS("#totp"), "000000"),
		answered(chromedp.Click(chromedp.CSS(`form[action="/reauth"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if msg := run(t, ctx, "error", chromedp.Text(chromedp.CSS("#login-error"))); msg != "验证码不正确" {
		t.Errorf("the wrong code's message is %q", msg)
	}
	step(t, ctx, "code", chromedp.SendKeys(chromedp.CSS("#totp"), totpCode(t, secret, 1)),
		answered(chromedp.Click(chromedp.CSS(`form[action="/reauth"] button[type=submit]`))),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/logout"]`)))
	if loc := run(t, ctx, "back", chromedp.Evaluate[string](`location.pathname`)); loc != list {
		t.Errorf("after the code the browser is at %s, want %s", loc, list)
	}
	if n := run(t, ctx, "reauth form", chromedp.Evaluate[int](`document.querySelectorAll('#reauth-why').length`)); n != 0 {
		t.Error("the code page is still shown")
	}
	checkConsole(t, console(), "status of 401") // the wrong code's answer
}
