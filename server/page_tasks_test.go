package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/workflow"
)

// taskFixture is the harness with the workflow runtime on, the analyst as
// the head of store1 (so the store manager's discounts go to them).
func taskFixture(t *testing.T) (*harness, *workflow.Runtime, *httptest.Server) {
	t.Helper()
	h := newHarness(t, testConfig())
	w := h.withWorkflows(workflow.Options{})
	if _, err := h.org.UpdateUnitHead(context.Background(), engine.AuditActor{ID: engine.SystemActor}, "store1", h.users["analyst"].ID); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h.e)
	t.Cleanup(srv.Close)
	return h, w, srv
}

func (h *harness) submitDiscount(name, level string, discount float64) *engine.RecordView {
	h.tb.Helper()
	data := map[string]any{"name": name, "phone": "13912345678", "level": level, "discount": discount}
	if level == "gold" {
		data["vip_since"] = "2024-01-01"
	}
	r, err := h.svc.CreateRecord(context.Background(), &engine.Principal{User: h.users["manager"], IP: "127.0.0.1"}, "shop", "customer", data)
	if err != nil {
		h.tb.Fatal(err)
	}
	if r.Status != engine.StatusInReview {
		h.tb.Fatalf("%s: status %s, want in_review", name, r.Status)
	}
	return r
}

