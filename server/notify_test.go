package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"formwork/engine"
	"formwork/engine/workflow"
)

// countOf reads the bell's counts as user.
func countOf(t *testing.T, h *harness, user string) (unread, tasks int) {
	t.Helper()
	rec := h.do("GET", "/api/v1/notifications/count", user, "", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("count as %s: %d %s", user, rec.Code, rec.Body)
	}
	var out struct{ Unread, Tasks int }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Unread, out.Tasks
}

// notificationsOf lists user's notifications through the API.
func notificationsOf(t *testing.T, h *harness, user string) []workflow.Notification {
	t.Helper()
	rec := h.do("GET", "/api/v1/notifications", user, "", nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("notifications of %s: %d %s", user, rec.Code, rec.Body)
	}
	var out struct{ Items []workflow.Notification }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Items
}

// TestNotificationsAPI: a task arriving raises the approver's count (and
// nobody else's); one notification is marked read by id by its owner
// only; a stranger, an unknown id and no login are refused.
func TestNotificationsAPI(t *testing.T) {
	h, _, _ := taskFixture(t)
	if u, tk := countOf(t, h, "analyst"); u != 0 || tk != 0 {
		t.Fatalf("counts before any task: %d unread, %d tasks", u, tk)
	}
	h.submitDiscount("通知客户", "normal", 0.15)
	if u, tk := countOf(t, h, "analyst"); u != 1 || tk != 1 {
		t.Errorf("the approver's counts after a task arrived: %d unread, %d tasks; want 1, 1", u, tk)
	}
	if u, tk := countOf(t, h, "staff"); u != 0 || tk != 0 {
		t.Errorf("staff's counts: %d, %d; want none", u, tk)
	}
	ns := notificationsOf(t, h, "analyst")
	if len(ns) != 1 || ns[0].Kind != "task" || ns[0].Title.Zh != "待审批：折扣审批" || ns[0].Read {
		t.Fatalf("the approver's notifications: %+v", ns)
	}
	id := ns[0].ID
	for _, sc := range []struct {
		name, user, id string
		status         int
	}{
		{"anonymous", "", id, http.StatusUnauthorized},
		{"someone else's", "staff", id, http.StatusNotFound},
		{"unknown id", "analyst", "no-such-notification", http.StatusNotFound},
		{"the owner's", "analyst", id, http.StatusNoContent},
		{"again: nothing changes", "analyst", id, http.StatusNoContent},
	} {
		t.Run(sc.name, func(t *testing.T) {
			rec := h.do("POST", "/api/v1/notifications/"+url.PathEscape(sc.id)+"/read", sc.user, "", map[string]string{"Accept-Language": "zh"})
			if rec.Code != sc.status {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, sc.status)
			}
			if sc.status >= 400 && !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
				t.Errorf("a refusal is not problem+json: %s", rec.Header().Get("Content-Type"))
			}
			if sc.status == http.StatusNotFound && !strings.Contains(rec.Body.String(), "通知不存在") {
				t.Errorf("the refusal does not say what is missing: %s", rec.Body)
			}
		})
	}
	if u, tk := countOf(t, h, "analyst"); u != 0 || tk != 1 {
		t.Errorf("after reading it: %d unread, %d tasks; want 0, 1 (the task stays open)", u, tk)
	}
	if rec := h.do("GET", "/api/v1/notifications/count", "", "", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("the count without a login: %d", rec.Code)
	}
	// every page polls the count: a server without workflows answers zeros
	plain := newHarness(t, testConfig())
	if rec := plain.do("GET", "/api/v1/notifications/count", "analyst", "", nil); rec.Code != http.StatusOK || rec.Body.String() != `{"tasks":0,"unread":0}`+"\n" {
		t.Errorf("the count without workflows: %d %s", rec.Code, rec.Body)
	}
}

// TestNotificationsPage: the bell shows the unread count on every page;
// /notifications lists the notifications with what they are about;
// opening one marks it read and leads to its task; one and then all are
// marked read; a stranger cannot open someone else's.
func TestNotificationsPage(t *testing.T) {
	h, w, srv := taskFixture(t)
	first := h.submitDiscount("甲客户", "normal", 0.15)
	h.submitDiscount("乙客户", "normal", 0.2)
	h.submitDiscount("丙客户", "gold", 0.25)
	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	b.login("analyst@example.com")
	_, home := b.get("/")
	mustContain(t, "the home page's bell", home, `id="nav-bell"`, `data-count-url="/api/v1/notifications/count"`, `<span class="badge bell-count" data-unread aria-label="未读通知">3</span>`)
	resp, page := b.get("/notifications")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/notifications: %d", resp.StatusCode)
	}
	mustContain(t, "/notifications", page, "待审批：折扣审批", "门店客户 · 客户", `class="notify-item unread"`, `id="notify-read-all"`, ">待审批<")
	ns := notificationsOf(t, h, "analyst")
	if len(ns) != 3 {
		t.Fatalf("%d notifications, want 3", len(ns))
	}
	var onFirst string
	for _, n := range ns {
		if n.Record == first.ID {
			onFirst = n.ID
		}
	}
	resp, _ = b.get("/notifications/" + onFirst + "/open")
	if want := "/tasks/" + openTask(t, h, w, "analyst", first.ID); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Errorf("opening the notification: %d → %q, want 303 → %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if u, _ := countOf(t, h, "analyst"); u != 2 {
		t.Errorf("%d unread after opening one, want 2", u)
	}
	_, page = b.get("/notifications")
	csrf := csrfOf(t, page)
	var other string
	for _, n := range notificationsOf(t, h, "analyst") {
		if !n.Read {
			other = n.ID
			break
		}
	}
	resp, _ = b.post("/notifications/"+other+"/read", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/notifications?read=1" {
		t.Errorf("mark one read: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if u, _ := countOf(t, h, "analyst"); u != 1 {
		t.Errorf("%d unread after marking one, want 1", u)
	}
	resp, _ = b.post("/notifications/read", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("mark all read: %d", resp.StatusCode)
	}
	_, page = b.get("/notifications?read=all")
	mustContain(t, "/notifications after all read", page, "已全部标为已读")
	mustLack(t, "/notifications after all read", page, `class="notify-item unread"`, `id="notify-read-all"`, `data-unread aria-label="未读通知">`)
	if u, _ := countOf(t, h, "analyst"); u != 0 {
		t.Errorf("%d unread after marking all, want 0", u)
	}
	if resp, _ := b.post("/notifications/read", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("mark all read without the CSRF token: %d, want 403", resp.StatusCode)
	}

	stranger := newBrowser(t, srv)
	stranger.lang = "zh-CN"
	stranger.login("staff@example.com")
	if resp, body := stranger.get("/notifications/" + onFirst + "/open"); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "通知不存在") {
		t.Errorf("a stranger opens someone else's notification: %d", resp.StatusCode)
	}
	if _, body := stranger.get("/notifications"); !strings.Contains(body, "暂无通知") {
		t.Error("a stranger's notifications page is not empty")
	}
}

