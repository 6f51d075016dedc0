package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// scenario is one API request and what its answer must and must not hold.
type scenario struct {
	name    string
	method  string
	path    string
	user    string // "" = anonymous
	body    string
	headers map[string]string
	status  int
	want    []string
	not     []string
	after   []string                       // scenarios of the list whose requests are sent first, in order, on this one's state
	check   func(t *testing.T, h *harness) // more checks, on the scenario's own state after the request
}

// run runs each scenario as its own subtest on its own fresh state: a fork
// of the harness as it stands (a copy of its store, with its users, tokens
// and config), so no scenario depends on what another one wrote, nor sees
// it. A scenario that builds on others names them in after: their
// requests are replayed on its fork first and must answer their status.
// {key} in a path, body or wanted text is replaced by vars[key].
func (h *harness) run(t *testing.T, scs []scenario, vars map[string]string) {
	t.Helper()
	snap := h.snapshot(t)
	byName := make(map[string]scenario, len(scs))
	for _, sc := range scs {
		byName[sc.name] = sc
	}
	for _, sc := range scs {
		t.Run(sc.name, func(t *testing.T) {
			f := h.fork(t, snap)
			for _, name := range sc.after {
				pre, ok := byName[name]
				if !ok {
					t.Fatalf("%s: after %q: no such scenario in the list", sc.name, name)
				}
				path, body := expand(pre.path, vars), expand(pre.body, vars)
				if rec := f.do(pre.method, path, pre.user, body, pre.headers); rec.Code != pre.status {
					t.Fatalf("%s: after %q: %s %s: status %d, want %d; body %s", sc.name, name, pre.method, path, rec.Code, pre.status, rec.Body.String())
				}
			}
			f.expect(t, sc, vars)
			if sc.check != nil {
				sc.check(t, f)
			}
		})
	}
}

// expand replaces each {key} in s by vars[key].
func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// expect sends the scenario's request and checks the answer against it.
func (h *harness) expect(t *testing.T, sc scenario, vars map[string]string) {
	t.Helper()
	path, body := expand(sc.path, vars), expand(sc.body, vars)
	subst := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, x := range ss {
			out[i] = expand(x, vars)
		}
		return out
	}
	sc.want, sc.not = subst(sc.want), subst(sc.not)
	rec := h.do(sc.method, path, sc.user, body, sc.headers)
	got := rec.Body.String()
	if rec.Code != sc.status {
		t.Errorf("%s: %s %s: status %d, want %d; body %s", sc.name, sc.method, path, rec.Code, sc.status, got)
		return
	}
	for _, w := range sc.want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: body lacks %q: %s", sc.name, w, got)
		}
	}
	for _, n := range sc.not {
		if strings.Contains(got, n) {
			t.Errorf("%s: body holds forbidden %q: %s", sc.name, n, got)
		}
	}
	if rec.Code >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		t.Errorf("%s: error content type %q, want application/problem+json", sc.name, rec.Header().Get("Content-Type"))
	}
	if rec.Code >= 500 {
		t.Errorf("%s: server error %d: %s", sc.name, rec.Code, got)
	}
}

