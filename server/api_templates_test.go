package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/templates"
)

// waitImportJob polls the progress endpoint as user until the job is over
// and returns the states it saw, in order, without repeats.
func (h *harness) waitImportJob(tb testing.TB, user, id string) (*engine.ImportJob, []string) {
	tb.Helper()
	var states []string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		rec := h.do("GET", "/api/v1/import-jobs/"+id, user, "", nil)
		if rec.Code != http.StatusOK {
			tb.Fatalf("progress: %d %s", rec.Code, rec.Body.String())
		}
		var j engine.ImportJob
		if err := json.Unmarshal(rec.Body.Bytes(), &j); err != nil {
			tb.Fatal(err)
		}
		if len(states) == 0 || states[len(states)-1] != j.State {
			states = append(states, j.State)
		}
		if j.Over() {
			return &j, states
		}
		if time.Now().After(deadline) {
			tb.Fatalf("import job %s still %s at %d/%d", id, j.State, j.Done, j.Total)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

func sampleTotal(tb testing.TB, name string) int {
	tb.Helper()
	info, err := templates.GetInfo(name)
	if err != nil {
		tb.Fatal(err)
	}
	return info.SampleRecords
}

func TestTemplatesAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	h.run(t, []scenario{
		{name: "list", method: "GET", path: "/api/v1/templates", user: "admin", status: 200,
			want: []string{`"name":"crm"`, `"name":"dealership"`, `"installed":null`, `"sample_records":224`, `"zh":"客户、联系人`}},
		{name: "list as staff", method: "GET", path: "/api/v1/templates", user: "staff", status: 403, not: []string{`"crm"`}},
		{name: "list anonymous", method: "GET", path: "/api/v1/templates", status: 401},
		{name: "preview", method: "GET", path: "/api/v1/templates/crm", user: "admin", status: 200,
			want: []string{`"key":"analyst"`, `"masked":[`, `"hidden":[`, `"plan":null`, `"nodes":[`, `"sensitive":"phone"`}},
		{name: "preview unknown", method: "GET", path: "/api/v1/templates/nope", user: "admin", status: 404},
		{name: "preview as staff", method: "GET", path: "/api/v1/templates/crm", user: "staff", status: 403, not: []string{`"analyst"`}},
		{name: "import as staff", method: "POST", path: "/api/v1/templates/crm/import", user: "staff", status: 403},
		{name: "job unknown", method: "GET", path: "/api/v1/import-jobs/imp-nope", user: "admin", status: 404},
	}, nil)

	// an import with sample data answers before the records are in, with
	// the job to follow
	start := time.Now()
	rec := h.do("POST", "/api/v1/templates/crm/import?sample_data=true", "admin", "", nil)
	answered := time.Since(start)
	if rec.Code != http.StatusCreated {
		t.Fatalf("import: %d %s", rec.Code, rec.Body.String())
	}
	var v engine.AppVersion
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v.Job == "" || v.Version != 1 {
		t.Fatalf("import answer %s: %v", rec.Body.String(), err)
	}
	if loc := rec.Header().Get("Location"); loc != "/api/v1/import-jobs/"+v.Job {
		t.Errorf("Location %q", loc)
	}
	h.run(t, []scenario{{name: "progress as staff", method: "GET", path: "/api/v1/import-jobs/" + v.Job, user: "staff", status: 403}}, nil)
	j, states := h.waitImportJob(t, "admin", v.Job)
	total := sampleTotal(t, "crm")
	if j.State != engine.ImportDone || j.Done != total || j.Total != total {
		t.Fatalf("job %+v", j)
	}
	t.Logf("import answered in %v; states seen %v; %d records in %d batches, %v", answered, states, j.Done, j.Batches, j.Finished.Sub(j.Started))
	n, err := h.store.CountRecords(context.Background(), engine.RecordQuery{App: "crm", Form: "customer"})
	if err != nil || n != 30 {
		t.Errorf("customers %d %v", n, err)
	}
	h.run(t, []scenario{
		{name: "listed as imported", method: "GET", path: "/api/v1/templates", user: "admin", status: 200,
			want: []string{`"installed":{"key":"crm","version":1,"app_version":"1.1.0"}`}},
		{name: "plan of a re-import", method: "GET", path: "/api/v1/templates/crm", user: "admin", status: 200,
			want: []string{`"plan":{"key":"crm","current":{"key":"crm","version":1`, `"next":2`, `"orphans":[]`}},
	}, nil)
}

// A re-import that would orphan data is refused with the list, and
// applied when confirmed; the records stay.
func TestTemplatesUpgradeReport(t *testing.T) {
	h := newHarness(t, testConfig())
	ctx := context.Background()
	// an older crm whose customers carry a field the template dropped
	raw, _ := templates.Get("crm")
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for _, f := range doc["forms"].([]any) {
		fm := f.(map[string]any)
		if fm["x-key"] == "customer" {
			fm["properties"].(map[string]any)["legacy_code"] = map[string]any{"type": "string", "x-widget": "text",
				"x-label": map[string]any{"zh": "旧编码", "en": "Legacy code"}}
		}
	}
	doc["app"].(map[string]any)["version"] = "0.9.0"
	doc["sample_data"] = map[string]any{"customer": []any{map[string]any{"name": "测试客户甲有限公司", "customer_type": "company",
		"region": "north", "source": "website", "phone": "13800009999", "legacy_code": "L-0001"}}}
	old, _ := json.Marshal(doc)
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	if _, err := h.svc.ImportApp(ctx, admin, old, engine.ImportOptions{SampleData: true, Wait: true}); err != nil {
		t.Fatalf("import the older crm: %v", err)
	}
	h.run(t, []scenario{
		{name: "the report names the orphan", method: "GET", path: "/api/v1/templates/crm", user: "admin", status: 200,
			want: []string{`"removed_fields":["customer.legacy_code"]`, `"code":"orphan"`, `"current":{"key":"crm","version":1,"app_version":"0.9.0"}`}},
		{name: "unconfirmed upgrade refused", method: "POST", path: "/api/v1/templates/crm/import", user: "admin", status: 409,
			want: []string{"orphan", "legacy_code"}},
		{name: "confirmed upgrade", method: "POST", path: "/api/v1/templates/crm/import?confirm=true", user: "admin", status: 201,
			want: []string{`"version":2`, `"app_version":"1.1.0"`}, not: []string{`"job"`},
			check: func(t *testing.T, h *harness) {
				n, err := h.store.CountRecords(ctx, engine.RecordQuery{App: "crm", Form: "customer"})
				if err != nil || n != 1 {
					t.Errorf("customers after the upgrade: %d %v, want the 1 kept", n, err)
				}
			}},
	}, nil)
}

// The gallery pages: admin only (a readable 403 page for others), cards
// with counts and status, import with sample data to a progress page,
// and a re-import that asks for the upgrade to be confirmed.
func TestTemplatesGalleryPages(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()

	staff := newBrowser(t, srv)
	staff.lang = "zh-CN"
	staff.login("staff@example.com")
	resp, body := staff.get("/admin/templates")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "需要系统管理员权限") || strings.Contains(body, "示例记录") {
		t.Errorf("staff on the gallery: %d %s", resp.StatusCode, body)
	}
	resp, _ = staff.post("/admin/templates/crm/import", url.Values{"_csrf": {csrfOf(t, body)}, "sample_data": {"1"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff import: %d", resp.StatusCode)
	}

	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	csrf := b.login("admin@example.com")
	resp, body = b.get("/admin/templates")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("gallery: %d %s", resp.StatusCode, body)
	}
	mustContain(t, "gallery", body, "模板中心", "客户管理", "汽车经销商（4S店）", "尚未导入", "示例记录", `class="tpl-n-samples">224<`,
		`class="tpl-n-forms">7<`, `/static/tpl.js`, `/static/tpl.css`, `action="/admin/templates/crm/import"`)
	resp, body = b.get("/admin/templates/dealership")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d", resp.StatusCode)
	}
	mustContain(t, "preview", body, "销售顾问", "成本价", "脱敏显示", "不可见", "审批", "试驾")

	// no CSRF token: refused
	resp, _ = b.post("/admin/templates/crm/import", url.Values{"sample_data": {"1"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("import without CSRF: %d", resp.StatusCode)
	}
	resp, _ = b.post("/admin/templates/crm/import", url.Values{"_csrf": {csrf}, "sample_data": {"1"}}, nil)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/templates/jobs/imp-") {
		t.Fatalf("import: %d %q", resp.StatusCode, loc)
	}
	resp, body = b.get(loc)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("job page: %d", resp.StatusCode)
	}
	id := strings.TrimPrefix(loc, "/admin/templates/jobs/")
	mustContain(t, "job page", body, `data-poll="/api/v1/import-jobs/`+id+`"`, `<progress id="tpl-progress"`, `data-form="customer"`, "客户管理")
	// the page's poll works with the session cookie
	resp, body = b.get("/api/v1/import-jobs/" + id)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"total":224`) {
		t.Fatalf("poll: %d %s", resp.StatusCode, body)
	}
	h.waitImportJob(t, "admin", id)
	_, body = b.get(loc)
	mustContain(t, "finished job page", body, "导入完成", `data-state="done"`, "224 / 224 条记录")

	_, body = b.get("/admin/templates")
	mustContain(t, "gallery after import", body, "已导入：第 1 版（1.1.0）", "重新导入（升级）")
	_, body = b.get("/admin/templates/crm")
	mustContain(t, "re-import preview", body, "升级报告", "将从第 1 版升级到第 2 版", "不会丢弃任何数据", `name="confirm"`)
	resp, body = b.post("/admin/templates/crm/import", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "请先勾选确认升级") {
		t.Errorf("unconfirmed re-import: %d", resp.StatusCode)
	}
	resp, _ = b.post("/admin/templates/crm/import", url.Values{"_csrf": {csrf}, "confirm": {"1"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/templates/crm?imported=2" {
		t.Fatalf("confirmed re-import: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body = b.get("/admin/templates/crm?imported=2")
	mustContain(t, "after the upgrade", body, "已导入 客户管理 第 2 版")
}
