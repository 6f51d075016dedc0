package mongo

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"formwork/engine/store/storetest"
)

// TestTextBackfill: records stored before the text terms existed get them
// when a store opens the database, once.
func TestTextBackfill(t *testing.T) {
	ctx := context.Background()
	s, reopen := openUpgrade(t, "text backfill")
	storetest.SeedTextRecords(t, s)
	// back to records as stored before the terms existed
	if _, err := s.records.UpdateMany(ctx, bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "text", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.meta.DeleteOne(ctx, bson.D{{Key: "_id", Value: textBackfilled}}); err != nil {
		t.Fatal(err)
	}
	storetest.WantTextFound(t, reopen())
}
