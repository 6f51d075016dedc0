package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/workflow"
	"formwork/plugins/email"
)

// mailFixture is the harness with the email plugin listening as
// cmd/formwork wires it (stored settings first, no environment), the
// analyst heading store1, and a mail sink that wants a login.
func mailFixture(t *testing.T) (*harness, *workflow.Runtime, *mailSink) {
	t.Helper()
	h := newHarness(t, testConfig())
	reg := engine.NewPluginRegistry()
	email.Register(reg, email.Options{Settings: h.svc.MailConfig, Store: h.store})
	w := h.withWorkflows(workflow.Options{Plugins: reg, Channels: []string{email.Name}})
	if _, err := h.org.UpdateUnitHead(context.Background(), engine.AuditActor{ID: engine.SystemActor}, "store1", h.users["analyst"].ID); err != nil {
		t.Fatal(err)
	}
	return h, w, startMailSink(t, "mailer", "pw-123")
}

func (k *mailSink) settingsJSON(password string) string {
	return `{"host": "127.0.0.1", "port": ` + strconv.Itoa(k.addr.Port) + `, "security": "plain", "username": "mailer", "password": "` + password + `", "from": "formwork@example.com"}`
}

// deliverMail runs the notification deliveries waiting in the outbox, as
// the worker does.
func deliverMail(t *testing.T, h *harness, w *workflow.Runtime) {
	t.Helper()
	ctx := context.Background()
	jobs, err := h.store.FindOutbox(ctx, time.Now().Add(time.Minute), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Type != workflow.JobNotifyDeliver {
			continue
		}
		if err := w.HandleJob(ctx, j); err != nil {
			t.Fatalf("deliver %s: %v", j.ID, err)
		}
		if _, err := h.store.Apply(ctx, &engine.Change{OutboxDone: []string{j.ID}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMailSettingsAPI: only an administrator reads and writes the mail
// settings; bad settings get 422 with a message per field; the password
// never comes back; the test mail reaches the administrator in the
// request's language.
func TestMailSettingsAPI(t *testing.T) {
	h, _, sink := mailFixture(t)
	zh := map[string]string{"Accept-Language": "zh"}
	for _, sc := range []struct {
		name, method, user, body string
		status                   int
		want, not                []string
	}{
		{"none stored", "GET", "admin", "", http.StatusOK, []string{`"stored":false`}, nil},
		{"staff reads", "GET", "staff", "", http.StatusForbidden, nil, nil},
		{"staff writes", "PUT", "staff", sink.settingsJSON("pw-123"), http.StatusForbidden, nil, []string{"pw-123"}},
		{"anonymous", "GET", "", "", http.StatusUnauthorized, nil, nil},
		{"bad settings", "PUT", "admin", `{"host": "a b", "port": 0, "security": "ssl", "from": "nobody"}`, http.StatusUnprocessableEntity,
			[]string{`"field":"/host"`, `"field":"/port"`, `"field":"/security"`, `"field":"/from"`, "端口应为 1 到 65535 之间的数字"}, nil},
		{"not JSON", "PUT", "admin", `{"host": `, http.StatusBadRequest, nil, nil},
		{"unknown key", "PUT", "admin", `{"host": "x", "port": 25, "security": "plain", "from": "a@b.c", "smtp_password": "x"}`, http.StatusBadRequest, nil, nil},
		{"test without settings", "POST", "admin", "", http.StatusServiceUnavailable, []string{"尚未设置邮件服务器"}, nil},
		{"saved", "PUT", "admin", sink.settingsJSON("pw-123"), http.StatusOK, []string{`"password_set":true`, `"stored":true`}, []string{"pw-123"}},
	} {
		t.Run(sc.name, func(t *testing.T) {
			path := "/api/v1/settings/mail"
			if sc.method == "POST" {
				path += "/test"
			}
			rec := h.do(sc.method, path, sc.user, sc.body, zh)
			if rec.Code != sc.status {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, sc.status)
			}
			mustContain(t, sc.name, rec.Body.String(), sc.want...)
			mustLack(t, sc.name, rec.Body.String(), sc.not...)
		})
	}
	if rec := h.do("GET", "/api/v1/settings/mail", "admin", "", nil); rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "pw-123") || !strings.Contains(rec.Body.String(), `"username":"mailer"`) {
		t.Errorf("read back: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do("POST", "/api/v1/settings/mail/test", "admin", "", map[string]string{"Accept-Language": "en"}); rec.Code != http.StatusNoContent {
		t.Fatalf("test mail: %d %s", rec.Code, rec.Body)
	}
	got := sink.mails()
	if len(got) != 1 {
		t.Fatalf("%d mails arrived, want 1", len(got))
	}
	m := got[0]
	if strings.Join(m.To, ",") != "admin@example.com" || m.From != "formwork@example.com" || m.Subject != "Formwork test mail" ||
		!strings.Contains(m.Body, "receiving it means the mail settings work") || hanRE.MatchString(m.Subject+m.Body) {
		t.Errorf("the test mail: %+v", m)
	}
}

// TestMailSettingsPageAndDelivery: on /admin/mail an administrator saves
// the server, sends a test mail (in Chinese, as the page is), sees a wrong
// password named in plain words and a bad port kept with its message; then
// a task notification reaches the approver's mailbox in the language they
// read the pages in (English here).
func TestMailSettingsPageAndDelivery(t *testing.T) {
	h, w, sink := mailFixture(t)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	admin := newBrowser(t, srv)
	admin.lang = "zh-CN"
	csrf := admin.login("admin@example.com")
	resp, page := admin.get("/admin/mail")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/admin/mail: %d", resp.StatusCode)
	}
	mustContain(t, "/admin/mail before a save", page, "邮件设置", "FORMWORK_SMTP_ADDR", `id="mail-test"`, "admin@example.com")
	form := url.Values{"_csrf": {csrf}, "host": {"127.0.0.1"}, "port": {strconv.Itoa(sink.addr.Port)}, "security": {"plain"},
		"username": {"mailer"}, "password": {"pw-123"}, "from": {"formwork@example.com"}}
	if resp, body := admin.post("/admin/mail", form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d %s", resp.StatusCode, body)
	}
	_, page = admin.get("/admin/mail?saved=1")
	mustContain(t, "/admin/mail after a save", page, "邮件设置已保存", `value="127.0.0.1"`, "已保存；留空则不变", "正在使用本页保存的设置")
	mustLack(t, "/admin/mail after a save", page, "pw-123")
	if resp, body := admin.post("/admin/mail/test", url.Values{"_csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("test mail: %d %s", resp.StatusCode, body)
	}
	if got := sink.mails(); len(got) != 1 || got[0].Subject != "Formwork 测试邮件" || !strings.Contains(got[0].Body, "这是一封测试邮件") || strings.Contains(got[0].Body, "test mail") {
		t.Errorf("the test mail from the page: %+v", got)
	}

	// a wrong password: the test says so in plain words
	wrong := url.Values{"_csrf": {csrf}, "host": {"127.0.0.1"}, "port": {strconv.Itoa(sink.addr.Port)}, "security": {"plain"},
		"username": {"mailer"}, "password": {"not-it"}, "from": {"formwork@example.com"}}
	if resp, _ := admin.post("/admin/mail", wrong, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the wrong password: %d", resp.StatusCode)
	}
	resp, page = admin.post("/admin/mail/test", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("test with a wrong password: %d", resp.StatusCode)
	}
	mustContain(t, "the refused test", page, "邮件服务器拒绝了用户名或密码")
	mustLack(t, "the refused test", page, "535", "smtp:", "not-it")
	// a bad port: kept, with its message, nothing saved
	bad := url.Values{"_csrf": {csrf}, "host": {"mail.example.com"}, "port": {"abc"}, "security": {"starttls"}, "from": {"formwork@example.com"}}
	resp, page = admin.post("/admin/mail", bad, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a bad port: %d", resp.StatusCode)
	}
	mustContain(t, "the refused save", page, "端口应为 1 到 65535 之间的数字", `value="mail.example.com"`, `value="abc"`)
	if c, _ := h.svc.MailConfig(context.Background()); c == nil || c.Host != "127.0.0.1" || c.Password != "not-it" {
		t.Errorf("a refused save changed the settings: %+v", c)
	}
	if resp, body := admin.post("/admin/mail", form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save the right password again: %d %s", resp.StatusCode, body)
	}
	staff := newBrowser(t, srv)
	staff.login("staff@example.com")
	if resp, _ := staff.get("/admin/mail"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff opens /admin/mail: %d", resp.StatusCode)
	}

	// the approver reads the pages in English: the task's mail is in English
	approver := newBrowser(t, srv)
	approver.lang = "en-GB"
	approver.login("analyst@example.com")
	before := len(sink.mails())
	h.submitDiscount("邮件客户", "normal", 0.15)
	deliverMail(t, h, w)
	got := sink.mails()[before:]
	if len(got) != 1 {
		t.Fatalf("%d mails after the task arrived, want 1 (to the approver): %+v", len(got), got)
	}
	m := got[0]
	if strings.Join(m.To, ",") != "analyst@example.com" || m.Subject != "To approve: Discount approval" || !strings.Contains(m.Body, "To approve: Discount approval") ||
		hanRE.MatchString(m.Subject+m.Body) {
		t.Errorf("the task's mail: %+v", m)
	}
}
