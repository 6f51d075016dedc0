package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExportTraceCLI: through `formwork serve` on the embedded default, an
// administrator exports customers (the real queue and worker write the
// file); `formwork export trace` names the export and its exporter from
// the downloaded file, and says so when a file carries no mark.
func TestExportTraceCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("CLI test with subprocesses: skipped under -short")
	}
	const password = "a long and fine password"
	data := seedData(t, password, []string{"app", "import", shopBundle(t)})
	addr := freeAddr(t)
	base := "http://" + addr
	srv := startServe(t, data, addr, cleanEnv())
	admin := login(t, base, "admin@example.com", password)
	for _, name := range []string{"王小明", "李四", "张三"} {
		if _, err := admin.call("POST", "/api/v1/apps/shop/forms/customer/records", map[string]any{"data": map[string]any{"name": name, "phone": "13912345678", "level": "normal"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var e struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		File   string `json:"file"`
	}
	if _, err := admin.call("POST", "/api/v1/apps/shop/forms/customer/exports", map[string]any{"format": "xlsx"}, &e); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.Status != "done" {
		if time.Now().After(deadline) {
			t.Fatalf("the export is still %s after 30s:\n%s", e.Status, srv.stderr)
		}
		time.Sleep(100 * time.Millisecond)
		if _, err := admin.call("GET", "/api/v1/exports/"+e.ID, nil, &e); err != nil {
			t.Fatal(err)
		}
	}
	req, _ := http.NewRequest("GET", base+e.File, nil)
	req.Header.Set("Authorization", "Bearer "+admin.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(file) == 0 {
		t.Fatalf("download: %d", resp.StatusCode)
	}
	srv.stop(t)
	path := filepath.Join(t.TempDir(), "客户.xlsx")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := run(t, data, "", "export", "trace", path)
	if code != 0 || !strings.Contains(out, "export "+e.ID+": 管理员") || !strings.Contains(out, "shop/customer") {
		t.Errorf("trace: exit %d\n%s", code, out)
	}
	plain := filepath.Join(t.TempDir(), "plain.csv")
	if err := os.WriteFile(plain, []byte("name,phone\n王小明,139\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, data, "", "export", "trace", plain); code != 1 || !strings.Contains(out, "no invisible mark") {
		t.Errorf("trace of an unmarked file: exit %d\n%s", code, out)
	}
}
