package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"formwork/engine"
)

// authNodes is a harness (node A) and a second server on the same SQLite
// file (node B), which keeps its own cache of credentials and access.
type authNodes struct {
	h    *harness
	b    http.Handler
	bOrg *engine.Org
	ctx  context.Context
	sys  engine.AuditActor
}

// onB sends a request to node B with a credential: "cookie:<secret>" for a
// browser session, else a bearer secret.
func (n *authNodes) onB(method, path, cred string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = "192.0.2.10:5555"
	req.Header.Set("Accept-Language", "en")
	if s, ok := strings.CutPrefix(cred, "cookie:"); ok {
		req.AddCookie(&http.Cookie{Name: cookieSession, Value: s})
	} else {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	rec := httptest.NewRecorder()
	n.b.ServeHTTP(rec, req)
	return rec
}

// personalToken is a new personal token of staff's, made on node A.
func (n *authNodes) personalToken() string {
	return createToken(n.h.tb, n.h, "staff", `{"name":"erp","expires_in":"P1D"}`)
}

// grantNobody gives the user nobody, on node A, an hour's read access to
// every customer.
func (n *authNodes) grantNobody(tb testing.TB) {
	tb.Helper()
	if _, err := n.h.svc.CreateGrant(n.ctx, &engine.Principal{User: n.h.users["admin"]}, engine.NewGrant{User: n.h.users["nobody"].ID,
		App: "shop", Form: "customer", Ops: []string{engine.OpRead}, Scope: engine.ScopeAll, Reason: "audit", ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		tb.Fatal(err)
	}
}

// resetStaff resets staff's password on node A.
func resetStaff(t *testing.T, n *authNodes, _ string) {
	if _, _, err := n.h.svc.ResetPassword(n.ctx, &engine.Principal{User: n.h.users["admin"]}, n.h.users["staff"].ID); err != nil {
		t.Fatal(err)
	}
}

// addUnitBelowStore1 adds, on node A, a unit below store1 and a customer
// filed by a clerk of it.
func addUnitBelowStore1(t *testing.T, n *authNodes, _ string) {
	if _, err := n.h.org.CreateUnit(n.ctx, n.sys, engine.Unit{Key: "store1a", Name: engine.T("一号店分部", "Store 1a"), Parent: "store1"}); err != nil {
		t.Fatal(err)
	}
	n.h.addUser("clerk", "store1a", "shop", "staff")
	n.h.createCustomer("clerk", "clerks-customer")
}

// republishShop publishes the shop app again with edit applied to the
// bundle (as JSON) and its store staff role's permissions.
func republishShop(tb testing.TB, h *harness, edit func(bundle, staffPerms map[string]any)) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "shop.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(data, &b); err != nil {
		tb.Fatal(err)
	}
	for _, r := range b["roles"].([]any) {
		if role := r.(map[string]any); role["key"] == "staff" {
			edit(b, role["permissions"].(map[string]any))
		}
	}
	if _, err := h.svc.ImportApp(context.Background(), &engine.Principal{User: h.users["admin"]}, engine.MustJSON(b), engine.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
}

// TestAuthCacheAcrossServers: node B caches the credentials and the
// access it decoded, and every change made on node A that a request's
// authentication or authorisation rests on is refused or applied on B's
// very next request. Each case first serves the credential on B (so B
// holds it decoded), then changes it on A.
func TestAuthCacheAcrossServers(t *testing.T) {
	const (
		apps      = "/api/v1/apps"
		customers = "/api/v1/apps/shop/forms/customer/records"
		visits    = "/api/v1/apps/visit/forms/visit/records"
		// a list filter with the units below the user's
		unitsBelow = `?filter=%7B%22_unit%22%3A%7B%22%24in%22%3A%22%24user.units_below%22%7D%7D`
	)
	type step struct {
		user, path string
		status     int
		want, lack string
	}
	for _, tc := range []struct {
		name string
		// cred is the credential B is asked with (see onB); "" is the
		// user's login token
		cred   func(n *authNodes) string
		user   string
		before step
		change func(t *testing.T, n *authNodes, cred string)
		after  step
	}{
		{
			name: "freeze", user: "staff",
			before: step{path: apps, status: 200},
			change: func(t *testing.T, n *authNodes, _ string) {
				wantStatus(t, "freeze on A", n.h.do("POST", "/api/v1/users/"+n.h.users["staff"].ID+"/freeze", "admin", "", nil), 200)
			},
			after: step{path: apps, status: http.StatusLocked, want: `"code":"locked"`},
		},
		{
			name: "token revoked", user: "staff",
			before: step{path: apps, status: 200},
			change: func(t *testing.T, n *authNodes, cred string) {
				if err := n.h.org.DeleteToken(n.ctx, n.sys, engine.HashSecret(cred)); err != nil {
					t.Fatal(err)
				}
			},
			after: step{path: apps, status: http.StatusUnauthorized},
		},
		{
			name: "personal token revoked through the API", user: "staff",
			cred:   (*authNodes).personalToken,
			before: step{path: customers, status: 200},
			change: func(t *testing.T, n *authNodes, cred string) {
				wantStatus(t, "revoke on A", n.h.do("DELETE", "/api/v1/tokens/"+engine.HashSecret(cred), "staff", "", nil), 204)
			},
			after: step{path: customers, status: http.StatusUnauthorized},
		},
		{
			name: "session ended", user: "staff",
			cred: func(n *authNodes) string {
				secret, _, err := n.h.org.CreateSession(n.ctx, n.sys, n.h.users["staff"].ID, time.Hour)
				if err != nil {
					n.h.tb.Fatal(err)
				}
				return "cookie:" + secret
			},
			before: step{path: apps, status: 200},
			change: func(t *testing.T, n *authNodes, cred string) {
				if err := n.h.org.DeleteSession(n.ctx, n.sys, strings.TrimPrefix(cred, "cookie:")); err != nil {
					t.Fatal(err)
				}
			},
			after: step{path: apps, status: http.StatusUnauthorized},
		},
		{
			name: "roles changed", user: "staff",
			before: step{path: visits, status: 200},
			change: func(t *testing.T, n *authNodes, _ string) {
				if _, err := n.h.org.SetRoles(n.ctx, n.sys, n.h.users["staff"].ID, map[string][]string{"shop": {"staff"}}); err != nil {
					t.Fatal(err)
				}
			},
			after: step{path: visits, status: http.StatusNotFound}, // no access: the form is not there for them
		},
		{
			name: "role's permissions changed in a new app version", user: "staff",
			before: step{path: customers, status: 200},
			change: func(t *testing.T, n *authNodes, _ string) {
				republishShop(t, n.h, func(_, perms map[string]any) { delete(perms, "customer") })
			},
			after: step{path: customers, status: http.StatusNotFound},
		},
		{
			name: "role's scope changed in a new app version", user: "staff",
			before: step{path: customers, status: 200, lack: "managers-customer"},
			change: func(t *testing.T, n *authNodes, _ string) {
				n.h.createCustomer("manager", "managers-customer")
				republishShop(t, n.h, func(_, perms map[string]any) { perms["customer"].(map[string]any)["scope"] = "unit" })
			},
			after: step{path: customers, status: 200, want: "managers-customer"},
		},
		{
			name: "reauth mark", user: "staff",
			before: step{path: apps, status: 200},
			change: func(t *testing.T, n *authNodes, _ string) {
				if _, err := n.h.org.RequireReauth(n.ctx, n.sys, n.h.users["staff"].ID, "test", false); err != nil {
					t.Fatal(err)
				}
			},
			after: step{path: apps, status: http.StatusUnauthorized, want: engine.EREAUTH},
		},
		{
			name: "password reset ends the login token", user: "staff",
			before: step{path: apps, status: 200},
			change: resetStaff,
			after:  step{path: apps, status: http.StatusUnauthorized},
		},
		{
			name: "password reset stops a personal token until the password is changed", user: "staff",
			cred:   (*authNodes).personalToken,
			before: step{path: customers, status: 200},
			change: resetStaff,
			after:  step{path: customers, status: http.StatusForbidden, want: engine.EPASSWORDCHANGE},
		},
		{
			name: "grant given", user: "nobody",
			before: step{path: customers, status: http.StatusNotFound},
			change: func(t *testing.T, n *authNodes, _ string) { n.grantNobody(t) },
			after:  step{path: customers, status: 200},
		},
		{
			name: "grant revoked", user: "nobody",
			cred: func(n *authNodes) string {
				n.grantNobody(n.h.tb)
				return n.h.tokens["nobody"]
			},
			before: step{path: customers, status: 200},
			change: func(t *testing.T, n *authNodes, _ string) {
				gs, err := n.h.svc.ListGrants(n.ctx, &engine.Principal{User: n.h.users["admin"]}, n.h.users["nobody"].ID)
				if err != nil || len(gs) != 1 {
					t.Fatalf("grants: %v %v", gs, err)
				}
				if err := n.h.svc.RevokeGrant(n.ctx, &engine.Principal{User: n.h.users["admin"]}, gs[0].ID); err != nil {
					t.Fatal(err)
				}
			},
			after: step{path: customers, status: http.StatusNotFound},
		},
		{
			name: "unit created below the user's", user: "manager",
			before: step{path: customers, status: 200, lack: "clerks-customer"},
			change: addUnitBelowStore1,
			after:  step{path: customers, status: 200, want: "clerks-customer"},
		},
		{
			name: "unit created below the user's, in a list filter", user: "manager",
			before: step{path: customers + unitsBelow, status: 200, lack: "clerks-customer"},
			change: addUnitBelowStore1,
			after:  step{path: customers + unitsBelow, status: 200, want: "clerks-customer"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			b, bOrg := h.secondNodeOrg(t)
			n := &authNodes{h: h, b: b, bOrg: bOrg, ctx: context.Background(), sys: engine.AuditActor{ID: engine.SystemActor}}
			cred := h.tokens[tc.user]
			if tc.cred != nil {
				cred = tc.cred(n)
			}
			check := func(when string, s step) {
				t.Helper()
				rec := n.onB("GET", s.path, cred)
				body := rec.Body.String()
				if rec.Code != s.status || !strings.Contains(body, s.want) || (s.lack != "" && strings.Contains(body, s.lack)) {
					t.Fatalf("%s, on node B: %d %s; want %d with %q without %q", when, rec.Code, body, s.status, s.want, s.lack)
				}
			}
			// twice: the second answer comes from what B keeps
			check("before the change", tc.before)
			check("before the change, again", tc.before)
			tc.change(t, n, cred)
			check("the next request after the change on node A", tc.after)
		})
	}
}

// TestTouchOncePerMinute: requests with one token on two nodes write its
// last-used time once, not once a request.
func TestTouchOncePerMinute(t *testing.T) {
	h := newHarness(t, testConfig())
	b, bOrg := h.secondNodeOrg(t)
	n := &authNodes{h: h, b: b, bOrg: bOrg}
	id := engine.HashSecret(h.tokens["staff"])
	version := func() (int64, *engine.APIToken) {
		t.Helper()
		d, err := h.store.FindDoc(context.Background(), engine.KindToken, id)
		if err != nil {
			t.Fatal(err)
		}
		var tok engine.APIToken
		if err := json.Unmarshal(d.Value, &tok); err != nil {
			t.Fatal(err)
		}
		return d.Version, &tok
	}
	v0, tok := version()
	if tok.LastUsedAt != nil {
		t.Fatalf("the seeded token was used already: %v", tok.LastUsedAt)
	}
	for i := range 20 {
		wantStatus(t, "on A", h.do("GET", "/api/v1/apps", "staff", "", nil), 200)
		wantStatus(t, "on B", n.onB("GET", "/api/v1/apps", h.tokens["staff"]), 200)
		if i == 0 {
			h.org.Wait()
			bOrg.Wait()
		}
	}
	h.org.Wait()
	bOrg.Wait()
	v1, tok := version()
	if v1 != v0+1 || tok.LastUsedAt == nil || time.Since(*tok.LastUsedAt) > time.Minute {
		t.Errorf("after 40 requests on two nodes: version %d (from %d), last used %v; want one write, now", v1, v0, tok.LastUsedAt)
	}
}
