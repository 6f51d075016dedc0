package server

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"formwork/engine"
	"formwork/engine/workflow"
)

// grantPrint upgrades the shop app to one where the given roles also hold
// the print operation on customers.
func grantPrint(tb testing.TB, h *harness, roles ...string) {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "shop.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		tb.Fatal(err)
	}
	for _, r := range b["roles"].([]any) {
		role := r.(map[string]any)
		if !slices.Contains(roles, role["key"].(string)) {
			continue
		}
		perm := role["permissions"].(map[string]any)["customer"].(map[string]any)
		perm["operations"] = append(perm["operations"].([]any), "print")
	}
	delete(b, "sample_data")
	out, err := json.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	if _, err := h.svc.ImportApp(context.Background(), admin, out, engine.ImportOptions{}); err != nil {
		tb.Fatalf("upgrade shop with print: %v", err)
	}
}

// printFixture is the harness with workflows on and print granted to
// staff, and a customer of staff's whose discount the store manager set
// (hidden from staff) and the head of store1 approved: it has a masked
// phone, a hidden field, a subform and an approval history.
func printFixture(tb testing.TB) (*harness, *engine.RecordView) {
	tb.Helper()
	ctx := context.Background()
	h := newHarness(tb, testConfig())
	w := h.withWorkflows(workflow.Options{})
	if _, err := h.org.UpdateUnitHead(ctx, engine.AuditActor{ID: engine.SystemActor}, "store1", h.users["analyst"].ID); err != nil {
		tb.Fatal(err)
	}
	grantPrint(tb, h, "staff")
	as := func(u string) *engine.Principal { return &engine.Principal{User: h.users[u], IP: "127.0.0.1"} }
	r, err := h.svc.CreateRecord(ctx, as("staff"), "shop", "customer", map[string]any{"name": "陈美玲", "phone": "13912345678", "level": "normal",
		"contacts": []any{map[string]any{"who": "陈先生", "tel": "13800001111"}}})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := h.svc.UpdateRecord(ctx, as("manager"), "shop", "customer", r.ID, r.Version, map[string]any{"discount": 0.15, "budget": 8000.0}); err != nil {
		tb.Fatal(err)
	}
	list, err := w.Tasks(ctx, as("analyst"), workflow.TaskQuery{Status: "open"})
	if err != nil || len(list.Items) != 1 {
		tb.Fatalf("the analyst's tasks: %v %v", list, err)
	}
	if _, err := w.Act(ctx, as("analyst"), list.Items[0].ID, workflow.ActionApprove, workflow.TaskInput{Comment: "同意八五折"}); err != nil {
		tb.Fatal(err)
	}
	return h, r
}

// TestPrintPage: the print page shows the record as its viewer may see
// it, under their watermark, and only to those with the print operation
// on a record in their scope; prints and refusals are audited.
func TestPrintPage(t *testing.T) {
	zh := map[string]string{"Accept-Language": "zh-CN"}
	for _, sc := range []struct {
		name     string
		user     string
		record   func(h *harness, r *engine.RecordView) string
		status   int
		want     []string
		forbid   []string
		audit    string // the audit result of the print, "" for none
		location string
	}{
		{name: "staff prints their customer", user: "staff", status: http.StatusOK,
			want: []string{`<html lang="zh">`, "staff · staff@example.com · ", `class="wm"`, "/static/print.css", "139****5678", "陈美玲",
				"<h2>基本信息</h2>", "<h2>商务</h2>", `class="p-grid cols-2"`, "<th scope=\"col\">电话</th>", "陈先生", "8000",
				"审批记录", "同意八五折", "店长审批", "已同意", "打印人", "打印本页", "一号店"},
			forbid: []string{"13912345678", `data-field="discount"`, "0.15", "折扣</dt>", "折扣</th>", "in_review", ">approved<", "tell_rep", "route"}, audit: engine.ResultOK},
		{name: "a field the form's rules hide for the record is left out", user: "staff", status: http.StatusOK,
			record: func(h *harness, _ *engine.RecordView) string { return h.createCustomer("staff", "普通客户").ID },
			want:   []string{"普通客户", `data-field="level"`, "普通"}, forbid: []string{`data-field="vip_since"`, "入会日期"}, audit: engine.ResultOK},
		{name: "the analyst may read but not print", user: "analyst", status: http.StatusForbidden,
			want: []string{"无权打印记录"}, forbid: []string{"陈美玲", "139****5678"}, audit: engine.ResultDenied},
		{name: "out of staff's scope is not found", user: "staff", status: http.StatusNotFound,
			record: func(h *harness, _ *engine.RecordView) string {
				return h.createCustomer("manager", "别人的客户").ID
			},
			forbid: []string{"别人的客户"}, audit: engine.ResultDenied},
		{name: "a user with no role is not found", user: "nobody", status: http.StatusNotFound, forbid: []string{"陈美玲"}, audit: engine.ResultDenied},
		{name: "anonymous goes to the login page", status: http.StatusSeeOther, location: "/login?next="},
	} {
		t.Run(sc.name, func(t *testing.T) {
			h, r := printFixture(t)
			id := r.ID
			if sc.record != nil {
				id = sc.record(h, r)
			}
			rec := h.do("GET", "/apps/shop/forms/customer/records/"+id+"/print", sc.user, "", zh)
			body := rec.Body.String()
			if rec.Code != sc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, sc.status, body)
			}
			if sc.location != "" && !strings.HasPrefix(rec.Header().Get("Location"), sc.location) {
				t.Errorf("location %q, want %s…", rec.Header().Get("Location"), sc.location)
			}
			mustContain(t, "print page", body, sc.want...)
			mustLack(t, "print page", body, sc.forbid...)
			if os.Getenv("DUMP") != "" {
				t.Log(body)
			}
			if sc.status == http.StatusOK {
				if n := strings.Count(body, "<span>staff · staff@example.com · "); n < 20 {
					t.Errorf("the watermark is repeated %d times, want it across the page", n)
				}
			}
			page, err := h.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: "print", Object: id, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ev := range page.Items {
				got = append(got, ev.Result)
			}
			if sc.audit == "" && len(got) > 0 || sc.audit != "" && !slices.Equal(got, []string{sc.audit}) {
				t.Errorf("print audit events %v, want one %q", got, sc.audit)
			}
		})
	}
}

