package main

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

// TestBackupRoundTrip: data on both templates (with sample data), a shop
// with sensitive customers and an upload is backed up while `serve` runs,
// restored into a new directory and served again: the same records, the
// same audit chain up to the backup, the same login. The file holds no
// plaintext value, and one flipped byte or a cut is refused.
func TestBackupRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("CLI test with subprocesses: skipped under -short")
	}
	const password = "a long and fine password"
	data := seedData(t, password,
		[]string{"app", "import", "--template", "crm", "--sample-data"},
		[]string{"app", "import", "--template", "dealership", "--sample-data"},
		[]string{"app", "import", shopBundle(t)})
	addr := freeAddr(t)
	srv := startServe(t, data, addr, cleanEnv())
	admin := login(t, "http://"+addr, "admin@example.com", password)
	const phone, upload = "13987654321", "the plain words of an uploaded contract"
	addCustomers(t, admin, phone)
	if code, err := postUpload(admin, "/api/v1/apps/crm/forms/contract/uploads", "files", "contract.txt", []byte(upload)); code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, err)
	}
	before := listCustomers(t, admin)

	// online: the server keeps running while the snapshot is taken
	start := time.Now()
	out, code := run(t, data, "", "backup", "create")
	if code != 0 {
		t.Fatalf("backup create: exit %d\n%s", code, out)
	}
	t.Logf("create %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	srv.stop(t)
	out, _ = run(t, data, "", "backup", "list")
	file := strings.Fields(strings.TrimSpace(out))[3]
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatalf("backup list: %v\n%s", err, out)
	}
	t.Logf("backup file: %d bytes", fi.Size())
	if out, code := run(t, data, "", "backup", "verify", file); code != 0 || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}

	t.Run("no plaintext", func(t *testing.T) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		db, err := os.ReadFile(filepath.Join(data, dbFile))
		if err != nil {
			t.Fatal(err)
		}
		// the email and the upload are in the clear in the store, so their absence shows the sealing
		for _, s := range []string{"admin@example.com", upload, phone, "王小明", "CREATE TABLE", "SQLite format"} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("the backup holds %q in the clear", s)
			}
		}
		if !bytes.Contains(db, []byte("admin@example.com")) {
			t.Errorf("the store does not hold the email in the clear: the check above proves nothing")
		}
	})

	t.Run("damage is refused", func(t *testing.T) {
		for name, p := range damagedCopies(t, file) {
			if out, code := run(t, data, "", "backup", "verify", p); code != 1 || !strings.Contains(out, "corrupted or truncated") {
				t.Errorf("%s: verify exit %d\n%s", name, code, out)
			}
			target := filepath.Join(t.TempDir(), "data")
			if out, code := run(t, target, "", "backup", "restore", p, "--key", filepath.Join(data, "backup.key")); code != 1 || !strings.Contains(out, "corrupted or truncated") {
				t.Errorf("%s: restore exit %d\n%s", name, code, out)
			}
			if _, err := os.Stat(filepath.Join(target, dbFile)); err == nil {
				t.Errorf("%s: restore left a store behind", name)
			}
		}
	})

	master, err := os.ReadFile(filepath.Join(data, engine.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	key := filepath.Join(data, "backup.key")
	if out, code := run(t, restored, engine.EncodeMasterKey(make([]byte, engine.MasterKeySize))+"\n", "backup", "restore", file, "--key", key); code == 0 || !strings.Contains(out, "does not open the backed-up data keys") {
		t.Errorf("restore with a wrong master key: exit %d\n%s", code, out)
	}
	out, code = run(t, restored, "", "backup", "restore", file, "--key", key, "--dry-run")
	if code != 0 || !strings.Contains(out, "would create") {
		t.Errorf("dry run into a new directory: exit %d\n%s", code, out)
	}
	start = time.Now()
	out, code = run(t, restored, string(master), "backup", "restore", file, "--key", key)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, out)
	}
	t.Logf("restore %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	if out, code := run(t, restored, "", "backup", "restore", file, "--key", key); code == 0 || !strings.Contains(out, "already holds a store") {
		t.Errorf("restore over a store: exit %d\n%s", code, out)
	}
	if out, code := run(t, restored, "", "backup", "restore", file, "--key", key, "--dry-run"); code != 0 || !strings.Contains(out, "nothing would change") {
		t.Errorf("dry run onto the same data: exit %d\n%s", code, out)
	}
	sameStore(t, openSQLiteData(t), data, restored)
	// the original moves on: a dry run onto it names what a restore would change
	if out, code := run(t, data, password+"\n", "user", "create", "--email", "later@example.com", "--name", "x", "--unit", "hq", "--password-stdin"); code != 0 {
		t.Fatalf("user create: exit %d\n%s", code, out)
	}
	if out, code := run(t, data, "", "backup", "restore", file, "--dry-run"); code != 0 || !strings.Contains(out, "audit: ") || !strings.Contains(out, "restore refuses") {
		t.Errorf("dry run onto data that moved on: exit %d\n%s", code, out)
	}

	addr = freeAddr(t)
	srv = startServe(t, restored, addr, cleanEnv())
	defer srv.stop(t)
	again := login(t, "http://"+addr, "admin@example.com", password)
	if diff := cmp.Diff(before, listCustomers(t, again)); diff != "" {
		t.Errorf("customers after restore (-before +after):\n%s", diff)
	}
}