// openTask returns user's open task on record.
func openTask(t *testing.T, h *harness, w *workflow.Runtime, user, record string) string {
	t.Helper()
	list, err := w.Tasks(context.Background(), &engine.Principal{User: h.users[user]}, workflow.TaskQuery{Status: "open"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range list.Items {
		if tk.Record == record {
			return tk.ID
		}
	}
	t.Fatalf("%s has no open task on %s", user, record)
	return ""
}

func mustLack(tb testing.TB, what, body string, nots ...string) {
	tb.Helper()
	for _, n := range nots {
		if strings.Contains(body, n) {
			tb.Errorf("%s contains %q", what, n)
		}
	}
}

// TestTaskPagesInboxApproveAndBatch: the badge, the inbox tabs and
// filter, a task page with the node's editable field, an edit the form's
// rules refuse shown next to the field, an approval with an edit, batch
// approval, and strangers refused.
func TestTaskPagesInboxApproveAndBatch(t *testing.T) {
	h, w, srv := taskFixture(t)
	ctx := context.Background()
	r1 := h.submitDiscount("王小明", "normal", 0.15)
	r2 := h.submitDiscount("李四", "normal", 0.12)
	r3 := h.submitDiscount("张三", "normal", 0.11)

	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	csrf := b.login("analyst@example.com")
	_, home := b.get("/")
	mustContain(t, "home", home, `<span class="badge" aria-label="待办数">3</span>`)

	_, inbox := b.get("/tasks")
	mustContain(t, "inbox", inbox, "我的待办", `id="tab-open"`, "折扣审批", "店长审批", "客户", "manager", `name="ids"`, "批量同意", "/static/tasks.js")
	if n := strings.Count(inbox, `class="task-link"`); n != 3 {
		t.Errorf("inbox rows: %d, want 3", n)
	}
	_, done := b.get("/tasks?tab=done")
	mustContain(t, "done tab", done, `id="tasks-empty"`)
	_, filtered := b.get("/tasks?form=visit/visit")
	mustContain(t, "filtered inbox", filtered, `id="tasks-empty"`)
	resp, _ := b.get("/tasks?form=nonsense")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad filter: %d, want 400", resp.StatusCode)
	}
	_, filtered = b.get("/tasks?form=shop/customer")
	if n := strings.Count(filtered, `class="task-link"`); n != 3 {
		t.Errorf("filtered rows: %d, want 3", n)
	}

	t1 := openTask(t, h, w, "analyst", r1.ID)
	resp, page := b.get("/tasks/" + t1)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("task page: %d %s", resp.StatusCode, page)
	}
	// the node shows every field read-only but discount, which it lets edit
	mustContain(t, "task page", page, "王**", `name="discount"`, `id="do-approve"`, `id="do-reject"`, `id="transfer-form"`, `id="signer-form"`,
		"没有可退回的节点", `value="admin@example.com"`)
	mustLack(t, "task page", page, `name="name"`)

	// the form's rules are checked again: no more than 20% for a normal customer
	resp, page = b.post("/tasks/"+t1+"/approve", url.Values{"_csrf": {csrf}, "discount": {"0.4"}, "comment": {"太多"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("approve with a refused edit: %d", resp.StatusCode)
	}
	mustContain(t, "refused edit", page, "非金卡客户折扣不能超过20%", `value="0.4"`, "太多")
	if got, _ := h.store.FindRecordByID(ctx, "shop", "customer", r1.ID, false); got.Status != engine.StatusInReview || got.Data["discount"] != 0.15 {
		t.Fatalf("record after a refused approval: %s %v", got.Status, got.Data["discount"])
	}
	// without the CSRF token nothing happens
	resp, _ = b.post("/tasks/"+t1+"/approve", url.Values{"discount": {"0.18"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("approve without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, _ = b.post("/tasks/"+t1+"/approve", url.Values{"_csrf": {csrf}, "discount": {"0.18"}, "comment": {"可以"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tasks?done=approve" {
		t.Fatalf("approve: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	got, _ := h.store.FindRecordByID(ctx, "shop", "customer", r1.ID, false)
	if got.Status != engine.StatusApproved || got.Data["discount"] != 0.18 || got.Data["level"] != "vip" {
		t.Fatalf("record after approval: %s %v", got.Status, got.Data)
	}
	_, page = b.get("/tasks?done=approve")
	mustContain(t, "inbox after approving", page, `<p class="flash" role="status">已同意</p>`, `<span class="badge" aria-label="待办数">2</span>`)
	_, page = b.get("/tasks/" + t1)
	mustContain(t, "closed task", page, `id="task-closed"`, "可以", `id="comment-form"`)
	mustLack(t, "closed task", page, `id="do-approve"`)

	// a stranger neither sees nor decides the task
	sb := newBrowser(t, srv)
	sb.lang = "zh-CN"
	scsrf := sb.login("staff@example.com")
	resp, page = sb.get("/tasks/" + openTask(t, h, w, "analyst", r2.ID))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("stranger's task page: %d, want 404", resp.StatusCode)
	}
	mustLack(t, "stranger's task page", page, "李四")
	resp, _ = sb.post("/tasks/"+openTask(t, h, w, "analyst", r2.ID)+"/approve", url.Values{"_csrf": {scsrf}}, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("stranger approves: %d, want 404", resp.StatusCode)
	}
	resp, page = sb.post("/tasks/approve", url.Values{"_csrf": {scsrf}, "ids": {openTask(t, h, w, "analyst", r2.ID)}}, nil)
	mustContain(t, "stranger's batch", page, "0 / 1", "任务不存在")

	// batch approve the other two
	ids := []string{openTask(t, h, w, "analyst", r2.ID), openTask(t, h, w, "analyst", r3.ID)}
	resp, page = b.post("/tasks/approve", url.Values{"_csrf": {csrf}, "ids": ids, "comment": {"批量"}}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("batch: %d", resp.StatusCode)
	}
	mustContain(t, "batch result", page, "已同意: 2 / 2", `id="tasks-empty"`)
	mustLack(t, "batch result", page, `class="badge"`)
	for _, r := range []*engine.RecordView{r2, r3} {
		if got, _ := h.store.FindRecordByID(ctx, "shop", "customer", r.ID, false); got.Status != engine.StatusApproved {
			t.Errorf("%s after batch: %s", r.ID, got.Status)
		}
	}
	resp, _ = b.post("/tasks/approve", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty batch: %d, want 400", resp.StatusCode)
	}
	_, page = b.get("/tasks?tab=done")
	if n := strings.Count(page, `class="task-link"`); n != 3 {
		t.Errorf("done rows: %d, want 3", n)
	}

	// the submitter's record page shows the timeline with who decided what
	mb := newBrowser(t, srv)
	mb.lang = "zh-CN"
	mb.login("manager@example.com")
	_, page = mb.get("/apps/shop/forms/customer/records/" + r1.ID)
	mustContain(t, "record timeline", page, `id="flow-panel"`, "审批状态", "已同意", "店长审批", "analyst", "可以", "step-approve", "step-approved",
		"自动更新字段", "折扣", `href="/static/tasks.css"`)
	mustLack(t, "record timeline", page, `id="withdraw-form"`)
}

// TestTaskPagesOtherActions: withdraw from the record page, reject from
// the record page's panel, transfer, add a signer, comment, and return to
// an earlier step chosen on the page.
func TestTaskPagesOtherActions(t *testing.T) {
	h, w, srv := taskFixture(t)
	ctx := context.Background()
	mb := newBrowser(t, srv)
	mb.lang = "zh-CN"
	mcsrf := mb.login("manager@example.com")
	ab := newBrowser(t, srv)
	ab.lang = "zh-CN"
	acsrf := ab.login("analyst@example.com")

	// withdraw before anyone acted
	rw := h.submitDiscount("撤回客户", "normal", 0.15)
	_, page := mb.get("/apps/shop/forms/customer/records/" + rw.ID)
	mustContain(t, "record under review", page, `id="withdraw-form"`, "analyst", `class="pending"`)
	_, page = ab.get("/apps/shop/forms/customer/records/" + rw.ID)
	mustContain(t, "approver's record page", page, `class="my-task"`)
	mustLack(t, "approver's record page", page, `id="withdraw-form"`)
	resp, _ := ab.post("/apps/shop/forms/customer/records/"+rw.ID+"/withdraw", url.Values{"_csrf": {acsrf}}, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("withdraw by the approver: %d, want 404", resp.StatusCode)
	}
	resp, _ = mb.post("/apps/shop/forms/customer/records/"+rw.ID+"/withdraw", url.Values{"_csrf": {mcsrf}, "comment": {"填错了"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("withdraw: %d", resp.StatusCode)
	}
	if got, _ := h.store.FindRecordByID(ctx, "shop", "customer", rw.ID, false); got.Status != engine.StatusWithdrawn {
		t.Fatalf("after withdraw: %s", got.Status)
	}
	_, page = mb.get("/apps/shop/forms/customer/records/" + rw.ID)
	mustContain(t, "withdrawn record", page, "step-withdraw", "填错了")

	// reject from the record page's panel
	rr := h.submitDiscount("驳回客户", "normal", 0.15)
	tr := openTask(t, h, w, "analyst", rr.ID)
	resp, _ = ab.post("/tasks/"+tr+"/reject", url.Values{"_csrf": {acsrf}, "back": {"record"}, "comment": {"不行"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), rr.ID+"#flow") {
		t.Fatalf("reject from the record page: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got, _ := h.store.FindRecordByID(ctx, "shop", "customer", rr.ID, false); got.Status != engine.StatusRejected {
		t.Fatalf("after reject: %s", got.Status)
	}
	resp, _ = mb.post("/apps/shop/forms/customer/records/"+rr.ID+"/withdraw", url.Values{"_csrf": {mcsrf}}, nil)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("withdrawing a rejected record: %d, want 404", resp.StatusCode)
	}

	// comment, add a signer, transfer
	rt := h.submitDiscount("转交客户", "normal", 0.15)
	tt := openTask(t, h, w, "analyst", rt.ID)
	resp, page = ab.post("/tasks/"+tt+"/comment", url.Values{"_csrf": {acsrf}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("empty comment: %d", resp.StatusCode)
	}
	mustContain(t, "empty comment", page, "请填写意见")
	resp, _ = ab.post("/tasks/"+tt+"/comment", url.Values{"_csrf": {acsrf}, "comment": {"我看一下"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tasks/"+tt+"?done=comment" {
		t.Fatalf("comment: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page = ab.post("/tasks/"+tt+"/add_signer", url.Values{"_csrf": {acsrf}, "to": {"ghost@example.com"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown signer: %d", resp.StatusCode)
	}
	// a signer or a transfer target must be able to read the record
	// anyway, and never be its submitter, whom the page does not offer
	_, page = ab.get("/tasks/" + tt)
	mustContain(t, "task page offers", page, `value="staff@example.com"`)
	mustLack(t, "task page offers", page, `value="manager@example.com"`)
	resp, page = ab.post("/tasks/"+tt+"/add_signer", url.Values{"_csrf": {acsrf}, "to": {"staff@example.com"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a signer who may read only their own records: %d, want 403", resp.StatusCode)
	}
	mustContain(t, "signer refused", page, "无权查看这条记录")
	resp, page = ab.post("/tasks/"+tt+"/transfer", url.Values{"_csrf": {acsrf}, "to": {"manager@example.com"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("transfer to the submitter: %d, want 403", resp.StatusCode)
	}
	mustContain(t, "transfer refused", page, "不能把审批交给提交人本人")
	if _, err := h.org.CreateUser(ctx, engine.AuditActor{ID: engine.SystemActor}, engine.NewUser{Email: "analyst2@example.com", Name: "analyst2", Unit: "hq",
		Roles: map[string][]string{"shop": {"analyst"}}, Password: testPassword}); err != nil {
		t.Fatal(err)
	}
	resp, _ = ab.post("/tasks/"+tt+"/add_signer", url.Values{"_csrf": {acsrf}, "to": {"analyst2@example.com"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add signer: %d", resp.StatusCode)
	}
	resp, _ = ab.post("/tasks/"+tt+"/transfer", url.Values{"_csrf": {acsrf}, "to": {"admin@example.com"}, "comment": {"你来"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/tasks?done=transfer" {
		t.Fatalf("transfer: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	openTask(t, h, w, "admin", rt.ID)
	_, page = mb.get("/apps/shop/forms/customer/records/" + rt.ID)
	mustContain(t, "record after transfer", page, "step-transfer", "step-add_signer", "我看一下", "你来", "admin")

	// return to a chosen earlier step: above 30% a gold customer also
	// needs HQ, whose role nobody holds here, so the admins get it
	rg := h.submitDiscount("金卡客户", "gold", 0.35)
	ta := openTask(t, h, w, "analyst", rg.ID)
	resp, _ = ab.post("/tasks/"+ta+"/approve", url.Values{"_csrf": {acsrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first approval: %d", resp.StatusCode)
	}
	hb := newBrowser(t, srv)
	hb.lang = "zh-CN"
	hcsrf := hb.login("admin@example.com")
	th := openTask(t, h, w, "admin", rg.ID)
	_, page = hb.get("/tasks/" + th)
	mustContain(t, "HQ task", page, `<option value="manager">店长审批</option>`, `id="do-return"`)
	resp, _ = hb.post("/tasks/"+th+"/return", url.Values{"_csrf": {hcsrf}, "to": {"nowhere"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("return to an unknown step: %d", resp.StatusCode)
	}
	resp, _ = hb.post("/tasks/"+th+"/return", url.Values{"_csrf": {hcsrf}, "to": {"manager"}, "comment": {"请重新核对"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("return: %d", resp.StatusCode)
	}
	openTask(t, h, w, "analyst", rg.ID)
	_, page = mb.get("/apps/shop/forms/customer/records/" + rg.ID)
	mustContain(t, "returned record", page, "step-return", "请重新核对", "step-escalate")
	mustLack(t, "returned record", page, `id="withdraw-form"`) // an approver acted
}

// TestGrantRequestPagesAndAPI: a clerk asks for read access to every
// customer from the page and through the API, refusals come back with
// reasons, the administrator approves in the inbox, the grant plugin job
// runs, and the clerk then reads a customer outside their own scope.
func TestGrantRequestPagesAndAPI(t *testing.T) {
	h, w, srv := taskFixture(t)
	ctx := context.Background()
	theirs := h.createCustomer("manager", "店长的客户")
	if res := h.do("GET", "/api/v1/apps/shop/forms/customer/records/"+theirs.ID, "staff", "", nil); res.Code != http.StatusNotFound {
		t.Fatalf("before the grant: %d", res.Code)
	}
	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	csrf := b.login("staff@example.com")
	_, page := b.get("/access/requests")
	mustContain(t, "request page", page, "申请临时访问权限", `value="shop/customer"`, `name="operations"`, "还没有申请。")
	mustLack(t, "request page", page, `value="access/grant_request"`)
	form := url.Values{"_csrf": {csrf}, "target": {"shop/customer"}, "operations": {"read"}, "scope": {"all"}, "reason": {"月底盘点"}, "days": {"40"}}
	resp, page := b.post("/access/requests", form, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("40 days: %d", resp.StatusCode)
	}
	mustContain(t, "40 days", page, "期限须为 1 到 30 天", "月底盘点")
	form.Set("days", "3")
	form.Set("reason", " ")
	resp, page = b.post("/access/requests", form, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("no reason: %d", resp.StatusCode)
	}
	mustContain(t, "no reason", page, "请说明理由")
	form.Set("reason", "月底盘点")
	resp, _ = b.post("/access/requests", form, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/access/requests?sent=1" {
		t.Fatalf("request: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = b.get("/access/requests?sent=1")
	mustContain(t, "sent", page, "申请已提交", "月底盘点", "审批中", "全部")

	exp := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	if res := h.do("POST", "/api/v1/access/requests", "staff", `{"app":"shop","form":"customer","operations":["read"],"reason":"x","expires_at":"`+exp+`","sneaky":1}`, nil); res.Code != http.StatusBadRequest {
		t.Errorf("unknown key: %d %s", res.Code, res.Body)
	}
	if res := h.do("POST", "/api/v1/access/requests", "staff", `{"app":"shop","form":"customer","operations":["fly"],"reason":"x","expires_at":"`+exp+`"}`, nil); res.Code != http.StatusUnprocessableEntity {
		t.Errorf("unknown operation: %d %s", res.Code, res.Body)
	}
	res := h.do("POST", "/api/v1/access/requests", "staff", `{"app":"shop","form":"customer","operations":["update"],"scope":"unit","reason":"代班","expires_at":"`+exp+`"}`, nil)
	if res.Code != http.StatusCreated || !strings.Contains(res.Body.String(), `"status":"in_review"`) {
		t.Fatalf("API request: %d %s", res.Code, res.Body)
	}
	res = h.do("GET", "/api/v1/access/requests", "staff", "", nil)
	if res.Code != http.StatusOK || strings.Count(res.Body.String(), `"reason"`) != 2 {
		t.Fatalf("API list: %d %s", res.Code, res.Body)
	}
	if res := h.do("GET", "/api/v1/access/requests", "manager", "", nil); !strings.Contains(res.Body.String(), `"items":[]`) {
		t.Errorf("another user's list: %s", res.Body)
	}

	// the administrator decides in the inbox: approve the first, reject the second
	list, err := w.Tasks(ctx, &engine.Principal{User: h.users["admin"]}, workflow.TaskQuery{Status: "open", App: workflow.AccessApp})
	if err != nil || len(list.Items) != 2 {
		t.Fatalf("admin's access tasks: %+v %v", list, err)
	}
	ab := newBrowser(t, srv)
	ab.lang = "zh-CN"
	acsrf := ab.login("admin@example.com")
	for _, tk := range list.Items {
		_, page := ab.get("/tasks/" + tk.ID)
		mustContain(t, "access task page", page, "临时访问审批")
		action := "reject"
		if strings.Contains(page, "月底盘点") {
			action = "approve"
		}
		if resp, _ := ab.post("/tasks/"+tk.ID+"/"+action, url.Values{"_csrf": {acsrf}, "comment": {"好"}}, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", action, resp.StatusCode)
		}
	}
	// the worker's part: run the due workflow jobs (the grant plugin)
	jobs, err := h.store.FindOutbox(ctx, time.Now(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Type == workflow.JobWorkflowPlugin {
			if err := w.HandleJob(ctx, j); err != nil {
				t.Fatal(err)
			}
		}
	}
	_, page = b.get("/access/requests")
	mustContain(t, "after the decisions", page, "已同意", "已驳回")
	if res := h.do("GET", "/api/v1/apps/shop/forms/customer/records/"+theirs.ID, "staff", "", nil); res.Code != http.StatusOK {
		t.Errorf("with the grant: %d %s", res.Code, res.Body)
	}
}

// TestPendingGrantRequestsShown: everyone finds "Access requests" and
// "Two-step verification" in the menu; a request waiting for approval
// shows on the administrators' grants page and on its approver's request
// page, each with the link that acts on it — the approver's own task, or
// the request's page for an administrator who does not hold one — and
// leaves both once it is decided.
func TestPendingGrantRequestsShown(t *testing.T) {
	h, w, srv := taskFixture(t)
	ctx := context.Background()
	sb := newBrowser(t, srv)
	sb.lang = "en"
	scsrf := sb.login("staff@example.com")
	_, home := sb.get("/")
	mustContain(t, "menu", home, `href="/access/requests" id="nav-access">Access requests</a>`, `href="/account" id="nav-account">My account</a>`)
	zb := newBrowser(t, srv)
	zb.lang = "zh-CN"
	zb.login("analyst@example.com")
	_, home = zb.get("/")
	mustContain(t, "menu (zh)", home, ">权限申请</a>", ">我的账号</a>")

	ask := func(reason string) {
		t.Helper()
		form := url.Values{"_csrf": {scsrf}, "target": {"shop/customer"}, "operations": {"read"}, "scope": {"all"}, "reason": {reason}, "days": {"2"}}
		if resp, page := sb.post("/access/requests", form, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("request %q: %d %s", reason, resp.StatusCode, page)
		}
	}
	// nobody holds access_approver yet: the request goes to the administrators
	ask("stocktaking")
	ab := newBrowser(t, srv)
	ab.lang = "en"
	acsrf := ab.login("admin@example.com")
	adminTask := openTask(t, h, w, "admin", pendingRequestID(t, h, w, "admin"))
	_, page := ab.get("/admin/grants")
	mustContain(t, "admin grants, escalated", page, `id="grants-pending"`, "stocktaking", "staff", `href="/tasks/`+adminTask+`">Decide</a>`)
	mustLack(t, "admin grants, escalated", page, "No pending requests")
	// the requester has nothing to decide
	_, page = sb.get("/access/requests")
	mustLack(t, "requester's page", page, `id="grant-pending"`)

	// the manager becomes the access approver: the next request waits for them
	if _, err := h.org.SetRoles(ctx, engine.AuditActor{ID: engine.SystemActor}, h.users["manager"].ID,
		map[string][]string{"shop": {"store_manager"}, workflow.AccessApp: {workflow.AccessApproverRole}}); err != nil {
		t.Fatal(err)
	}
	ask("audit visit")
	reqID := pendingRequestID(t, h, w, "manager")
	mgrTask := openTask(t, h, w, "manager", reqID)
	mb := newBrowser(t, srv)
	mb.lang = "en"
	mcsrf := mb.login("manager@example.com")
	_, page = mb.get("/access/requests")
	mustContain(t, "approver's page", page, `id="grant-pending"`, "audit visit", `href="/tasks/`+mgrTask+`">Decide</a>`)
	mustLack(t, "approver's page", page, "stocktaking") // not theirs to decide
	_, page = ab.get("/admin/grants")
	mustContain(t, "admin grants, both", page, "stocktaking", "audit visit",
		`href="/apps/access/forms/grant_request/records/`+reqID+`">View</a>`, "manager")

	// decided: it leaves the pending lists
	if resp, _ := mb.post("/tasks/"+mgrTask+"/reject", url.Values{"_csrf": {mcsrf}, "comment": {"no"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject: %d", resp.StatusCode)
	}
	if resp, _ := ab.post("/tasks/"+adminTask+"/reject", url.Values{"_csrf": {acsrf}, "comment": {"no"}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reject: %d", resp.StatusCode)
	}
	_, page = ab.get("/admin/grants")
	mustContain(t, "admin grants, decided", page, "No pending requests")
	mustLack(t, "admin grants, decided", page, "audit visit", "stocktaking")
	_, page = mb.get("/access/requests")
	mustLack(t, "approver's page, decided", page, `id="grant-pending"`)
}

// pendingRequestID returns the newest request waiting for user.
func pendingRequestID(t *testing.T, h *harness, w *workflow.Runtime, user string) string {
	t.Helper()
	list, err := w.PendingGrantRequests(context.Background(), &engine.Principal{User: h.users[user]})
	if err != nil || len(list) == 0 {
		t.Fatalf("%s's pending requests: %v %v", user, list, err)
	}
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].Task != "" {
			return list[i].ID
		}
	}
	t.Fatalf("%s holds no pending request", user)
	return ""
}
