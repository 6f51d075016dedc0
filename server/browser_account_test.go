package server

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserAccount drives the account pages in real Chromium, in
// Chinese, as a member of staff would: a wrong current password is refused
// next to its field; the right one changes the password (the old one no
// longer logs in, the new one does); the sessions tab marks this browser;
// a token limited to one app is created, its secret shown once and usable
// there only, then revoked, after which it answers 401. Screenshots of each
// tab at 1280 and 390 px.
func TestBrowserAccount(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	hs := httptest.NewServer(h.e)
	defer hs.Close()
	srv := hs.URL
	shots := t.TempDir()
	const newPassword = "my own long passphrase"

	step(t, ctx, "login", loginAt(srv+"/account", "staff", "#password-form")...)
	if href := run(t, ctx, "top bar link", chromedp.Evaluate[string](`document.querySelector('#nav-account').getAttribute('href')`)); href != "/account" {
		t.Errorf("the top bar's account link goes to %q", href)
	}
	shootBoth(t, ctx, shots, "account-password")

	fill := func(current, next, confirm string) []chromedp.Action[chromedp.Void] {
		return append(append(append(typeInto("#pw-current", current), typeInto("#pw-new", next)...), typeInto("#pw-confirm", confirm)...),
			answered(chromedp.Click(chromedp.CSS("#password-save"))))
	}
	step(t, ctx, "wrong current password", append(fill("not my password", newPassword, newPassword), chromedp.WaitVisible(chromedp.CSS("#pw-current-error")))...)
	if msg := run(t, ctx, "error", chromedp.Text(chromedp.CSS("#pw-current-error"))); msg != "当前密码不正确" {
		t.Errorf("the wrong current password reads %q", msg)
	}
	step(t, ctx, "change", append(fill(testPassword, newPassword, newPassword), chromedp.WaitVisible(chromedp.CSS(".flash")))...)
	if flash := run(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "密码已修改") {
		t.Errorf("flash %q", flash)
	}
	wantStatus(t, "login with the old password", h.do("POST", "/api/v1/auth/login", "", `{"email":"staff@example.com","password":"`+testPassword+`"}`, nil), 401)
	h.apiLogin(t, "staff@example.com", newPassword)

	step(t, ctx, "sessions tab", answered(chromedp.Click(chromedp.CSS(`.account-tabs [data-tab="sessions"]`))), chromedp.WaitVisible(chromedp.CSS("#sessions")))
	this := run(t, ctx, "this device", chromedp.Text(chromedp.CSS(`#sessions tr[data-current]`)))
	if !strings.Contains(this, "当前设备") || !strings.Contains(this, "浏览器") {
		t.Errorf("this browser's row reads %q", this)
	}
	shootBoth(t, ctx, shots, "account-sessions")

	step(t, ctx, "tokens tab", answered(chromedp.Click(chromedp.CSS(`.account-tabs [data-tab="tokens"]`))), chromedp.WaitVisible(chromedp.CSS("#token-form")))
	step(t, ctx, "create token", append(typeInto("#tk-name", "门店 ERP 同步"),
		pick("#tk-days", "30"), chromedp.Click(chromedp.CSS("#tk-app-shop")),
		answered(chromedp.Click(chromedp.CSS("#token-create-button"))), chromedp.WaitVisible(chromedp.CSS("#token-secret")))...)
	secret := strings.TrimSpace(run(t, ctx, "secret", chromedp.Text(chromedp.CSS("#token-secret"))))
	if !strings.HasPrefix(secret, "fwt_") {
		t.Fatalf("the new token's secret reads %q", secret)
	}
	shootBoth(t, ctx, shots, "account-tokens")
	wantStatus(t, "the token in its app", h.as(secret, "GET", "/api/v1/apps/shop/forms/customer/records", ""), 200)
	wantStatus(t, "the token in another app", h.as(secret, "GET", "/api/v1/apps/visit/forms/visit/records", ""), 403)

	step(t, ctx, "open the tab again", chromedp.Navigate(srv+"/account/tokens"), chromedp.WaitVisible(chromedp.CSS("#tokens tr[data-token]")))
	if n := run(t, ctx, "secret again", chromedp.Evaluate[int](`document.querySelectorAll('#token-secret').length`)); n != 0 {
		t.Error("the secret is shown again on the next visit")
	}
	row := run(t, ctx, "token row", chromedp.Text(chromedp.CSS("#tokens tr[data-token]")))
	for _, want := range []string{"门店 ERP 同步", "门店客户"} {
		if !strings.Contains(row, want) {
			t.Errorf("the token row %q lacks %q", row, want)
		}
	}
	step(t, ctx, "revoke", answered(chromedp.Click(chromedp.CSS(`#tokens button[data-action="revoke-token"]`))), chromedp.WaitVisible(chromedp.CSS("[data-tokens-empty]")))
	if flash := run(t, ctx, "flash", chromedp.Text(chromedp.CSS(".flash"))); !strings.Contains(flash, "令牌已撤销") {
		t.Errorf("flash %q", flash)
	}
	wantStatus(t, "the revoked token", h.as(secret, "GET", "/api/v1/apps/shop/forms/customer/records", ""), 401)

	step(t, ctx, "mfa tab", answered(chromedp.Click(chromedp.CSS(`.account-tabs [data-tab="mfa"]`))), chromedp.WaitVisible(chromedp.CSS("#mfa-qr")))
	checkConsole(t, console(), "status of 422") // the refused password form's answer
}

