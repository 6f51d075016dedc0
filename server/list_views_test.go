package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"formwork/engine"
)

// listFixture adds customers for the search, date and view scenarios:
// staff's own 张伟 (a VIP since today) and 王伟明 (a VIP since 40 days
// ago), and the manager's 李伟 in the same store, outside staff's scope.
// It returns the ids by name.
func listFixture(t *testing.T, h *harness) map[string]string {
	t.Helper()
	ctx := context.Background()
	today := time.Now().UTC().Format("2006-01-02")
	old := time.Now().UTC().AddDate(0, 0, -40).Format("2006-01-02")
	ids := map[string]string{}
	for _, c := range []struct{ user, name, phone, since string }{
		{"staff", "张伟", "13912345678", today},
		{"staff", "王伟明", "13700001111", old},
		{"manager", "李伟", "13600002222", today},
	} {
		r, err := h.svc.CreateRecord(ctx, &engine.Principal{User: h.users[c.user], IP: "127.0.0.1"}, "shop", "customer",
			map[string]any{"name": c.name, "phone": c.phone, "level": "vip", "vip_since": c.since})
		if err != nil {
			t.Fatal(err)
		}
		ids[c.name] = r.ID
	}
	return ids
}

func TestListSearchAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	ids := listFixture(t, h)
	base := "/api/v1/apps/shop/forms/customer/records?q="
	h.run(t, []scenario{
		{name: "Chinese by one character, in scope only", method: "GET", path: base + url.QueryEscape("伟"), user: "staff", status: 200,
			want: []string{ids["张伟"], ids["王伟明"]}, not: []string{ids["李伟"]}},
		{name: "Chinese by two characters", method: "GET", path: base + url.QueryEscape("伟明"), user: "staff", status: 200,
			want: []string{ids["王伟明"]}, not: []string{ids["张伟"], ids["李伟"]}},
		{name: "the manager's scope holds the manager's record", method: "GET", path: base + url.QueryEscape("李伟"), user: "manager", status: 200,
			want: []string{ids["李伟"]}},
		{name: "another's record never matches out of scope", method: "GET", path: base + url.QueryEscape("李伟"), user: "staff", status: 200,
			want: []string{`"items":[]`}, not: []string{ids["李伟"], "13600002222"}},
		{name: "a masked phone never matches", method: "GET", path: base + "1391234", user: "staff", status: 200,
			want: []string{`"items":[]`}, not: []string{ids["张伟"], "13912345678"}},
		{name: "the same phone matches for who reads it in full", method: "GET", path: base + "1391234", user: "manager", status: 200,
			want: []string{ids["张伟"]}, not: []string{ids["王伟明"]}},
		{name: "a masked name never matches", method: "GET", path: base + url.QueryEscape("张伟"), user: "analyst", status: 200,
			want: []string{`"items":[]`}, not: []string{ids["张伟"]}},
		{name: "punctuation only finds nothing", method: "GET", path: base + url.QueryEscape("--"), user: "manager", status: 200,
			want: []string{`"items":[]`}},
		{name: "a term over 100 characters", method: "GET", path: base + strings.Repeat("a", 101), user: "staff", status: 422,
			want: []string{`"field":"/search"`}},
	}, nil)
}

func TestListDateRangesAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	ids := listFixture(t, h)
	base := "/api/v1/apps/shop/forms/customer/records?date="
	today := time.Now().UTC().Format("2006-01-02")
	h.run(t, []scenario{
		{name: "a date field today", method: "GET", path: base + "vip_since:today", user: "manager", status: 200,
			want: []string{ids["张伟"], ids["李伟"]}, not: []string{ids["王伟明"]}},
		{name: "a date field in the last 30 days, with a search", method: "GET", path: base + "vip_since:last_30_days&q=" + url.QueryEscape("张"), user: "manager", status: 200,
			want: []string{ids["张伟"]}, not: []string{ids["王伟明"], ids["李伟"]}},
		{name: "a custom range", method: "GET", path: base + "vip_since:.." + time.Now().UTC().AddDate(0, 0, -30).Format("2006-01-02"), user: "manager", status: 200,
			want: []string{ids["王伟明"]}, not: []string{ids["张伟"], ids["李伟"]}},
		{name: "created this week and today, scope held", method: "GET", path: base + "_created_at:this_week&date=_created_at:today", user: "staff", status: 200,
			want: []string{ids["张伟"], ids["王伟明"]}, not: []string{ids["李伟"]}},
		{name: "created last month: none", method: "GET", path: base + "_created_at:last_month", user: "manager", status: 200,
			want: []string{`"items":[]`}},
		{name: "created in a custom range of days", method: "GET", path: base + "_created_at:" + today + ".." + today, user: "manager", status: 200,
			want: []string{ids["张伟"], ids["李伟"]}},
		{name: "an unknown range", method: "GET", path: base + "vip_since:someday", user: "manager", status: 422,
			want: []string{`"field":"/date/vip_since"`, "unknown date range"}},
		{name: "a range on a field that is no date", method: "GET", path: base + "level:today", user: "manager", status: 422,
			want: []string{`"field":"/date/level"`}},
		{name: "a range on an unknown field", method: "GET", path: base + "nope:today", user: "manager", status: 422},
		{name: "an end before the start", method: "GET", path: base + "vip_since:2026-02-01..2026-01-01", user: "manager", status: 422},
		{name: "a malformed date", method: "GET", path: base + "vip_since:2026-13-01..", user: "manager", status: 422},
		{name: "no range", method: "GET", path: base + "vip_since", user: "manager", status: 400},
		{name: "no read permission, no list", method: "GET", path: base + "vip_since:today", user: "nobody", status: 404},
	}, nil)
}

func TestListViewsAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	ids := listFixture(t, h)
	ctx := context.Background()
	staff := &engine.Principal{User: h.users["staff"], IP: "127.0.0.1"}
	mine, err := h.svc.SaveView(ctx, staff, "shop", "customer", engine.ViewInput{Name: "我的VIP", ViewState: engine.ViewState{Columns: []string{"name", "level"},
		Match: []engine.FieldMatch{{Field: "level", Equals: "vip"}}, Search: "伟明", Sort: "-_created_at"}})
	if err != nil {
		t.Fatal(err)
	}
	shared, err := h.svc.SaveView(ctx, staff, "shop", "customer", engine.ViewInput{Name: "今日入会", ViewState: engine.ViewState{Match: []engine.FieldMatch{{Field: "vip_since", Range: "today"}}}, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	views := "/api/v1/apps/shop/forms/customer/views"
	vars := map[string]string{"mine": mine.ID, "shared": shared.ID}
	h.run(t, []scenario{
		{name: "the owner lists both", method: "GET", path: views, user: "staff", status: 200,
			want: []string{`"id":"{mine}"`, `"id":"{shared}"`, `"mine":true`}},
		{name: "the unit sees the shared one only", method: "GET", path: views, user: "manager", status: 200,
			want: []string{`"id":"{shared}"`}, not: []string{`"id":"{mine}"`, `"mine":true`}},
		{name: "another unit sees neither", method: "GET", path: views, user: "analyst", status: 200,
			not: []string{`"id":"{mine}"`, `"id":"{shared}"`}},
		{name: "no read, no views", method: "GET", path: views, user: "nobody", status: 404},
		{name: "save one", method: "POST", path: views, user: "manager", body: `{"name":"店里的","match":[{"field":"vip_since","range":"this_month"}],"columns":["name","phone"],"shared":true}`,
			status: 201, want: []string{`"name":"店里的"`, `"unit":"store1"`, `"mine":true`}},
		{name: "save with a filter on a hidden field", method: "POST", path: views, user: "staff", body: `{"name":"x","filter":{"discount":{"$gt":0.1}}}`,
			status: 403, want: []string{"/discount"}},
		{name: "save with a hidden column", method: "POST", path: views, user: "staff", body: `{"name":"x","columns":["discount"]}`,
			status: 422, want: []string{`"field":"/columns/0"`}},
		{name: "save with a masked field searched by condition", method: "POST", path: views, user: "staff", body: `{"name":"x","match":[{"field":"phone","contains":"139"}]}`,
			status: 403},
		{name: "save without a name", method: "POST", path: views, user: "staff", body: `{"name":"  "}`, status: 422, want: []string{`"field":"/name"`}},
		{name: "save with a bad range", method: "POST", path: views, user: "staff", body: `{"name":"x","match":[{"field":"vip_since","range":"soon"}]}`, status: 422},
		{name: "save with an unknown key", method: "POST", path: views, user: "staff", body: `{"name":"x","colums":["name"]}`, status: 400},
		{name: "rename own", method: "PATCH", path: views + "/{mine}", user: "staff", body: `{"name":"VIP 客户","shared":true}`, status: 200,
			want: []string{`"name":"VIP 客户"`, `"unit":"store1"`}},
		{name: "rename another's shared view", method: "PATCH", path: views + "/{shared}", user: "manager", body: `{"name":"mine now"}`, status: 403},
		{name: "rename an unseen view", method: "PATCH", path: views + "/{mine}", user: "manager", body: `{"name":"x"}`, status: 404},
		{name: "delete another's shared view", method: "DELETE", path: views + "/{shared}", user: "manager", status: 403},
		{name: "delete own", method: "DELETE", path: views + "/{shared}", user: "staff", status: 204,
			check: func(t *testing.T, h *harness) {
				if rec := h.do("GET", views, "manager", "", nil); strings.Contains(rec.Body.String(), shared.ID) {
					t.Errorf("deleted view still listed: %s", rec.Body.String())
				}
			}},
	}, vars)

	// a view opened on the page: its conditions and search ANDed with the
	// viewer's scope, its columns shown
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	b := newBrowser(t, srv)
	b.lang = "zh-CN,zh;q=0.9"
	b.login("staff@example.com")
	resp, page := b.get("/apps/shop/forms/customer?view=" + url.QueryEscape(mine.ID))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("view page: %d %s", resp.StatusCode, page)
	}
	mustContain(t, "view page", page, "我的VIP", `aria-current="page"`, ids["王伟明"], "状态")
	if strings.Contains(page, ids["张伟"]) || strings.Contains(page, ids["李伟"]) {
		t.Errorf("view page shows records its search or the scope leave out")
	}
	if strings.Contains(page, "13700001111") {
		t.Errorf("view page shows a masked phone in clear")
	}
	// the manager opens the view staff shares, under the manager's own scope
	mb := newBrowser(t, srv)
	mb.login("manager@example.com")
	_, mpage := mb.get("/apps/shop/forms/customer?view=" + url.QueryEscape(shared.ID))
	mustContain(t, "shared view page", mpage, ids["张伟"], ids["李伟"])
	if strings.Contains(mpage, ids["王伟明"]) {
		t.Errorf("shared view page shows a record its range leaves out")
	}
	if strings.Contains(mpage, `id="view-rename"`) {
		t.Errorf("another's view offers rename")
	}
	if resp, _ := mb.get("/apps/shop/forms/customer?view=nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown view: %d, want 404", resp.StatusCode)
	}
}

