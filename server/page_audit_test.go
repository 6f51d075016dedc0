package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"formwork/engine"
)

// withAuditor adds a system auditor (with an API token) to the harness.
func withAuditor(tb testing.TB, h *harness) {
	tb.Helper()
	ctx, sys := context.Background(), engine.AuditActor{ID: engine.SystemActor}
	u, err := h.org.CreateUser(ctx, sys, engine.NewUser{Email: "auditor@example.com", Name: "审计员", Unit: "hq", Auditor: true, Password: testPassword})
	if err != nil {
		tb.Fatal(err)
	}
	secret, _, err := h.org.CreateToken(ctx, sys, u.ID, "test", nil)
	if err != nil {
		tb.Fatal(err)
	}
	h.users["auditor"], h.tokens["auditor"] = u, secret
}

func TestAuditorScenarios(t *testing.T) {
	h := newHarness(t, testConfig())
	withAuditor(t, h)
	rec := h.createCustomer("staff", "李雷")
	if _, err := h.svc.GetRecord(context.Background(), &engine.Principal{User: h.users["manager"], IP: "192.0.2.77"}, "shop", "customer", rec.ID); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"id": rec.ID, "manager": h.users["manager"].ID, "staff": h.users["staff"].ID}
	zh := map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"}
	customer := "/api/v1/apps/shop/forms/customer"
	h.run(t, []scenario{
		{name: "auditor reads a record's history", method: "GET", path: "/api/v1/audit?record={id}&result=ok", user: "auditor", status: http.StatusOK,
			want: []string{`"object":"{id}"`, `"actor":"{manager}"`, `"action":"view"`}, not: []string{"13912345678", `"result":"denied"`}},
		{name: "auditor filters by ip and app", method: "GET", path: "/api/v1/audit?app=shop&form=customer&ip=192.0.2.77", user: "auditor", status: http.StatusOK,
			want: []string{`"ip":"192.0.2.77"`}, not: []string{`"actor":"{staff}"`}},
		{name: "auditor asks for an unknown result", method: "GET", path: "/api/v1/audit?result=maybe", user: "auditor", status: http.StatusUnprocessableEntity},
		{name: "staff may not read the log", method: "GET", path: "/api/v1/audit", user: "staff", status: http.StatusForbidden},
		{name: "auditor verifies the chain", method: "GET", path: "/api/v1/audit/verify", user: "auditor", status: http.StatusOK, want: []string{`"ok":true`}},
		{name: "auditor explains", method: "GET", path: "/api/v1/access/explain?user=staff@example.com&app=shop&form=customer", user: "auditor", status: http.StatusOK},
		{name: "auditor reads no record", method: "GET", path: customer + "/records/{id}", user: "auditor", status: http.StatusNotFound, not: []string{"13912345678", "李雷"}},
		{name: "auditor lists no records", method: "GET", path: customer + "/records", user: "auditor", status: http.StatusNotFound, not: []string{"李雷"}},
		{name: "auditor creates no record", method: "POST", path: customer + "/records", user: "auditor", body: `{"data":{"name":"x","phone":"13900000000"}}`, status: http.StatusNotFound},
		{name: "auditor changes no record", method: "PATCH", path: customer + "/records/{id}", user: "auditor", body: `{"data":{"level":"vip"}}`,
			headers: map[string]string{"If-Match": `"1"`}, status: http.StatusNotFound},
		{name: "auditor deletes no record", method: "DELETE", path: customer + "/records/{id}", user: "auditor", status: http.StatusNotFound},
		{name: "auditor purges nothing", method: "POST", path: customer + "/records/{id}/purge", user: "auditor", status: http.StatusForbidden},
		{name: "auditor exports nothing", method: "POST", path: customer + "/exports", user: "auditor", body: `{"format":"csv"}`, status: http.StatusNotFound},
		{name: "auditor creates no user", method: "POST", path: "/api/v1/users", user: "auditor", body: `{"email":"x@example.com","name":"x","password":"correct horse battery staple","unit":"hq"}`, status: http.StatusForbidden},
		{name: "auditor freezes nobody", method: "POST", path: "/api/v1/users/{staff}/freeze", user: "auditor", status: http.StatusForbidden},
		{name: "auditor imports no app", method: "POST", path: "/api/v1/apps", user: "auditor", body: `{"key":"x"}`, status: http.StatusForbidden},
		{name: "auditor saves no draft", method: "PUT", path: "/api/v1/apps/shop/draft", user: "auditor", body: `{"key":"shop"}`, status: http.StatusForbidden},
		{name: "audit page for the auditor", method: "GET", path: "/admin/audit?form=shop/customer&record={id}", user: "auditor", headers: zh, status: http.StatusOK,
			want: []string{"谁看过这条记录", "manager &lt;manager@example.com&gt;", "查看", "192.0.2.77", "echarts.common.min.js"}, not: []string{"13912345678", "李雷"}},
		{name: "audit csv", method: "GET", path: "/admin/audit/export.csv?record={id}", user: "auditor", status: http.StatusOK,
			want: []string{"seq,time,actor", "{id}"}, not: []string{"13912345678"},
			check: func(t *testing.T, f *harness) {
				page, err := f.svc.AuditEvents(context.Background(), &engine.Principal{User: f.users["admin"]}, engine.AuditQuery{Action: "audit.export"})
				if err != nil || len(page.Items) != 1 || page.Items[0].Actor != f.users["auditor"].ID {
					t.Errorf("the CSV export was not audited: %+v, %v", page, err)
				}
			}},
		{name: "admin creates an auditor", method: "POST", path: "/api/v1/users", user: "admin", status: http.StatusCreated,
			body: `{"email":"a2@example.com","name":"审计二","password":"correct horse battery staple","unit":"hq","auditor":true}`, want: []string{`"auditor":true`}},
		{name: "an auditor holds no role", method: "POST", path: "/api/v1/users", user: "admin", status: http.StatusUnprocessableEntity,
			body: `{"email":"a3@example.com","name":"x","password":"correct horse battery staple","unit":"hq","auditor":true,"roles":{"shop":["staff"]}}`,
			want: []string{`"/roles"`}},
		{name: "auditor opens explain", method: "GET", path: "/admin/explain", user: "auditor", status: http.StatusOK},
		{name: "the record page links who looked for the admin", method: "GET", path: "/apps/shop/forms/customer/records/{id}", user: "admin", status: http.StatusOK,
			want: []string{`id="record-audit"`}},
		{name: "no who-looked link for staff", method: "GET", path: "/apps/shop/forms/customer/records/{id}", user: "staff", status: http.StatusOK,
			not: []string{`id="record-audit"`}},
	}, vars)
	// pages answer their refusals as pages
	for _, r := range []struct {
		path, user string
		status     int
	}{
		{"/admin/audit?from=yesterday", "auditor", http.StatusBadRequest},
		{"/admin/users", "auditor", http.StatusForbidden},
		{"/admin", "auditor", http.StatusForbidden},
		{"/admin/audit", "staff", http.StatusForbidden},
		{"/admin/audit/export.csv", "staff", http.StatusForbidden},
		{"/apps/shop/forms/customer/records/" + rec.ID, "auditor", http.StatusNotFound},
	} {
		if rec := h.do("GET", r.path, r.user, "", nil); rec.Code != r.status {
			t.Errorf("%s GET %s: %d, want %d", r.user, r.path, rec.Code, r.status)
		}
	}
}

