package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	_ "image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"formwork/engine"
	"formwork/engine/workflow"
)

// decodeQR reads the text of a QR code from a data: URL holding a PNG, as
// a phone's camera would.
func decodeQR(tb testing.TB, dataURL string) string {
	tb.Helper()
	b64, ok := strings.CutPrefix(dataURL, "data:image/png;base64,")
	if !ok {
		tb.Fatalf("qr %.40q… is not a PNG data: URL", dataURL)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		tb.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("qr png: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		tb.Fatal(err)
	}
	// the image is the code alone, as drawn: read it as such. The
	// reader's default finder-pattern search missed 15 codes in 1,500
	// random links' QR codes (TestPublicLinkUse failed in CI so); with
	// PURE_BARCODE it read all 1,500.
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		tb.Fatalf("decode qr: %v", err)
	}
	return res.GetText()
}

// makeLink makes a public link of shop/customer as the admin and returns it.
func (h *harness) makeLink(tb testing.TB, body string) publicLinkOut {
	tb.Helper()
	rec := h.do(http.MethodPost, "/api/v1/apps/shop/forms/customer/public-link", "admin", body, nil)
	var out publicLinkOut
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
		tb.Fatalf("make link: %d %s", rec.Code, rec.Body)
	}
	return out
}

// postForm sends a form-encoded POST from a client address, anonymously.
func (h *harness) postForm(path string, vals url.Values, ip string) *httptest.ResponseRecorder {
	h.tb.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "zh-CN")
	req.RemoteAddr = ip + ":4000"
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	return rec
}

// zhPage asks for pages in Chinese.
var zhPage = map[string]string{"Accept-Language": "zh-CN"}

var formTokenRE = regexp.MustCompile(`name="_ft" value="([^"]+)"`)

// openPublic loads a public form page anonymously and returns its form token.
func (h *harness) openPublic(tb testing.TB, path string) (string, string) {
	tb.Helper()
	rec := h.do(http.MethodGet, path, "", "", nil)
	m := formTokenRE.FindStringSubmatch(rec.Body.String())
	if rec.Code != http.StatusOK || m == nil {
		tb.Fatalf("open %s: %d %s", path, rec.Code, rec.Body)
	}
	return m[1], rec.Body.String()
}

// publicVals is a customer's filled form with a valid proof of work.
func publicVals(ft, name string, discount string) url.Values {
	return url.Values{"_ft": {ft}, "_pow": {engine.SolveWork(ft)}, "website": {""},
		"name": {name}, "phone": {"13700001111"}, "level": {"normal"}, "discount": {discount}}
}

func linkPath(u string) string {
	p, _ := url.Parse(u)
	return p.Path
}

