// Package mongo is the MongoDB engine.Store, on the official Go driver.
//
// Each Apply is one multi-document transaction, so MongoDB must run as a
// replica set (a single-node one is fine: `mongod --replSet rs0`, then
// `rs.initiate()` once in mongosh). Open refuses a standalone server unless
// Options.DisableTransactions is set — the cmd layer sets it from
// FORMWORK_MONGO_TRANSACTIONS=off, for wire-compatible servers without
// transactions. That mode is weaker: an Apply is a sequence of single-document
// writes, so a failure midway leaves the writes before it in place, and
// optimistic concurrency is only as good as the server's single-document
// compare-and-set. The audit chain stays one total order in both modes.
package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"formwork/engine"
)

// DefaultDatabase is the database used when neither the URI path nor
// Options name one.
const DefaultDatabase = "formwork"

// Options configures Open.
type Options struct {
	// Database overrides the database named in the URI path (default
	// DefaultDatabase).
	Database string
	// DisableTransactions runs Apply without multi-document transactions and
	// accepts a standalone server (FORMWORK_MONGO_TRANSACTIONS=off). Weaker:
	// writes of one Apply are no longer all-or-nothing.
	DisableTransactions bool
	// Now is the clock for times the store sets itself (doc updates, outbox
	// creation and completion). Default time.Now.
	Now func() time.Time
	// Timeout bounds connecting and the start-up checks. Default 10s.
	Timeout time.Duration
}

// Store is the MongoDB engine.Store. It is safe for concurrent use.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	tx     bool
	now    func() time.Time

	records, revisions, docs, uniques, audit, outbox, meta *mongo.Collection
	counters, serials                                      *mongo.Collection // serial numbers (counter.go)
}

var _ engine.Store = (*Store)(nil)

// Open connects to the server at uri, checks that it can run transactions
// (unless disabled) and creates the system indexes. Callers must Close it.
func Open(ctx context.Context, uri string, opts Options) (*Store, error) {
	cs, err := connstring.ParseAndValidate(uri)
	if err != nil {
		return nil, fmt.Errorf("mongo open: bad URI: %w", err)
	}
	name := opts.Database
	if name == "" {
		name = cs.Database
	}
	if name == "" {
		name = DefaultDatabase
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	client, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(opts.Timeout))
	if err != nil {
		return nil, fmt.Errorf("mongo open: %w", err)
	}
	s := &Store{client: client, db: client.Database(name), tx: !opts.DisableTransactions, now: opts.Now}
	s.records = s.db.Collection("records")
	s.revisions = s.db.Collection("revisions")
	s.docs = s.db.Collection("docs")
	s.uniques = s.db.Collection("doc_unique")
	s.audit = s.db.Collection("audit")
	s.outbox = s.db.Collection("outbox")
	s.meta = s.db.Collection("meta")
	s.counters = s.db.Collection("counters")
	s.serials = s.db.Collection("serials")
	s.serials = s.db.Collection("serials")
	cctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	if err := s.checkServer(cctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	if err := s.ensureSystemIndexes(cctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	if err := s.backfillText(ctx); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, err
	}
	return s, nil
}

// ErrStandalone is returned by Open for a server that cannot run
// multi-document transactions while they are required.
var ErrStandalone = errors.New("mongo: the server is a standalone mongod, but Formwork writes each user action " +
	"in one multi-document transaction, which needs a replica set. Run a single-node replica set: start " +
	"`mongod --replSet rs0` and run `rs.initiate()` once in mongosh (then use ...?replicaSet=rs0 in the URI). " +
	"For a MongoDB-compatible server without transactions, set FORMWORK_MONGO_TRANSACTIONS=off " +
	"(weaker: the writes of one action are then no longer all-or-nothing)")

// checkServer reads hello: a replica set member has setName, a mongos
// router says msg "isdbgrid"; anything else is a standalone server.
func (s *Store) checkServer(ctx context.Context) error {
	var hello struct {
		SetName string `bson:"setName"`
		Msg     string `bson:"msg"`
	}
	if err := s.client.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		return fmt.Errorf("mongo open: hello: %w", err)
	}
	if s.tx && hello.SetName == "" && hello.Msg != "isdbgrid" {
		return ErrStandalone
	}
	return nil
}

// Transactions reports whether Apply runs in multi-document transactions.
func (s *Store) Transactions() bool { return s.tx }

// Database returns the name of the database the store uses.
func (s *Store) Database() string { return s.db.Name() }

// Ping reports whether the server is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.client.Ping(ctx, nil); err != nil {
		return fmt.Errorf("mongo ping: %w", err)
	}
	return nil
}

// Close disconnects from the server.
func (s *Store) Close() error {
	return s.client.Disconnect(context.Background())
}

