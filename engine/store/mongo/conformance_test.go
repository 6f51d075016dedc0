package mongo

import (
	"context"
	"os"
	"strings"
	"testing"

	"formwork/engine"
	"formwork/engine/store/mongo/mongotest"
	"formwork/engine/store/storetest"
)

// TestConformance runs the store conformance suite against the server at
// FORMWORK_MONGO_URI, each subtest in a fresh database that is dropped
// afterwards. FORMWORK_MONGO_TRANSACTIONS=off runs it without transactions
// (for wire-compatible servers such as FerretDB), declaring the
// capabilities that mode lacks.
func TestConformance(t *testing.T) {
	if mongotest.URI() == "" {
		t.Skip("FORMWORK_MONGO_URI not set: MongoDB conformance skipped")
	}
	noTx := mongotest.NoTransactions()
	caps := storetest.All
	if noTx {
		caps.Transactions = false
		caps.ConcurrentAtomicUpdates = false
	}
	storetest.Run(t, storetest.Harness{
		MakeStore: func(ctx context.Context, tb testing.TB) (engine.Store, error) {
			uri, name := mongotest.Database(tb)
			return Open(ctx, uri, Options{Database: name, DisableTransactions: noTx})
		},
		Capabilities: caps,
		MakePair: func(ctx context.Context, tb testing.TB) (engine.Store, engine.Store, error) {
			uri, name := mongotest.Database(tb)
			a, err := Open(ctx, uri, Options{Database: name, DisableTransactions: noTx})
			if err != nil {
				return nil, nil, err
			}
			b, err := Open(ctx, uri, Options{Database: name, DisableTransactions: noTx})
			if err != nil {
				a.Close()
				return nil, nil, err
			}
			return a, b, nil
		},
	})
}

// TestOpenRefusesStandalone checks the start-up refusal against the server
// at FORMWORK_MONGO_STANDALONE_URI (a standalone mongod or FerretDB).
func TestOpenRefusesStandalone(t *testing.T) {
	uri := os.Getenv("FORMWORK_MONGO_STANDALONE_URI")
	if uri == "" {
		t.Skip("FORMWORK_MONGO_STANDALONE_URI not set: standalone refusal check skipped")
	}
	s, err := Open(context.Background(), uri, Options{Database: mongotest.FreshName(t)})
	if err == nil {
		s.Close()
		t.Fatal("Open of a standalone server with transactions on succeeded; want ErrStandalone")
	}
	if err != ErrStandalone || !strings.Contains(err.Error(), "rs.initiate()") {
		t.Fatalf("Open error = %v; want ErrStandalone", err)
	}
}
