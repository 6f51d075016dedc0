package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/mongo"
	"formwork/engine/store/mongo/mongotest"
)

// TestMongoBackupRoundTrip: on the MongoDB server at FORMWORK_MONGO_URI,
// data on the dealership template (with sample data), a shop with
// sensitive customers and an uploaded contract is backed up while `serve`
// runs, verified in a scratch database, restored into a new database and
// served again: the same records, the same audit chain up to the backup,
// the same login. The file holds no plaintext value, and one flipped byte
// or a cut is refused without leaving a database behind.
func TestMongoBackupRoundTrip(t *testing.T) {
	if mongotest.URI() == "" {
		t.Skip("FORMWORK_MONGO_URI not set: the MongoDB backup round trip is skipped")
	}
	if testing.Short() {
		t.Skip("CLI test with subprocesses: skipped under -short")
	}
	const password = "a long and fine password"
	srcDB, dstDB := mongotest.FreshName(t), mongotest.FreshName(t)
	for _, name := range []string{srcDB, dstDB} {
		t.Cleanup(func() { mongotest.Drop(t, mongotest.URI(), name) })
	}
	env := mongoEnv(srcDB)
	data := filepath.Join(t.TempDir(), "data")
	admin := []string{"user", "create", "--email", "admin@example.com", "--name", "管理员", "--unit", "hq", "--admin", "--password-stdin"}
	for _, args := range [][]string{admin, {"app", "import", "--template", "dealership", "--sample-data"}, {"app", "import", shopBundle(t)}} {
		if out, code := runEnv(t, env, data, password+"\n", args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, out)
		}
	}
	addr := freeAddr(t)
	srv := startServe(t, data, addr, env)
	api := login(t, "http://"+addr, "admin@example.com", password)
	const phone, upload = "13987654321", "the plain words of an uploaded purchase contract"
	addCustomers(t, api, phone)
	if code, err := postUpload(api, "/api/v1/apps/dealership/forms/sales_order/uploads", "contract_files", "contract.txt", []byte(upload)); code != http.StatusCreated {
		t.Fatalf("upload: %d %v", code, err)
	}
	before := listCustomers(t, api)

	start := time.Now()
	out, code := runEnv(t, env, data, "", "backup", "create")
	if code != 0 {
		t.Fatalf("backup create: exit %d\n%s", code, out)
	}
	t.Logf("create %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	if mongotest.NoTransactions() && !strings.Contains(out, "not point-in-time") {
		t.Errorf("without transactions the log does not say the dump is not point-in-time:\n%s", out)
	}
	srv.stop(t)
	out, _ = runEnv(t, env, data, "", "backup", "list")
	file := strings.Fields(strings.TrimSpace(out))[3]
	start = time.Now()
	if out, code := runEnv(t, env, data, "", "backup", "verify", file); code != 0 || !strings.Contains(out, "audit chain intact") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	t.Logf("verify %s", time.Since(start).Round(time.Millisecond))
	if out, code := run(t, data, "", "backup", "verify", file); code != 1 || !strings.Contains(out, "set FORMWORK_MONGO_URI") {
		t.Errorf("verify without FORMWORK_MONGO_URI: exit %d\n%s", code, out)
	}

	t.Run("no plaintext", func(t *testing.T) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		// a doc holds the upload's chunk as base64 in its JSON
		chunk := base64.StdEncoding.EncodeToString([]byte(upload))
		for _, s := range []string{"admin@example.com", upload, chunk, phone, "王小明", "formwork-mongo-dump"} {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("the backup holds %q in the clear", s)
			}
		}
		// the email and the upload are in the clear in a dump, so their absence shows the sealing
		dump := dumpOf(t, srcDB)
		for _, s := range []string{"admin@example.com", chunk} {
			if !bytes.Contains(dump, []byte(s)) {
				t.Errorf("the database's dump does not hold %q in the clear: the check above proves nothing", s)
			}
		}
	})

	key := filepath.Join(data, "backup.key")
	t.Run("damage is refused", func(t *testing.T) {
		for name, p := range damagedCopies(t, file) {
			if out, code := runEnv(t, env, data, "", "backup", "verify", p); code != 1 || !strings.Contains(out, "corrupted or truncated") {
				t.Errorf("%s: verify exit %d\n%s", name, code, out)
			}
			if out, code := runEnv(t, env, t.TempDir(), "", "backup", "restore", p, "--key", key, "--database", dstDB); code != 1 || !strings.Contains(out, "corrupted or truncated") {
				t.Errorf("%s: restore exit %d\n%s", name, code, out)
			}
			if n := countCollections(t, dstDB); n != 0 {
				t.Errorf("%s: restore left %d collections behind", name, n)
			}
		}
	})

	master, err := os.ReadFile(filepath.Join(data, engine.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	if out, code := runEnv(t, env, restored, "", "backup", "restore", file, "--key", key); code == 0 || !strings.Contains(out, "--database") {
		t.Errorf("restore without --database: exit %d\n%s", code, out)
	}
	if out, code := runEnv(t, env, restored, engine.EncodeMasterKey(make([]byte, engine.MasterKeySize))+"\n", "backup", "restore", file, "--key", key, "--database", dstDB); code == 0 || !strings.Contains(out, "does not open the backed-up data keys") {
		t.Errorf("restore with a wrong master key: exit %d\n%s", code, out)
	}
	if n := countCollections(t, dstDB); n != 0 {
		t.Errorf("the refused restore left %d collections behind", n)
	}
	if out, code := runEnv(t, env, restored, "", "backup", "restore", file, "--key", key, "--database", dstDB, "--dry-run"); code != 0 || !strings.Contains(out, "would create database") {
		t.Errorf("dry run into a new database: exit %d\n%s", code, out)
	}
	start = time.Now()
	out, code = runEnv(t, env, restored, string(master), "backup", "restore", file, "--key", key, "--database", dstDB)
	if code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, out)
	}
	t.Logf("restore %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	if out, code := runEnv(t, env, restored, "", "backup", "restore", file, "--key", key, "--database", dstDB); code == 0 || !strings.Contains(out, "already holds a store") {
		t.Errorf("restore over a store: exit %d\n%s", code, out)
	}
	if out, code := runEnv(t, env, restored, "", "backup", "restore", file, "--key", key, "--database", dstDB, "--dry-run"); code != 0 || !strings.Contains(out, "nothing would change") {
		t.Errorf("dry run onto the same data: exit %d\n%s", code, out)
	}
	sameStore(t, func(name string) backedUpStore { return openMongoDB(t, name) }, srcDB, dstDB)

	addr = freeAddr(t)
	srv = startServe(t, restored, addr, mongoEnv(dstDB))
	defer srv.stop(t)
	again := login(t, "http://"+addr, "admin@example.com", password)
	if diff := cmp.Diff(before, listCustomers(t, again)); diff != "" {
		t.Errorf("customers after restore (-before +after):\n%s", diff)
	}
}

