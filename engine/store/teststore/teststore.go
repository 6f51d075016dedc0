// Package teststore opens the store a test outside the stores' own
// packages runs on: MongoDB on a fresh database when FORMWORK_MONGO_URI is
// set (see mongotest), SQLite in a temporary directory otherwise. The
// stores' own tests do not use it (it imports them).
package teststore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/mongo"
	"formwork/engine/store/mongo/mongotest"
	"formwork/engine/store/sqlite"
)

// Open opens the store the environment picks with the clock now (nil:
// time.Now); it is closed when tb ends.
func Open(tb testing.TB, now func() time.Time) engine.Store {
	tb.Helper()
	if mongotest.URI() != "" {
		return Mongo(tb, now)
	}
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "formwork.db"), sqlite.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// Mongo opens the MongoDB store on a fresh database at FORMWORK_MONGO_URI
// with the clock now; it is closed, and the database dropped, when tb
// ends. It fails tb when FORMWORK_MONGO_URI is not set.
func Mongo(tb testing.TB, now func() time.Time) *mongo.Store {
	tb.Helper()
	uri, name := mongotest.Database(tb)
	st, err := mongo.Open(context.Background(), uri, mongo.Options{Database: name, DisableTransactions: mongotest.NoTransactions(), Now: now})
	if err != nil {
		tb.Fatalf("MongoDB at FORMWORK_MONGO_URI: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}
