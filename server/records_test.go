package server

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"formwork/engine"
)

// docsBundle is an app with uploads and pickers: a claim with photos
// (image), files (attachment), a secret attachment, a member, a unit and
// a relation to a vendor. Clerks work on their own claims; auditors read
// every claim but may not see the secret files and see photos masked.
const docsBundle = `{
  "formwork": "1",
  "app": {"key": "docs", "name": {"zh": "报销", "en": "Claims"}, "version": "1.0.0"},
  "roles": [
    {"key": "clerk", "name": {"zh": "专员", "en": "Clerk"},
     "permissions": {
       "vendor": {"operations": ["create", "read"], "scope": "own", "fields": {"*": "edit", "code": "hidden"}},
       "claim":  {"operations": ["create", "read", "update"], "scope": "own", "fields": {"*": "edit", "secret": "read"}}
     }},
    {"key": "auditor", "name": {"zh": "审计", "en": "Auditor"},
     "permissions": {
       "claim": {"operations": ["read"], "scope": "all", "fields": {"*": "read", "secret": "hidden", "photos": "masked"}}
     }}
  ],
  "forms": [
    {"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "vendor", "x-title": {"zh": "供应商", "en": "Vendor"}, "type": "object",
     "properties": {
       "name": {"type": "string", "x-widget": "text", "x-label": {"zh": "名称", "en": "Name"}},
       "code": {"type": "string", "x-widget": "text", "x-label": {"zh": "内部编码", "en": "Code"}}
     }},
    {"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "claim", "x-title": {"zh": "报销单", "en": "Claim"}, "type": "object",
     "properties": {
       "title":  {"type": "string", "minLength": 1, "x-widget": "text", "x-label": {"zh": "事由", "en": "Title"}},
       "amount": {"type": "number", "minimum": 0, "x-widget": "money", "x-label": {"zh": "金额", "en": "Amount"}},
       "spent":  {"type": "string", "x-widget": "datetime", "x-label": {"zh": "发生时间", "en": "Spent at"}},
       "photos": {"type": "array", "maxItems": 3, "items": {"type": "string"}, "x-widget": "image", "x-label": {"zh": "照片", "en": "Photos"}},
       "files":  {"type": "array", "maxItems": 5, "items": {"type": "string"}, "x-widget": "attachment", "x-label": {"zh": "附件", "en": "Files"}},
       "secret": {"type": "array", "items": {"type": "string"}, "x-widget": "attachment", "x-label": {"zh": "机密附件", "en": "Secret files"}},
       "payee":  {"type": "string", "x-widget": "member", "x-label": {"zh": "收款人", "en": "Payee"}},
       "dept":   {"type": "string", "x-widget": "unit", "x-label": {"zh": "部门", "en": "Department"}},
       "vendor": {"type": "string", "x-widget": "relation", "x-relation": {"form": "vendor", "display": "code"}, "x-label": {"zh": "供应商", "en": "Vendor"}}
     },
     "required": ["title"]}
  ]
}`

// docsHarness is the shared harness plus the docs app and users with its
// roles: clerk and clerk2 (store1, own scope) and auditor.
func docsHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, testConfig())
	ctx := context.Background()
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	if _, err := h.svc.ImportApp(ctx, admin, []byte(docsBundle), engine.ImportOptions{}); err != nil {
		t.Fatalf("import docs: %v", err)
	}
	for _, u := range []struct{ key, role string }{{"clerk", "clerk"}, {"clerk2", "clerk"}, {"auditor", "auditor"}} {
		h.addUser(u.key, "store1", "docs", u.role)
	}
	return h
}

// testPNG is a small real PNG.
func testPNG(t testing.TB, w, hgt int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, hgt))
	for x := 0; x < w; x++ {
		for y := 0; y < hgt; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), 160, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// upload posts one file as user; declared is the part's Content-Type.
