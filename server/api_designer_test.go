package server

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// newAppBundle is a small valid bundle for an app the designer creates.
const newAppBundle = `{"formwork": "1", "app": {"key": "leads", "name": {"zh": "线索", "en": "Leads"}, "version": "0.1.0"},
 "roles": [{"key": "staff", "name": {"zh": "店员", "en": "Staff"}, "permissions": {"lead": {"operations": ["create", "read"], "scope": "own", "fields": {"*": "edit"}}}}],
 "forms": [{"$schema": "https://json-schema.org/draft/2020-12/schema", "x-key": "lead", "x-title": {"zh": "线索", "en": "Lead"}, "type": "object",
   "properties": {"name": {"type": "string", "maxLength": 50, "x-widget": "text", "x-label": {"zh": "姓名", "en": "Name"}}}}]}`

// TestDesignerAPI drives the draft API of API.md ("Designing apps") the
// way the designer pages do: a new app saved whole, patched, compared,
// published; the published app's draft, a stale version, bad patches and
// a user who may not design.
func TestDesignerAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	jsonPatch := map[string]string{"Content-Type": "application/json-patch+json", "If-Match": `"1"`}
	label := `[{"op": "replace", "path": "/forms/0/properties/name/x-label/zh", "value": "客户姓名"}]`
	h.run(t, []scenario{
		{name: "new app", method: "PUT", path: "/api/v1/apps/leads/draft", user: "admin", body: newAppBundle, status: http.StatusOK,
			want: []string{`"version":1`, `"problems":[]`}},
		{name: "staff may not design", method: "PUT", path: "/api/v1/apps/leads/draft", user: "staff", body: newAppBundle, status: http.StatusForbidden},
		{name: "anonymous", method: "GET", path: "/api/v1/apps/shop/draft", status: http.StatusUnauthorized},
		{name: "patch", method: "PATCH", path: "/api/v1/apps/leads/draft", user: "admin", body: label, headers: jsonPatch, after: []string{"new app"},
			status: http.StatusOK, want: []string{`"version":2`}},
		{name: "read the draft", method: "GET", path: "/api/v1/apps/leads/draft", user: "admin", after: []string{"new app", "patch"},
			status: http.StatusOK, want: []string{`客户姓名`, `"version":2`, `"base":0`}},
		{name: "stale patch", method: "PATCH", path: "/api/v1/apps/leads/draft", user: "admin", body: label, headers: jsonPatch, after: []string{"new app", "patch"},
			status: http.StatusConflict},
		{name: "patch without If-Match", method: "PATCH", path: "/api/v1/apps/leads/draft", user: "admin", body: label,
			headers: map[string]string{"Content-Type": "application/json-patch+json"}, after: []string{"new app"}, status: http.StatusPreconditionRequired},
		{name: "malformed patch", method: "PATCH", path: "/api/v1/apps/leads/draft", user: "admin", body: `[{"op": "jump", "path": "/app"}]`, headers: jsonPatch,
			after: []string{"new app"}, status: http.StatusBadRequest, not: []string{"goroutine", "panic"}},
		{name: "patch to nowhere", method: "PATCH", path: "/api/v1/apps/leads/draft", user: "admin",
			body: `[{"op": "replace", "path": "/forms/7/properties/name/x-label/zh", "value": "x"}]`, headers: jsonPatch,
			after: []string{"new app"}, status: http.StatusUnprocessableEntity, want: []string{`/forms/7`}},
		{name: "invalid draft keeps its problems", method: "PATCH", path: "/api/v1/apps/leads/draft", user: "admin",
			body: `[{"op": "replace", "path": "/forms/0/properties/name/x-widget", "value": "no-such-widget"}]`, headers: jsonPatch,
			after: []string{"new app"}, status: http.StatusOK, want: []string{`"pointer":"/forms/0/properties/name/x-widget"`}},
		{name: "publish", method: "POST", path: "/api/v1/apps/leads/draft/publish", user: "admin", after: []string{"new app", "patch"},
			status: http.StatusCreated, want: []string{`"key":"leads"`, `"version":1`},
			check: func(t *testing.T, h *harness) {
				rec := h.do("GET", "/api/v1/apps/leads/bundle", "admin", "", nil)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "客户姓名") {
					t.Errorf("published bundle: %d %s", rec.Code, rec.Body)
				}
				rec = h.do("GET", "/api/v1/apps/leads/draft", "admin", "", nil)
				var d struct {
					Version int64 `json:"version"`
					Base    int   `json:"base"`
				}
				if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &d) != nil || d.Version != 0 || d.Base != 1 {
					t.Errorf("after publishing, the draft is the published version: %d %s", rec.Code, rec.Body)
				}
			}},
		{name: "publish an invalid draft", method: "POST", path: "/api/v1/apps/leads/draft/publish", user: "admin",
			after: []string{"new app", "invalid draft keeps its problems"}, status: http.StatusUnprocessableEntity, want: []string{`/forms/0/properties/name/x-widget`}},
		{name: "diff of a published app's draft", method: "GET", path: "/api/v1/apps/shop/draft/diff", user: "admin", status: http.StatusOK,
			want: []string{`"changes":[]`, `"impact":[]`}},
		{name: "versions", method: "GET", path: "/api/v1/apps/shop/versions", user: "admin", status: http.StatusOK, want: []string{`"version":1`}},
		{name: "restore a version that does not exist", method: "POST", path: "/api/v1/apps/shop/versions/9/restore", user: "admin", status: http.StatusNotFound},
		{name: "restore version 0", method: "POST", path: "/api/v1/apps/shop/versions/0/restore", user: "admin", status: http.StatusBadRequest},
		{name: "name a designer", method: "PUT", path: "/api/v1/apps/shop/designers", user: "admin", body: `{"users": ["manager@example.com"]}`,
			status: http.StatusOK, want: []string{`{manager}`}},
		{name: "a named designer designs", method: "GET", path: "/api/v1/apps/shop/draft", user: "manager", after: []string{"name a designer"},
			status: http.StatusOK, want: []string{`"key":"shop"`}},
		{name: "a designer names no one", method: "PUT", path: "/api/v1/apps/shop/designers", user: "manager", body: `{"users": ["staff@example.com"]}`,
			after: []string{"name a designer"}, status: http.StatusForbidden},
		{name: "10 MB draft", method: "PUT", path: "/api/v1/apps/leads/draft", user: "admin", body: `{"formwork": "1", "pad": "` + strings.Repeat("x", 10<<20) + `"}`,
			status: http.StatusRequestEntityTooLarge},
		{name: "preview as a role", method: "POST", path: "/api/v1/apps/shop/draft/preview", user: "admin",
			body:   `{"form": "customer", "as": {"role": "staff", "unit": "store1"}, "data": {"name": "王小明", "phone": "13912345678", "discount": 0.1}}`,
			status: http.StatusOK, want: []string{`"王小明"`, `"perm":"masked"`}, not: []string{"13912345678", `"discount":0.1`}},
		{name: "preview as nobody", method: "POST", path: "/api/v1/apps/shop/draft/preview", user: "admin",
			body: `{"form": "customer", "as": {"role": "ghost", "unit": "store1"}}`, status: http.StatusUnprocessableEntity, want: []string{`/as/role`}},
		{name: "staff may not preview", method: "POST", path: "/api/v1/apps/shop/draft/preview", user: "staff",
			body: `{"form": "customer", "as": {"role": "staff", "unit": "store1"}}`, status: http.StatusForbidden},
		{name: "simulate", method: "POST", path: "/api/v1/apps/shop/draft/simulate", user: "admin",
			body:   `{"workflow": "discount_approval", "as": {"role": "store_manager", "unit": "store1"}, "data": {"name": "王小明", "phone": "13912345678", "discount": 0.4}}`,
			status: http.StatusOK, want: []string{`"starts":true`, `"node":"hq"`, `"mode":"all"`}},
		{name: "simulate nothing", method: "POST", path: "/api/v1/apps/shop/draft/simulate", user: "admin",
			body: `{"workflow": "ghost", "as": {"role": "staff", "unit": "store1"}}`, status: http.StatusUnprocessableEntity, want: []string{`/workflow`}},
		{name: "unknown app", method: "GET", path: "/api/v1/apps/nope/draft", user: "admin", status: http.StatusNotFound},
	}, map[string]string{"manager": h.users["manager"].ID})
}

