package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"formwork/engine"
)

// assignSerials numbers r's empty serial fields. In a transaction the
// counter's $inc commits or aborts with the record. Without transactions
// (a wire-compatible server) a number is taken by inserting its own
// document into the serials collection, whose _id index lets one insert
// win: servers such as FerretDB do not run a find-and-modify atomically,
// but they do keep _id unique.
func (s *Store) assignSerials(ctx context.Context, r *engine.Record, w *engine.RecordWrite) error {
	if len(w.Serials) == 0 || w.Op == engine.WriteDelete {
		return nil
	}
	next := s.incCounter
	if !s.tx {
		next = s.claimCounter
	}
	return engine.AssignSerials(r, w.Serials, func(key string) (int64, error) { return next(ctx, key) })
}

type counterDoc struct {
	N int64 `bson:"n"`
}

// incCounter advances the counter key (made at 1 when new) and returns its
// new value; inside a transaction a concurrent take is a write conflict
// that the driver retries.
func (s *Store) incCounter(ctx context.Context, key string) (int64, error) {
	var out counterDoc
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	upd := bson.D{{Key: "$inc", Value: bson.D{{Key: "n", Value: int64(1)}}}}
	if err := s.counters.FindOneAndUpdate(ctx, bson.D{{Key: "_id", Value: key}}, upd, opts).Decode(&out); err != nil {
		return 0, fmt.Errorf("mongo counter %s: %w", key, err)
	}
	return out.N, nil
}

// maxClaimTries bounds the numbers one take tries past the counter's hint
// (each failed try is a number another writer took meanwhile).
const maxClaimTries = 100000

// claimCounter takes the first number after the counter's hint whose
// serials document it can insert, then moves the hint up to it.
func (s *Store) claimCounter(ctx context.Context, key string) (int64, error) {
	var hint counterDoc
	err := s.counters.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&hint)
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return 0, fmt.Errorf("mongo counter %s: %w", key, err)
	}
	for n := hint.N + 1; n <= hint.N+maxClaimTries; n++ {
		_, err := s.serials.InsertOne(ctx, bson.D{{Key: "_id", Value: docKey(key, strconv.FormatInt(n, 10))}, {Key: "counter", Value: key}, {Key: "n", Value: n}})
		if mongo.IsDuplicateKeyError(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("mongo counter %s: %w", key, err)
		}
		// the hint only saves tries: losing a race on it costs nothing
		_, err = s.counters.UpdateOne(ctx, bson.D{{Key: "_id", Value: key}}, bson.D{{Key: "$max", Value: bson.D{{Key: "n", Value: n}}}}, options.UpdateOne().SetUpsert(true))
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return 0, fmt.Errorf("mongo counter %s hint: %w", key, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("mongo counter %s: no free number in %d tries", key, maxClaimTries)
}

// ensureCounters creates the counters collection before the first
// transaction needs it (a collection made inside a transaction conflicts
// with every other transaction making it at the same time).
func (s *Store) ensureCounters(ctx context.Context) error {
	for _, c := range []*mongo.Collection{s.counters, s.serials} {
		err := s.db.CreateCollection(ctx, c.Name())
		var ce mongo.CommandError
		if err != nil && !(errors.As(err, &ce) && ce.HasErrorCode(48)) { // NamespaceExists
			return fmt.Errorf("mongo create %s: %w", c.Name(), err)
		}
	}
	return nil
}