// mongoURI is FORMWORK_MONGO_URI with its database set to name.
func mongoURI(name string) string {
	uri, query, _ := strings.Cut(mongotest.URI(), "?")
	scheme, rest, _ := strings.Cut(uri, "://")
	hosts, _, _ := strings.Cut(rest, "/")
	if query != "" {
		query = "?" + query
	}
	return scheme + "://" + hosts + "/" + name + query
}

// mongoEnv is the environment of a formwork on database name.
func mongoEnv(name string) []string {
	return append(cleanEnv(), envMongoURI+"="+mongoURI(name))
}

func openMongoDB(tb testing.TB, name string) *mongo.Store {
	tb.Helper()
	s, err := mongo.Open(context.Background(), mongoURI(name), mongo.Options{DisableTransactions: mongotest.NoTransactions()})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func countCollections(tb testing.TB, name string) int {
	tb.Helper()
	n, err := mongo.CountCollections(context.Background(), mongotest.URI(), name)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// dumpOf returns an unsealed dump of database name.
func dumpOf(tb testing.TB, name string) []byte {
	tb.Helper()
	s := openMongoDB(tb, name)
	defer s.Close()
	p := filepath.Join(tb.TempDir(), "dump")
	if _, err := s.DumpFile(context.Background(), p); err != nil {
		tb.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
