package server

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"formwork/engine"
)

// enrolTOTP turns two-factor on for a harness user, as they would on their
// account page, and returns the authenticator's secret and the recovery
// codes. The code used to confirm is spent: the next good one is
// totpCode(secret, 1).
func enrolTOTP(tb testing.TB, h *harness, user string) (string, []string) {
	tb.Helper()
	ctx := context.Background()
	p := &engine.Principal{User: h.users[user], IP: "127.0.0.1"}
	en, err := h.svc.EnrolMFA(ctx, p)
	if err != nil {
		tb.Fatal(err)
	}
	codes, err := h.svc.ConfirmMFA(ctx, p, totpCode(tb, en.Secret, 0))
	if err != nil {
		tb.Fatal(err)
	}
	return en.Secret, codes
}

// totpCode is the authenticator's code steps 30-second steps from now.
func totpCode(tb testing.TB, secret string, steps int) string {
	tb.Helper()
	c, err := totp.GenerateCode(secret, time.Now().Add(time.Duration(steps)*30*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// tripDenials makes user's refused requests trip a denials rule of
// threshold n: each GET of the audit log is refused and audited.
func (h *harness) tripDenials(tb testing.TB, user string, n int) {
	tb.Helper()
	for range n {
		if rec := h.do("GET", "/api/v1/audit", user, "", nil); rec.Code != http.StatusForbidden {
			tb.Fatalf("GET audit as %s = %d, want 403", user, rec.Code)
		}
	}
}

// waitStatus asks path as user until the answer is want; the rule runs
// off the write path, so the answer changes a moment after the trip.
func (h *harness) waitStatus(tb testing.TB, path, user string, want int) *problemJSON {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec := h.do("GET", path, user, "", nil)
		if rec.Code == want {
			var p problemJSON
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			return &p
		}
		if time.Now().After(deadline) {
			tb.Fatalf("GET %s as %s still %d %s, want %d", path, user, rec.Code, rec.Body, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type problemJSON struct {
	Status int    `json:"status"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
	Errors []struct {
		Field, Code, Message string
	} `json:"errors"`
}

// auditActions counts the harness's audit events of action about user, by result.
func (h *harness) auditActions(tb testing.TB, action, object string) map[string]int {
	tb.Helper()
	page, err := h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: action, Object: object, Limit: engine.MaxAuditLimit})
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range page.Items {
		out[e.Result]++
	}
	return out
}

// TestReauthRuleAPI: a reauth rule trips on a user with two-factor on; each
// of their tokens is refused (401 reauth_required) until it proves a code
// again, a wrong code is refused and audited, the right one lets the token
// serve again; a fresh login is not affected; everything is audited.
func TestReauthRuleAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	secret, recovery := enrolTOTP(t, h, "staff")
	h.putRules(t, `[{"kind": "denials", "threshold": 3, "window": "PT1M", "action": "reauth", "roles": ["staff"]}]`)
	h.tripDenials(t, "staff", 3)

	p := h.waitStatus(t, "/api/v1/apps", "staff", http.StatusUnauthorized)
	if p.Code != engine.EREAUTH || len(p.Errors) != 1 || p.Errors[0].Field != "/totp" || p.Errors[0].Code != engine.EREAUTH {
		t.Fatalf("problem = %+v, want code reauth_required with the field /totp", p)
	}
	// every path, not only one: a record read is refused the same way
	if rec := h.do("GET", "/api/v1/apps/shop/forms/customer/records", "staff", "", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("records as staff = %d, want 401", rec.Code)
	}
	// the rule asked only staff
	if rec := h.do("GET", "/api/v1/apps", "manager", "", nil); rec.Code != http.StatusOK {
		t.Errorf("manager = %d, want 200", rec.Code)
	}
	// a fresh login proves the code, so its token serves at once
	rec := h.do("POST", "/api/v1/auth/login", "", `{"email": "staff@example.com", "password": "`+testPassword+`", "totp": "`+recovery[0]+`"}`, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("login = %d %s", rec.Code, rec.Body)
	}
	var login struct{ Token string }
	_ = json.Unmarshal(rec.Body.Bytes(), &login)
	if rec := h.do("GET", "/api/v1/apps", "", "", map[string]string{"Authorization": "Bearer " + login.Token}); rec.Code != http.StatusOK {
		t.Errorf("a fresh login's token = %d, want 200", rec.Code)
	}

	if rec := h.do("POST", "/api/v1/auth/reauth", "staff", `{"totp": "000000"}`, nil); rec.Code != http.StatusUnauthorized || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("reauth with a wrong code = %d %s, want 401", rec.Code, rec.Body)
	}
	if rec := h.do("GET", "/api/v1/apps", "staff", "", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("after a wrong code = %d, want 401", rec.Code)
	}
	if rec := h.do("POST", "/api/v1/auth/reauth", "staff", `{"totp": "`+totpCode(t, secret, 1)+`"}`, nil); rec.Code != http.StatusNoContent {
		t.Fatalf("reauth = %d %s, want 204", rec.Code, rec.Body)
	}
	if rec := h.do("GET", "/api/v1/apps", "staff", "", nil); rec.Code != http.StatusOK {
		t.Errorf("after the code = %d %s, want 200", rec.Code, rec.Body)
	}

	staff := h.users["staff"].ID
	if got := h.auditActions(t, "user.reauth", staff); got[engine.ResultOK] != 1 {
		t.Errorf("user.reauth events = %v, want one", got)
	}
	if got := h.auditActions(t, "reauth", staff); got[engine.ResultOK] != 1 || got[engine.ResultDenied] != 1 {
		t.Errorf("reauth events = %v, want one ok and one denied", got)
	}
	as := h.openAlerts(t)
	if len(as) != 1 || as[0]["action"] != "reauth" || as[0]["user"] != staff {
		t.Errorf("open alerts = %v, want one reauth alert for staff", as)
	}
}

// TestReauthRuleWithoutSecondFactor: a user with no second factor cannot
// prove one, so the rule ends their sessions and tokens: the old token is
// refused (401), and signing in again with the password works.
func TestReauthRuleWithoutSecondFactor(t *testing.T) {
	h := newHarness(t, testConfig())
	h.putRules(t, `[{"kind": "denials", "threshold": 3, "window": "PT1M", "action": "reauth"}]`)
	h.tripDenials(t, "manager", 3)
	p := h.waitStatus(t, "/api/v1/apps", "manager", http.StatusUnauthorized)
	if p.Code != engine.EUNAUTHORIZED {
		t.Errorf("problem code = %q, want unauthorized (the token was ended)", p.Code)
	}
	rec := h.do("POST", "/api/v1/auth/login", "", `{"email": "manager@example.com", "password": "`+testPassword+`"}`, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("login again = %d %s", rec.Code, rec.Body)
	}
	var login struct{ Token string }
	_ = json.Unmarshal(rec.Body.Bytes(), &login)
	if rec := h.do("GET", "/api/v1/apps", "", "", map[string]string{"Authorization": "Bearer " + login.Token}); rec.Code != http.StatusOK {
		t.Errorf("the new token = %d, want 200", rec.Code)
	}
	var ended map[string]any
	page, err := h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: "user.reauth", Object: h.users["manager"].ID})
	if err != nil || len(page.Items) != 1 {
		t.Fatalf("user.reauth events = %v, %v", page, err)
	}
	_ = json.Unmarshal(page.Items[0].Detail, &ended)
	if ended["credentials_ended"] != float64(1) {
		t.Errorf("user.reauth detail = %s, want one credential ended", page.Items[0].Detail)
	}
}
