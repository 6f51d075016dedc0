package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"formwork/engine"
	"formwork/engine/filter"
)

// The full-text search on MongoDB is the documented alternative to a text
// index: MongoDB's text index has no tokenizer for Chinese, cannot be
// limited to the fields one viewer may read, and is not offered by every
// wire-compatible server. Instead each record document carries its terms
// (engine.RecordTextTerms, "field:gram" character bigrams) in an array
// under a multikey index (app, form, text); a search asks for every gram
// of the query under one of the viewer's fields, an equality per term, so
// the index narrows it to the records holding the rarest one.

// textBackfilled marks in meta that records stored before the text index
// existed have their terms.
const textBackfilled = "text_backfilled"

// compileText is t as a query on the text array.
func compileText(t filter.Text) (bson.D, error) {
	if err := filter.Validate(t); err != nil {
		return nil, invalidFilter("invalid search")
	}
	ors := bson.A{}
	for _, f := range t.Fields {
		var ands bson.A
		for _, g := range t.Grams {
			ands = append(ands, bson.D{{Key: "text", Value: f.Key + ":" + g}})
		}
		for _, p := range t.Prefixes {
			ands = append(ands, bson.D{{Key: "text", Value: bson.D{{Key: "$regex", Value: "^" + regexp.QuoteMeta(f.Key+":"+p)}}}})
		}
		ors = append(ors, bson.D{{Key: "$and", Value: ands}})
	}
	if len(ors) == 0 {
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}, nil
	}
	return bson.D{{Key: "$or", Value: ors}}, nil
}

// backfillText gives every record stored before the text index its terms,
// once per database. Each update is conditioned on the version read, so a
// record written meanwhile keeps the terms its own write gave it.
func (s *Store) backfillText(ctx context.Context) error {
	err := s.meta.FindOne(ctx, bson.D{{Key: "_id", Value: textBackfilled}}).Err()
	if err == nil {
		return nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("mongo text backfill: %w", err)
	}
	cur, err := s.records.Find(ctx, bson.D{{Key: "text", Value: bson.D{{Key: "$exists", Value: false}}}})
	if err != nil {
		return fmt.Errorf("mongo text backfill: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d recordDoc
		if err := cur.Decode(&d); err != nil {
			return fmt.Errorf("mongo text backfill: %w", err)
		}
		terms := engine.RecordTextTerms(d.record().Data)
		if len(terms) == 0 {
			continue
		}
		if _, err := s.records.UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "version", Value: d.Version}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "text", Value: terms}}}}); err != nil {
			return fmt.Errorf("mongo text backfill %s: %w", d.ID, err)
		}
	}
	if err := cur.Err(); err != nil {
		return fmt.Errorf("mongo text backfill: %w", err)
	}
	_, err = s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: textBackfilled}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "done", Value: true}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil {
		return fmt.Errorf("mongo text backfill: %w", err)
	}
	return nil
}