// backedUpStore is what sameStore reads of a store.
type backedUpStore interface {
	Digest(ctx context.Context) (map[string]engine.TableDigest, error)
	WalkAudit(ctx context.Context, after int64, fn func(*engine.AuditEvent) error) error
	Close() error
}

// sameStore checks that the restored store holds the original's records,
// revisions and docs, and that its audit chain is the original's up to the
// backup (the original went on writing events after it); open opens
// either by its name.
func sameStore(t *testing.T, open func(string) backedUpStore, original, restored string) {
	t.Helper()
	ctx := context.Background()
	events := func(name string) ([]string, map[string]engine.TableDigest) {
		s := open(name)
		defer s.Close()
		d, err := s.Digest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var hashes []string
		if err := s.WalkAudit(ctx, 0, func(e *engine.AuditEvent) error { hashes = append(hashes, e.Hash); return nil }); err != nil {
			t.Fatal(err)
		}
		return hashes, d
	}
	oa, od := events(original)
	ra, rd := events(restored)
	for _, table := range []string{"records", "revisions", "docs"} {
		if od[table] != rd[table] {
			t.Errorf("%s: original %+v, restored %+v", table, od[table], rd[table])
		}
	}
	if len(ra) == 0 || len(ra) > len(oa) {
		t.Fatalf("restored %d audit events, the original has %d", len(ra), len(oa))
	}
	if diff := cmp.Diff(oa[:len(ra)], ra); diff != "" {
		t.Errorf("the restored chain is not the original's prefix (-original +restored):\n%s", diff)
	}
}

// openSQLiteData opens the store of a data directory.
func openSQLiteData(t *testing.T) func(string) backedUpStore {
	return func(dir string) backedUpStore {
		t.Helper()
		s, err := sqlite.Open(filepath.Join(dir, dbFile), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}

// addCustomers adds the three shop customers listCustomers expects, each
// with the sensitive phone.
func addCustomers(t *testing.T, a *apiClient, phone string) {
	t.Helper()
	for _, name := range []string{"王小明", "李四", "张三"} {
		if _, err := a.call("POST", "/api/v1/apps/shop/forms/customer/records", map[string]any{"data": map[string]any{"name": name, "phone": phone, "level": "normal"}}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func listCustomers(t *testing.T, a *apiClient) []map[string]any {
	t.Helper()
	var out struct {
		Items []map[string]any `json:"items"`
	}
	if _, err := a.call("GET", "/api/v1/apps/shop/forms/customer/records?limit=100", nil, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 3 {
		t.Fatalf("%d customers, want 3", len(out.Items))
	}
	return out.Items
}

// postUpload posts one file to an uploads URL as a.
func postUpload(a *apiClient, path, field, name string, data []byte) (int, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("field", field)
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		return 0, err
	}
	_, _ = part.Write(data)
	_ = mw.Close()
	req, err := http.NewRequest("POST", a.base+path, &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return resp.StatusCode, errString(string(b))
	}
	return resp.StatusCode, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// damagedCopies writes damaged copies of the backup file: one byte
// flipped in the middle and at the end, cut short, empty.
func damagedCopies(t *testing.T, file string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, bad := range map[string][]byte{
		"flipped byte": flip(raw, len(raw)/2),
		"flipped tail": flip(raw, len(raw)-1),
		"cut short":    raw[:len(raw)*2/3],
		"empty":        nil,
	} {
		p := filepath.Join(t.TempDir(), "bad.fwbk")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	return out
}

func flip(b []byte, i int) []byte {
	c := append([]byte(nil), b...)
	c[i] ^= 0x01
	return c
}