func TestBinScenarios(t *testing.T) {
	h := newHarness(t, testConfig())
	ctx := context.Background()
	rec := h.createCustomer("staff", "韩梅梅")
	if err := h.svc.DeleteRecord(ctx, &engine.Principal{User: h.users["admin"]}, "shop", "customer", rec.ID, 0); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"id": rec.ID}
	zh := map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"}
	bin := "/apps/shop/forms/customer/bin"
	live := func(want bool) func(t *testing.T, f *harness) {
		return func(t *testing.T, f *harness) {
			_, err := f.svc.GetRecord(ctx, &engine.Principal{User: f.users["admin"]}, "shop", "customer", rec.ID)
			if (err == nil) != want {
				t.Errorf("record live = %v (%v), want %v", err == nil, err, want)
			}
		}
	}
	h.run(t, []scenario{
		{name: "bin lists who deleted", method: "GET", path: bin, user: "admin", headers: zh, status: http.StatusOK,
			want: []string{"回收站", `data-record="{id}"`, "<td>admin</td>", "彻底删除"}},
		{name: "the list links the bin", method: "GET", path: "/apps/shop/forms/customer", user: "admin", status: http.StatusOK, want: []string{`id="list-bin"`}},
		{name: "restore from the bin", method: "POST", path: bin + "/{id}/restore", user: "admin", status: http.StatusSeeOther, check: live(true)},
		{name: "a manager purges nothing", method: "POST", path: "/api/v1/apps/shop/forms/customer/records/{id}/purge", user: "manager", status: http.StatusForbidden, check: func(t *testing.T, f *harness) {
			if _, err := f.store.FindRecordByID(ctx, "shop", "customer", rec.ID, true); err != nil {
				t.Errorf("the record went: %v", err)
			}
		}},
		{name: "admin purges", method: "POST", path: "/api/v1/apps/shop/forms/customer/records/{id}/purge", user: "admin", status: http.StatusNoContent,
			check: func(t *testing.T, f *harness) {
				if _, err := f.store.FindRecordByID(ctx, "shop", "customer", rec.ID, true); engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("after purge: %v, want not found", err)
				}
			}},
		{name: "a live record is not purged", method: "POST", path: "/api/v1/apps/shop/forms/customer/records/{id}/purge", user: "admin", status: http.StatusNotFound,
			after: []string{"restore from the bin"}, check: live(true)},
	}, vars)
}

