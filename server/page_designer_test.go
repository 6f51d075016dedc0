package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"formwork/designer"
	"formwork/engine"
)

// TestDesignerPages sends the designer's pages the requests a person's
// browser would, each scenario on its own copy of the harness: who gets
// which page, the new-app form's refusals, and no field of an app shown
// to someone who may not design it.
func TestDesignerPages(t *testing.T) {
	h := newHarness(t, testConfig())
	snap := h.snapshot(t)
	const denied = "只有系统管理员和该应用的设计者可以设计应用"
	for _, sc := range []struct {
		name     string
		user     string // logs in first; "" = anonymous
		method   string
		path     string
		form     url.Values // a POST's fields (the CSRF token is added unless noCSRF)
		noCSRF   bool
		status   int
		location string // a redirect's target
		want     []string
		not      []string
		before   func(t *testing.T, f *harness) // on the scenario's fork, before the request
	}{
		{name: "anonymous to login", method: "GET", path: "/designer", status: http.StatusSeeOther, location: "/login?next=%2Fdesigner"},
		{name: "admin home lists the apps", user: "admin", method: "GET", path: "/designer", status: http.StatusOK,
			want: []string{`href="/designer/apps/shop"`, `href="/designer/apps/visit"`, `id="dz-new-key"`, `href="/designer"`}},
		{name: "staff home lists none", user: "staff", method: "GET", path: "/designer", status: http.StatusOK,
			want: []string{"还没有你可以设计的应用"}, not: []string{`href="/designer/apps/shop"`}},
		{name: "a named designer's home lists their app", user: "manager", method: "GET", path: "/designer", status: http.StatusOK,
			before: func(t *testing.T, f *harness) {
				admin := &engine.Principal{User: f.users["admin"]}
				if err := designer.New(f.svc).SetDesigners(context.Background(), admin, "shop", []string{"manager@example.com"}); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{`href="/designer/apps/shop"`}, not: []string{`href="/designer/apps/visit"`, "还没有你可以设计的应用"}},
		{name: "staff may not design shop", user: "staff", method: "GET", path: "/designer/apps/shop/forms/customer", status: http.StatusForbidden,
			want: []string{denied}, not: []string{"data-canvas", "vip_since"}},
		{name: "staff may not see shop's app page", user: "staff", method: "GET", path: "/designer/apps/shop", status: http.StatusForbidden, want: []string{denied}},
		{name: "staff may not publish", user: "staff", method: "POST", path: "/designer/apps/shop/publish", form: url.Values{}, status: http.StatusForbidden, want: []string{denied}},
		{name: "staff may not start an app", user: "staff", method: "POST", path: "/designer/apps", form: url.Values{"key": {"mine"}, "name_zh": {"我的"}}, status: http.StatusForbidden, want: []string{denied}},
		{name: "admin app page", user: "admin", method: "GET", path: "/designer/apps/shop", status: http.StatusOK,
			want: []string{`href="/designer/apps/shop/forms/customer"`, `href="/designer/apps/shop/forms/company"`, `href="/designer/apps/shop/publish"`, `href="/designer/apps/shop/roles"`, "基于已发布的第 1 版"}},
		{name: "admin roles page", user: "admin", method: "GET", path: "/designer/apps/shop/roles", status: http.StatusOK,
			want: []string{"角色与权限", `data-draft-url="/api/v1/apps/shop/draft"`, `src="/static/designer/roles.js"`, `id="dz-msgs"`, `id="dz-role-add"`, "自定义条件"}},
		{name: "staff may not see shop's roles", user: "staff", method: "GET", path: "/designer/apps/shop/roles", status: http.StatusForbidden,
			want: []string{denied}, not: []string{"roles.js"}},
		{name: "no such app's roles", user: "admin", method: "GET", path: "/designer/apps/nope/roles", status: http.StatusNotFound},
		{name: "admin form designer", user: "admin", method: "GET", path: "/designer/apps/shop/forms/customer", status: http.StatusOK,
			want: []string{`data-canvas`, `data-props`, `data-problems`, `data-widget="select"`, `data-widget="serial"`, `data-draft-url="/api/v1/apps/shop/draft"`,
				`data-published="[&#34;name&#34;,`, `src="/static/designer/designer.js"`, `id="dz-msgs"`}},
		{name: "admin app page shows the versions", user: "admin", method: "GET", path: "/designer/apps/shop", status: http.StatusOK,
			want: []string{`id="dz-versions"`, "第 1 版", `data-restore="1"`, `action="/designer/apps/shop/versions/1/restore"`, "admin 于"}},
		{name: "restore a version into the draft", user: "admin", method: "POST", path: "/designer/apps/shop/versions/1/restore", form: url.Values{},
			status: http.StatusSeeOther, location: "/designer/apps/shop?restored=1"},
		{name: "the app page says what was restored", user: "admin", method: "GET", path: "/designer/apps/shop?restored=1", status: http.StatusOK,
			want: []string{"已把第 1 版恢复到草稿"}},
		{name: "restore needs the CSRF token", user: "admin", method: "POST", path: "/designer/apps/shop/versions/1/restore", form: url.Values{}, noCSRF: true,
			status: http.StatusForbidden},
		{name: "staff may not restore", user: "staff", method: "POST", path: "/designer/apps/shop/versions/1/restore", form: url.Values{}, status: http.StatusForbidden,
			want: []string{denied}},
		{name: "no such version", user: "admin", method: "POST", path: "/designer/apps/shop/versions/9/restore", form: url.Values{}, status: http.StatusNotFound},
		{name: "no such form", user: "admin", method: "GET", path: "/designer/apps/shop/forms/nope", status: http.StatusNotFound},
		{name: "no such app", user: "admin", method: "GET", path: "/designer/apps/nope", status: http.StatusNotFound},
		{name: "publish page without changes", user: "admin", method: "GET", path: "/designer/apps/shop/publish", status: http.StatusOK,
			want: []string{"与已发布的版本相比没有修改", `data-action="publish"`, "不会丢弃任何已有数据"}, not: []string{`id="dz-confirm"`}},
		{name: "publish page over a newer version", user: "admin", method: "GET", path: "/designer/apps/shop/publish", status: http.StatusOK,
			before: func(t *testing.T, f *harness) {
				ctx, admin := context.Background(), &engine.Principal{User: f.users["admin"]}
				if _, err := designer.New(f.svc).Patch(ctx, admin, "shop", []byte(`[{"op":"replace","path":"/app/version","value":"9.0.0"}]`), 0); err != nil {
					t.Fatal(err)
				}
				pub, _, err := f.svc.AppVersionBundle(ctx, admin, "shop", 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := f.svc.ImportApp(ctx, admin, pub, engine.ImportOptions{}); err != nil {
					t.Fatal(err)
				}
			},
			want: []string{`id="dz-pub-stale"`, "这份草稿基于第 1 版，之后又发布了第 2 版", `id="dz-confirm"`, "确认用草稿替换已发布的版本"}},
		{name: "new app", user: "admin", method: "POST", path: "/designer/apps", form: url.Values{"key": {"repair"}, "name_zh": {"维修"}, "name_en": {"Repairs"}},
			status: http.StatusSeeOther, location: "/designer/apps/repair/forms/repair"},
		{name: "new app needs a key", user: "admin", method: "POST", path: "/designer/apps", form: url.Values{"key": {"Bad Key"}, "name_zh": {"坏"}},
			status: http.StatusUnprocessableEntity, want: []string{"应用标识只能包含小写字母", `value="Bad Key"`}},
		{name: "new app needs a name", user: "admin", method: "POST", path: "/designer/apps", form: url.Values{"key": {"fine"}},
			status: http.StatusUnprocessableEntity, want: []string{"请填写应用名称"}},
		{name: "new app may not replace one", user: "admin", method: "POST", path: "/designer/apps", form: url.Values{"key": {"shop"}, "name_zh": {"另一个"}},
			status: http.StatusUnprocessableEntity, want: []string{"已有同名标识的应用"}},
		{name: "new app needs the CSRF token", user: "admin", method: "POST", path: "/designer/apps", form: url.Values{"key": {"repair"}, "name_zh": {"维修"}}, noCSRF: true,
			status: http.StatusForbidden},
	} {
		t.Run(sc.name, func(t *testing.T) {
			f := h.fork(t, snap)
			if sc.before != nil {
				sc.before(t, f)
			}
			srv := httptest.NewServer(f.e)
			defer srv.Close()
			b := newBrowser(t, srv)
			b.lang = "zh-CN"
			csrf := ""
			if sc.user != "" {
				csrf = b.login(sc.user + "@example.com")
			}
			var resp *http.Response
			var body string
			if sc.method == "POST" {
				if !sc.noCSRF {
					sc.form.Set("_csrf", csrf)
				}
				resp, body = b.post(sc.path, sc.form, nil)
			} else {
				resp, body = b.get(sc.path)
			}
			if resp.StatusCode != sc.status {
				t.Fatalf("%s %s: status %d, want %d: %s", sc.method, sc.path, resp.StatusCode, sc.status, body)
			}
			if sc.location != "" && resp.Header.Get("Location") != sc.location {
				t.Errorf("redirect to %q, want %q", resp.Header.Get("Location"), sc.location)
			}
			mustContain(t, sc.name, body, sc.want...)
			for _, n := range sc.not {
				if strings.Contains(body, n) {
					t.Errorf("%s holds forbidden %q", sc.name, n)
				}
			}
		})
	}
}