// TestPublicLinkAPI checks who may make, read and revoke a form's public
// link and what a link may be made with.
func TestPublicLinkAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	if err := h.svc.SetAppDesigners(context.Background(), &engine.Principal{User: h.users["admin"]}, "shop", []string{"analyst@example.com"}); err != nil {
		t.Fatal(err)
	}
	const link = "/api/v1/apps/shop/forms/customer/public-link"
	zh := map[string]string{"Accept-Language": "zh-CN"}
	made := scenario{name: "the admin makes a link with the owner's unit", method: "POST", path: link, user: "admin",
		body: `{"owner":"manager@example.com","sensitive":["name","phone"]}`, status: 201,
		want: []string{`"url":"http://example.com/f/`, `"qr":"data:image/png;base64,`, `"unit":"store1"`, `"owner":"` + h.users["manager"].ID + `"`}}
	h.run(t, []scenario{
		made,
		{name: "an empty body: the caller owns the records, in their unit", method: "POST", path: "/api/v1/apps/shop/forms/company/public-link", user: "admin", status: 201, want: []string{`"unit":"hq"`, `"sensitive":[]`}},
		{name: "a designer of the app may", method: "POST", path: link, user: "analyst", body: `{"owner":"manager@example.com","sensitive":["name","phone"]}`, status: 201},
		{name: "staff may not", method: "POST", path: link, user: "staff", body: `{}`, status: 403, not: []string{`"url"`}},
		{name: "anonymous may not", method: "POST", path: link, status: 401},
		{name: "an unknown form", method: "POST", path: "/api/v1/apps/shop/forms/nope/public-link", user: "admin", body: `{}`, status: 404},
		{name: "an unknown owner", method: "POST", path: link, user: "admin", body: `{"owner":"ghost@example.com"}`, status: 422, want: []string{`"field":"/owner"`}},
		{name: "an owner who may not create there", method: "POST", path: link, user: "admin", body: `{"owner":"nobody@example.com"}`, status: 422, want: []string{`"field":"/owner"`}},
		{name: "an unknown unit", method: "POST", path: link, user: "admin", body: `{"unit":"mars"}`, status: 422, want: []string{`"field":"/unit"`}},
		{name: "a unit outside the owner's scope", method: "POST", path: link, user: "admin", body: `{"owner":"manager@example.com","unit":"hq","sensitive":["name","phone"]}`, status: 422, want: []string{`"field":"/unit"`}},
		{name: "a required sensitive field not allowed", method: "POST", path: link, user: "admin", body: `{"owner":"manager@example.com","sensitive":["name"]}`, headers: zh, status: 422, want: []string{`"code":"required"`, "手机号"}},
		{name: "allowing a field that is not sensitive", method: "POST", path: link, user: "admin", body: `{"sensitive":["name","phone","level"]}`, status: 422, want: []string{`"field":"/sensitive/2"`}},
		{name: "unknown keys are refused", method: "POST", path: link, user: "admin", body: `{"owner":"admin@example.com","ttl":5}`, status: 400},
		{name: "no link yet", method: "GET", path: link, user: "admin", status: 404},
		{name: "the link made", method: "GET", path: link, user: "admin", status: 200, after: []string{made.name}, want: []string{`"url":"http://example.com/f/`, `"qr":"data:image/png;base64,`}},
		{name: "staff do not read it", method: "GET", path: link, user: "staff", status: 403, after: []string{made.name}, not: []string{`"url"`}},
		{name: "nothing to revoke", method: "DELETE", path: link, user: "admin", status: 404},
		{name: "revoke", method: "DELETE", path: link, user: "admin", status: 204, after: []string{made.name}},
		{name: "staff may not revoke", method: "DELETE", path: link, user: "staff", status: 403, after: []string{made.name}},
	}, nil)
}

