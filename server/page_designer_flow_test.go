package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
)

// TestDesignerFlowPages sends the workflow designer's pages the requests
// a person's browser would, each scenario on its own copy of the harness:
// the list, the page of one workflow, a new workflow and its refusals,
// and nothing of an app shown to someone who may not design it.
func TestDesignerFlowPages(t *testing.T) {
	h := newHarness(t, testConfig())
	snap := h.snapshot(t)
	const denied = "只有系统管理员和该应用的设计者可以设计应用"
	newFlow := func(v url.Values) url.Values {
		out := url.Values{"form": {"customer"}, "name_zh": {"大额折扣"}, "name_en": {"Big discount"}}
		for k, vs := range v {
			out[k] = vs
		}
		return out
	}
	runPageScenarios(t, h, snap, []pageScenario{
		{name: "the app page links the flows", user: "admin", method: "GET", path: "/designer/apps/shop", status: http.StatusOK,
			want: []string{`id="dz-to-flows"`, `href="/designer/apps/shop/workflows"`}},
		{name: "admin lists the flows", user: "admin", method: "GET", path: "/designer/apps/shop/workflows", status: http.StatusOK,
			want: []string{`href="/designer/apps/shop/workflows/discount_approval"`, "折扣审批", "表单「客户」", "4 个节点", `id="dz-flow-create"`, `<option value="customer"`}},
		{name: "staff may not list the flows", user: "staff", method: "GET", path: "/designer/apps/shop/workflows", status: http.StatusForbidden,
			want: []string{denied}, not: []string{"discount_approval", "折扣审批"}},
		{name: "admin opens a flow", user: "admin", method: "GET", path: "/designer/apps/shop/workflows/discount_approval", status: http.StatusOK,
			want: []string{`data-key="discount_approval"`, `data-draft-url="/api/v1/apps/shop/draft"`, `data-rule-url="/api/v1/apps/shop/draft/rule"`,
				`data-simulate-url="/api/v1/apps/shop/draft/simulate"`, `data-me="admin@example.com"`, `src="/static/designer/flow.js"`,
				`href="/static/designer/flow.css"`, `id="dz-msgs"`, "会签", "或签", "依次审批", "data-saved"}},
		{name: "staff may not open a flow", user: "staff", method: "GET", path: "/designer/apps/shop/workflows/discount_approval", status: http.StatusForbidden,
			want: []string{denied}, not: []string{"flow.js", "折扣审批"}},
		{name: "anonymous to login", method: "GET", path: "/designer/apps/shop/workflows/discount_approval", status: http.StatusSeeOther,
			location: "/login?next=%2Fdesigner%2Fapps%2Fshop%2Fworkflows%2Fdiscount_approval"},
		{name: "no such flow", user: "admin", method: "GET", path: "/designer/apps/shop/workflows/nope", status: http.StatusNotFound,
			want: []string{"草稿中没有流程 nope"}, not: []string{"flow.js", "/workflows/"}},
		{name: "no such app", user: "admin", method: "GET", path: "/designer/apps/nope/workflows/x", status: http.StatusNotFound},
		{name: "new flow", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(nil),
			status: http.StatusSeeOther, location: "/designer/apps/shop/workflows/big_discount",
			after: func(t *testing.T, f *harness) {
				wfs := draftWorkflows(t, f)
				want := map[string]any{"key": "big_discount", "form": "customer", "name": map[string]any{"zh": "大额折扣", "en": "Big discount"},
					"trigger": map[string]any{"on": []any{"create"}}, "nodes": []any{}}
				if len(wfs) != 2 {
					t.Fatalf("draft has %d workflows, want 2", len(wfs))
				}
				if d := cmp.Diff(want, wfs[1]); d != "" {
					t.Errorf("new workflow (-want +got):\n%s", d)
				}
			}},
		{name: "new flow with its key", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(url.Values{"key": {"vip_check"}}),
			status: http.StatusSeeOther, location: "/designer/apps/shop/workflows/vip_check"},
		{name: "a Chinese name only makes flow", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(url.Values{"name_en": {""}}),
			status: http.StatusSeeOther, location: "/designer/apps/shop/workflows/flow"},
		{name: "a taken key is numbered", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(url.Values{"name_en": {"Discount approval"}}),
			status: http.StatusSeeOther, location: "/designer/apps/shop/workflows/discount_approval_2"},
		{name: "a bad key", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(url.Values{"key": {"Bad Key"}}),
			status: http.StatusUnprocessableEntity, want: []string{"流程标识只能包含小写字母", `value="Bad Key"`}},
		{name: "a key in use", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(url.Values{"key": {"discount_approval"}}),
			status: http.StatusUnprocessableEntity, want: []string{"已有这个标识的流程"}},
		{name: "no name", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(url.Values{"name_zh": {""}, "name_en": {" "}}),
			status: http.StatusUnprocessableEntity, want: []string{"请填写流程名称"}},
		{name: "no such form", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(url.Values{"form": {"nope"}}),
			status: http.StatusUnprocessableEntity, want: []string{"请选择草稿中的一个表单"},
			after: func(t *testing.T, f *harness) {
				if n := len(draftWorkflows(t, f)); n != 1 {
					t.Errorf("a refused flow changed the draft: %d workflows", n)
				}
			}},
		{name: "new flow needs the CSRF token", user: "admin", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(nil), noCSRF: true,
			status: http.StatusForbidden},
		{name: "staff may not add a flow", user: "staff", method: "POST", path: "/designer/apps/shop/workflows", form: newFlow(nil),
			status: http.StatusForbidden, want: []string{denied}},
	})
}

// draftWorkflows reads the workflows of shop's draft (or published
// bundle) through the designer package.
func draftWorkflows(tb testing.TB, h *harness) []any {
	tb.Helper()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	d, err := designer.New(h.svc).Draft(context.Background(), admin, "shop")
	must(tb, "draft", err)
	var b struct {
		Workflows []any `json:"workflows"`
	}
	must(tb, "decode draft", json.Unmarshal(d.Bundle, &b))
	return b.Workflows
}