// TestCCOpensTheRecord: the store manager names a user with no role in
// the app as the customer's rep; once approved, the CC step copies the rep
// in; the rep's notification leads to the record page, which shows the
// record (the name and phone masked) with nothing to change; the API reads
// it too but refuses a change; another record stays out of reach.
func TestCCOpensTheRecord(t *testing.T) {
	h, w, srv := taskFixture(t)
	ctx := context.Background()
	manager := &engine.Principal{User: h.users["manager"], IP: "127.0.0.1"}
	r, err := h.svc.CreateRecord(ctx, manager, "shop", "customer", map[string]any{"name": "抄送客户", "phone": "13912345678", "level": "normal",
		"discount": 0.15, "rep": h.users["nobody"].ID})
	if err != nil {
		t.Fatal(err)
	}
	other := h.createCustomer("staff", "别的客户")
	path := "/api/v1/apps/shop/forms/customer/records/" + r.ID
	if rec := h.do("GET", path, "nobody", "", nil); rec.Code != http.StatusNotFound {
		t.Fatalf("the rep reads the record before the CC: %d", rec.Code)
	}
	if _, err := w.Act(ctx, &engine.Principal{User: h.users["analyst"]}, openTask(t, h, w, "analyst", r.ID), workflow.ActionApprove, workflow.TaskInput{}); err != nil {
		t.Fatal(err)
	}
	ns := notificationsOf(t, h, "nobody")
	if len(ns) != 1 || ns[0].Kind != "cc" {
		t.Fatalf("the rep's notifications: %+v", ns)
	}

	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	b.login("nobody@example.com")
	resp, _ := b.get("/notifications/" + ns[0].ID + "/open")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || loc != "/apps/shop/forms/customer/records/"+r.ID {
		t.Fatalf("opening the CC: %d → %q", resp.StatusCode, loc)
	}
	resp, page := b.get(loc)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the record page for the CC'd rep: %d", resp.StatusCode)
	}
	mustContain(t, "the CC'd rep's record page", page, "139****5678", "抄***", `id="flow-panel"`, "店长审批")
	mustLack(t, "the CC'd rep's record page", page, "13912345678", "抄送客户", r.ID+"/edit", r.ID+"/delete")
	if resp, _ := b.get(loc + "/edit"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the rep opens the edit page: %d", resp.StatusCode)
	}

	rec := h.do("GET", path, "nobody", "", nil)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "13912345678") {
		t.Errorf("the rep reads the record through the API: %d %s", rec.Code, rec.Body)
	}
	var got engine.RecordView
	_ = json.Unmarshal(rec.Body.Bytes(), &got)
	patch := h.do("PATCH", path, "nobody", `{"data": {"level": "vip"}}`, map[string]string{"If-Match": `"` + strconv.FormatInt(got.Version, 10) + `"`})
	if patch.Code != http.StatusNotFound && patch.Code != http.StatusForbidden {
		t.Errorf("the rep changes the record: %d %s", patch.Code, patch.Body)
	}
	if del := h.do("DELETE", path, "nobody", "", map[string]string{"If-Match": `"` + strconv.FormatInt(got.Version, 10) + `"`}); del.Code != http.StatusNotFound && del.Code != http.StatusForbidden {
		t.Errorf("the rep deletes the record: %d", del.Code)
	}
	if after, err := h.store.FindRecordByID(ctx, "shop", "customer", r.ID, false); err != nil || after.Version != got.Version {
		t.Errorf("the record changed: %v %v", after, err)
	}
	if rec := h.do("GET", "/api/v1/apps/shop/forms/customer/records/"+other.ID, "nobody", "", nil); rec.Code != http.StatusNotFound {
		t.Errorf("the rep reads a record they were not CC'd on: %d", rec.Code)
	}
	if resp, _ := b.get("/apps/shop/forms/customer/records/" + other.ID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the rep opens the page of a record they were not CC'd on: %d", resp.StatusCode)
	}
}
