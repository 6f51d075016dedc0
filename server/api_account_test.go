package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"formwork/designer"
	"formwork/engine"
)

// apiLogin logs in through the API and returns the login token.
func (h *harness) apiLogin(tb testing.TB, email, password string) (string, map[string]any) {
	tb.Helper()
	rec := h.do("POST", "/api/v1/auth/login", "", `{"email":"`+email+`","password":"`+password+`"}`, nil)
	if rec.Code != http.StatusOK {
		tb.Fatalf("login %s: %d %s", email, rec.Code, rec.Body.String())
	}
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		tb.Fatal(err)
	}
	return out["token"].(string), out
}

// as sends a request with a bearer secret rather than a named user's token.
func (h *harness) as(secret, method, path, body string) *httptest.ResponseRecorder {
	h.tb.Helper()
	return h.do(method, path, "", body, map[string]string{"Authorization": "Bearer " + secret})
}

func wantStatus(tb testing.TB, what string, rec *httptest.ResponseRecorder, status int) {
	tb.Helper()
	if rec.Code != status {
		tb.Fatalf("%s: status %d, want %d; body %s", what, rec.Code, status, rec.Body.String())
	}
}

// audited reports how many audit events of action the store holds.
func (h *harness) audited(tb testing.TB, action, result string) int {
	tb.Helper()
	page, err := h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: action, Result: result, Limit: 100})
	if err != nil {
		tb.Fatal(err)
	}
	return len(page.Items)
}

func TestAccountPasswordAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	h.run(t, []scenario{
		{name: "anonymous", method: "POST", path: "/api/v1/account/password", body: `{"current":"x","new":"y"}`, status: 401},
		{name: "malformed", method: "POST", path: "/api/v1/account/password", user: "staff", body: `{"current":`, status: 400},
		{name: "wrong current", method: "POST", path: "/api/v1/account/password", user: "staff",
			body: `{"current":"not-my-password","new":"a brand new passphrase"}`, status: 422, want: []string{`"field":"/current"`}, not: []string{"argon"},
			check: func(t *testing.T, h *harness) {
				if h.audited(t, "user.password", engine.ResultFailed) != 1 {
					t.Error("the wrong current password is not audited")
				}
				h.apiLogin(t, "staff@example.com", testPassword) // unchanged
			}},
		{name: "too short", method: "POST", path: "/api/v1/account/password", user: "staff",
			body: `{"current":"` + testPassword + `","new":"short"}`, status: 422, want: []string{`"field":"/new"`, `"code":"min_length"`}},
		{name: "common", method: "POST", path: "/api/v1/account/password", user: "staff",
			body: `{"current":"` + testPassword + `","new":"password123"}`, status: 422, want: []string{`"field":"/new"`, `"code":"common"`}},
		{name: "same again", method: "POST", path: "/api/v1/account/password", user: "staff",
			body: `{"current":"` + testPassword + `","new":"` + testPassword + `"}`, status: 422, want: []string{`"code":"unchanged"`}},
		{name: "changed", method: "POST", path: "/api/v1/account/password", user: "staff",
			body: `{"current":"` + testPassword + `","new":"a brand new passphrase"}`, status: 204,
			check: func(t *testing.T, h *harness) {
				wantStatus(t, "old password", h.do("POST", "/api/v1/auth/login", "", `{"email":"staff@example.com","password":"`+testPassword+`"}`, nil), 401)
				h.apiLogin(t, "staff@example.com", "a brand new passphrase")
				wantStatus(t, "the token the change came with", h.do("GET", "/api/v1/apps", "staff", "", nil), 200)
				if h.audited(t, "user.password", engine.ResultOK) != 1 {
					t.Error("the change is not audited")
				}
			}},
	}, nil)
}

func TestAccountPasswordChangeEndsOtherSessions(t *testing.T) {
	h := newHarness(t, testConfig())
	other, _ := h.apiLogin(t, "staff@example.com", testPassword)
	personal := createToken(t, h, "staff", `{"name":"erp","expires_in":"P30D"}`)
	wantStatus(t, "change", h.do("POST", "/api/v1/account/password", "staff", `{"current":"`+testPassword+`","new":"a brand new passphrase"}`, nil), 204)
	wantStatus(t, "the other login", h.as(other, "GET", "/api/v1/apps", ""), 401)
	wantStatus(t, "the request's own token", h.do("GET", "/api/v1/apps", "staff", "", nil), 200)
	wantStatus(t, "a personal token", h.as(personal, "GET", "/api/v1/apps", ""), 200)
}

func TestAccountResetPasswordAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	staff := h.users["staff"].ID

	wantStatus(t, "reset by a non-admin", h.do("POST", "/api/v1/users/"+staff+"/password", "manager", "", nil), 403)
	if h.audited(t, "user.password.reset", engine.ResultDenied) != 1 {
		t.Error("the refused reset is not audited")
	}
	wantStatus(t, "reset of nobody", h.do("POST", "/api/v1/users/nobody-such/password", "admin", "", nil), 404)

	rec := h.do("POST", "/api/v1/users/"+staff+"/password", "admin", "", nil)
	wantStatus(t, "reset", rec, 201)
	var out struct{ Password string }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Password) < engine.MinPasswordLen {
		t.Fatalf("reset answer %s: %v", rec.Body.String(), err)
	}
	if strings.Contains(rec.Body.String(), "argon2") {
		t.Error("the answer holds the hash")
	}
	wantStatus(t, "the user's token after the reset", h.do("GET", "/api/v1/apps", "staff", "", nil), 401)
	wantStatus(t, "the old password", h.do("POST", "/api/v1/auth/login", "", `{"email":"staff@example.com","password":"`+testPassword+`"}`, nil), 401)

	tok, login := h.apiLogin(t, "staff@example.com", out.Password)
	if login["password_change_required"] != true {
		t.Errorf("login answer does not say the password must change: %v", login)
	}
	for _, path := range []string{"/api/v1/apps", "/api/v1/apps/shop/forms/customer/records", "/api/v1/tasks", "/api/v1/tokens"} {
		rec := h.as(tok, "GET", path, "")
		wantStatus(t, path+" before the change", rec, 403)
		if !strings.Contains(rec.Body.String(), `"code":"password_change_required"`) {
			t.Errorf("%s: %s", path, rec.Body.String())
		}
	}
	// the engine refuses too, whatever path the request took
	_, err := h.svc.CreateRecord(context.Background(), &engine.Principal{User: h.users["staff"]}, "shop", "customer", map[string]any{"name": "x", "phone": "13912345678"})
	if engine.ErrorCode(err) != engine.EPASSWORDCHANGE {
		t.Errorf("engine create before the change: %v", err)
	}
	wantStatus(t, "change to a weak one", h.as(tok, "POST", "/api/v1/account/password", `{"current":"`+out.Password+`","new":"1234567890"}`), 422)
	wantStatus(t, "change", h.as(tok, "POST", "/api/v1/account/password", `{"current":"`+out.Password+`","new":"my very own passphrase"}`), 204)
	wantStatus(t, "apps after the change", h.as(tok, "GET", "/api/v1/apps", ""), 200)
	if h.audited(t, "user.password.reset", engine.ResultOK) != 1 {
		t.Error("the reset is not audited")
	}
}

