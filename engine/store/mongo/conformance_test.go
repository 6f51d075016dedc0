package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"formwork/engine"
	"formwork/engine/store/storetest"
)

// TestConformance runs the store conformance suite against the server at
// FORMWORK_MONGO_URI, each subtest in a fresh database that is dropped
// afterwards. FORMWORK_MONGO_TRANSACTIONS=off runs it without transactions
// (for wire-compatible servers such as FerretDB), declaring the
// capabilities that mode lacks.
func TestConformance(t *testing.T) {
	uri := os.Getenv("FORMWORK_MONGO_URI")
	if uri == "" {
		t.Skip("FORMWORK_MONGO_URI not set: MongoDB conformance skipped")
	}
	noTx := strings.EqualFold(os.Getenv("FORMWORK_MONGO_TRANSACTIONS"), "off")
	caps := storetest.All
	if noTx {
		caps.Transactions = false
		caps.ConcurrentAtomicUpdates = false
	}
	storetest.Run(t, storetest.Harness{
		MakeStore: func(ctx context.Context, tb testing.TB) (engine.Store, error) {
			name := freshName(tb)
			s, err := Open(ctx, uri, Options{Database: name, DisableTransactions: noTx})
			if err != nil {
				return nil, err
			}
			tb.Cleanup(func() { dropDatabase(tb, uri, name) })
			return s, nil
		},
		Capabilities: caps,
	})
}

// freshName returns a database name no other subtest uses.
func freshName(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return "fwtest_" + hex.EncodeToString(b[:])
}

// dropDatabase removes a test database with its own connection (the store
// is closed by then).
func dropDatabase(tb testing.TB, uri, name string) {
	tb.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		tb.Logf("drop %s: %v", name, err)
		return
	}
	defer c.Disconnect(context.Background())
	if err := c.Database(name).Drop(context.Background()); err != nil {
		tb.Logf("drop %s: %v", name, err)
	}
}

// TestOpenRefusesStandalone checks the start-up refusal against the server
// at FORMWORK_MONGO_STANDALONE_URI (a standalone mongod or FerretDB).
func TestOpenRefusesStandalone(t *testing.T) {
	uri := os.Getenv("FORMWORK_MONGO_STANDALONE_URI")
	if uri == "" {
		t.Skip("FORMWORK_MONGO_STANDALONE_URI not set: standalone refusal check skipped")
	}
	s, err := Open(context.Background(), uri, Options{Database: freshName(t)})
	if err == nil {
		s.Close()
		t.Fatal("Open of a standalone server with transactions on succeeded; want ErrStandalone")
	}
	if err != ErrStandalone || !strings.Contains(err.Error(), "rs.initiate()") {
		t.Fatalf("Open error = %v; want ErrStandalone", err)
	}
}