// TestPublicLinkUse fills a public form anonymously: the page shows only
// the public's fields and no stored data; a submission becomes the link's
// owner's record in its unit, starts the approval and is audited with the
// address; a form token works once, a tampered or expired one or a
// missing proof of work is refused with a page and writes nothing;
// revoking makes the address 404 on another node at once.
func TestPublicLinkUse(t *testing.T) {
	h := newHarness(t, testConfig())
	h.withWorkflows(workflow.Options{})
	ctx := context.Background()
	if _, err := h.org.UpdateUnitHead(ctx, engine.AuditActor{ID: engine.SystemActor}, "store1", h.users["analyst"].ID); err != nil {
		t.Fatal(err)
	}
	h.createCustomer("manager", "欧阳锋")
	l := h.makeLink(t, `{"owner":"manager@example.com","unit":"store1","sensitive":["name","phone"]}`)
	if got := decodeQR(t, l.QR); got != l.URL {
		t.Fatalf("the QR code holds %q, want the link %q", got, l.URL)
	}
	path := linkPath(l.URL)

	ft, page := h.openPublic(t, path)
	for _, want := range []string{`data-field="name"`, `data-field="phone"`, `data-field="discount"`, `name="website"`, `data-challenge=`} {
		if !strings.Contains(page, want) {
			t.Errorf("the public page lacks %s", want)
		}
	}
	for _, not := range []string{`data-field="rep"`, `data-field="company"`, `data-field="contacts"`, "欧阳锋", "13912345678", "manager@example.com", "/apps/shop"} {
		if strings.Contains(page, not) {
			t.Errorf("the public page shows %s", not)
		}
	}
	if rec := h.postForm(path+"/preview", url.Values{"_ft": {ft}, "level": {"gold"}}, "198.51.100.7"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"vip_since"`) {
		t.Errorf("live rules: %d %s", rec.Code, rec.Body)
	}
	if rec := h.postForm(path+"/preview", url.Values{"level": {"gold"}}, "198.51.100.7"); rec.Code != 403 {
		t.Errorf("live rules without a form token: %d, want 403", rec.Code)
	}

	before := h.customers()
	rec := h.postForm(path, publicVals(ft, "段誉", "0.15"), "198.51.100.7")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != path+"/thanks" {
		t.Fatalf("submit: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if n := h.customers(); n != before+1 {
		t.Fatalf("%d customers after a submission, want %d", n, before+1)
	}
	page = h.do(http.MethodGet, path+"/thanks", "", "", zhPage).Body.String()
	if !strings.Contains(page, "提交成功") {
		t.Errorf("thank-you page: %s", page)
	}
	recs, err := h.store.FindRecords(ctx, engine.RecordQuery{App: "shop", Form: "customer", Limit: 1})
	if err != nil || len(recs.Items) != 1 {
		t.Fatal(err)
	}
	r := recs.Items[0]
	if r.Unit != "store1" || r.Owner != h.users["manager"].ID || r.Status != engine.StatusInReview {
		t.Errorf("record unit %s owner %s status %s, want store1, the manager, in review", r.Unit, r.Owner, r.Status)
	}
	if body := h.do(http.MethodGet, "/apps/shop/forms/customer/records/"+r.ID, "manager", "", zhPage).Body.String(); !strings.Contains(body, "公开链接的填写人") {
		t.Errorf("the record's history does not name the public link as its author")
	}
	tasks := h.do(http.MethodGet, "/api/v1/tasks?status=open", "analyst", "", nil)
	if !strings.Contains(tasks.Body.String(), r.ID) {
		t.Errorf("the store head has no task for the public record: %s", tasks.Body)
	}
	audit, err := h.store.FindAuditEvents(ctx, engine.AuditQuery{Object: r.ID, Action: "create"})
	if err != nil || len(audit.Items) != 1 || audit.Items[0].Actor != engine.PublicActor(l.ID) || audit.Items[0].IP != "198.51.100.7" {
		t.Errorf("create audited as %+v (%v), want actor %s from 198.51.100.7", audit.Items, err, engine.PublicActor(l.ID))
	}

	refused := []struct {
		name   string
		vals   url.Values
		status int
		want   string
	}{
		{"the same form token again", publicVals(ft, "段誉", "0"), 409, "已经提交过"},
		{"a tampered form token", publicVals(strings.Replace(ft, ".", "x.", 1)[1:], "段誉", "0"), 403, "重新填写"},
		{"a form token of another page, signature changed", publicVals(changedSignature(ft), "段誉", "0"), 403, "重新填写"},
		{"no proof of work", func() url.Values { v := publicVals(h.mustOpen(t, path), "段誉", "0"); v.Del("_pow"); return v }(), 403, "重新打开链接"},
		{"the honeypot filled", func() url.Values {
			v := publicVals(h.mustOpen(t, path), "段誉", "0")
			v.Set("website", "http://spam")
			return v
		}(), 403, "提交未被接受"},
		{"an expired page", publicVals(h.staleToken(t, path), "段誉", "0"), 410, "已过期"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := h.customers()
			rec := h.postForm(path, tc.vals, "198.51.100.7")
			body := rec.Body.String()
			if rec.Code != tc.status || !strings.Contains(body, tc.want) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Errorf("status %d (want %d), %s: %s", rec.Code, tc.status, rec.Header().Get("Content-Type"), body)
			}
			if n := h.customers(); n != before {
				t.Errorf("%d customers, want %d: a refused submission wrote", n, before)
			}
		})
	}
	denied, err := h.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "public.submit", Result: engine.ResultDenied})
	if err != nil || len(denied.Items) != len(refused) {
		t.Errorf("%d refused submissions audited, want %d (%v)", len(denied.Items), len(refused), err)
	}
	for _, ev := range denied.Items {
		if ev.IP != "198.51.100.7" || ev.Actor != engine.PublicActor(l.ID) {
			t.Errorf("refusal audited as %s from %q", ev.Actor, ev.IP)
		}
	}

	// a data error comes back on the form, next to the field
	rec = h.postForm(path, func() url.Values {
		v := publicVals(h.mustOpen(t, path), "段誉", "0")
		v.Set("phone", "123")
		return v
	}(), "198.51.100.7")
	if rec.Code != 422 || !strings.Contains(rec.Body.String(), `id="f-phone-err"`) || !strings.Contains(rec.Body.String(), "手机号") {
		t.Errorf("bad phone: %d %s", rec.Code, rec.Body)
	}

	// revoking: 404 at once, here and on another node
	other := h.secondNode(t)
	ft2, _ := h.openPublic(t, path)
	if rec := h.do(http.MethodDelete, "/api/v1/apps/shop/forms/customer/public-link", "admin", "", nil); rec.Code != 204 {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	before = h.customers()
	for _, srv := range []http.Handler{h.e, other} {
		get, req := httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Accept-Language", "zh-CN")
		srv.ServeHTTP(get, req)
		if get.Code != 404 || !strings.Contains(get.Body.String(), "链接已失效") {
			t.Errorf("a revoked link: %d %s", get.Code, get.Body)
		}
	}
	if rec := h.postForm(path, publicVals(ft2, "段誉", "0"), "198.51.100.7"); rec.Code != 404 {
		t.Errorf("a submission through a revoked link: %d", rec.Code)
	}
	if n := h.customers(); n != before {
		t.Errorf("a revoked link wrote a record")
	}
}

// mustOpen is a fresh form token of the public page at path.
func (h *harness) mustOpen(tb testing.TB, path string) string {
	tb.Helper()
	ft, _ := h.openPublic(tb, path)
	return ft
}

// staleToken is a form token the page at path gave three hours ago: a
// service on the same store whose clock is that far behind issues it.
func (h *harness) staleToken(tb testing.TB, path string) string {
	tb.Helper()
	old := engine.NewService(h.store, h.org, engine.ServiceOptions{Clock: func() time.Time { return time.Now().Add(-3 * time.Hour) }})
	defer old.Close()
	pf, err := old.OpenPublicForm(context.Background(), strings.TrimPrefix(path, "/f/"), "")
	if err != nil {
		tb.Fatal(err)
	}
	return pf.FormToken
}

// TestPublicLinkFlood sends more submissions from one address than its
// budget: the rest get 429 and write nothing; another address still may.
func TestPublicLinkFlood(t *testing.T) {
	cfg := testConfig()
	cfg.RatePublic = RateLimit{PerSecond: 0.0001, Burst: 3}
	h := newHarness(t, cfg)
	path := linkPath(h.makeLink(t, `{"owner":"manager@example.com","sensitive":["name","phone"]}`).URL)
	before := h.customers()
	var codes []int
	for i := 0; i < 8; i++ {
		codes = append(codes, h.postForm(path, publicVals(h.mustOpen(t, path), "flood", "0"), "203.0.113.9").Code)
	}
	want := []int{303, 303, 303, 429, 429, 429, 429, 429}
	if !slicesEqual(codes, want) {
		t.Errorf("statuses %v, want %v", codes, want)
	}
	if n := h.customers(); n != before+3 {
		t.Errorf("%d customers after the flood, want %d", n, before+3)
	}
	if rec := h.postForm(path, publicVals(h.mustOpen(t, path), "neighbour", "0"), "203.0.113.10"); rec.Code != 303 {
		t.Errorf("another address: %d", rec.Code)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestPublicLinkPage makes, shows and revokes a link on its page; the
// list shows the button to administrators only.
func TestPublicLinkPage(t *testing.T) {
	h := newHarness(t, testConfig())
	const page = "/apps/shop/forms/customer/public-link"
	if body := h.do(http.MethodGet, "/apps/shop/forms/customer", "admin", "", nil).Body.String(); !strings.Contains(body, `href="`+page+`"`) {
		t.Errorf("the admin's list has no public link button")
	}
	if body := h.do(http.MethodGet, "/apps/shop/forms/customer", "manager", "", nil).Body.String(); strings.Contains(body, page) {
		t.Errorf("the manager's list offers the public link page")
	}
	if rec := h.do(http.MethodGet, page, "manager", "", nil); rec.Code != 403 {
		t.Errorf("manager on the page: %d", rec.Code)
	}
	form := func(vals url.Values) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, page, strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+h.tokens["admin"])
		req.Header.Set("Accept-Language", "zh-CN")
		rec := httptest.NewRecorder()
		h.e.ServeHTTP(rec, req)
		return rec
	}
	if rec := form(url.Values{"unit": {"store1"}, "owner": {"manager@example.com"}, "sensitive": {"name"}}); rec.Code != 422 || !strings.Contains(rec.Body.String(), "须在链接中允许") {
		t.Errorf("a link missing a required sensitive field: %d %s", rec.Code, rec.Body)
	}
	if rec := form(url.Values{"unit": {"store1"}, "owner": {"manager@example.com"}, "sensitive": {"name", "phone"}}); rec.Code != 303 {
		t.Fatalf("make: %d %s", rec.Code, rec.Body)
	}
	body := h.do(http.MethodGet, page+"?done=made", "admin", "", zhPage).Body.String()
	for _, want := range []string{`id="public-qr"`, "data:image/png;base64,", "http://example.com/f/", "一号店", "manager", "手机号"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if rec := h.do(http.MethodPost, page+"/revoke", "admin", "", nil); rec.Code != 303 {
		t.Errorf("revoke: %d", rec.Code)
	}
	if rec := h.do(http.MethodGet, "/api/v1/apps/shop/forms/customer/public-link", "admin", "", nil); rec.Code != 404 {
		t.Errorf("after revoking on the page: %d", rec.Code)
	}
}

// BenchmarkPublicSubmit is one anonymous submission through the HTTP
// stack on SQLite: rate limit, link and owner read, form token, proof of
// work, rules, the record's atomic write with its audit event. The pages
// and proofs of work are prepared before the timer starts.
func BenchmarkPublicSubmit(b *testing.B) {
	cfg := testConfig()
	cfg.RatePublic = RateLimit{}
	h := newHarness(b, cfg)
	path := linkPath(h.makeLink(b, `{"owner":"manager@example.com","sensitive":["name","phone"]}`).URL)
	forms := make([]url.Values, b.N)
	for i := range forms {
		forms[i] = publicVals(h.mustOpen(b, path), "bench", "0")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if rec := h.postForm(path, forms[i], "198.51.100.20"); rec.Code != http.StatusSeeOther {
			b.Fatalf("submit: %d %s", rec.Code, rec.Body)
		}
	}
}

// changedSignature is tok with the first character of its signature (after
// the last dot) replaced by another, which always changes the signature's
// bytes. (Replacing the last two characters with "AA" left it valid about
// once in a thousand tokens: the last character carries padding bits, and
// the two could already be those.)
func changedSignature(tok string) string {
	i := strings.LastIndex(tok, ".") + 1
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}