// TestDesignerSheetAPI starts an app from a CSV the way the designer's
// "from a spreadsheet" form posts it, publishes it with its rows as sample
// data, and finds the rows as records; staff may not, and a PDF is refused.
func TestDesignerSheetAPI(t *testing.T) {
	h := newHarness(t, testConfig())
	post := func(user, app, name string, data []byte) *httptest.ResponseRecorder {
		t.Helper()
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("name_zh", "客户名单")
		part, err := mw.CreateFormFile("file", name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = part.Write(data)
		_ = mw.Close()
		return h.do("POST", "/api/v1/apps/"+app+"/draft/sheet", user, body.String(), map[string]string{"Content-Type": mw.FormDataContentType()})
	}
	csv := []byte("\xef\xbb\xbf客户姓名,手机号,消费金额\n王小明,13912345678,120.5\n李四,13812345678,88\n")
	if rec := post("staff", "clients", "客户.csv", csv); rec.Code != http.StatusForbidden {
		t.Errorf("staff: %d %s", rec.Code, rec.Body)
	}
	if rec := post("admin", "clients", "客户.pdf", []byte("%PDF-1.4")); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), ".xlsx") {
		t.Errorf("a PDF: %d %s", rec.Code, rec.Body)
	}
	rec := post("admin", "clients", "客户.csv", csv)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"key":"ke_hu_xing_ming"`) || !strings.Contains(rec.Body.String(), `"rows":2`) {
		t.Fatalf("from the sheet: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do("POST", "/api/v1/apps/clients/draft/publish", "admin", "", nil); rec.Code != http.StatusCreated {
		t.Fatalf("publish: %d %s", rec.Code, rec.Body)
	}
	if rec := h.do("GET", "/api/v1/apps/clients/bundle", "admin", "", nil); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "13912345678") {
		t.Errorf("the published bundle keeps the rows as sample data: %d", rec.Code)
	}
}