// TestRecordPagePrintLink: the record page links to the print page for a
// user with the print operation only.
func TestRecordPagePrintLink(t *testing.T) {
	h, r := printFixture(t)
	link := `href="/apps/shop/forms/customer/records/` + r.ID + `/print"`
	body := h.do("GET", "/apps/shop/forms/customer/records/"+r.ID, "staff", "", map[string]string{"Accept-Language": "zh-CN"}).Body.String()
	mustContain(t, "staff's record page", body, link, ">打印</a>")
	body = h.do("GET", "/apps/shop/forms/customer/records/"+r.ID, "analyst", "", nil).Body.String()
	mustLack(t, "the analyst's record page", body, link)
}

// TestTimelineHidesFieldsTheViewerMayNotSee: the store manager changed
// the discount, which staff may not see: staff's record page names it
// nowhere in the history or the timeline (a change to it says only that
// fields they may not see changed), nor does the timeline API; the store
// manager's page and API still name it.
func TestTimelineHidesFieldsTheViewerMayNotSee(t *testing.T) {
	h, r := printFixture(t)
	zh := map[string]string{"Accept-Language": "zh-CN"}
	page := h.do("GET", "/apps/shop/forms/customer/records/"+r.ID, "staff", "", zh).Body.String()
	// the workflow is called 折扣审批 (discount approval): its name is not the field's
	scrubbed := strings.NewReplacer("折扣审批", "", "discount_approval", "").Replace(page)
	mustLack(t, "staff's record page", scrubbed, "折扣", "discount", "0.15")
	mustContain(t, "staff's record page", page, "还修改了你无权查看的字段", `id="flow-panel"`, "等级")
	mgr := h.do("GET", "/apps/shop/forms/customer/records/"+r.ID, "manager", "", zh).Body.String()
	mustContain(t, "the manager's record page", strings.ReplaceAll(mgr, "折扣审批", ""), "折扣")

	timeline := func(user string) []workflow.TimelineEntry {
		t.Helper()
		rec := h.do("GET", "/api/v1/apps/shop/forms/customer/records/"+r.ID+"/timeline", user, "", nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s timeline: %d %s", user, rec.Code, rec.Body)
		}
		var out struct {
			Items []workflow.TimelineEntry `json:"items"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Items) == 0 {
			var list []workflow.TimelineEntry
			if err2 := json.Unmarshal(rec.Body.Bytes(), &list); err2 != nil {
				t.Fatalf("%s timeline: %v / %v: %s", user, err, err2, rec.Body)
			}
			return list
		}
		return out.Items
	}
	withheld := 0
	for _, e := range timeline("staff") {
		if slices.Contains(e.Fields, "discount") || regexp.MustCompile(`discount"?[\],]`).MatchString(string(engine.MustJSON(e.Detail))) {
			t.Errorf("staff's timeline names the discount: %+v", e)
		}
		if e.Withheld {
			withheld++
		}
	}
	if withheld == 0 {
		t.Error("staff's timeline does not say that fields they may not see changed")
	}
	named := false
	for _, e := range timeline("manager") {
		named = named || slices.Contains(e.Fields, "discount")
		if e.Withheld {
			t.Errorf("the manager sees every field, yet an entry is withheld: %+v", e)
		}
	}
	if !named {
		t.Error("the manager's timeline does not name the discount they changed")
	}
}