// TestListBundleViews: a bundle's views are tabs over the list, the first
// gives the default columns, and they never widen what a role sees.
func TestListBundleViews(t *testing.T) {
	h := newHarness(t, testConfig())
	ids := listFixture(t, h)
	raw, err := os.ReadFile(filepath.Join("testdata", "shop.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle map[string]any
	if err := json.Unmarshal(raw, &bundle); err != nil {
		t.Fatal(err)
	}
	bundle["views"] = []any{
		map[string]any{"key": "contact", "form": "customer", "name": map[string]any{"zh": "联系方式", "en": "Contacts"}, "columns": []any{"name", "phone", "discount"}},
		map[string]any{"key": "new_vip", "form": "customer", "name": map[string]any{"zh": "新VIP", "en": "New VIPs"},
			"filter": map[string]any{"vip_since": map[string]any{"$gte": time.Now().UTC().AddDate(0, 0, -7).Format("2006-01-02")}}, "sort": []any{"-vip_since"}},
	}
	app, _ := bundle["app"].(map[string]any)
	app["version"] = "1.0.1"
	nb, _ := json.Marshal(bundle)
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	if _, err := h.svc.ImportApp(context.Background(), admin, nb, engine.ImportOptions{}); err != nil {
		t.Fatalf("import with views: %v", err)
	}
	h.run(t, []scenario{
		{name: "bundle views listed first", method: "GET", path: "/api/v1/apps/shop/forms/customer/views", user: "staff", status: 200,
			want: []string{`"id":"app:contact"`, `"id":"app:new_vip"`, `"builtin":true`}},
		{name: "bundle views cannot be deleted", method: "DELETE", path: "/api/v1/apps/shop/forms/customer/views/app:contact", user: "staff", status: 403},
	}, nil)

	srv := httptest.NewServer(h.e)
	defer srv.Close()
	b := newBrowser(t, srv)
	b.lang = "zh-CN,zh;q=0.9"
	b.login("staff@example.com")
	_, page := b.get("/apps/shop/forms/customer")
	mustContain(t, "list with bundle views", page, "联系方式", "新VIP", `data-view="app:contact"`, "手机号")
	// discount is hidden for staff: the default view names it, the list does not show it
	if strings.Contains(page, ">折扣<") || strings.Contains(page, "Discount<") {
		t.Errorf("list shows a column hidden from the role")
	}
	_, page = b.get("/apps/shop/forms/customer?view=app:new_vip")
	mustContain(t, "new VIP view", page, ids["张伟"])
	if strings.Contains(page, ids["王伟明"]) || strings.Contains(page, ids["李伟"]) {
		t.Errorf("bundle view shows records its filter or the scope leave out")
	}
}