// Drop removes the store's whole database (tests use it to clean up).
func (s *Store) Drop(ctx context.Context) error {
	return s.db.Drop(ctx)
}

func idx(name string, unique bool, keys ...any) mongo.IndexModel {
	var d bson.D
	for i := 0; i+1 < len(keys); i += 2 {
		d = append(d, bson.E{Key: keys[i].(string), Value: keys[i+1]})
	}
	o := options.Index().SetName(name)
	if unique {
		o.SetUnique(true)
	}
	return mongo.IndexModel{Keys: d, Options: o}
}

// ensureSystemIndexes creates the collections and the indexes every query
// needs; repeated calls are no-ops.
func (s *Store) ensureSystemIndexes(ctx context.Context) error {
	sets := []struct {
		c  *mongo.Collection
		ix []mongo.IndexModel
	}{
		{s.records, []mongo.IndexModel{
			idx("form_created", false, "app", 1, "form", 1, "deleted", 1, "created_at", -1, "_id", -1),
			idx("form_updated_created", false, "app", 1, "form", 1, "deleted", 1, "updated_at", -1, "created_at", -1, "_id", -1),
			idx("form_text", false, "app", 1, "form", 1, "text", 1),
		}},
		{s.revisions, []mongo.IndexModel{idx("record_version", true, "record_id", 1, "version", 1)}},
		{s.docs, []mongo.IndexModel{
			idx("kind_id", true, "kind", 1, "id", 1),
			idx("kind_tags", false, "kind", 1, "tags", 1, "id", 1),
		}},
		{s.uniques, []mongo.IndexModel{idx("kind_id", false, "kind", 1, "id", 1)}},
		{s.audit, []mongo.IndexModel{
			idx("actor", false, "actor", 1, "_id", -1),
			idx("action", false, "action", 1, "_id", -1),
			idx("object", false, "object", 1, "_id", -1),
			idx("result", false, "result", 1, "_id", -1),
			idx("ip", false, "ip", 1, "_id", -1),
			idx("time", false, "time", 1),
		}},
		{s.outbox, []mongo.IndexModel{idx("pending", false, "done", 1, "run_at", 1, "_id", 1)}},
	}
	for _, set := range sets {
		var stale func(string) bool
		if set.c == s.records {
			// form_updated ordered ties by _id alone (see resolveSort)
			stale = func(n string) bool { return n == "form_updated" }
		}
		if err := syncIndexes(ctx, set.c, set.ix, stale); err != nil {
			return fmt.Errorf("mongo create indexes on %s: %w", set.c.Name(), err)
		}
	}
	if err := s.ensureCounters(ctx); err != nil {
		return err
	}
	// The chain head exists before the first Apply, so transactions never
	// race to create it.
	_, err := s.meta.UpdateOne(ctx, bson.D{{Key: "_id", Value: chainHeadID}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{{Key: "seq", Value: int64(0)}}}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("mongo create chain head: %w", err)
	}
	return nil
}

// syncIndexes drops the indexes of c whose names stale reports (nil: none)
// and creates the indexes of models whose names c does not have yet, from
// one listing of c's indexes. Asking only for missing ones keeps repeated
// calls cheap, and spares wire-compatible servers that mishandle
// re-creating an index.
func syncIndexes(ctx context.Context, c *mongo.Collection, models []mongo.IndexModel, stale func(name string) bool) error {
	have := map[string]bool{} // names and key patterns of the indexes there are
	cur, err := c.Indexes().List(ctx)
	if err != nil {
		return err
	}
	var specs []struct {
		Name string `bson:"name"`
		Key  bson.D `bson:"key"`
	}
	if err := cur.All(ctx, &specs); err != nil {
		return err
	}
	for _, sp := range specs {
		if stale != nil && stale(sp.Name) {
			if err := c.Indexes().DropOne(ctx, sp.Name); err != nil {
				return fmt.Errorf("drop %s: %w", sp.Name, err)
			}
			continue
		}
		have[sp.Name] = true
		have[keyPattern(sp.Key)] = true
	}
	var missing []mongo.IndexModel
	for _, m := range models {
		var o options.IndexOptions
		for _, set := range m.Options.List() {
			if err := set(&o); err != nil {
				return err
			}
		}
		// an index on the same keys under another name serves as well, and
		// the server refuses a second one (IndexOptionsConflict)
		if (o.Name == nil || !have[*o.Name]) && !have[keyPattern(m.Keys.(bson.D))] {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.Indexes().CreateMany(ctx, missing)
	return err
}

// keyPattern is an index's keys as one comparable string ("a:1,b:-1"),
// whatever number type the server returned the directions in.
func keyPattern(keys bson.D) string {
	var b strings.Builder
	for i, e := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s:%v", e.Key, e.Value)
	}
	return "\x00" + b.String()
}