func (h *harness) upload(user, app, form, field, name, declared string, data []byte) *httptest.ResponseRecorder {
	h.tb.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if field != "" {
		_ = mw.WriteField("field", field)
	}
	if data != nil {
		hdr := map[string][]string{"Content-Disposition": {`form-data; name="file"; filename="` + name + `"`}, "Content-Type": {declared}}
		part, err := mw.CreatePart(hdr)
		if err != nil {
			h.tb.Fatal(err)
		}
		_, _ = part.Write(data)
	}
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/api/v1/apps/"+app+"/forms/"+form+"/uploads", &body)
	req.RemoteAddr = "192.0.2.10:5555"
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+h.tokens[user])
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	return rec
}

func uploadValue(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if rec.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body.String())
	}
	var out struct {
		ID, Value, Type string
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Value
}

func problemOf(t *testing.T, what string, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Errorf("%s: %d, want %d: %s", what, rec.Code, status, rec.Body.String())
		return
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("%s: content type %q, want problem+json", what, ct)
	}
}

func TestRecordsUploadsAPI(t *testing.T) {
	h := docsHarness(t)
	pic := testPNG(t, 40, 30)

	// hostile and wrong uploads: clear problems, nothing stored
	problemOf(t, "html declared as png", h.upload("clerk", "docs", "claim", "photos", "x.png", "image/png", []byte("<!DOCTYPE html><script>alert(1)</script>")), http.StatusUnsupportedMediaType)
	problemOf(t, "pdf into an image field", h.upload("clerk", "docs", "claim", "photos", "a.pdf", "application/pdf", []byte("%PDF-1.7\n1 0 obj\n")), http.StatusUnsupportedMediaType)
	problemOf(t, "svg attachment", h.upload("clerk", "docs", "claim", "files", "a.svg", "image/svg+xml", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`)), http.StatusUnsupportedMediaType)
	problemOf(t, "too large", h.upload("clerk", "docs", "claim", "files", "big.txt", "text/plain", bytes.Repeat([]byte("a"), engine.DefaultMaxBlobSize+1)), http.StatusRequestEntityTooLarge)
	problemOf(t, "no file", h.upload("clerk", "docs", "claim", "photos", "", "", nil), http.StatusBadRequest)
	problemOf(t, "no field", h.upload("clerk", "docs", "claim", "", "a.png", "image/png", pic), http.StatusBadRequest)
	problemOf(t, "not a file field", h.upload("clerk", "docs", "claim", "title", "a.png", "image/png", pic), http.StatusUnprocessableEntity)
	problemOf(t, "read-only field", h.upload("clerk", "docs", "claim", "secret", "a.txt", "text/plain", []byte("hello")), http.StatusForbidden)
	problemOf(t, "auditor may not upload", h.upload("auditor", "docs", "claim", "files", "a.txt", "text/plain", []byte("hello")), http.StatusForbidden)
	problemOf(t, "nobody sees the form", h.upload("nobody", "docs", "claim", "files", "a.txt", "text/plain", []byte("hello")), http.StatusNotFound)
	problemOf(t, "json body", h.do("POST", "/api/v1/apps/docs/forms/claim/uploads", "clerk", `{"field":"photos"}`, nil), http.StatusUnsupportedMediaType)

	// a real image, declared wrongly: the sniffed type wins; the name is cleaned
	rec := h.upload("clerk", "docs", "claim", "photos", `..\..\etc/front<1>.png`, "application/octet-stream", pic)
	photo := uploadValue(t, rec)
	mustContain(t, "upload answer", rec.Body.String(), `"type":"image/png"`, `"name":"front\u003c1\u003e.png"`, `"field":"photos"`)
	doc := uploadValue(t, h.upload("clerk", "docs", "claim", "files", "note.txt", "image/png", []byte("plain words\n")))
	if !strings.Contains(doc, "type=text%2Fplain") {
		t.Errorf("the text file's value %q lacks its sniffed type", doc)
	}
	other := uploadValue(t, h.upload("clerk2", "docs", "claim", "photos", "b.png", "image/png", pic))

	// another user's upload, a forged reference and a wrong field are refused
	for _, bad := range []struct{ name, body string }{
		{"another user's upload", `{"data":{"title":"x","photos":["` + other + `"]}}`},
		{"forged reference", `{"data":{"title":"x","photos":["blob:0000000000000000000000000a?name=a.png&size=1&type=image%2Fpng"]}}`},
		{"a plain string", `{"data":{"title":"x","files":["http://evil.example/x.pdf"]}}`},
		{"upload of another field", `{"data":{"title":"x","files":["` + photo + `"]}}`},
	} {
		rec := h.do("POST", "/api/v1/apps/docs/forms/claim/records", "clerk", bad.body, nil)
		problemOf(t, bad.name, rec, http.StatusUnprocessableEntity)
	}

	// a claim with the photo and the text file; a forged name is rewritten
	forged := strings.Replace(photo, "name=", "name=evil.exe&x=", 1)
	rec = h.do("POST", "/api/v1/apps/docs/forms/claim/records", "clerk", `{"data":{"title":"Taxi","photos":["`+forged+`"],"files":["`+doc+`"]}}`, nil)
	if rec.Code != http.StatusCreated {
		t.Fatalf("create with uploads: %d %s", rec.Code, rec.Body.String())
	}
	var created engine.RecordView
	_ = json.Unmarshal(rec.Body.Bytes(), &created)
	if got := created.Data["photos"].([]any)[0]; got != photo {
		t.Errorf("stored photo value %q, want the canonical %q", got, photo)
	}
	// the same upload cannot be claimed by a second record
	problemOf(t, "claimed twice", h.do("POST", "/api/v1/apps/docs/forms/claim/records", "clerk", `{"data":{"title":"again","photos":["`+photo+`"]}}`, nil), http.StatusUnprocessableEntity)

	ref, _ := engine.ParseBlobRef(photo)
	dl := "/api/v1/apps/docs/forms/claim/records/" + created.ID + "/files/" + ref.ID
	rec = h.do("GET", dl, "clerk", "", nil)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), pic) || rec.Header().Get("Content-Type") != "image/png" {
		t.Errorf("download by the owner: %d %q, %d bytes", rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
	}
	if cd := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "inline") {
		t.Errorf("image disposition %q", cd)
	}
	dref, _ := engine.ParseBlobRef(doc)
	rec = h.do("GET", "/api/v1/apps/docs/forms/claim/records/"+created.ID+"/files/"+dref.ID, "clerk", "", nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Disposition"), "attachment") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("text download: %d %v", rec.Code, rec.Header())
	}

	h.run(t, []scenario{
		{name: "another clerk: out of scope", method: "GET", path: dl, user: "clerk2", status: 404, not: []string{"PNG"}},
		// "masked" on a field that is not sensitive reads as hidden: 404
		{name: "auditor: photos masked", method: "GET", path: dl, user: "auditor", status: 404, not: []string{"PNG"}},
		{name: "nobody", method: "GET", path: dl, user: "nobody", status: 404},
		{name: "anonymous", method: "GET", path: dl, status: 401},
		{name: "unknown blob", method: "GET", path: "/api/v1/apps/docs/forms/claim/records/" + created.ID + "/files/0000000000000000000000000a", user: "clerk", status: 404},
		{name: "auditor: the text file", method: "GET", path: "/api/v1/apps/docs/forms/claim/records/" + created.ID + "/files/" + dref.ID, user: "auditor", status: 200, want: []string{"plain words"}},
		{name: "auditor sees the record without the photo refs", method: "GET", path: "/api/v1/apps/docs/forms/claim/records/" + created.ID, user: "auditor", status: 200, want: []string{"Taxi"}, not: []string{ref.ID}},
	}, nil)

	// a blob of another record cannot be fetched through this one
	rec2 := h.do("POST", "/api/v1/apps/docs/forms/claim/records", "clerk2", `{"data":{"title":"Mine","photos":["`+other+`"]}}`, nil)
	if rec2.Code != http.StatusCreated {
		t.Fatalf("clerk2 create: %d %s", rec2.Code, rec2.Body.String())
	}
	oref, _ := engine.ParseBlobRef(other)
	problemOf(t, "blob through another record", h.do("GET", "/api/v1/apps/docs/forms/claim/records/"+created.ID+"/files/"+oref.ID, "clerk", "", nil), http.StatusNotFound)

	// PATCH keeps the stored photo, removes the file with null
	rec = h.do("PATCH", "/api/v1/apps/docs/forms/claim/records/"+created.ID, "clerk", `{"data":{"files":null}}`, map[string]string{"If-Match": `"1"`})
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), dref.ID) || !strings.Contains(rec.Body.String(), ref.ID) {
		t.Errorf("patch files:null: %d %s", rec.Code, rec.Body.String())
	}
}

func TestRecordsPickersAPI(t *testing.T) {
	h := docsHarness(t)
	ctx := context.Background()
	clerk := &engine.Principal{User: h.users["clerk"], IP: "127.0.0.1"}
	clerk2 := &engine.Principal{User: h.users["clerk2"], IP: "127.0.0.1"}
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	vendor := func(p *engine.Principal, name, code string) *engine.RecordView {
		r, err := h.svc.CreateRecord(ctx, p, "docs", "vendor", map[string]any{"name": name})
		if err != nil {
			t.Fatal(err)
		}
		// the code is hidden from clerks: the admin sets it
		if r, err = h.svc.UpdateRecord(ctx, admin, "docs", "vendor", r.ID, r.Version, map[string]any{"code": code}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	mine, theirs := vendor(clerk, "Acme Taxi", "SECRET-CODE-1"), vendor(clerk2, "Other Cabs", "SECRET-CODE-2")
	base := "/api/v1/apps/docs/forms/claim/pick/"
	h.run(t, []scenario{
		{name: "members by name", method: "GET", path: base + "payee?q=clerk2", user: "clerk", status: 200,
			want: []string{`"value":"` + h.users["clerk2"].ID + `"`, `"label":"clerk2-name"`}, not: []string{"@example.com", "password"}},
		{name: "members all", method: "GET", path: base + "payee", user: "clerk", status: 200, want: []string{"auditor-name", "staff"}},
		{name: "units in tree order", method: "GET", path: base + "dept", user: "clerk", status: 200, want: []string{`"value":"store1"`, `"depth":1`}},
		// relation: only the clerk's own vendor (own scope), labelled by id since the display field is hidden from clerks
		{name: "relation in scope", method: "GET", path: base + "vendor", user: "clerk", status: 200,
			want: []string{`"value":"` + mine.ID + `"`, `"label":"` + mine.ID + `"`}, not: []string{theirs.ID, "SECRET-CODE", "Other Cabs"}},
		{name: "relation search", method: "GET", path: base + "vendor?q=Acme", user: "clerk", status: 200, want: []string{mine.ID}},
		{name: "relation search finds nothing of others", method: "GET", path: base + "vendor?q=Other", user: "clerk", status: 200, want: []string{`"items":[]`}},
		{name: "auditor may not read vendors", method: "GET", path: base + "vendor", user: "auditor", status: 404, not: []string{mine.ID}},
		{name: "not a picker", method: "GET", path: base + "title", user: "clerk", status: 422},
		{name: "hidden field", method: "GET", path: "/api/v1/apps/docs/forms/claim/pick/nope", user: "clerk", status: 404},
		{name: "no access to the form", method: "GET", path: base + "payee", user: "nobody", status: 404, not: []string{"clerk"}},
		{name: "bad limit", method: "GET", path: base + "payee?limit=500", user: "clerk", status: 400},
		{name: "anonymous", method: "GET", path: base + "payee", status: 401},
	}, nil)
}

var versionRE = regexp.MustCompile(`name="_version" value="(\d+)"`)

// TestRecordsEditAndDeletePages edits a record from its page (stored
// values in the form, read-only fields as text, a stale version as a
// readable conflict), and deletes one through the confirmation page.
func TestRecordsEditAndDeletePages(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	r := h.createCustomer("staff", "张三")
	b := newBrowser(t, srv)
	b.lang = "en"
	csrf := b.login("staff@example.com")
	recURL := "/apps/shop/forms/customer/records/" + r.ID

	_, page := b.get(recURL)
	mustContain(t, "record page", page, `href="`+recURL+`/edit"`)
	if strings.Contains(page, recURL+"/delete") {
		t.Error("staff may not delete, yet the record page offers it")
	}
	resp, page := b.get(recURL + "/edit")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("edit page: %d", resp.StatusCode)
	}
	mustContain(t, "edit page", page, `value="张三"`, `name="_version" value="1"`, `action="`+recURL+`/edit"`,
		`data-preview="/apps/shop/forms/customer/preview?id=`+r.ID+`"`, `class="static-value" id="f-phone"`, `139****5678`)
	if strings.Contains(page, `name="phone"`) || strings.Contains(page, `name="budget"`) {
		t.Error("read-only fields (masked phone, read budget) are inputs on the edit page")
	}
	if strings.Contains(page, "discount") {
		t.Error("the hidden discount field shows on the edit page")
	}
	// live rules with the record's id
	resp, js := b.post("/apps/shop/forms/customer/preview?id="+r.ID, url.Values{"level": {"gold"}}, map[string]string{"Accept": "application/json", headerCSRF: csrf})
	if resp.StatusCode != http.StatusOK || !strings.Contains(js, `"vip_since":{"visible":true,"required":true`) {
		t.Errorf("preview for the edit: %d %s", resp.StatusCode, js)
	}

	// save: name changed, a phone value posted anyway is not taken
	resp, page = b.post(recURL+"/edit", url.Values{"_csrf": {csrf}, "_version": {"1"}, "name": {"李四"}, "level": {"vip"}, "phone": {"13000000000"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != recURL+"?saved=1" {
		t.Fatalf("save: %d %s %s", resp.StatusCode, resp.Header.Get("Location"), page)
	}
	got, err := h.svc.GetRecord(context.Background(), &engine.Principal{User: h.users["admin"]}, "shop", "customer", r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["name"] != "李四" || got.Data["phone"] != "13912345678" || got.Data["level"] != "vip" || got.Version != 2 {
		t.Errorf("after the edit: %v (version %d)", got.Data, got.Version)
	}
	_, page = b.get(recURL + "?saved=1")
	mustContain(t, "record after save", page, "李四", `class="flash"`, "Saved")

	// a stale version: 409, a readable message, the entries kept, the new version to save on
	resp, page = b.post(recURL+"/edit", url.Values{"_csrf": {csrf}, "_version": {"1"}, "name": {"王五"}, "level": {"normal"}}, nil)
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("stale save: %d", resp.StatusCode)
	}
	mustContain(t, "conflict page", page, "changed meanwhile", "Someone changed this record", `value="王五"`, `name="_version" value="2"`)
	// invalid values stay on the page next to their fields
	resp, page = b.post(recURL+"/edit", url.Values{"_csrf": {csrf}, "_version": {"2"}, "name": {""}, "level": {"gold"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("invalid edit: %d", resp.StatusCode)
	}
	mustContain(t, "invalid edit", page, `id="f-name-err"`, `data-field="vip_since">`)
	// a missing version is a readable 400
	resp, _ = b.post(recURL+"/edit", url.Values{"_csrf": {csrf}, "name": {"x"}}, nil)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("edit without version: %d", resp.StatusCode)
	}
	// staff may not delete: the engine says no
	resp, _ = b.post(recURL+"/delete", url.Values{"_csrf": {csrf}, "_version": {"2"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff delete: %d, want 403", resp.StatusCode)
	}

	// the admin deletes through the confirmation page
	a := newBrowser(t, srv)
	a.lang = "en"
	acsrf := a.login("admin@example.com")
	_, page = a.get(recURL)
	mustContain(t, "admin record page", page, `href="`+recURL+`/delete"`)
	_, page = a.get(recURL + "/delete")
	mustContain(t, "confirm page", page, `action="`+recURL+`/delete"`, "Move this record to the recycle bin?", "李四")
	v := versionRE.FindStringSubmatch(page)
	if v == nil {
		t.Fatal("no version on the confirm page")
	}
	resp, _ = a.post(recURL+"/delete", url.Values{"_csrf": {acsrf}, "_version": {"1"}}, nil)
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("delete at a stale version: %d", resp.StatusCode)
	}
	resp, _ = a.post(recURL+"/delete", url.Values{"_version": {v[1]}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("delete without CSRF: %d", resp.StatusCode)
	}
	resp, _ = a.post(recURL+"/delete", url.Values{"_csrf": {acsrf}, "_version": {v[1]}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/apps/shop/forms/customer?deleted=1" {
		t.Fatalf("delete: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = a.get("/apps/shop/forms/customer?deleted=1")
	mustContain(t, "list after delete", page, "recycle bin")
	if resp, _ := a.get(recURL); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted record page: %d", resp.StatusCode)
	}
}

// TestRecordsPageUploadAndFilters posts a form page with a file (no
// script: multipart), sees the thumbnail on the record page, removes it
// by editing, and filters the list by text, number range, date-time range
// (in the posted time zone) and member.
func TestRecordsPageUploadAndFilters(t *testing.T) {
	h := docsHarness(t)
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	b := newBrowser(t, srv)
	b.lang = "en"
	csrf := b.login("clerk@example.com")
	_, page := b.get("/apps/docs/forms/claim/new")
	mustContain(t, "new claim", page, `enctype="multipart/form-data"`, `type="file" id="f-photos" name="_upload.photos" multiple`,
		`accept="image/png,image/jpeg,image/gif,image/webp"`, `data-pick="/apps/docs/forms/claim/pick/payee"`, `<option value="store1">`)

	post := func(path string, fields url.Values, fileField, name string, data []byte) (*http.Response, string) {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for k, vs := range fields {
			for _, v := range vs {
				_ = mw.WriteField(k, v)
			}
		}
		if fileField != "" {
			fw, _ := mw.CreateFormFile(fileField, name)
			_, _ = fw.Write(data)
		}
		_ = mw.Close()
		req, _ := http.NewRequest("POST", srv.URL+path, &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return b.send(req)
	}
	pic := testPNG(t, 20, 20)
	// a refused file stays next to its field
	resp, page := post("/apps/docs/forms/claim/new", url.Values{"_csrf": {csrf}, "title": {"Lunch"}}, "_upload.photos", "x.png", []byte("GIF89a not really"))
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad image: %d", resp.StatusCode)
	}
	mustContain(t, "bad image page", page, `id="f-photos-err" aria-live="polite">x.png: `)

	// 14:30 at UTC+8 is 06:30 UTC
	resp, page = post("/apps/docs/forms/claim/new", url.Values{"_csrf": {csrf}, "title": {"Lunch"}, "amount": {"88.5"}, "_tz": {"480"},
		"spent": {"2026-03-01T14:30"}, "payee": {h.users["clerk2"].ID}, "dept": {"store1"}}, "_upload.photos", "lunch.png", pic)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("submit with a file: %d %s", resp.StatusCode, page)
	}
	recURL := strings.TrimSuffix(resp.Header.Get("Location"), "?saved=1")
	_, page = b.get(recURL)
	m := regexp.MustCompile(`<a href="(/apps/docs/forms/claim/records/[^"]+/files/[^"?]+)" class="file"><img src="([^"]+)" alt="lunch.png" class="thumb"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no thumbnail on the record page: %s", page)
	}
	mustContain(t, "record page", page, "clerk2-name", "Store 1", "2026-03-01T06:30:00Z")
	if m[2] != m[1]+"?thumb=1" {
		t.Errorf("the record page shows %s, want the thumbnail of %s", m[2], m[1])
	}
	if resp, img := b.get(m[1]); resp.StatusCode != http.StatusOK || img != string(pic) {
		t.Errorf("full image download: %d, %d bytes", resp.StatusCode, len(img))
	}
	resp, img := b.get(m[2])
	if cfg, format, err := image.DecodeConfig(strings.NewReader(img)); resp.StatusCode != http.StatusOK || err != nil || cfg.Width != 20 {
		t.Errorf("thumbnail download: %d %s %v %+v", resp.StatusCode, format, err, cfg)
	}
	// the edit page keeps the file as a ticked box; unticking removes it
	_, page = b.get(recURL + "/edit")
	mustContain(t, "edit with file", page, `name="photos" value="blob:`, "checked", `class="thumb"`)
	resp, _ = post(recURL+"/edit", url.Values{"_csrf": {csrf}, "_version": {"1"}, "title": {"Lunch"}, "amount": {"88.5"}, "_tz": {"480"},
		"spent": {"2026-03-01T14:30"}, "payee": {h.users["clerk2"].ID}, "dept": {"store1"}}, "", "", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit without the file: %d", resp.StatusCode)
	}
	_, page = b.get(recURL)
	if strings.Contains(page, `alt="lunch.png"`) {
		t.Error("the unticked file is still on the record")
	}
	mustContain(t, "history", page, `<td class="before">lunch.png</td>`)
	if resp, _ := b.get(m[1]); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a removed file still downloads: %d", resp.StatusCode)
	}

	ctx := context.Background()
	clerk := &engine.Principal{User: h.users["clerk"]}
	if _, err := h.svc.CreateRecord(ctx, clerk, "docs", "claim", map[string]any{"title": "Hotel night", "amount": 420.0, "spent": "2026-03-02T20:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	list := func(q string) string {
		t.Helper()
		resp, page := b.get("/apps/docs/forms/claim?" + q)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("list %s: %d", q, resp.StatusCode)
		}
		return page
	}
	for _, c := range []struct {
		q         string
		want, not string
	}{
		{"f.title=hotel", "Hotel night", "Lunch"},
		{"f.amount.from=100", "Hotel night", "Lunch"},
		{"f.amount.to=100", "Lunch", "Hotel night"},
		// 14:00–15:00 at UTC+8 holds 06:30 UTC
		{"f.spent.from=2026-03-01T14:00&f.spent.to=2026-03-01T15:00&_tz=480", "Lunch", "Hotel night"},
		// the same wall-clock times read as UTC do not
		{"f.spent.from=2026-03-01T14:00&f.spent.to=2026-03-01T15:00", "No records", "Lunch"},
		{"f.payee=" + h.users["clerk2"].ID, "Lunch", "Hotel night"},
		{"f.dept=store1", "Lunch", "Hotel night"},
	} {
		page := list(c.q)
		if !strings.Contains(page, c.want) || strings.Contains(page, c.not) {
			t.Errorf("filter %s: want %q and not %q", c.q, c.want, c.not)
		}
	}
	page = list("f.amount.from=abc")
	mustContain(t, "bad filter", page, "a filter value is not valid")
	page = list("")
	mustContain(t, "filters", page, `name="f.title"`, `name="f.amount.from"`, `type="datetime-local" id="flt-spent-from"`, `data-pick="/apps/docs/forms/claim/pick/payee"`)
}
