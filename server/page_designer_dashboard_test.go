package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"formwork/designer"
	"formwork/engine"
)

// draftCharts is the draft's dashboards as chart keys per dashboard.
func draftCharts(t *testing.T, h *harness, app string) map[string][]map[string]any {
	t.Helper()
	d, err := designer.New(h.svc).Draft(context.Background(), &engine.Principal{User: h.users["admin"]}, app)
	if err != nil {
		t.Fatal(err)
	}
	var top struct {
		Dashboards []struct {
			Key    string           `json:"key"`
			Roles  []string         `json:"roles"`
			Charts []map[string]any `json:"charts"`
		} `json:"dashboards"`
	}
	if err := json.Unmarshal(d.Bundle, &top); err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, db := range top.Dashboards {
		out[db.Key] = db.Charts
		out[db.Key+".roles"] = nil
		for _, r := range db.Roles {
			out[db.Key+".roles"] = append(out[db.Key+".roles"], map[string]any{"role": r})
		}
	}
	return out
}

// TestDesignerDashboards walks the designer's dashboards page as an
// administrator with plain form posts: the shop's dashboards are listed in
// words, a chart is added, moved and deleted, roles are set, a dashboard is
// made and deleted; a chart grouped by another form's field is refused
// with a message, and a chart the engine would refuse shows its problem
// in words.
func TestDesignerDashboards(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	b.login("admin@example.com")
	const page = "/designer/apps/shop/dashboards"
	resp, body := b.get(page)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page: %d %s", resp.StatusCode, body)
	}
	mustContain(t, "the empty page", body, "新建仪表盘")
	csrf := csrfOf(t, body)
	step := func(what string, form url.Values, status int) string {
		t.Helper()
		form.Set("_csrf", csrf)
		resp, body := b.post(page, form, nil)
		if resp.StatusCode != status {
			t.Fatalf("%s: status %d, want %d: %s", what, resp.StatusCode, status, body)
		}
		return body
	}
	step("a dashboard", url.Values{"do": {"new"}, "name_zh": {"销售看板"}, "name_en": {"Sales"}}, http.StatusSeeOther)
	step("a first chart", url.Values{"do": {"add_chart"}, "dashboard": {"sales"}, "type": {"pie"}, "form": {"customer"},
		"group": {"customer/level"}, "op": {"count"}}, http.StatusSeeOther)
	_, body = b.get(page)
	mustContain(t, "the page", body, "销售看板", "饼图", "等级", "记录数", "数据来源表单")
	step("add a chart", url.Values{"do": {"add_chart"}, "dashboard": {"sales"}, "type": {"bar"}, "form": {"customer"},
		"group": {"customer/rep"}, "op": {"sum"}, "measure": {"customer/budget"}, "name_zh": {"各负责人预算"}}, http.StatusSeeOther)
	charts := draftCharts(t, h, "shop")["sales"]
	last := charts[len(charts)-1]
	if last["type"] != "bar" || last["group"] != "rep" || last["measure"].(map[string]any)["field"] != "budget" {
		t.Errorf("the added chart is %v", last)
	}
	key := last["key"].(string)
	step("move it up", url.Values{"do": {"up"}, "dashboard": {"sales"}, "chart": {key}}, http.StatusSeeOther)
	charts = draftCharts(t, h, "shop")["sales"]
	if charts[len(charts)-2]["key"] != key {
		t.Errorf("after moving up the chart %s is not second to last", key)
	}
	step("delete it", url.Values{"do": {"delete_chart"}, "dashboard": {"sales"}, "chart": {key}}, http.StatusSeeOther)
	if n := len(draftCharts(t, h, "shop")["sales"]); n != len(charts)-1 {
		t.Errorf("%d charts after deleting one of %d", n, len(charts))
	}
	step("roles", url.Values{"do": {"roles"}, "dashboard": {"sales"}, "roles": {"store_manager", "hq_admin"}}, http.StatusSeeOther)
	if rs := draftCharts(t, h, "shop")["sales.roles"]; len(rs) != 2 {
		t.Errorf("roles after saving two: %v", rs)
	}
	refused := step("a group from another form", url.Values{"do": {"add_chart"}, "dashboard": {"sales"}, "type": {"bar"}, "form": {"customer"},
		"group": {"company/name"}, "op": {"count"}}, http.StatusUnprocessableEntity)
	mustContain(t, "the refusal", refused, "分组字段须属于所选表单")
	step("a chart measuring a text field", url.Values{"do": {"add_chart"}, "dashboard": {"sales"}, "type": {"bar"}, "form": {"customer"},
		"group": {"customer/level"}, "op": {"sum"}, "measure": {"customer/name"}}, http.StatusSeeOther)
	_, body = b.get(page)
	if !strings.Contains(body, `id="dzd-problems"`) || !strings.Contains(body, "不能用于图表") {
		t.Errorf("the draft problem of a chart over a sensitive text field is not shown in words:\n%s", body)
	}
	step("another dashboard", url.Values{"do": {"new"}, "name_zh": {"服务看板"}, "name_en": {"Service"}}, http.StatusSeeOther)
	if _, ok := draftCharts(t, h, "shop")["service"]; !ok {
		t.Errorf("no dashboard service in the draft: %v", draftCharts(t, h, "shop"))
	}
	step("delete it", url.Values{"do": {"delete"}, "dashboard": {"service"}}, http.StatusSeeOther)
	if _, ok := draftCharts(t, h, "shop")["service"]; ok {
		t.Error("the deleted dashboard is still in the draft")
	}
	step("an unknown dashboard", url.Values{"do": {"roles"}, "dashboard": {"nope"}}, http.StatusUnprocessableEntity)
	// Staff may not design the app.
	sb := newBrowser(t, srv)
	sb.login("staff@example.com")
	if resp, _ := sb.get(page); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
		t.Errorf("staff opening the designer's dashboards: %d", resp.StatusCode)
	}
}
