package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"formwork/engine"
)

// runJobs runs the due outbox jobs of one type with the real handler and
// marks them done, as the worker would.
func runJobs(tb testing.TB, h *harness, typ string, handle engine.JobHandler) int {
	tb.Helper()
	ctx := context.Background()
	jobs, err := h.store.FindOutbox(ctx, time.Now().Add(time.Second), 100)
	if err != nil {
		tb.Fatal(err)
	}
	n := 0
	for _, j := range jobs {
		if j.Type != typ {
			continue
		}
		if err := handle(ctx, j); err != nil {
			tb.Fatalf("job %s: %v", j.ID, err)
		}
		if _, err := h.store.Apply(ctx, &engine.Change{OutboxDone: []string{j.ID}}); err != nil {
			tb.Fatal(err)
		}
		n++
	}
	return n
}

func TestAdminPagesRefuseNonAdmins(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()

	anon := newBrowser(t, srv)
	if resp, _ := anon.get("/admin/users"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Errorf("anonymous: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	csrf := b.login("staff@example.com")
	for _, path := range []string{"/admin", "/admin/units", "/admin/users", "/admin/users/" + h.users["staff"].ID, "/admin/grants", "/admin/explain", "/admin/backups"} {
		resp, body := b.get(path)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("staff GET %s: %d, want 403", path, resp.StatusCode)
		}
		mustContain(t, "403 page", body, "403 · 无权操作", "需要系统管理员", `<html lang="zh">`)
	}
	// posts with a valid session token are refused just the same
	resp, _ := b.post("/admin/users/"+h.users["nobody"].ID+"/freeze", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff freezes someone: %d", resp.StatusCode)
	}
	if u, _ := h.org.FindUserByID(context.Background(), h.users["nobody"].ID); u.Frozen {
		t.Error("a non-admin froze a user")
	}
	resp, _ = b.post("/admin/units", url.Values{"_csrf": {csrf}, "key": {"x1"}, "name_zh": {"X"}, "parent": {"hq"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff creates a unit: %d", resp.StatusCode)
	}
	// and the API behind the progress bar refuses them in the engine
	for _, r := range []struct{ method, path, body string }{
		{"GET", "/api/v1/users/" + h.users["staff"].ID + "/reassign", ""},
		{"POST", "/api/v1/users/" + h.users["staff"].ID + "/reassign", `{"to":"manager@example.com"}`},
		{"POST", "/api/v1/users/" + h.users["nobody"].ID + "/unfreeze", ""},
	} {
		if rec := h.do(r.method, r.path, "staff", r.body, nil); rec.Code != http.StatusForbidden {
			t.Errorf("staff %s %s: %d %s", r.method, r.path, rec.Code, rec.Body)
		}
	}
}

var userURLRE = regexp.MustCompile(`^/admin/users/([A-Za-z0-9_-]+)\?ok=`)

func TestAdminPagesUnitsUsersGrantsExplain(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	ctx := context.Background()
	b := newBrowser(t, srv)
	b.lang = "en"
	csrf := b.login("admin@example.com")

	_, page := b.get("/admin")
	mustContain(t, "overview", page, "Administration", `href="/admin/units"`, "/static/admin.css")

	// units: a bad key is refused on the page, a good one lands in the tree under its parent
	resp, page := b.post("/admin/units", url.Values{"_csrf": {csrf}, "key": {"Bad Key"}, "name_zh": {"坏"}, "parent": {"store1"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad unit key: %d", resp.StatusCode)
	}
	mustContain(t, "refused unit", page, "The unit key must start with a lower-case letter", `value="Bad Key"`)
	resp, _ = b.post("/admin/units", url.Values{"_csrf": {csrf}, "key": {"dept_a"}, "name_zh": {"甲部门"}, "name_en": {"Dept A"}, "parent": {"store1"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create unit: %d", resp.StatusCode)
	}
	if u, err := h.org.FindUnit(ctx, "dept_a"); err != nil || u.Parent != "store1" || strings.Join(u.Path, "/") != "hq/store1" {
		t.Fatalf("unit: %+v %v", u, err)
	}
	_, page = b.get("/admin/units?ok=admin.units.created")
	mustContain(t, "unit tree", page, "Unit created", `data-unit="dept_a"`, "depth-2", "Dept A")
	resp, _ = b.post("/admin/units/dept_a/head", url.Values{"_csrf": {csrf}, "head": {h.users["manager"].ID}}, nil)
	if u, _ := h.org.FindUnit(ctx, "dept_a"); resp.StatusCode != http.StatusSeeOther || u.Head != h.users["manager"].ID {
		t.Errorf("set head: %d %+v", resp.StatusCode, u)
	}

	// users: create, search, unit, roles from the app's list, freeze
	resp, page = b.post("/admin/users", url.Values{"_csrf": {csrf}, "name": {"Li Lei"}, "email": {"lilei@example.com"}, "password": {"short"}, "unit": {"dept_a"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("weak password: %d", resp.StatusCode)
	}
	mustContain(t, "refused user", page, "at least 10 characters", `value="lilei@example.com"`)
	resp, _ = b.post("/admin/users", url.Values{"_csrf": {csrf}, "name": {"Li Lei"}, "email": {"lilei@example.com"}, "password": {testPassword}, "unit": {"dept_a"}}, nil)
	m := userURLRE.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusSeeOther || m == nil {
		t.Fatalf("create user: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	id := m[1]
	_, page = b.get("/admin/users?q=LILEI")
	mustContain(t, "search", page, `data-user="lilei@example.com"`, "Dept A")
	if strings.Contains(page, `data-user="staff@example.com"`) {
		t.Error("the search shows users that do not match")
	}
	_, page = b.get("/admin/users/" + id)
	mustContain(t, "user page", page, `name="role" value="staff"`, `name="role" value="hq_admin"`, "needs two-factor", `id="freeze"`)
	resp, page = b.post("/admin/users/"+id+"/roles", url.Values{"_csrf": {csrf}, "app": {"shop"}, "role": {"staff", "no_such_role"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown role: %d", resp.StatusCode)
	}
	mustContain(t, "refused role", page, `no_such_role`)
	resp, _ = b.post("/admin/users/"+id+"/roles", url.Values{"_csrf": {csrf}, "app": {"shop"}, "role": {"staff", "analyst"}}, nil)
	if u, _ := h.org.FindUserByID(ctx, id); resp.StatusCode != http.StatusSeeOther || strings.Join(u.Roles["shop"], ",") != "analyst,staff" {
		t.Errorf("roles: %d %v", resp.StatusCode, u.Roles)
	}
	resp, _ = b.post("/admin/users/"+id+"/unit", url.Values{"_csrf": {csrf}, "unit": {"store1"}}, nil)
	if u, _ := h.org.FindUserByID(ctx, id); resp.StatusCode != http.StatusSeeOther || u.Unit != "store1" {
		t.Errorf("unit: %d %s", resp.StatusCode, u.Unit)
	}
	if resp, _ := b.post("/admin/users/"+id+"/freeze", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("freeze without the CSRF token: %d", resp.StatusCode)
	}
	if resp, page := b.post("/admin/users/"+h.users["admin"].ID+"/freeze", url.Values{"_csrf": {csrf}}, nil); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("admin freezes themselves: %d %s", resp.StatusCode, page)
	}

	// grants: grant directly, see it active, revoke it, see it revoked
	resp, page = b.post("/admin/grants", url.Values{"_csrf": {csrf}, "user": {h.users["staff"].ID}, "form": {"shop/customer"}, "op": {"read"},
		"fields": {"phone=read"}, "scope": {"all"}, "reason": {""}, "hours": {"8"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("grant without a reason: %d", resp.StatusCode)
	}
	mustContain(t, "refused grant", page, "give a reason")
	resp, _ = b.post("/admin/grants", url.Values{"_csrf": {csrf}, "user": {h.users["staff"].ID}, "form": {"shop/customer"}, "op": {"read"},
		"fields": {"phone=read"}, "scope": {"all"}, "reason": {"cover store 2"}, "hours": {"8"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("grant: %d", resp.StatusCode)
	}
	gs, err := h.svc.ListGrants(ctx, &engine.Principal{User: h.users["admin"]}, "")
	if err != nil || len(gs) != 1 || gs[0].Fields["phone"] != "read" || gs[0].Scope != "all" {
		t.Fatalf("grants: %+v %v", gs, err)
	}
	_, page = b.get("/admin/grants")
	active := page[strings.Index(page, `id="grants-active"`):]
	mustContain(t, "active grants", active[:strings.Index(active, "</table>")], "cover store 2", "phone=read", "/admin/grants/"+gs[0].ID+"/revoke")
	resp, _ = b.post("/admin/grants/"+gs[0].ID+"/revoke", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("revoke: %d", resp.StatusCode)
	}
	_, page = b.get("/admin/grants")
	expired := page[strings.Index(page, `id="grants-expired"`):]
	mustContain(t, "expired grants", expired, "cover store 2", "Revoked")

	// explain: the staff member's phone on a customer of their own
	rec := h.createCustomer("staff", "王小明")
	_, page = b.get("/admin/explain?" + url.Values{"user": {h.users["staff"].ID}, "form": {"shop/customer"}, "record": {rec.ID}, "field": {"phone"}}.Encode())
	mustContain(t, "explain", page, `id="explain-result"`, "record: visible through role:staff", "field phone: masked", "role:staff")
	resp, page = b.get("/admin/explain?" + url.Values{"user": {h.users["staff"].ID}, "form": {"shop/customer"}, "field": {"nope"}}.Encode())
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("explain an unknown field: %d", resp.StatusCode)
	}
	mustContain(t, "explain error", page, `the form has no field &#34;nope&#34;`)
}

// TestAdminOffboardingReassign freezes a user from their page and hands
// their records to a colleague through the background job; the progress
// API (which the page polls) reports the run to its end.
func TestAdminOffboardingReassign(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	ctx := context.Background()
	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	csrf := b.login("admin@example.com")
	leaver, heir := h.users["staff"], h.users["manager"]
	for i := range 30 {
		h.createCustomer("staff", "客户"+string(rune('甲'+i)))
	}
	_, page := b.get("/admin/users/" + leaver.ID)
	mustContain(t, "before freezing", page, `<strong id="owned">30</strong>`, "先冻结账号")
	resp, _ := b.post("/admin/users/"+leaver.ID+"/reassign", url.Values{"_csrf": {csrf}, "to": {heir.ID}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("reassign before freezing: %d", resp.StatusCode)
	}
	resp, _ = b.post("/admin/users/"+leaver.ID+"/freeze", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("freeze: %d", resp.StatusCode)
	}
	// the token is refused while they are frozen
	if rec := h.do("GET", "/api/v1/apps", "staff", "", nil); rec.Code != http.StatusLocked {
		t.Errorf("the frozen user's next request: %d", rec.Code)
	}
	_, page = b.get("/admin/users/" + leaver.ID + "?ok=admin.user.frozen_flash")
	mustContain(t, "frozen", page, "账号已冻结", `id="reassign-form"`, `id="unfreeze"`)
	resp, _ = b.post("/admin/users/"+leaver.ID+"/reassign", url.Values{"_csrf": {csrf}, "to": {heir.ID}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reassign: %d", resp.StatusCode)
	}
	_, page = b.get("/admin/users/" + leaver.ID)
	mustContain(t, "pending", page, `id="reassign-progress"`, `data-status="pending"`, "/api/v1/users/"+leaver.ID+"/reassign", "/static/admin.js")
	if strings.Contains(page, `id="reassign-form"`) {
		t.Error("a second run is offered while one is pending")
	}
	progress := func() map[string]any {
		t.Helper()
		resp, body := b.get("/api/v1/users/" + leaver.ID + "/reassign")
		var out map[string]any
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("progress: %d %s", resp.StatusCode, body)
		}
		return out
	}
	if p := progress(); p["status"] != "pending" || p["total"] != 30.0 || p["percent"] != 0.0 {
		t.Errorf("progress before the job: %v", p)
	}
	// delivered twice: the second delivery finds nothing left to do
	jobs, _ := h.store.FindOutbox(ctx, time.Now().Add(time.Second), 100)
	for _, j := range jobs {
		if j.Type == engine.JobReassign {
			if err := h.svc.HandleReassignJob(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := runJobs(t, h, engine.JobReassign, h.svc.HandleReassignJob); n != 1 {
		t.Errorf("%d reassign jobs, want 1", n)
	}
	if p := progress(); p["status"] != "done" || p["moved"] != 30.0 || p["percent"] != 100.0 {
		t.Errorf("progress after the job: %v", p)
	}
	if n, _ := h.svc.CountOwnedRecords(ctx, &engine.Principal{User: h.users["admin"]}, heir.ID); n != 30 {
		t.Errorf("the heir owns %d records, want 30", n)
	}
	_, page = b.get("/admin/users/" + leaver.ID)
	mustContain(t, "done", page, `<strong id="owned">0</strong>`, `data-status="done"`, "转移完成", `value="100"`)
	// unfreeze through the API
	if rec := h.do("POST", "/api/v1/users/"+leaver.ID+"/unfreeze", "admin", "", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"frozen":false`) {
		t.Errorf("unfreeze: %d %s", rec.Code, rec.Body)
	}
}

var (
	secretRE = regexp.MustCompile(`<code id="mfa-secret">([A-Z2-7]+)</code>`)
	codesRE  = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
)

// TestLoginPagesTOTP: a user whose role needs MFA is sent to enrolment
// after the password, gets a session only after a right code, sees the
// recovery codes once; the next login asks for the code.
func TestLoginPagesTOTP(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	ctx := context.Background()
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := h.org.CreateUser(ctx, sys, engine.NewUser{Email: "boss@example.com", Name: "boss", Unit: "hq", Roles: map[string][]string{"shop": {"hq_admin"}}, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, srv)
	b.lang = "en"
	hasSession := func() bool {
		u, _ := url.Parse(srv.URL)
		for _, ck := range b.c.Jar.Cookies(u) {
			if ck.Name == cookieSession && ck.Value != "" {
				return true
			}
		}
		return false
	}
	password := func() *http.Response {
		_, page := b.get("/login")
		resp, body := b.post("/login", url.Values{"_csrf": {csrfOf(t, page)}, "email": {"boss@example.com"}, "password": {testPassword}, "next": {"/apps/shop/forms/customer"}}, nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("password step: %d %s", resp.StatusCode, body)
		}
		return resp
	}
	resp := password()
	if loc := resp.Header.Get("Location"); loc != "/login/mfa/enrol?next=%2Fapps%2Fshop%2Fforms%2Fcustomer" || hasSession() {
		t.Fatalf("after the password: %s, session %v", loc, hasSession())
	}
	// nothing else is open to a half-done login
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("home before the second factor: %d", resp.StatusCode)
	}
	_, page := b.get(resp.Header.Get("Location"))
	mustContain(t, "enrolment", page, `src="data:image/png;base64,`, "Your role requires two-factor authentication")
	sm := secretRE.FindStringSubmatch(page)
	if sm == nil {
		t.Fatalf("no secret on the page: %s", page)
	}
	secret := sm[1]
	tok := csrfOf(t, page)
	resp, page = b.post("/login/mfa/enrol", url.Values{"_csrf": {tok}, "totp": {"000000"}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || hasSession() {
		t.Errorf("wrong code: %d", resp.StatusCode)
	}
	mustContain(t, "same enrolment after a wrong code", page, secret, "the code is not right")
	code, _ := totp.GenerateCode(secret, time.Now())
	resp, page = b.post("/login/mfa/enrol", url.Values{"_csrf": {tok}, "totp": {code}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusOK || !hasSession() {
		t.Fatalf("confirm: %d session %v: %s", resp.StatusCode, hasSession(), page)
	}
	codes := codesRE.FindAllStringSubmatch(page, -1)
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown", len(codes))
	}
	_, home := b.get("/")
	csrf := csrfOf(t, home)
	b.post("/logout", url.Values{"_csrf": {csrf}}, nil)

	// the next login asks for the code: a wrong one, then a recovery code
	resp = password()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login/mfa?") || hasSession() {
		t.Fatalf("second login: %s", loc)
	}
	mfaSecret := ""
	for _, ck := range resp.Cookies() {
		if ck.Name == cookieMFA {
			mfaSecret = ck.Value
		}
	}
	_, page = b.get(resp.Header.Get("Location"))
	mustContain(t, "code step", page, `autocomplete="one-time-code"`)
	tok = csrfOf(t, page)
	resp, page = b.post("/login/mfa", url.Values{"_csrf": {tok}, "totp": {"123456"}, "next": {"/apps/shop/forms/customer"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized || hasSession() {
		t.Errorf("wrong code at login: %d", resp.StatusCode)
	}
	resp, _ = b.post("/login/mfa", url.Values{"_csrf": {"forged"}, "totp": {codes[0][1]}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusForbidden || hasSession() {
		t.Errorf("forged token: %d", resp.StatusCode)
	}
	resp, _ = b.post("/login/mfa", url.Values{"_csrf": {tok}, "totp": {codes[0][1]}, "next": {"/apps/shop/forms/customer"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/apps/shop/forms/customer" || !hasSession() {
		t.Errorf("recovery code: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// the pending login is used up: its cookie is gone, and replaying it fails
	u, _ := url.Parse(srv.URL)
	for _, ck := range b.c.Jar.Cookies(u) {
		if ck.Name == cookieMFA {
			t.Errorf("the pending-login cookie outlived the login")
		}
	}
	other := newBrowser(t, srv)
	req, _ := http.NewRequest("POST", srv.URL+"/login/mfa", strings.NewReader(url.Values{"_csrf": {tok}, "totp": {codes[1][1]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: cookieMFA, Value: mfaSecret})
	if resp, _ := other.send(req); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the pending login replayed: %d", resp.StatusCode)
	}
}
