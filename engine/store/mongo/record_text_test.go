package mongo

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"formwork/engine"
	"formwork/engine/filter"
	"formwork/engine/store/mongo/mongotest"
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
	for i, n := range []string{"北京门店", "上海门店", "北京总部"} {
		r := &engine.Record{ID: "b" + string(rune('1'+i)), App: "a", Form: "f", Data: map[string]any{"name": n}}
		if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "u", At: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
	}
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
	tx, _ := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, "北京")
	p, err := s.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Filter: tx, Sort: []engine.SortKey{{Field: "_id"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Items {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, []string{"b1", "b3"}) {
		t.Errorf("after the backfill, 北京 finds %v, want [b1 b3]", got)
	}
}