func TestBinPageRefusals(t *testing.T) {
	h := newHarness(t, testConfig())
	rec := h.createCustomer("staff", "韩梅梅")
	if err := h.svc.DeleteRecord(context.Background(), &engine.Principal{User: h.users["admin"]}, "shop", "customer", rec.ID, 0); err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"manager", "analyst", "staff", "nobody"} {
		r := h.do("GET", "/apps/shop/forms/customer/bin", user, "", nil)
		if r.Code != http.StatusForbidden && r.Code != http.StatusNotFound {
			t.Errorf("%s opens the bin: %d", user, r.Code)
		}
		if strings.Contains(r.Body.String(), "韩梅梅") {
			t.Errorf("%s sees a deleted record", user)
		}
	}
}

// TestAdminPageCreatesAnAuditor: the users page's auditor tick box makes
// a system auditor, who then finds the audit log in the top bar and only
// the audit log and explain in the admin menu.
func TestAdminPageCreatesAnAuditor(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	csrf := b.login("admin@example.com")
	resp, body := b.post("/admin/users", url.Values{"_csrf": {csrf}, "email": {"aud@example.com"}, "name": {"审计员"}, "unit": {"hq"},
		"auditor": {"1"}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create an auditor: %d %s", resp.StatusCode, body)
	}
	_, body = b.get(resp.Header.Get("Location"))
	mustContain(t, "the new user's page", body, `id="user-auditor"`, "审计员")
	resp, body = b.post("/admin/users", url.Values{"_csrf": {csrf}, "email": {"aud2@example.com"}, "name": {"x"}, "unit": {"hq"},
		"auditor": {"1"}, "admin": {"1"}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "审计员不能同时是系统管理员") {
		t.Errorf("an auditor who is an admin too: %d", resp.StatusCode)
	}
	a := newBrowser(t, srv)
	a.lang = "zh-CN"
	a.login("aud@example.com")
	_, home := a.get("/")
	mustContain(t, "the auditor's home page", home, `id="nav-audit"`)
	if strings.Contains(home, `id="nav-designer"`) {
		t.Error("the auditor is offered the designer")
	}
	_, audit := a.get("/admin/audit")
	mustContain(t, "the auditor's audit page", audit, `href="/admin/explain"`, "审计日志")
	if strings.Contains(audit, `href="/admin/users"`) {
		t.Error("the auditor's menu offers the users page")
	}
}