func TestAPIScenarios(t *testing.T) {
	h := newHarness(t, testConfig())
	rec := h.createCustomer("staff", "李雷")
	gone := h.createCustomer("staff", "韩梅梅")
	visit, err := os.ReadFile(filepath.Join("testdata", "visit.json"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"id": rec.ID, "gone": gone.ID, "nobody": h.users["nobody"].ID, "manager": h.users["manager"].ID}
	zh := map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"}
	en := map[string]string{"Accept-Language": "en-GB,en;q=0.9"}
	customer := "/api/v1/apps/shop/forms/customer"
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	big := `{"email":"` + strings.Repeat("a", 2<<20) + `"}`

	h.run(t, []scenario{
		{name: "health", method: "GET", path: "/healthz", status: 200, want: []string{`"ok"`}},
		{name: "ready", method: "GET", path: "/readyz", status: 200, want: []string{`"ready"`}},
		{name: "openapi", method: "GET", path: "/api/v1/openapi.json", status: 200, want: []string{`"openapi": "3.1.0"`}},
		{name: "meta-schema", method: "GET", path: "/api/v1/meta-schemas/form", status: 200, want: []string{"x-widget"}},
		{name: "meta-schema unknown", method: "GET", path: "/api/v1/meta-schemas/nope", status: 404},
		{name: "no route", method: "GET", path: "/api/v1/nowhere", user: "staff", status: 404, want: []string{`"status":404`}},

		// auth
		{name: "login", method: "POST", path: "/api/v1/auth/login", body: `{"email":"Staff@Example.com","password":"` + testPassword + `"}`, status: 200,
			want: []string{`"token":"fwt_`, `"email":"staff@example.com"`}, not: []string{"argon2", "password"}},
		{name: "login wrong password", method: "POST", path: "/api/v1/auth/login", body: `{"email":"staff@example.com","password":"nope-nope-nope"}`, headers: en, status: 401,
			want: []string{"Wrong email or password"}},
		{name: "login unknown email zh", method: "POST", path: "/api/v1/auth/login", body: `{"email":"who@example.com","password":"nope-nope-nope"}`, headers: zh, status: 401,
			want: []string{"邮箱或密码错误"}},
		{name: "login malformed", method: "POST", path: "/api/v1/auth/login", body: `{"email":`, status: 400},
		{name: "login syntax", method: "POST", path: "/api/v1/auth/login", body: `{"email" "x"}`, status: 400, want: []string{"malformed JSON"}, headers: en},
		{name: "login wrong type", method: "POST", path: "/api/v1/auth/login", body: `{"email":5,"password":"x"}`, status: 400, want: []string{`"field":"/email"`}},
		{name: "login unknown key", method: "POST", path: "/api/v1/auth/login", body: `{"email":"a@b.c","password":"x","admin":true}`, status: 400, want: []string{`"field":"/admin"`, `"code":"unknown"`}},
		{name: "login text/plain", method: "POST", path: "/api/v1/auth/login", body: `{}`, headers: map[string]string{"Content-Type": "text/plain"}, status: 415},
		{name: "login no content type", method: "POST", path: "/api/v1/auth/login", body: `{}`, headers: map[string]string{"Content-Type": ""}, status: 415},
		{name: "login too large", method: "POST", path: "/api/v1/auth/login", body: big, status: 413},
		{name: "login too deep", method: "POST", path: "/api/v1/auth/login", body: deep, status: 400, want: []string{"nested"}, headers: en},
		{name: "login two values", method: "POST", path: "/api/v1/auth/login", body: `{} {}`, status: 400},
		{name: "login array", method: "POST", path: "/api/v1/auth/login", body: `[]`, status: 400},
		{name: "login empty", method: "POST", path: "/api/v1/auth/login", body: ` `, status: 400},
		{name: "bad bearer", method: "GET", path: "/api/v1/apps", headers: map[string]string{"Authorization": "Bearer fwt_nope"}, status: 401},
		{name: "basic auth refused", method: "GET", path: "/api/v1/apps", headers: map[string]string{"Authorization": "Basic eDp5"}, status: 401},
		{name: "anonymous", method: "GET", path: "/api/v1/apps", status: 401},

		// units and users
		{name: "unit create", method: "POST", path: "/api/v1/units", user: "admin", body: `{"key":"store2","name":{"zh":"二号店","en":"Store 2"},"parent":"hq"}`, status: 201, want: []string{`"key":"store2"`, `"path":["hq"]`}},
		{name: "unit create twice", method: "POST", path: "/api/v1/units", user: "admin", body: `{"key":"store2","name":"x","parent":"hq"}`, status: 409, after: []string{"unit create"}},
		{name: "unit bad key", method: "POST", path: "/api/v1/units", user: "admin", body: `{"key":"Bad Key","name":"x","parent":"hq"}`, status: 422, want: []string{`"field":"/key"`}},
		{name: "unit by staff", method: "POST", path: "/api/v1/units", user: "staff", body: `{"key":"store3","name":"x","parent":"hq"}`, status: 403},
		{name: "unit anonymous", method: "POST", path: "/api/v1/units", body: `{"key":"store3","name":"x","parent":"hq"}`, status: 401},
		{name: "unit head", method: "PATCH", path: "/api/v1/units/store1", user: "admin", body: `{"head":"manager@example.com"}`, status: 200, want: []string{`"head":"{manager}"`}},
		{name: "unit head unknown", method: "PATCH", path: "/api/v1/units/store1", user: "admin", body: `{"head":"ghost@example.com"}`, status: 422, want: []string{`"field":"/head"`}},
		{name: "unit head missing", method: "PATCH", path: "/api/v1/units/store1", user: "admin", body: `{}`, status: 422},
		{name: "unit head unit unknown", method: "PATCH", path: "/api/v1/units/nowhere", user: "admin", body: `{"head":"manager@example.com"}`, status: 404},
		{name: "user create", method: "POST", path: "/api/v1/users", user: "admin", body: `{"email":"new@example.com","name":"New","password":"a-long-password-1","unit":"store1","roles":{"shop":["staff"]}}`, status: 201,
			want: []string{`"email":"new@example.com"`, `"roles":{"shop":["staff"]}`}, not: []string{"a-long-password-1", "argon2"}},
		{name: "user weak password", method: "POST", path: "/api/v1/users", user: "admin", body: `{"email":"weak@example.com","name":"W","password":"short","unit":"store1"}`, headers: en, status: 422,
			want: []string{`"field":"/password"`, "at least"}},
		{name: "user duplicate", method: "POST", path: "/api/v1/users", user: "admin", body: `{"email":"staff@example.com","name":"S","password":"a-long-password-1","unit":"store1"}`, status: 409},
		{name: "user by staff", method: "POST", path: "/api/v1/users", user: "staff", body: `{"email":"x@example.com","name":"X","password":"a-long-password-1","unit":"store1"}`, status: 403},
		{name: "freeze", method: "POST", path: "/api/v1/users/{nobody}/freeze", user: "admin", status: 200, want: []string{`"frozen":true`}},
		{name: "frozen token refused", method: "GET", path: "/api/v1/apps", user: "nobody", status: 423, want: []string{`"code":"locked"`}, after: []string{"freeze"}},
		{name: "freeze unknown", method: "POST", path: "/api/v1/users/nope/freeze", user: "admin", status: 404},
		{name: "freeze by staff", method: "POST", path: "/api/v1/users/{manager}/freeze", user: "staff", status: 403},

		// apps and forms
		{name: "apps", method: "GET", path: "/api/v1/apps", user: "staff", status: 200, want: []string{`"key":"shop"`, `"key":"visit"`}},
		{name: "apps analyst", method: "GET", path: "/api/v1/apps", user: "analyst", status: 200, want: []string{`"key":"shop"`}, not: []string{`"key":"visit"`}},
		{name: "import again", method: "POST", path: "/api/v1/apps", user: "admin", body: string(visit), status: 201, want: []string{`"key":"visit"`, `"version":2`}},
		{name: "import invalid", method: "POST", path: "/api/v1/apps", user: "admin", body: `{"formwork":"1","app":{"key":"Bad"},"forms":[{"x-key":"f","type":"object","properties":{"a":{"type":"string","x-widget":"nope"}}}]}`, status: 422,
			want: []string{`"field":"/app`}},
		{name: "import by staff", method: "POST", path: "/api/v1/apps", user: "staff", body: string(visit), status: 403},
		{name: "import not json", method: "POST", path: "/api/v1/apps", user: "admin", body: string(visit), headers: map[string]string{"Content-Type": "application/xml"}, status: 415},
		{name: "bundle", method: "GET", path: "/api/v1/apps/shop/bundle", user: "admin", status: 200, want: []string{`"customer"`}},
		{name: "bundle by staff", method: "GET", path: "/api/v1/apps/shop/bundle", user: "staff", status: 403},
		{name: "form staff", method: "GET", path: customer, user: "staff", status: 200, want: []string{`"phone":"masked"`, `"vip_since"`}, not: []string{`"discount"`}},
		{name: "form unknown", method: "GET", path: "/api/v1/apps/shop/forms/nope", user: "staff", status: 404},
		{name: "preview gold", method: "POST", path: customer + "/preview", user: "manager", body: `{"data":{"name":"A","level":"gold","budget":100,"discount":0.3}}`, status: 200,
			want: []string{`"vip_since":{"visible":true,"required":true`, `"final_price":70`}},
		{name: "preview normal", method: "POST", path: customer + "/preview", user: "manager", body: `{"data":{"level":"normal"}}`, status: 200,
			want: []string{`"vip_since":{"visible":false`}},

		// records
		{name: "create", method: "POST", path: customer + "/records", user: "staff", body: `{"data":{"name":"王芳","phone":"13700001111","level":"vip","vip_since":"2026-01-02"}}`, status: 201,
			want: []string{`"version":1`, `"status":"active"`, `"unit":"store1"`, `"name":"王芳"`}, not: []string{"13700001111"}},
		{name: "create invalid zh", method: "POST", path: customer + "/records", user: "staff", body: `{"data":{"name":"","phone":"123"}}`, headers: zh, status: 422,
			want: []string{`"field":"/phone"`, `"field":"/name"`}},
		{name: "create invalid en", method: "POST", path: customer + "/records", user: "manager", body: `{"data":{"name":"A","phone":"13700001111","discount":0.3}}`, headers: en, status: 422,
			want: []string{"Only gold customers may get more than 20% off"}},
		{name: "create unknown field", method: "POST", path: customer + "/records", user: "staff", body: `{"data":{"name":"A","phone":"13700001111","bogus":1}}`, status: 422, want: []string{`"field":"/bogus"`}},
		{name: "create hidden field", method: "POST", path: customer + "/records", user: "staff", body: `{"data":{"name":"A","phone":"13700001111","discount":0.1}}`, status: 403, want: []string{`"field":"/discount"`}},
		{name: "create no data", method: "POST", path: customer + "/records", user: "staff", body: `{}`, status: 400, want: []string{`"field":"/data"`}},
		{name: "create data not object", method: "POST", path: customer + "/records", user: "staff", body: `{"data":[1]}`, status: 400, want: []string{`"field":"/data"`}},
		{name: "create top-level unknown", method: "POST", path: customer + "/records", user: "staff", body: `{"data":{},"owner":"x"}`, status: 400, want: []string{`"field":"/owner"`}},
		{name: "create by analyst", method: "POST", path: customer + "/records", user: "analyst", body: `{"data":{"name":"A","phone":"13700001111"}}`, status: 403},
		{name: "create deep data", method: "POST", path: customer + "/records", user: "staff", body: `{"data":{"name":` + deep + `}}`, status: 400},
		{name: "list", method: "GET", path: customer + "/records?sort=-_created_at&limit=10", user: "manager", status: 200, want: []string{`"items":[`, "李雷", "13912345678"}},
		{name: "list masked", method: "GET", path: customer + "/records", user: "analyst", status: 200, want: []string{"139****5678"}, not: []string{"13912345678", "李雷"}},
		{name: "list filter", method: "GET", path: customer + `/records?filter={"level":{"$eq":"vip"}}`, user: "manager", status: 200, want: []string{"王芳"}, not: []string{"李雷"}, after: []string{"create"}},
		{name: "list filter injection", method: "GET", path: customer + `/records?filter={"$where":"1"}`, user: "manager", status: 422},
		{name: "list filter malformed", method: "GET", path: customer + `/records?filter={`, user: "manager", status: 422},
		{name: "list bad limit", method: "GET", path: customer + "/records?limit=abc", user: "manager", status: 400},
		{name: "list bad cursor", method: "GET", path: customer + "/records?cursor=zzz", user: "manager", status: 422},
		{name: "get", method: "GET", path: customer + "/records/{id}", user: "staff", status: 200, want: []string{`"id":"{id}"`, "李雷", "139****5678"}, not: []string{"13912345678", "discount"}},
		{name: "get unknown", method: "GET", path: customer + "/records/nope", user: "staff", status: 404},
		{name: "patch no if-match", method: "PATCH", path: customer + "/records/{id}", user: "staff", body: `{"data":{"level":"vip","vip_since":"2026-02-03"}}`, status: 428},
		{name: "patch bad if-match", method: "PATCH", path: customer + "/records/{id}", user: "staff", body: `{"data":{"level":"vip"}}`, headers: map[string]string{"If-Match": "W/x"}, status: 400},
		{name: "patch stale", method: "PATCH", path: customer + "/records/{id}", user: "staff", body: `{"data":{"level":"vip"}}`, headers: map[string]string{"If-Match": `"7"`}, status: 409},
		{name: "patch", method: "PATCH", path: customer + "/records/{id}", user: "staff", body: `{"data":{"level":"vip","vip_since":"2026-02-03"}}`, headers: map[string]string{"If-Match": `"1"`}, status: 200,
			want: []string{`"version":2`, `"level":"vip"`}},
		{name: "patch invalid", method: "PATCH", path: customer + "/records/{id}", user: "staff", body: `{"data":{"name":""}}`, headers: map[string]string{"If-Match": `"2"`}, status: 422, want: []string{`"field":"/name"`}, after: []string{"patch"}},
		{name: "patch masked field", method: "PATCH", path: customer + "/records/{id}", user: "staff", body: `{"data":{"phone":"13811112222"}}`, headers: map[string]string{"If-Match": `"2"`}, status: 403, want: []string{`"field":"/phone"`}, after: []string{"patch"}},
		{name: "revisions", method: "GET", path: customer + "/records/{id}/revisions", user: "staff", status: 200, want: []string{`"version":1`, `"version":2`, `"op":"update"`}, not: []string{"13912345678"}, after: []string{"patch"}},
		{name: "restore", method: "POST", path: customer + "/records/{id}/restore", user: "staff", body: `{"revision":1}`, status: 200, want: []string{`"version":3`, `"level":"normal"`}, after: []string{"patch"}},
		{name: "restore zero", method: "POST", path: customer + "/records/{id}/restore", user: "staff", body: `{"revision":0}`, status: 422},
		{name: "restore missing", method: "POST", path: customer + "/records/{id}/restore", user: "staff", body: `{"revision":99}`, status: 422, want: []string{`"field":"/revision"`}},
		{name: "delete by staff", method: "DELETE", path: customer + "/records/{gone}", user: "staff", status: 403},
		{name: "delete stale", method: "DELETE", path: customer + "/records/{gone}", user: "admin", headers: map[string]string{"If-Match": `"5"`}, status: 409},
		{name: "delete", method: "DELETE", path: customer + "/records/{gone}", user: "admin", status: 204},
		{name: "deleted is gone", method: "GET", path: customer + "/records/{gone}", user: "admin", status: 404, after: []string{"delete"}},
		{name: "recycle bin", method: "GET", path: customer + "/records?deleted=true", user: "admin", status: 200, want: []string{"韩梅梅"}, after: []string{"delete"}},

		// audit
		{name: "audit", method: "GET", path: "/api/v1/audit?limit=500", user: "admin", status: 200, want: []string{`"action":"login"`, `"action":"create"`, `"ip":"192.0.2.10"`, `"action":"list"`, `"action":"view"`},
			after: []string{"login", "create", "list", "get"}},
		{name: "audit by actor email", method: "GET", path: "/api/v1/audit?actor=staff@example.com&action=create", user: "admin", status: 200, want: []string{`"action":"create"`}, not: []string{`"action":"login"`}},
		{name: "audit bad from", method: "GET", path: "/api/v1/audit?from=yesterday", user: "admin", status: 400},
		{name: "audit by staff", method: "GET", path: "/api/v1/audit", user: "staff", status: 403},
		{name: "audit verify", method: "GET", path: "/api/v1/audit/verify", user: "admin", status: 200, want: []string{`"ok":true`}},
		{name: "audit verify by staff", method: "GET", path: "/api/v1/audit/verify", user: "staff", status: 403},
		{name: "logout", method: "POST", path: "/api/v1/auth/logout", user: "manager", status: 204},
		{name: "after logout", method: "GET", path: "/api/v1/apps", user: "manager", status: 401, after: []string{"logout"}},
	}, vars)
}

// TestNoPartialWrite checks that refused requests leave nothing behind.
func TestNoPartialWrite(t *testing.T) {
	h := newHarness(t, testConfig())
	customer := "/api/v1/apps/shop/forms/customer/records"
	for _, body := range []string{`{"data":{"name":"A","phone":"1"}}`, `{"data":{"name":"A","phone":"13700001111","bogus":true}}`, `{"data":` + strings.Repeat("[", 64), `{"data":{"name":"A"}} x`} {
		rec := h.do("POST", customer, "staff", body, nil)
		if rec.Code < 400 || rec.Code >= 500 {
			t.Errorf("%s: status %d", body, rec.Code)
		}
	}
	rec := h.do("GET", customer, "admin", "", nil)
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("refused requests stored %d records", len(list.Items))
	}
}

