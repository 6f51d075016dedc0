package server

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping HTTP client that does not follow redirects.
type browser struct {
	tb   testing.TB
	base string
	c    *http.Client
	lang string
}

func newBrowser(tb testing.TB, srv *httptest.Server) *browser {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &browser{tb: tb, base: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) send(req *http.Request) (*http.Response, string) {
	b.tb.Helper()
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.tb.Fatal(err)
	}
	return resp, string(body)
}

func (b *browser) get(path string) (*http.Response, string) {
	b.tb.Helper()
	req, err := http.NewRequest("GET", b.base+path, nil)
	if err != nil {
		b.tb.Fatal(err)
	}
	return b.send(req)
}

func (b *browser) post(path string, form url.Values, headers map[string]string) (*http.Response, string) {
	b.tb.Helper()
	req, err := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return b.send(req)
}

var csrfRE = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func csrfOf(tb testing.TB, html string) string {
	tb.Helper()
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		tb.Fatalf("no CSRF token in page: %s", html)
	}
	return m[1]
}

// login signs in through the login page and returns the session's CSRF
// token.
func (b *browser) login(email string) string {
	b.tb.Helper()
	_, page := b.get("/login")
	resp, body := b.post("/login", url.Values{"_csrf": {csrfOf(b.tb, page)}, "email": {email}, "password": {testPassword}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		b.tb.Fatalf("login: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	_, home := b.get("/")
	return csrfOf(b.tb, home)
}

func mustContain(tb testing.TB, what, body string, wants ...string) {
	tb.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			tb.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestPagesLoginCSRFAndForm(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	b := newBrowser(t, srv)
	b.lang = "zh-CN,zh;q=0.9,en;q=0.5"

	resp, _ := b.get("/")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Fatalf("anonymous home: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, page := b.get("/login")
	mustContain(t, "login page", page, `<label for="email">邮箱</label>`, `id="email"`, `<html lang="zh">`)
	tok := csrfOf(t, page)

	resp, page = b.post("/login", url.Values{"email": {"staff@example.com"}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("login without CSRF token: %d, want 403", resp.StatusCode)
	}
	if tok2 := csrfOf(t, page); tok2 == tok {
		t.Error("the refused login page kept its token")
	} else {
		tok = tok2
	}
	resp, page = b.post("/login", url.Values{"_csrf": {tok}, "email": {"staff@example.com"}, "password": {"wrong-password!"}}, nil)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong password: %d", resp.StatusCode)
	}
	mustContain(t, "failed login page", page, "邮箱或密码错误")

	csrf := b.login("staff@example.com")
	var sess *http.Cookie
	u, _ := url.Parse(srv.URL)
	for _, ck := range b.c.Jar.Cookies(u) {
		if ck.Name == cookieSession {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	resp, home := b.get("/")
	mustContain(t, "home", home, "门店客户", "到店登记", `href="/apps/visit/forms/visit/new"`, `href="/apps/shop/forms/customer"`)
	if sc := resp.Header.Values("Set-Cookie"); len(sc) > 0 {
		t.Logf("home sets cookies: %v", sc)
	}

	_, form := b.get("/apps/visit/forms/visit/new")
	mustContain(t, "form page", form, `<label class="label" for="f-guest">来访人`, `id="f-guest"`, `<label for="f-by_car">开车到店`,
		`data-field="plate" hidden`, `data-preview="/apps/visit/forms/visit/preview"`, `<legend>人数</legend>`, `class="grid cols-3"`)

	// live rules need the CSRF header
	resp, _ = b.post("/apps/visit/forms/visit/preview", url.Values{"by_car": {"true"}}, map[string]string{"Accept": "application/json"})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("preview without CSRF: %d, want 403", resp.StatusCode)
	}
	resp, js := b.post("/apps/visit/forms/visit/preview", url.Values{"by_car": {"true"}, "adults": {"2"}, "kids": {"1"}}, map[string]string{"Accept": "application/json", headerCSRF: csrf})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("preview: %d %s", resp.StatusCode, js)
	}
	mustContain(t, "preview", js, `"plate":{"visible":true,"required":true`, `"party":3`, `"field":"plate"`)

	// invalid submit: errors next to their fields, in Chinese
	resp, page = b.post("/apps/visit/forms/visit/new", url.Values{"_csrf": {csrf}, "guest": {"王先生"}, "phone": {"12"}, "by_car": {"true"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("invalid submit: %d", resp.StatusCode)
	}
	mustContain(t, "invalid submit", page, `id="f-phone-err" aria-live="polite">`, `data-field="plate">`, `value="王先生"`)
	if m := regexp.MustCompile(`id="f-phone-err" aria-live="polite">([^<]+)<`).FindStringSubmatch(page); m == nil || !regexp.MustCompile(`\p{Han}`).MatchString(m[1]) {
		t.Errorf("phone error not in Chinese next to the field: %v", m)
	}
	// the same without the token
	resp, _ = b.post("/apps/visit/forms/visit/new", url.Values{"guest": {"王先生"}, "phone": {"13800138000"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("submit without CSRF: %d, want 403", resp.StatusCode)
	}

	resp, _ = b.post("/apps/visit/forms/visit/new", url.Values{"_csrf": {csrf}, "guest": {"王先生"}, "phone": {"13800138000"}, "by_car": {"true"}, "plate": {"沪A12345"}, "adults": {"2"}, "purpose": {"test_drive"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("valid submit: %d", resp.StatusCode)
	}
	recURL := resp.Header.Get("Location")
	_, rec := b.get(recURL)
	mustContain(t, "record page", rec, "王先生", "沪A12345", "试驾", "已保存", "修订历史")
	_, list := b.get("/apps/visit/forms/visit")
	mustContain(t, "list page", list, "王先生", `<label for="q">搜索</label>`, `name="f.purpose"`)
	_, list = b.get("/apps/visit/forms/visit?f.purpose=look")
	if strings.Contains(list, "王先生") {
		t.Error("filter purpose=look still lists the test-drive visit")
	}
	_, list = b.get("/apps/visit/forms/visit?q=" + url.QueryEscape("王"))
	mustContain(t, "search", list, "王先生")

	// language switch and open redirects
	resp, _ = b.get("/lang/en?next=" + url.QueryEscape("//evil.example/"))
	if resp.Header.Get("Location") != "/" {
		t.Errorf("open redirect: %s", resp.Header.Get("Location"))
	}
	b.lang = ""
	_, home = b.get("/")
	mustContain(t, "english home", home, `<html lang="en">`, "Store visits", "My apps")

	resp, _ = b.post("/logout", url.Values{"_csrf": {csrf}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("logout: %d", resp.StatusCode)
	}
	resp, _ = b.get("/")
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("home after logout: %d", resp.StatusCode)
	}
}

func TestPageLanguageFromAcceptLanguage(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	b := newBrowser(t, srv)
	b.lang = "en-US,en;q=0.9"
	_, page := b.get("/login")
	mustContain(t, "english login", page, `<html lang="en">`, "Log in")
	b.lang = "zh-CN,zh;q=0.9,en;q=0.8"
	_, page = b.get("/login")
	mustContain(t, "chinese login", page, `<html lang="zh">`, "登录")
}
