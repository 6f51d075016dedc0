package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"formwork/engine"
)

// TestPagesInWordsStaffUnderstand: as a new user would try them, in
// Chinese and English: a bad mobile number reads as the plain sentence
// on the page and in the API (the keyword only in the code), the users
// page names roles, records and lists say 已提交 rather than active, the
// top bar does not read "Admin Admin", and a radio not chosen says so.
func TestPagesInWordsStaffUnderstand(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	raw := []string{"^1[3-9]", "不符合格式", "pattern", "got ", "want "}

	for _, lang := range []struct{ accept, phone, status, admin, role, choose string }{
		{"zh-CN,zh;q=0.9", "手机号格式不正确，应为11位数字", "已提交", "系统管理", "门店客户：店员", "请选择一项"},
		{"en", "Not a valid mobile number: 11 digits starting with 1", "Submitted", "Administration", "Store customers: Store staff", "Choose one"},
	} {
		t.Run(lang.accept, func(t *testing.T) {
			b := newBrowser(t, srv)
			b.lang = lang.accept
			csrf := b.login("staff@example.com")
			_, form := b.get("/apps/visit/forms/visit/new")
			mustContain(t, "new visit", form, `id="f-purpose-choose">`+lang.choose+`<`)

			resp, page := b.post("/apps/visit/forms/visit/new", url.Values{"_csrf": {csrf}, "guest": {"王先生"}, "phone": {"123"}}, nil)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("bad phone: %d", resp.StatusCode)
			}
			mustContain(t, "bad phone", page, `id="f-phone-err" aria-live="polite">`+lang.phone+`<`)
			mustLack(t, "bad phone", page, raw...)

			resp, _ = b.post("/apps/visit/forms/visit/new", url.Values{"_csrf": {csrf}, "guest": {"王先生"}, "phone": {"13800138000"}}, nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("good visit: %d", resp.StatusCode)
			}
			_, rec := b.get(resp.Header.Get("Location"))
			mustContain(t, "record page", rec, "<dd>"+lang.status+"</dd>")
			mustLack(t, "record page", rec, "<dd>active</dd>")
			_, list := b.get("/apps/visit/forms/visit")
			mustContain(t, "list", list, "<td>"+lang.status+"</td>")
			mustLack(t, "list", list, "<td>active</td>")

			a := newBrowser(t, srv)
			a.lang = lang.accept
			a.login("admin@example.com")
			_, users := a.get("/admin/users")
			mustContain(t, "users page", users, lang.role, `id="nav-admin">`+lang.admin+`</a>`, `<span class="who" title="admin@example.com">`)
			mustLack(t, "users page", users, "shop: staff", "store_manager")
		})
	}

	t.Run("live rules name a subform cell's row and column", func(t *testing.T) {
		rec := h.do("POST", "/api/v1/apps/shop/forms/customer/preview", "manager",
			`{"data":{"name":"王五","phone":"13912345678","contacts":[{"who":"甲","tel":"13800138000"},{"who":"乙","tel":"99"}]}}`,
			map[string]string{"Accept-Language": "zh-CN"})
		mustContain(t, "preview", rec.Body.String(), `"field":"contacts"`, `"message":"第 2 行“电话”：手机号格式不正确，应为11位数字"`)
	})
	t.Run("API: the code keeps the keyword, the message is plain", func(t *testing.T) {
		rec := h.do("POST", "/api/v1/apps/visit/forms/visit/records", "staff", `{"data":{"guest":"王先生","phone":"123"}}`,
			map[string]string{"Accept-Language": "zh-CN"})
		if rec.Code != http.StatusUnprocessableEntity {
			t.Fatalf("bad phone: %d %s", rec.Code, rec.Body)
		}
		var prob struct {
			Errors []struct {
				Field, Code string
				Message     json.RawMessage
			} `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &prob); err != nil {
			t.Fatal(err)
		}
		if len(prob.Errors) != 1 || prob.Errors[0].Field != "/phone" || prob.Errors[0].Code != "pattern" ||
			!strings.Contains(string(prob.Errors[0].Message), "手机号格式不正确，应为11位数字") {
			t.Errorf("problem: %s", rec.Body)
		}
		mustLack(t, "problem", rec.Body.String(), "^1[3-9]", "不符合格式")
	})
}

// TestRelationsReadAsNames: the record history and the task page show a
// related record by its display value as the viewer may see it, and a
// related record the viewer may not read as such — never its id; a
// member field shows the person's name.
func TestRelationsReadAsNames(t *testing.T) {
	h, w, srv := taskFixture(t)
	ctx := context.Background()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	mgr := &engine.Principal{User: h.users["manager"], IP: "127.0.0.1"}
	var companies []*engine.RecordView
	for _, n := range []string{"星光科技", "海川贸易"} {
		c, err := h.svc.CreateRecord(ctx, admin, "shop", "company", map[string]any{"name": n})
		if err != nil {
			t.Fatal(err)
		}
		companies = append(companies, c)
	}
	r, err := h.svc.CreateRecord(ctx, mgr, "shop", "customer", map[string]any{"name": "王五", "phone": "13912345678", "level": "normal",
		"company": companies[0].ID, "rep": h.users["staff"].ID})
	if err != nil {
		t.Fatal(err)
	}
	data := engine.CloneValue(r.Data).(map[string]any)
	data["company"], data["discount"] = companies[1].ID, 0.15
	if r, err = h.svc.UpdateRecord(ctx, mgr, "shop", "customer", r.ID, r.Version, data); err != nil {
		t.Fatal(err)
	}

	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	b.login("manager@example.com")
	_, page := b.get("/apps/shop/forms/customer/records/" + r.ID)
	mustContain(t, "record page", page, "星光科技", "海川贸易", "staff")
	mustLack(t, "record page", page, ">"+companies[0].ID+"<", ">"+companies[1].ID+"<", ">"+h.users["staff"].ID+"<")

	// the analyst decides the discount and may not read companies
	task := openTask(t, h, w, "analyst", r.ID)
	a := newBrowser(t, srv)
	a.lang = "zh-CN"
	a.login("analyst@example.com")
	_, page = a.get("/tasks/" + task)
	mustContain(t, "task page", page, "（无权查看的关联记录）", "staff")
	mustLack(t, "task page", page, companies[0].ID, companies[1].ID, "海川贸易", h.users["staff"].ID)
	// the API gives the same labels with the task
	d, err := w.Task(ctx, &engine.Principal{User: h.users["analyst"], IP: "127.0.0.1"}, task)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Labels["company"].Zh; got != "（无权查看的关联记录）" {
		t.Errorf("task labels: company reads %q", got)
	}
}

// TestTaskInboxShowsWhatIsApproved: each inbox line names the record and
// its amount as the step shows them (a masked name stays masked), so
// "approve selected" approves something the approver can see; the
// inbox's reading of records is on record.
func TestTaskInboxShowsWhatIsApproved(t *testing.T) {
	h, w, srv := taskFixture(t)
	ctx := context.Background()
	mgr := &engine.Principal{User: h.users["manager"], IP: "127.0.0.1"}
	r, err := h.svc.CreateRecord(ctx, mgr, "shop", "customer", map[string]any{"name": "欧阳娜娜", "phone": "13912345678", "level": "normal",
		"discount": 0.15, "budget": 128000.5})
	if err != nil {
		t.Fatal(err)
	}
	task := openTask(t, h, w, "analyst", r.ID)
	b := newBrowser(t, srv)
	b.lang = "zh-CN"
	b.login("analyst@example.com")
	_, detail := b.get("/tasks/" + task)
	_, inbox := b.get("/tasks")
	// the step shows the sensitive name masked: so do the task page and the inbox line
	shown := "欧***"
	mustContain(t, "task page", detail, shown)
	amount := "128000.5" // as every page writes a money value
	mustContain(t, "inbox", inbox, `<td class="task-title" data-label="记录">`+shown+`</td>`, `<td class="num task-amount" data-label="金额">`+amount+`</td>`, `id="select-all"`)
	mustLack(t, "inbox", inbox, "欧阳娜娜")
	mustLack(t, "task page", detail, "欧阳娜娜")
	page, err := h.store.FindAuditEvents(ctx, engine.AuditQuery{Actor: h.users["analyst"].ID, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range page.Items {
		found = found || ev.Action == "list" && ev.Form == "customer" && strings.HasPrefix(ev.Reason, "task inbox")
	}
	if !found {
		t.Error("the inbox's reading of the record is not audited")
	}
}