func TestLockoutAfterFailures(t *testing.T) {
	cfg := testConfig()
	cfg.LockoutThreshold = 3
	h := newHarness(t, cfg)
	login := func(pw string) int {
		return h.do("POST", "/api/v1/auth/login", "", fmt.Sprintf(`{"email":"staff@example.com","password":%q}`, pw), nil).Code
	}
	var got []int
	for i := 0; i < 3; i++ {
		got = append(got, login("wrong-password-"+fmt.Sprint(i)))
	}
	got = append(got, login(testPassword))
	want := []int{401, 401, 423, 423}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	rec := h.do("GET", "/api/v1/audit?action=user.lock", "admin", "", nil)
	if !strings.Contains(rec.Body.String(), h.users["staff"].ID) {
		t.Errorf("no user.lock audit event: %s", rec.Body.String())
	}
	rec = h.do("GET", "/api/v1/audit?action=login.failed", "admin", "", nil)
	if strings.Count(rec.Body.String(), `"action":"login.failed"`) != 2 || !strings.Contains(rec.Body.String(), `"ip":"192.0.2.10"`) {
		t.Errorf("want two login.failed events with the address: %s", rec.Body.String())
	}
}

func TestRateLimits(t *testing.T) {
	cfg := testConfig()
	cfg.RateIP = RateLimit{PerSecond: 0.001, Burst: 3}
	h := newHarness(t, cfg)
	var got []int
	for i := 0; i < 5; i++ {
		got = append(got, h.do("GET", "/login", "", "", nil).Code)
	}
	if fmt.Sprint(got) != fmt.Sprint([]int{200, 200, 200, 429, 429}) {
		t.Errorf("per address: %v", got)
	}
	// Probes are never limited: a load balancer asks often, from one address.
	for i := 0; i < 400; i++ {
		for _, probe := range []string{"/healthz", "/readyz"} {
			if code := h.do("GET", probe, "", "", nil).Code; code != http.StatusOK {
				t.Fatalf("probe %d of %s after the address ran out: %d", i+1, probe, code)
			}
		}
	}

	cfg = testConfig()
	cfg.RateUser = RateLimit{PerSecond: 0.001, Burst: 2}
	h = newHarness(t, cfg)
	got = nil
	for _, u := range []string{"staff", "staff", "staff", "manager"} {
		got = append(got, h.do("GET", "/api/v1/apps", u, "", nil).Code)
	}
	if fmt.Sprint(got) != fmt.Sprint([]int{200, 200, 429, 200}) {
		t.Errorf("per user: %v", got)
	}

	cfg = testConfig()
	cfg.RateLogin = RateLimit{PerSecond: 0.001, Burst: 2}
	h = newHarness(t, cfg)
	got = nil
	for i := 0; i < 3; i++ {
		got = append(got, h.do("POST", "/api/v1/auth/login", "", `{"email":"staff@example.com","password":"`+testPassword+`"}`, nil).Code)
	}
	if fmt.Sprint(got) != fmt.Sprint([]int{200, 200, 429}) {
		t.Errorf("logins: %v", got)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, testConfig())
	for _, path := range []string{"/login", "/api/v1/apps", "/static/app.js"} {
		rec := h.do("GET", path, "", "", nil)
		for k, want := range map[string]string{
			"X-Frame-Options":        "DENY",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "same-origin",
		} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%s: %s = %q, want %q", path, k, got, want)
			}
		}
		csp := rec.Header().Get("Content-Security-Policy")
		for _, part := range []string{"script-src 'self'", "frame-ancestors 'none'", "style-src 'self'"} {
			if !strings.Contains(csp, part) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, part)
			}
		}
		if strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP allows inline code: %q", path, csp)
		}
	}
}