// TestBrowserAdminResetsPassword: an administrator resets a member of
// staff's password on the user's page and reads the one-time password;
// logged in with it, the member of staff finds only the password form
// (any other page leads back to it) until they set their own, and then
// reaches their home page. Screenshots at 1280 and 390 px.
func TestBrowserAdminResetsPassword(t *testing.T) {
	ctx, console := chrome(t, chromeOpts{Timeout: 3 * time.Minute})
	h := newHarness(t, testConfig())
	hs := httptest.NewServer(h.e)
	defer hs.Close()
	shots := t.TempDir()

	step(t, ctx, "login", loginAt(hs.URL+"/admin/users/"+h.users["staff"].ID, "admin", "#reset-password")...)
	step(t, ctx, "reset", answered(chromedp.Click(chromedp.CSS("#reset-password"))), chromedp.WaitVisible(chromedp.CSS("#one-time-password")))
	pw := strings.TrimSpace(run(t, ctx, "one-time password", chromedp.Text(chromedp.CSS("#one-time-password"))))
	if len(pw) < 10 {
		t.Fatalf("the one-time password reads %q", pw)
	}
	shootBoth(t, ctx, shots, "admin-reset-password")
	step(t, ctx, "logout", answered(chromedp.Click(chromedp.CSS(`form[action="/logout"] button`))), chromedp.WaitVisible(chromedp.CSS("#email")))

	step(t, ctx, "login with the one-time password",
		chromedp.SendKeys(chromedp.CSS("#email"), "staff@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), pw),
		answered(chromedp.Click(chromedp.CSS("form button[type=submit]"))),
		chromedp.WaitVisible(chromedp.CSS("#must-change")))
	step(t, ctx, "another page", answered(chromedp.Navigate(hs.URL+"/tasks")), chromedp.WaitVisible(chromedp.CSS("#must-change")))
	shootBoth(t, ctx, shots, "account-must-change")
	const mine = "a passphrase of my own"
	step(t, ctx, "set my own", append(append(append(typeInto("#pw-current", pw), typeInto("#pw-new", mine)...), typeInto("#pw-confirm", mine)...),
		answered(chromedp.Click(chromedp.CSS("#password-save"))), chromedp.WaitVisible(chromedp.CSS(".account-tabs")))...)
	step(t, ctx, "home", answered(chromedp.Navigate(hs.URL+"/")), chromedp.WaitVisible(chromedp.CSS("#nav-account")))
	if path := run(t, ctx, "where", chromedp.Evaluate[string](`location.pathname`)); path != "/" {
		t.Errorf("home after setting a password is %q", path)
	}
	h.apiLogin(t, "staff@example.com", mine)
	checkConsole(t, console())
}
