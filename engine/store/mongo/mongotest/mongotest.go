// Package mongotest gives tests a fresh database on the MongoDB server at
// FORMWORK_MONGO_URI, dropped when the test ends. It does not import the
// store, so the store's own tests use it too.
package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// URI is the server tests run against ("" when none is configured).
func URI() string { return os.Getenv("FORMWORK_MONGO_URI") }

// NoTransactions says whether FORMWORK_MONGO_TRANSACTIONS=off asks for
// the store without multi-document transactions (FerretDB).
func NoTransactions() bool {
	return strings.EqualFold(os.Getenv("FORMWORK_MONGO_TRANSACTIONS"), "off")
}

// Database returns the server to test against and a fresh database name
// on it, dropped when tb ends (after the cleanups registered later, such
// as closing a store on it). It fails tb when URI is empty.
func Database(tb testing.TB) (uri, name string) {
	tb.Helper()
	uri = URI()
	if uri == "" {
		tb.Fatal("mongotest.Database without FORMWORK_MONGO_URI")
	}
	name = FreshName(tb)
	tb.Cleanup(func() { Drop(tb, uri, name) })
	return uri, name
}

// FreshName returns a database name no other test uses.
func FreshName(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return "fwtest_" + hex.EncodeToString(b[:])
}

// Drop removes a test database with its own connection.
func Drop(tb testing.TB, uri, name string) {
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
