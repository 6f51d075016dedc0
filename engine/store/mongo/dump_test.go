package mongo

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"formwork/engine/store/mongo/mongotest"
)

// TestDumpRestore dumps a database with documents of many BSON types,
// restores it into a fresh one and finds every collection hashing alike;
// a cut or damaged dump is refused and leaves no database behind.
func TestDumpRestore(t *testing.T) {
	if mongotest.URI() == "" {
		t.Skip("FORMWORK_MONGO_URI not set: MongoDB dump skipped")
	}
	ctx := context.Background()
	uri, name := mongotest.Database(t)
	noTx := mongotest.NoTransactions()
	s, err := Open(ctx, uri, Options{Database: name, DisableTransactions: noTx})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	docs := []any{
		bson.D{{Key: "_id", Value: "b"}, {Key: "i32", Value: int32(7)}, {Key: "i64", Value: int64(7)}, {Key: "f", Value: 7.5}},
		bson.D{{Key: "_id", Value: "a"}, {Key: "bin", Value: bson.Binary{Data: []byte{0, 1, 2}}}, {Key: "nested", Value: bson.D{{Key: "z", Value: 1}, {Key: "a", Value: "王"}}}},
	}
	if _, err := s.records.InsertMany(ctx, docs); err != nil {
		t.Fatal(err)
	}
	want, err := s.Digest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want["records"].Rows != 2 {
		t.Fatalf("records digest %+v, want 2 rows", want["records"])
	}
	path := filepath.Join(t.TempDir(), "dump")
	info, err := s.DumpFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("point in time: %v %s", info.PointInTime, info.Why)
	if diff := cmp.Diff(want, info.Collections); diff != "" {
		t.Errorf("dump digests (-store +dump):\n%s", diff)
	}

	target := mongotest.FreshName(t)
	t.Cleanup(func() { mongotest.Drop(t, uri, target) })
	r, err := Restore(ctx, uri, Options{Database: target, DisableTransactions: noTx}, path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Digest(ctx)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("restored digests (-original +restored):\n%s", diff)
	}
	if _, err := Restore(ctx, uri, Options{Database: target, DisableTransactions: noTx}, path); err == nil {
		t.Errorf("restore into a database that holds data succeeded")
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for what, bad := range map[string][]byte{"cut": raw[:len(raw)-10], "no trailer": raw[:len(raw)/2]} {
		p := filepath.Join(t.TempDir(), "bad")
		if err := os.WriteFile(p, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		fresh := mongotest.FreshName(t)
		if _, err := Restore(ctx, uri, Options{Database: fresh, DisableTransactions: noTx}, p); !errors.Is(err, ErrBadDump) {
			t.Errorf("%s: restore error %v, want ErrBadDump", what, err)
		}
		if n := collections(t, s, fresh); n != 0 {
			t.Errorf("%s: the refused restore left %d collections behind", what, n)
		}
	}
}

func collections(tb testing.TB, s *Store, db string) int {
	tb.Helper()
	names, err := s.client.Database(db).ListCollectionNames(context.Background(), bson.D{})
	if err != nil {
		tb.Fatal(err)
	}
	return len(names)
}
