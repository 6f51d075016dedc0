package mongo

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"formwork/engine/store/mongo/mongotest"
	"formwork/engine/store/storetest"
)

// TestTextBackfill: records stored before the text terms existed get them
// when a store opens the database, once.
func TestTextBackfill(t *testing.T) {
	if mongotest.URI() == "" {
		t.Skip("FORMWORK_MONGO_URI not set: MongoDB text backfill skipped")
	}
	ctx := context.Background()
	uri, name := mongotest.Database(t)
	opts := Options{Database: name, DisableTransactions: mongotest.NoTransactions()}
	s, err := Open(ctx, uri, opts)
	if err != nil {
		t.Fatal(err)
	}
	storetest.SeedTextRecords(t, s)
	// back to records as stored before the terms existed
	if _, err := s.records.UpdateMany(ctx, bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "text", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.meta.DeleteOne(ctx, bson.D{{Key: "_id", Value: textBackfilled}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, uri, opts); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.WantTextFound(t, s)
}