func TestProblemLanguage(t *testing.T) {
	h := newHarness(t, testConfig())
	for _, tc := range []struct{ accept, want string }{
		{"zh-CN,zh;q=0.9,en;q=0.8", "请先登录"},
		{"en-US,en;q=0.9,zh;q=0.5", "please log in"},
		{"fr-FR", "please log in"},
		{"", "please log in"},
		{"zh", "请先登录"},
	} {
		rec := h.do("GET", "/api/v1/apps", "", "", map[string]string{"Accept-Language": tc.accept})
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if p.Status != http.StatusUnauthorized || p.Detail != tc.want {
			t.Errorf("Accept-Language %q: %+v, want detail %q", tc.accept, p, tc.want)
		}
	}
}

// TestSecureBehindProxy: cookies get Secure and pages HSTS when the
// browser came over HTTPS through a trusted proxy (X-Forwarded-Proto from
// a private address), not when anyone else sends the header, and not when
// the proxy is not trusted.
func TestSecureBehindProxy(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		secure  bool
	}{
		{"a trusted proxy says https", PrivateRanges(), "10.0.0.5:40000", true},
		{"the loopback proxy says https", PrivateRanges(), "127.0.0.1:40000", true},
		{"a public address says https", PrivateRanges(), "192.0.2.10:40000", false},
		{"proxies not trusted", nil, "10.0.0.5:40000", false},
		{"a listed public proxy says https", []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, "203.0.113.9:40000", true},
		{"a private address outside the list says https", []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, "10.0.0.5:40000", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			cfg.TrustedProxies = tc.trusted
			h := newHarness(t, cfg)
			req := httptest.NewRequest("GET", "/login", nil)
			req.RemoteAddr = tc.peer
			req.Header.Set("X-Forwarded-Proto", "https")
			rec := httptest.NewRecorder()
			h.e.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("GET /login: %d", rec.Code)
			}
			if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tc.secure {
				t.Errorf("HSTS sent: %v, want %v", got, tc.secure)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) == 0 {
				t.Fatal("the login page set no cookie")
			}
			for _, ck := range cookies {
				if ck.Secure != tc.secure {
					t.Errorf("cookie %s Secure=%v, want %v", ck.Name, ck.Secure, tc.secure)
				}
			}
		})
	}
}
