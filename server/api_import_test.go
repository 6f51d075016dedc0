package server

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"formwork/engine"
)

// importCSV has four data rows (file rows 2–5); rows 3 (phone) and 5
// (level) are bad.
const importCSV = "姓名,手机号,等级\n张三,13800138000,普通\n李四,12345,普通\nBob,13600136000,VIP\n王五,13900139000,platinum\n"

// multipartBody builds a multipart body with a file part and values.
func multipartBody(tb testing.TB, name string, file []byte, values map[string]string) (string, string) {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if name != "" {
		w, err := mw.CreateFormFile("file", name)
		if err != nil {
			tb.Fatal(err)
		}
		_, _ = w.Write(file)
	}
	for k, v := range values {
		_ = mw.WriteField(k, v)
	}
	if err := mw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.String(), mw.FormDataContentType()
}

func (h *harness) postImport(user, name string, file []byte, values map[string]string) *httptest.ResponseRecorder {
	h.tb.Helper()
	body, ct := multipartBody(h.tb, name, file, values)
	return h.do(http.MethodPost, "/api/v1/apps/shop/forms/customer/imports", user, body, map[string]string{"Content-Type": ct, "Accept-Language": "zh"})
}

// waitImport polls the import until it is over and returns its JSON.
func (h *harness) waitImport(user, id string) importJSON {
	h.tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		rec := h.do(http.MethodGet, "/api/v1/imports/"+id, user, "", map[string]string{"Accept-Language": "zh"})
		if rec.Code != http.StatusOK {
			h.tb.Fatalf("GET import: %d %s", rec.Code, rec.Body)
		}
		var j importJSON
		if err := json.Unmarshal(rec.Body.Bytes(), &j); err != nil {
			h.tb.Fatal(err)
		}
		if j.Status == engine.ImportDone || j.Status == engine.ImportFailed {
			return j
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.tb.Fatalf("import %s did not finish", id)
	return importJSON{}
}

func (h *harness) customers() int64 {
	h.tb.Helper()
	n, err := h.store.CountRecords(context.Background(), engine.RecordQuery{App: "shop", Form: "customer"})
	if err != nil {
		h.tb.Fatal(err)
	}
	return n
}

func TestImportAPIDryRunThenRun(t *testing.T) {
	h := newHarness(t, testConfig())
	before := h.customers()
	rec := h.postImport("admin", "客户.csv", []byte(importCSV), map[string]string{"dry_run": "true"})
	if rec.Code != http.StatusAccepted {
		t.Fatalf("POST: %d %s", rec.Code, rec.Body)
	}
	var started struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &started)
	j := h.waitImport("admin", started.ID)
	if !j.DryRun || j.Rows != 4 || j.Written != 2 || j.Failed != 2 || len(j.Errors) != 2 || j.Errors[0].Row != 3 || j.Errors[0].Column != "B" || j.Errors[1].Row != 5 {
		t.Fatalf("dry run: %+v", j)
	}
	if n := h.customers(); n != before {
		t.Fatalf("the dry run wrote %d records", n-before)
	}
	raw := h.do(http.MethodGet, "/api/v1/imports/"+started.ID, "admin", "", map[string]string{"Accept-Language": "zh"}).Body.String()
	for _, bad := range []string{"^1[3-9]", "pattern", "\"/phone\"", "json", "regexp"} {
		if strings.Contains(raw, bad) {
			t.Errorf("the report shows %q to staff: %s", bad, raw)
		}
	}
	// others neither read nor run it
	if rec := h.do(http.MethodGet, "/api/v1/imports/"+started.ID, "staff", "", nil); rec.Code != http.StatusNotFound {
		t.Errorf("staff reads the admin's import: %d", rec.Code)
	}
	if rec := h.do(http.MethodPost, "/api/v1/imports/"+started.ID+"/run", "manager", `{}`, nil); rec.Code != http.StatusNotFound {
		t.Errorf("manager runs the admin's import: %d", rec.Code)
	}
	// the real run writes the two good rows
	if rec := h.do(http.MethodPost, "/api/v1/imports/"+started.ID+"/run", "admin", `{}`, nil); rec.Code != http.StatusAccepted {
		t.Fatalf("run: %d %s", rec.Code, rec.Body)
	}
	j = h.waitImport("admin", started.ID)
	if j.DryRun || j.Created != 2 || j.Failed != 2 {
		t.Fatalf("run: %+v", j)
	}
	if n := h.customers(); n != before+2 {
		t.Fatalf("%d records written, want 2", n-before)
	}
	// the failed rows as a workbook
	rec = h.do(http.MethodGet, "/api/v1/imports/"+started.ID+"/failed", "admin", "", map[string]string{"Accept-Language": "en"})
	if rec.Code != http.StatusOK || !strings.Contains(rec.Header().Get("Content-Type"), "spreadsheetml") || !bytes.HasPrefix(rec.Body.Bytes(), []byte("PK")) {
		t.Fatalf("failed rows: %d %s", rec.Code, rec.Header())
	}
	if rec := h.do(http.MethodPost, "/api/v1/imports/"+started.ID+"/run", "admin", `{}`, nil); rec.Code != http.StatusConflict {
		t.Errorf("a second real run: %d", rec.Code)
	}
}

func TestImportAPIRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		user   string
		file   string
		data   []byte
		values map[string]string
		status int
		want   string
	}{
		{"no import operation", "staff", "c.csv", []byte(importCSV), nil, http.StatusForbidden, ""},
		{"no access to the form", "nobody", "c.csv", []byte(importCSV), nil, http.StatusNotFound, ""},
		// refused before the upload is read: a file of any size or shape
		// costs a user who may not import no parsing
		{"no import operation, a broken file", "staff", "c.xlsx", []byte("PK\x03\x04nope"), nil, http.StatusForbidden, ""},
		{"no access to the form, a broken file", "nobody", "c.xlsx", []byte("PK\x03\x04nope"), nil, http.StatusNotFound, ""},
		{"anonymous", "", "c.csv", []byte(importCSV), nil, http.StatusUnauthorized, ""},
		{"empty file", "admin", "c.csv", nil, nil, http.StatusUnprocessableEntity, "文件是空的"},
		{"header only", "admin", "c.csv", []byte("姓名,手机号\n"), nil, http.StatusUnprocessableEntity, "没有数据行"},
		{"not a spreadsheet", "admin", "c.xlsx", []byte("PK\x03\x04nope"), nil, http.StatusUnprocessableEntity, ".xlsx"},
		{"no file", "admin", "", nil, map[string]string{"dry_run": "true"}, http.StatusBadRequest, ""},
		{"bad dry_run", "admin", "c.csv", []byte(importCSV), map[string]string{"dry_run": "maybe"}, http.StatusBadRequest, ""},
		{"two columns one field", "admin", "c.csv", []byte(importCSV), map[string]string{"mapping": `{"C":"name"}`}, http.StatusUnprocessableEntity, "同一个字段"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			before := h.customers()
			rec := h.postImport(tc.user, tc.file, tc.data, tc.values)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
				t.Fatalf("got %d %s, want %d with %q", rec.Code, rec.Body, tc.status, tc.want)
			}
			if n := h.customers(); n != before {
				t.Errorf("%d records written", n-before)
			}
		})
	}
}

// TestImportAPIDenialAudited: a refused import is in the audit log as a
// denied "import" of the user.
func TestImportAPIDenialAudited(t *testing.T) {
	h := newHarness(t, testConfig())
	if rec := h.postImport("staff", "c.csv", []byte(importCSV), nil); rec.Code != http.StatusForbidden {
		t.Fatalf("staff: %d", rec.Code)
	}
	h.svc.Close() // flush the audit writer
	found := false
	if err := h.store.WalkAudit(context.Background(), 0, func(ev *engine.AuditEvent) error {
		found = found || (ev.Action == "import" && ev.Result == engine.ResultDenied && ev.Actor == h.users["staff"].ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Error("no denied import event for staff")
	}
}
