package mongo

import (
	"context"
	"slices"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"formwork/engine"
	"formwork/engine/store/mongo/mongotest"
)

// TestEnsureIndexesUpgrade: a database holding the indexes of the order
// before ties went by created_at (a field's (path, _id) and (path,
// created_at desc, _id desc), form_updated on (updated_at, _id)) has them
// replaced at the next Open and EnsureIndexes.
func TestEnsureIndexesUpgrade(t *testing.T) {
	ctx := context.Background()
	s, reopen := openUpgrade(t, "index upgrade")
	const stem = "rx_0123456789abcdef" // the names derive from the path alone; any will do
	old := []string{"form_updated", stem + "_s", stem + "_c"}
	if err := s.records.Indexes().DropOne(ctx, "form_updated_created"); err != nil {
		t.Fatal(err)
	}
	if err := syncIndexes(ctx, s.records, []mongo.IndexModel{
		idx(old[0], false, "app", 1, "form", 1, "deleted", 1, "updated_at", -1, "_id", -1),
		idx(old[1], false, "app", 1, "form", 1, "deleted", 1, "data.level", 1, "_id", 1),
		idx(old[2], false, "app", 1, "form", 1, "deleted", 1, "data.level", 1, "created_at", -1, "_id", -1),
	}, nil); err != nil {
		t.Fatal(err)
	}
	s = reopen()
	if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "a", Form: "f", Fields: []string{"level"}}); err != nil {
		t.Fatal(err)
	}
	specs, err := s.records.Indexes().ListSpecifications(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, sp := range specs {
		names = append(names, sp.Name)
	}
	for _, n := range old {
		if slices.Contains(names, n) {
			t.Errorf("index %s of the earlier order remains: %v", n, names)
		}
	}
	if !slices.Contains(names, "form_updated_created") || slices.IndexFunc(names, func(n string) bool { return len(n) == len(stem)+2 && n[len(n)-2:] == "_t" }) < 0 {
		t.Errorf("indexes %v lack form_updated_created or a field's rx_…_t", names)
	}
}

// openUpgrade opens a store on a fresh database and returns it with a
// function that closes it and opens the database again, as a process
// started after an upgrade does; the test is skipped without a server.
func openUpgrade(t *testing.T, what string) (*Store, func() *Store) {
	t.Helper()
	if mongotest.URI() == "" {
		t.Skip("FORMWORK_MONGO_URI not set: MongoDB " + what + " skipped")
	}
	ctx := context.Background()
	uri, name := mongotest.Database(t)
	opts := Options{Database: name, DisableTransactions: mongotest.NoTransactions()}
	s, err := Open(ctx, uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // the store open at the end
	return s, func() *Store {
		t.Helper()
		s.Close()
		if s, err = Open(ctx, uri, opts); err != nil {
			t.Fatal(err)
		}
		return s
	}
}
