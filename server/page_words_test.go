package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// mustLackAll fails for each unwanted text the page shows.
func mustLackAll(tb testing.TB, what, body string, unwanted ...string) {
	tb.Helper()
	for _, u := range unwanted {
		if strings.Contains(body, u) {
			tb.Errorf("%s shows %q", what, u)
		}
	}
}

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
			mustLackAll(t, "bad phone", page, raw...)

			resp, _ = b.post("/apps/visit/forms/visit/new", url.Values{"_csrf": {csrf}, "guest": {"王先生"}, "phone": {"13800138000"}}, nil)
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("good visit: %d", resp.StatusCode)
			}
			_, rec := b.get(resp.Header.Get("Location"))
			mustContain(t, "record page", rec, "<dd>"+lang.status+"</dd>")
			mustLackAll(t, "record page", rec, "<dd>active</dd>")
			_, list := b.get("/apps/visit/forms/visit")
			mustContain(t, "list", list, "<td>"+lang.status+"</td>")
			mustLackAll(t, "list", list, "<td>active</td>")

			a := newBrowser(t, srv)
			a.lang = lang.accept
			a.login("admin@example.com")
			_, users := a.get("/admin/users")
			mustContain(t, "users page", users, lang.role, `id="nav-admin">`+lang.admin+`</a>`, `<span class="who" title="admin@example.com">`)
			mustLackAll(t, "users page", users, "shop: staff", "store_manager")
		})
	}

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
		mustLackAll(t, "problem", rec.Body.String(), "^1[3-9]", "不符合格式")
	})
}
