package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/engine/workflow"
)

// secondNode is another server on the harness's SQLite file, with its own
// store, services and the harness's config, as a second web node shares
// the store.
func (h *harness) secondNode(tb testing.TB) http.Handler {
	tb.Helper()
	n, _ := h.secondNodeOrg(tb)
	return n
}

// secondNodeOrg is secondNode and its organisation service.
func (h *harness) secondNodeOrg(tb testing.TB) (http.Handler, *engine.Org) {
	tb.Helper()
	st, err := sqlite.Open(h.dbPath, sqlite.Options{Now: time.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	org := engine.NewOrg(st, time.Now)
	svc := engine.NewService(st, org, engine.ServiceOptions{Clock: time.Now})
	tb.Cleanup(svc.Close)
	return New(Deps{Store: st, Org: org, Service: svc, Config: h.cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}), org
}

// TestFreezeAcrossServers runs two server instances on one SQLite file,
// as two web nodes share a store. Freezing a user on node A refuses their
// very next request on node B with 423 — the API token (problem+json) and
// the browser session (a readable page) alike — and refuses their login;
// unfreezing revokes what they held before, so an old session or token
// does not come back.
func TestFreezeAcrossServers(t *testing.T) {
	h := newHarness(t, testConfig())
	srvA, srvB := httptest.NewServer(h.e), httptest.NewServer(h.secondNode(t))
	defer srvA.Close()
	defer srvB.Close()

	staff := h.users["staff"]
	api := func(srv *httptest.Server, method, path, token, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", "en")
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	// page sends a GET with a bare session cookie (a copy of what the
	// browser holds) and does not follow redirects.
	page := func(srv *httptest.Server, path, session string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", "en")
		req.AddCookie(&http.Cookie{Name: cookieSession, Value: session})
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// staff works on node B through the browser and the API
	b := newBrowser(t, srvB)
	b.lang = "en"
	b.login("staff@example.com")
	u, _ := url.Parse(srvB.URL)
	session := ""
	for _, ck := range b.c.Jar.Cookies(u) {
		if ck.Name == cookieSession {
			session = ck.Value
		}
	}
	if session == "" {
		t.Fatal("no session cookie after login")
	}
	if resp, body := b.get("/"); resp.StatusCode != http.StatusOK || !strings.Contains(body, staff.Name) {
		t.Fatalf("home before the freeze: %d", resp.StatusCode)
	}
	if resp, _ := api(srvB, "GET", "/api/v1/apps", h.tokens["staff"], ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("API before the freeze: %d", resp.StatusCode)
	}

	// the admin freezes them on node A
	if resp, body := api(srvA, "POST", "/api/v1/users/"+staff.ID+"/freeze", h.tokens["admin"], ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("freeze: %d %s", resp.StatusCode, body)
	}

	// the very next API call on node B: 423 problem+json
	resp, body := api(srvB, "GET", "/api/v1/apps", h.tokens["staff"], "")
	if resp.StatusCode != http.StatusLocked || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"code":"locked"`) {
		t.Errorf("API on node B after the freeze: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	// a write too, and on node A
	if resp, body := api(srvA, "POST", "/api/v1/apps/shop/forms/customer/records", h.tokens["staff"], `{"name":"x"}`); resp.StatusCode != http.StatusLocked {
		t.Errorf("API write on node A after the freeze: %d %s", resp.StatusCode, body)
	}

	// the very next page in the browser on node B: a readable 423 page,
	// and the browser is told to drop the cookie
	resp, body = b.get("/")
	if resp.StatusCode != http.StatusLocked || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("page on node B after the freeze: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	mustContain(t, "frozen page", body, "423", "this account is frozen; ask an administrator")
	if strings.Contains(body, `action="/logout"`) {
		t.Error("the frozen page shows the signed-in menu")
	}
	dropped := false
	for _, ck := range resp.Cookies() {
		dropped = dropped || (ck.Name == cookieSession && ck.MaxAge < 0)
	}
	if !dropped {
		t.Error("the 423 page does not clear the session cookie")
	}
	// a copy of the cookie stays refused on both nodes
	for name, srv := range map[string]*httptest.Server{"A": srvA, "B": srvB} {
		if resp, _ := page(srv, "/", session); resp.StatusCode != http.StatusLocked {
			t.Errorf("session copy on node %s: %d", name, resp.StatusCode)
		}
	}
	// the next page is the login form, which refuses them
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("after the 423 page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, form := b.get("/login")
	resp, body = b.post("/login", url.Values{"_csrf": {csrfOf(t, form)}, "email": {"staff@example.com"}, "password": {testPassword}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusLocked {
		t.Errorf("login page for a frozen user: %d", resp.StatusCode)
	}
	mustContain(t, "refused login", body, `id="login-error"`, "frozen")
	if resp, body := api(srvB, "POST", "/api/v1/auth/login", "", `{"email":"staff@example.com","password":"`+testPassword+`"}`); resp.StatusCode != http.StatusLocked || strings.Contains(body, "fwt_") {
		t.Errorf("API login for a frozen user: %d %s", resp.StatusCode, body)
	}

	// unfreezing on node B revokes what they held before the freeze
	if resp, body := api(srvB, "POST", "/api/v1/users/"+staff.ID+"/unfreeze", h.tokens["admin"], ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("unfreeze: %d %s", resp.StatusCode, body)
	}
	if resp, _ := api(srvA, "GET", "/api/v1/apps", h.tokens["staff"], ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("old token after the unfreeze: %d, want 401", resp.StatusCode)
	}
	if resp, _ := page(srvA, "/", session); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("old session after the unfreeze: %d %s, want the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.login("staff@example.com")
	if resp, _ := b.get("/"); resp.StatusCode != http.StatusOK {
		t.Errorf("home after logging in again: %d", resp.StatusCode)
	}
}

// TestFreezeHandsOverTasks: a frozen approver's open tasks are offered to
// someone else on the admin user page and through the API, as their
// records are; a task the chosen user may not decide (they submitted it)
// stays, and the page and the answer say why.
func TestFreezeHandsOverTasks(t *testing.T) {
	h := newHarness(t, testConfig())
	h.withWorkflows(workflow.Options{})
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	ctx := context.Background()
	analyst := h.users["analyst"]
	if _, err := h.org.UpdateUnitHead(ctx, engine.AuditActor{ID: engine.SystemActor}, "store1", analyst.ID); err != nil {
		t.Fatal(err)
	}
	first := h.submitDiscount("移交一", "normal", 0.15)
	second := h.submitDiscount("移交二", "normal", 0.15)
	if res := h.do("POST", "/api/v1/users/"+analyst.ID+"/freeze", "admin", "", nil); res.Code != http.StatusOK {
		t.Fatalf("freeze: %d %s", res.Code, res.Body)
	}

	// the page offers the hand-over once the user is frozen
	ab := newBrowser(t, srv)
	ab.lang = "en"
	tok := ab.login("admin@example.com")
	_, page := ab.get("/admin/users/" + analyst.ID)
	mustContain(t, "user page", page, `id="open-tasks">2<`, `id="tasks-form"`, "Hand over approval tasks")
	// to the records' submitter: both stay, with the reason
	resp, page := ab.post("/admin/users/"+analyst.ID+"/tasks/reassign", url.Values{"_csrf": {tok}, "to": {h.users["manager"].ID}}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("hand over to the submitter: %d", resp.StatusCode)
	}
	mustContain(t, "left with a reason", page, "0 approval tasks handed over", "2 stayed", "the submitter cannot decide their own record", `id="open-tasks">2<`)

	// through the API: the refusals, then both move to the administrator
	for _, c := range []struct {
		user, body string
		status     int
	}{
		{"staff", `{"to":"admin@example.com"}`, http.StatusForbidden},
		{"admin", `{"to":"` + analyst.ID + `"}`, http.StatusUnprocessableEntity},
		{"admin", `{"to":"admin@example.com","x":1}`, http.StatusBadRequest},
	} {
		if res := h.do("POST", "/api/v1/users/"+analyst.ID+"/tasks/reassign", c.user, c.body, nil); res.Code != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.user, c.body, res.Code, res.Body, c.status)
		}
	}
	res := h.do("POST", "/api/v1/users/"+analyst.ID+"/tasks/reassign", "admin", `{"to":"admin@example.com"}`, nil)
	var out workflow.TaskHandOver
	if res.Code != http.StatusOK || json.Unmarshal(res.Body.Bytes(), &out) != nil || len(out.Moved) != 2 || len(out.Left) != 0 {
		t.Fatalf("hand over to the administrator: %d %s", res.Code, res.Body)
	}
	for _, r := range []string{first.ID, second.ID} {
		inboxOf(t, h, "admin", r)
	}
	_, page = ab.get("/admin/users/" + analyst.ID)
	mustContain(t, "user page after", page, `id="open-tasks">0<`)
	mustLack(t, "user page after", page, `id="tasks-form"`)
}

// TestLockoutAcrossNodes: the failed-login count and the lock live in the
// store, so wrong passwords sent in parallel to two nodes sharing it lock
// the account at the threshold, every attempt is counted and audited (a
// lost race between nodes must not give a guess for free), and the right
// password is then refused on both nodes.
func TestLockoutAcrossNodes(t *testing.T) {
	cfg := testConfig()
	cfg.LockoutThreshold = 5
	h := newHarness(t, cfg)
	nodes := []http.Handler{h.e, h.secondNode(t)}
	login := func(node int, password string, i int) int {
		req := httptest.NewRequest("POST", "/api/v1/auth/login", strings.NewReader(`{"email":"staff@example.com","password":"`+password+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = fmt.Sprintf("198.51.100.%d:4000", 1+i%200)
		rec := httptest.NewRecorder()
		nodes[node].ServeHTTP(rec, req)
		return rec.Code
	}
	const attempts = 12
	var wg sync.WaitGroup
	codes := make([]int, attempts)
	for i := range attempts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = login(i%2, fmt.Sprintf("wrong-password-%d", i), i)
		}()
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusUnauthorized && c != http.StatusLocked {
			t.Errorf("attempt %d: %d, want 401 or 423", i, c)
		}
	}
	for node := range nodes {
		if c := login(node, testPassword, 250); c != http.StatusLocked {
			t.Errorf("the right password on node %d after the failures: %d, want 423", node, c)
		}
	}
	staff := h.users["staff"].ID
	counted := 0
	for _, action := range []string{"login.failed", "user.lock", "login"} {
		page, err := h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: action, Object: staff, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Items {
			if e.Result != engine.ResultOK {
				counted++
			}
		}
	}
	if counted != attempts+len(nodes) {
		t.Errorf("failed and refused logins in the audit log: %d, want %d (every attempt)", counted, attempts+len(nodes))
	}
}