func TestAccountResetPasswordPages(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	staff := h.users["staff"].ID

	sb := newBrowser(t, srv)
	sb.login("staff@example.com")

	ab := newBrowser(t, srv)
	ab.lang = "zh-CN"
	acsrf := ab.login("admin@example.com")
	_, page := ab.get("/admin/users/" + staff)
	mustContain(t, "admin user page", page, `id="reset-password"`, "重置密码")
	resp, page := ab.post("/admin/users/"+staff+"/password", url.Values{"_csrf": {acsrf}}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset: %d %s", resp.StatusCode, page)
	}
	m := oneTimeRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no one-time password on the page: %s", page)
	}
	pw := m[1]

	// the staff's browser was logged out by the reset
	if resp, _ := sb.get("/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("staff's page after the reset: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	nb := newBrowser(t, srv)
	nb.lang = "zh-CN"
	_, lp := nb.get("/login")
	resp, _ = nb.post("/login", url.Values{"_csrf": {csrfOf(t, lp)}, "email": {"staff@example.com"}, "password": {pw}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login with the one-time password: %d", resp.StatusCode)
	}
	for _, path := range []string{"/", "/tasks", "/account/tokens", "/apps/shop/forms/customer"} {
		if resp, _ := nb.get(path); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
			t.Errorf("%s before the change: %d %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	_, page = nb.get("/account")
	mustContain(t, "account page", page, `id="must-change"`, "管理员已为您重置密码")
	csrf := csrfOf(t, page)
	resp, page = nb.post("/account/password", url.Values{"_csrf": {csrf}, "current": {pw}, "new": {"my very own passphrase"}, "confirm": {"my very own passphrase!"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("mismatched confirmation: %d", resp.StatusCode)
	}
	mustContain(t, "mismatch", page, "两次输入的新密码不一致")
	resp, page = nb.post("/account/password", url.Values{"_csrf": {csrf}, "current": {pw}, "new": {"my very own passphrase"}, "confirm": {"my very own passphrase"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d %s", resp.StatusCode, page)
	}
	if resp, _ := nb.get("/"); resp.StatusCode != http.StatusOK {
		t.Errorf("home after the change: %d", resp.StatusCode)
	}
}

var oneTimeRE = regexp.MustCompile(`id="one-time-password" class="secret">([^<]+)<`)

func TestAccountSessionsAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()

	b1 := newBrowser(t, srv)
	csrf1 := b1.login("staff@example.com")
	b2 := newBrowser(t, srv)
	b2.c.Transport = agentTransport("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
	b2.login("staff@example.com")
	b3 := newBrowser(t, srv)
	b3.login("staff@example.com")

	_, js := b1.get("/api/v1/account/sessions")
	var list struct{ Items []engine.SessionInfo }
	if err := json.Unmarshal([]byte(js), &list); err != nil {
		t.Fatal(err, js)
	}
	var current, iphone string
	browsers := 0
	for _, s := range list.Items {
		if s.Kind == engine.SessionBrowser {
			browsers++
		}
		if s.Current {
			current = s.ID
		}
		if strings.Contains(s.Agent, "iPhone") {
			iphone = s.ID
		}
	}
	if browsers != 3 || current == "" || iphone == "" || iphone == current {
		t.Fatalf("sessions: %s", js)
	}
	// the page shows the device in words and marks this one
	_, page := b1.get("/account/sessions")
	mustContain(t, "sessions page", page, `data-this-device`, "iOS", `data-session="`+iphone+`"`)

	// another user cannot end it, and a refusal does not say it exists
	wantStatus(t, "someone else's session", h.do("DELETE", "/api/v1/account/sessions/"+iphone, "manager", "", nil), 404)
	// a personal token manages no sessions
	personal := createToken(t, h, "staff", `{"name":"erp","expires_in":"P30D"}`)
	wantStatus(t, "a personal token lists sessions", h.as(personal, "GET", "/api/v1/account/sessions", ""), 403)

	req, _ := http.NewRequest("DELETE", srv.URL+"/api/v1/account/sessions/"+iphone, nil)
	req.Header.Set(headerCSRF, csrf1)
	if resp, body := b1.send(req); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("end the iPhone's session: %d %s", resp.StatusCode, body)
	}
	if resp, _ := b2.get("/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("the ended browser: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := b3.get("/"); resp.StatusCode != http.StatusOK {
		t.Errorf("a browser not ended: %d", resp.StatusCode)
	}
	// end all others from the page: b3 goes, b1 and the personal token stay
	resp, _ := b1.post("/account/sessions/end-others", url.Values{"_csrf": {csrf1}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("end others: %d", resp.StatusCode)
	}
	if resp, _ := b3.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("b3 after end-others: %d", resp.StatusCode)
	}
	if resp, _ := b1.get("/"); resp.StatusCode != http.StatusOK {
		t.Errorf("b1 after end-others: %d", resp.StatusCode)
	}
	wantStatus(t, "personal token after end-others", h.as(personal, "GET", "/api/v1/apps", ""), 200)
	if h.audited(t, "session.end", engine.ResultOK) != 1 || h.audited(t, "session.end_others", engine.ResultOK) != 1 {
		t.Error("ending sessions is not audited")
	}
}

// createToken makes a personal token as user through the API and returns
// its secret.
func createToken(tb testing.TB, h *harness, user, body string) string {
	tb.Helper()
	rec := h.do("POST", "/api/v1/tokens", user, body, nil)
	wantStatus(tb, "create token", rec, 201)
	var out struct{ ID, Token string }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || !strings.HasPrefix(out.Token, "fwt_") || out.ID == "" {
		tb.Fatalf("create token answer %s: %v", rec.Body.String(), err)
	}
	return out.Token
}

func TestPersonalTokensAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	h.run(t, []scenario{
		{name: "anonymous", method: "POST", path: "/api/v1/tokens", body: `{"name":"x","expires_in":"P1D"}`, status: 401},
		{name: "malformed", method: "POST", path: "/api/v1/tokens", user: "staff", body: `{"name":`, status: 400},
		{name: "no name, no expiry, unknown app", method: "POST", path: "/api/v1/tokens", user: "staff", body: `{"name":"  ","apps":["shop","nope"]}`, status: 422,
			want: []string{`"field":"/name"`, `"field":"/expires_in"`, `"field":"/apps/1"`}},
		{name: "too long", method: "POST", path: "/api/v1/tokens", user: "staff", body: `{"name":"x","expires_in":"P5Y"}`, status: 422, want: []string{`"field":"/expires_in"`}},
		{name: "not a duration", method: "POST", path: "/api/v1/tokens", user: "staff", body: `{"name":"x","expires_in":"forever"}`, status: 422, want: []string{`"field":"/expires_in"`}},
		{name: "wrong type", method: "POST", path: "/api/v1/tokens", user: "staff", body: `{"name":"x","expires_in":"P1D","apps":"shop"}`, status: 400},
		{name: "created", method: "POST", path: "/api/v1/tokens", user: "staff", body: `{"name":"ERP 同步","expires_in":"P30D","apps":["shop"]}`, status: 201,
			want: []string{`"token":"fwt_`, `"name":"ERP 同步"`, `"apps":["shop"]`},
			check: func(t *testing.T, h *harness) {
				rec := h.do("GET", "/api/v1/tokens", "staff", "", nil)
				wantStatus(t, "list", rec, 200)
				if !strings.Contains(rec.Body.String(), `"name":"ERP 同步"`) || strings.Contains(rec.Body.String(), `fwt_`) {
					t.Errorf("list: %s", rec.Body.String())
				}
				if h.audited(t, "token.create", engine.ResultOK) == 0 {
					t.Error("not audited")
				}
			}},
		{name: "someone else's token", method: "DELETE", path: "/api/v1/tokens/{other}", user: "manager", status: 404},
	}, map[string]string{"other": engine.HashSecret(h.tokens["staff"])})
}

func TestPersonalTokenLimitedToApps(t *testing.T) {
	h := newHarness(t, testConfig())
	h.createCustomer("staff", "李雷")
	shopOnly := createToken(t, h, "staff", `{"name":"erp","expires_in":"P30D","apps":["shop"]}`)

	wantStatus(t, "app A", h.as(shopOnly, "GET", "/api/v1/apps/shop/forms/customer/records", ""), 200)
	wantStatus(t, "create in app A", h.as(shopOnly, "POST", "/api/v1/apps/shop/forms/customer/records", `{"data":{"name":"韩梅梅","phone":"13912345670"}}`), 201)
	rec := h.as(shopOnly, "GET", "/api/v1/apps/visit/forms/visit/records", "")
	wantStatus(t, "app B", rec, 403)
	if !strings.Contains(rec.Body.String(), "shop") {
		t.Errorf("the refusal does not name the apps: %s", rec.Body.String())
	}
	wantStatus(t, "create in app B", h.as(shopOnly, "POST", "/api/v1/apps/visit/forms/visit/records", `{"data":{"guest":"x","phone":"13912345678"}}`), 403)
	wantStatus(t, "form of app B", h.as(shopOnly, "GET", "/api/v1/apps/visit/forms/visit", ""), 403)
	if h.audited(t, "token.app", engine.ResultDenied) == 0 {
		t.Error("the refusal is not audited")
	}
	rec = h.as(shopOnly, "GET", "/api/v1/apps", "")
	wantStatus(t, "apps", rec, 200)
	if strings.Contains(rec.Body.String(), `"key":"visit"`) || !strings.Contains(rec.Body.String(), `"key":"shop"`) {
		t.Errorf("apps through the limited token: %s", rec.Body.String())
	}
	// the same user's session or login token is not limited
	wantStatus(t, "app B without the token", h.do("GET", "/api/v1/apps/visit/forms/visit/records", "staff", "", nil), 200)
	// a personal token manages nothing of the account
	wantStatus(t, "a token makes a token", h.as(shopOnly, "POST", "/api/v1/tokens", `{"name":"more","expires_in":"P1D"}`), 403)
	wantStatus(t, "a token changes the password", h.as(shopOnly, "POST", "/api/v1/account/password", `{"current":"`+testPassword+`","new":"something else entirely"}`), 403)

	// an administrator's limited token administers nothing system-wide
	adminShop := createToken(t, h, "admin", `{"name":"crm sync","expires_in":"P1D","apps":["shop"]}`)
	wantStatus(t, "admin limited token: users", h.as(adminShop, "POST", "/api/v1/units", `{"key":"x1","name":{"zh":"x","en":"x"},"parent":"hq"}`), 403)
	wantStatus(t, "admin limited token: audit", h.as(adminShop, "GET", "/api/v1/audit", ""), 403)
	wantStatus(t, "admin limited token: app A", h.as(adminShop, "GET", "/api/v1/apps/shop/forms/customer/records", ""), 200)
}

func TestPersonalTokenRevokedAndExpired(t *testing.T) {
	h := newHarness(t, testConfig())
	secret := createToken(t, h, "staff", `{"name":"erp","expires_in":"PT2H"}`)
	wantStatus(t, "use", h.as(secret, "GET", "/api/v1/apps", ""), 200)
	h.org.Wait() // the last-used time is written off the request's path

	rec := h.do("GET", "/api/v1/tokens", "staff", "", nil)
	var list struct {
		Items []struct {
			ID         string
			LastUsedAt *time.Time `json:"last_used_at"`
		}
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Items) != 1 || list.Items[0].LastUsedAt == nil {
		t.Fatalf("list after use (last used wanted): %s", rec.Body.String())
	}
	id := list.Items[0].ID

	// a second node on the same store, its clock three hours on: expired there
	later := engine.NewOrg(h.store, func() time.Time { return time.Now().Add(3 * time.Hour) })
	node2 := New(Deps{Store: h.store, Org: later, Service: h.svc, Designer: designer.New(h.svc), Config: h.cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	req := httptest.NewRequest("GET", "/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	out := httptest.NewRecorder()
	node2.ServeHTTP(out, req)
	wantStatus(t, "expired on a later clock", out, 401)

	// revoked on this node: refused at once here and on another node
	wantStatus(t, "revoke", h.do("DELETE", "/api/v1/tokens/"+id, "staff", "", nil), 204)
	wantStatus(t, "after revocation", h.as(secret, "GET", "/api/v1/apps", ""), 401)
	node3 := h.app(nil)
	req = httptest.NewRequest("GET", "/api/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	out = httptest.NewRecorder()
	node3.ServeHTTP(out, req)
	wantStatus(t, "after revocation, another node", out, 401)
	wantStatus(t, "revoke again", h.do("DELETE", "/api/v1/tokens/"+id, "staff", "", nil), 404)
	if h.audited(t, "token.delete", engine.ResultOK) != 1 {
		t.Error("the revocation is not audited")
	}
}

// agentTransport sets a User-Agent on every request, as a given browser
// would.
type agentTransport string

func (a agentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", string(a))
	return http.DefaultTransport.RoundTrip(r)
}

// BenchmarkHTTPTokenKinds reads one form's records through the seeded login
// token and through a personal token limited to that app, to show what
// the personal token's checks (its app list, its last-used time kept to
// the minute) add to a request.
func BenchmarkHTTPTokenKinds(b *testing.B) {
	for _, kind := range []string{"login", "personal"} {
		b.Run("token="+kind, func(b *testing.B) {
			benchHTTP(b, 1, func(h *harness) func(*http.Client, string, int) int {
				tok := h.tokens["staff"]
				if kind == "personal" {
					tok = createToken(b, h, "staff", `{"name":"bench","expires_in":"P1D","apps":["visit"]}`)
				}
				return func(c *http.Client, base string, i int) int {
					return do(c, "GET", base+benchVisit+"?limit=20", tok, "")
				}
			})
		})
	}
}
