package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestImportPages: the upload page is for users with the import
// operation; a file refused as a whole comes back on it with the reason
// in words; another user's import is not found.
func TestImportPages(t *testing.T) {
	h := newHarness(t, testConfig())
	srv := httptest.NewServer(h.e)
	defer srv.Close()
	const base = "/apps/shop/forms/customer/import"

	staff := newBrowser(t, srv)
	staff.lang = "zh"
	staff.login("staff@example.com")
	if resp, _ := staff.get(base); resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff opens the import page: %d", resp.StatusCode)
	}

	admin := newBrowser(t, srv)
	admin.lang = "zh"
	admin.login("admin@example.com")
	resp, page := admin.get(base)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("import page: %d", resp.StatusCode)
	}
	mustContain(t, "upload page", page, `id="import-file"`, "50000", "上传并检查")
	post := func(name string, data []byte) (*http.Response, string) {
		body, ct := multipartBody(t, name, data, map[string]string{"_csrf": csrfOf(t, page)})
		req, err := http.NewRequest(http.MethodPost, srv.URL+base, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		return admin.send(req)
	}
	resp, out := post("空.csv", nil)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("empty file: %d", resp.StatusCode)
	}
	mustContain(t, "refused upload", out, `id="import-error"`, "文件是空的", `id="import-file"`)
	resp, _ = post("客户.csv", []byte(importCSV))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, base+"/rimp-") {
		t.Fatalf("upload: %d %q", resp.StatusCode, loc)
	}
	if resp, _ := staff.get(loc); resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusForbidden {
		t.Errorf("staff opens the admin's import: %d", resp.StatusCode)
	}
	if resp, _ := admin.get(strings.Replace(loc, "/customer/", "/company/", 1)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the import under another form: %d", resp.StatusCode)
	}
}
