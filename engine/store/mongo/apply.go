package mongo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"formwork/engine"
)

// Apply writes c. With transactions, all of it runs in one multi-document
// transaction that the driver retries on transient errors (a write conflict
// on the audit chain head among them), so a conflict or failure anywhere
// leaves nothing behind. Without transactions the writes run in order and
// stop at the first failure.
func (s *Store) Apply(ctx context.Context, c *engine.Change) (*engine.ChangeResult, error) {
	if c == nil {
		return &engine.ChangeResult{}, nil
	}
	if !s.tx {
		res, err := s.apply(ctx, c)
		return res, wrapApply(err)
	}
	sess, err := s.client.StartSession()
	if err != nil {
		return nil, fmt.Errorf("mongo apply: start session: %w", err)
	}
	defer sess.EndSession(context.Background())
	out, err := sess.WithTransaction(ctx, func(sc context.Context) (any, error) {
		return s.apply(sc, c)
	})
	if err != nil {
		return nil, wrapApply(err)
	}
	return out.(*engine.ChangeResult), nil
}

func wrapApply(err error) error {
	if err != nil && engine.ErrorCode(err) == engine.EINTERNAL && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("mongo apply: %w", err)
	}
	return err
}

// apply performs the writes of c; it may run several times inside
// WithTransaction, so it starts from c afresh each time.
func (s *Store) apply(ctx context.Context, c *engine.Change) (*engine.ChangeResult, error) {
	res := &engine.ChangeResult{}
	for i := range c.Records {
		r, err := s.applyRecord(ctx, &c.Records[i])
		if err != nil {
			return nil, err
		}
		res.Records = append(res.Records, r)
	}
	for i := range c.Docs {
		d, err := s.applyDoc(ctx, &c.Docs[i])
		if err != nil {
			return nil, err
		}
		res.Docs = append(res.Docs, d)
	}
	for _, j := range c.Outbox {
		if err := s.insertOutbox(ctx, j); err != nil {
			return nil, err
		}
	}
	now := dt(s.now())
	for _, id := range c.OutboxDone {
		if _, err := s.outbox.UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "done", Value: false}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "done", Value: true}, {Key: "done_at", Value: now}}}}); err != nil {
			return nil, fmt.Errorf("mongo outbox done %s: %w", id, err)
		}
	}
	// The audit chain last: in a transaction the head's write lock is then
	// held for the shortest time.
	if len(c.Audit) > 0 {
		if err := s.appendAudit(ctx, c.Audit); err != nil {
			return nil, err
		}
		res.Audit = c.Audit
	}
	return res, nil
}

// docDoc is a doc as stored; Value keeps the caller's JSON bytes exactly.
type docDoc struct {
	Key     string        `bson:"_id"`
	Kind    string        `bson:"kind"`
	ID      string        `bson:"id"`
	Version int64         `bson:"version"`
	Tags    []string      `bson:"tags"`
	Unique  []string      `bson:"unique"`
	Value   string        `bson:"value"`
	Updated bson.DateTime `bson:"updated"`
}

func docKey(kind, id string) string { return kind + "\x1f" + id }

func (d *docDoc) doc() *engine.Doc {
	out := &engine.Doc{Kind: d.Kind, ID: d.ID, Version: d.Version, Tags: d.Tags, Unique: d.Unique,
		Value: []byte(d.Value), Updated: d.Updated.Time().UTC()}
	if len(out.Tags) == 0 {
		out.Tags = nil
	}
	if len(out.Unique) == 0 {
		out.Unique = nil
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Store) applyDoc(ctx context.Context, w *engine.DocWrite) (engine.Doc, error) {
	d := w.Doc
	if d.Kind == "" || d.ID == "" {
		return d, engine.Errorf(engine.EINVALID, engine.T("文档缺少类型或编号", "doc without kind or id"))
	}
	key := docKey(d.Kind, d.ID)
	var cur docDoc
	err := s.docs.FindOne(ctx, bson.D{{Key: "_id", Value: key}}).Decode(&cur)
	exists := err == nil
	if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return d, fmt.Errorf("mongo read doc %s/%s: %w", d.Kind, d.ID, err)
	}
	docConflict := func() error {
		return engine.Errorf(engine.ECONFLICT, engine.T("文档已被修改："+d.Kind+"/"+d.ID, fmt.Sprintf("doc %s/%s is at version %d, not %d", d.Kind, d.ID, cur.Version, w.ExpectVersion)))
	}
	if w.Delete {
		if !exists {
			if w.ExpectVersion == engine.AnyVersion {
				return d, nil
			}
			return d, engine.Errorf(engine.ENOTFOUND, engine.T("文档不存在："+d.Kind+"/"+d.ID, "doc not found: "+d.Kind+"/"+d.ID))
		}
		if w.ExpectVersion != engine.AnyVersion && w.ExpectVersion != cur.Version {
			return d, docConflict()
		}
		res, err := s.docs.DeleteOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "version", Value: cur.Version}})
		if err != nil {
			return d, fmt.Errorf("mongo delete doc: %w", err)
		}
		if res.DeletedCount != 1 {
			return d, docConflict()
		}
		if _, err := s.uniques.DeleteMany(ctx, bson.D{{Key: "kind", Value: d.Kind}, {Key: "id", Value: d.ID}}); err != nil {
			return d, fmt.Errorf("mongo delete doc unique tags: %w", err)
		}
		d.Version = cur.Version
		return d, nil
	}
	switch {
	case w.ExpectVersion == engine.AnyVersion:
	case w.ExpectVersion == 0 && exists:
		return d, engine.Errorf(engine.ECONFLICT, engine.T("文档已存在："+d.Kind+"/"+d.ID, "doc already exists: "+d.Kind+"/"+d.ID))
	case w.ExpectVersion != 0 && (!exists || cur.Version != w.ExpectVersion):
		return d, docConflict()
	}
	d.Version = cur.Version + 1
	d.Updated = s.now().UTC().Truncate(time.Millisecond)
	if len(d.Value) == 0 {
		d.Value = []byte("null")
	}
	if !jsonValid(d.Value) {
		return d, engine.Errorf(engine.EINVALID, engine.T("文档内容不是有效 JSON", "doc value is not valid JSON"))
	}
	nd := docDoc{Key: key, Kind: d.Kind, ID: d.ID, Version: d.Version, Tags: nonNil(d.Tags), Unique: nonNil(d.Unique),
		Value: string(d.Value), Updated: dt(d.Updated)}
	// Unique tags are claimed first, by inserting their own documents (the
	// _id index makes a tag another doc holds a duplicate key), so a taken
	// tag stops the put before the doc itself is written, with or without
	// transactions.
	for _, t := range d.Unique {
		_, err := s.uniques.InsertOne(ctx, bson.D{{Key: "_id", Value: docKey(d.Kind, t)}, {Key: "kind", Value: d.Kind}, {Key: "tag", Value: t}, {Key: "id", Value: d.ID}})
		if err == nil {
			continue
		}
		if !mongo.IsDuplicateKeyError(err) {
			return d, fmt.Errorf("mongo put doc unique tag: %w", err)
		}
		var holder struct {
			ID string `bson:"id"`
		}
		if herr := s.uniques.FindOne(ctx, bson.D{{Key: "_id", Value: docKey(d.Kind, t)}}).Decode(&holder); herr != nil || holder.ID != d.ID {
			return d, engine.Errorf(engine.ECONFLICT, engine.T("唯一值已被占用："+t, "unique tag already taken: "+t))
		}
	}
	if exists {
		res, err := s.docs.ReplaceOne(ctx, bson.D{{Key: "_id", Value: key}, {Key: "version", Value: cur.Version}}, nd)
		if err != nil {
			return d, fmt.Errorf("mongo put doc: %w", err)
		}
		if res.MatchedCount != 1 {
			return d, docConflict()
		}
	} else if _, err := s.docs.InsertOne(ctx, nd); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return d, engine.Errorf(engine.ECONFLICT, engine.T("文档已存在："+d.Kind+"/"+d.ID, "doc already exists: "+d.Kind+"/"+d.ID))
		}
		return d, fmt.Errorf("mongo put doc: %w", err)
	}
	// Release the tags the doc no longer holds.
	release := bson.D{{Key: "kind", Value: d.Kind}, {Key: "id", Value: d.ID}}
	if len(d.Unique) > 0 {
		release = append(release, bson.E{Key: "tag", Value: bson.D{{Key: "$nin", Value: d.Unique}}})
	}
	if _, err := s.uniques.DeleteMany(ctx, release); err != nil {
		return d, fmt.Errorf("mongo put doc unique tags: %w", err)
	}
	return d, nil
}

// FindDoc returns one doc.
func (s *Store) FindDoc(ctx context.Context, kind, id string) (*engine.Doc, error) {
	var d docDoc
	err := s.docs.FindOne(ctx, bson.D{{Key: "_id", Value: docKey(kind, id)}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, engine.Errorf(engine.ENOTFOUND, engine.T("文档不存在："+kind+"/"+id, "doc not found: "+kind+"/"+id))
	}
	if err != nil {
		return nil, fmt.Errorf("mongo find doc %s/%s: %w", kind, id, err)
	}
	return d.doc(), nil
}

// DocVersions returns the docs' versions in one find on their keys,
// projecting away everything else.
func (s *Store) DocVersions(ctx context.Context, refs []engine.DocRef) ([]int64, error) {
	out := make([]int64, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	keys := make(bson.A, len(refs))
	at := make(map[string][]int, len(refs))
	for i, r := range refs {
		k := docKey(r.Kind, r.ID)
		keys[i] = k
		at[k] = append(at[k], i)
	}
	cur, err := s.docs.Find(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}},
		options.Find().SetProjection(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("mongo doc versions: %w", err)
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			Key     string `bson:"_id"`
			Version int64  `bson:"version"`
		}
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("mongo decode doc version: %w", err)
		}
		for _, i := range at[d.Key] {
			out[i] = d.Version
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongo doc versions: %w", err)
	}
	return out, nil
}

// FindDocs lists docs of a kind, optionally with a tag (plain or unique),
// ordered by ID.
func (s *Store) FindDocs(ctx context.Context, q engine.DocQuery) ([]*engine.Doc, error) {
	f := docFilter(q)
	o := findOpts().SetSort(bson.D{{Key: "id", Value: 1}})
	if q.Limit > 0 {
		o.SetLimit(int64(q.Limit))
	}
	cur, err := s.docs.Find(ctx, f, o)
	if err != nil {
		return nil, fmt.Errorf("mongo find docs: %w", err)
	}
	defer cur.Close(ctx)
	var out []*engine.Doc
	for cur.Next(ctx) {
		var d docDoc
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("mongo decode doc: %w", err)
		}
		out = append(out, d.doc())
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongo find docs: %w", err)
	}
	return out, nil
}

// docFilter selects the docs of FindDocs and CountDocs.
func docFilter(q engine.DocQuery) bson.D {
	f := bson.D{{Key: "kind", Value: q.Kind}}
	if q.Tag != "" {
		f = append(f, bson.E{Key: "$or", Value: bson.A{bson.D{{Key: "tags", Value: q.Tag}}, bson.D{{Key: "unique", Value: q.Tag}}}})
	}
	if q.After != "" {
		f = append(f, bson.E{Key: "id", Value: bson.D{{Key: "$gt", Value: q.After}}})
	}
	return f
}

// CountDocs counts the docs FindDocs would list, without decoding them.
func (s *Store) CountDocs(ctx context.Context, q engine.DocQuery) (int64, error) {
	n, err := s.docs.CountDocuments(ctx, docFilter(q))
	if err != nil {
		return 0, fmt.Errorf("mongo count docs: %w", err)
	}
	return n, nil
}

// outboxDoc is an outbox job as stored; the payload keeps its JSON bytes.
type outboxDoc struct {
	ID        string         `bson:"_id"`
	Type      string         `bson:"type"`
	Payload   *string        `bson:"payload"`
	RunAt     bson.DateTime  `bson:"run_at"`
	CreatedAt bson.DateTime  `bson:"created_at"`
	Done      bool           `bson:"done"`
	DoneAt    *bson.DateTime `bson:"done_at"`
}

func (s *Store) insertOutbox(ctx context.Context, j engine.OutboxJob) error {
	j, err := engine.PrepareOutboxJob(j, s.now)
	if err != nil {
		return err
	}
	d := outboxDoc{ID: j.ID, Type: j.Type, RunAt: dt(j.RunAt), CreatedAt: dt(j.CreatedAt)}
	if j.Payload != nil {
		p := string(j.Payload)
		d.Payload = &p
	}
	if _, err := s.outbox.InsertOne(ctx, d); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return conflict("duplicate outbox job " + j.ID)
		}
		return fmt.Errorf("mongo insert outbox: %w", err)
	}
	return nil
}

// FindOutbox returns pending jobs due at or before due, oldest RunAt first.
func (s *Store) FindOutbox(ctx context.Context, due time.Time, limit int) ([]engine.OutboxJob, error) {
	if limit <= 0 {
		limit = 100
	}
	cur, err := s.outbox.Find(ctx, bson.D{{Key: "done", Value: false}, {Key: "run_at", Value: bson.D{{Key: "$lte", Value: dt(due)}}}},
		findOpts().SetSort(bson.D{{Key: "run_at", Value: 1}, {Key: "_id", Value: 1}}).SetLimit(int64(limit)))
	if err != nil {
		return nil, fmt.Errorf("mongo find outbox: %w", err)
	}
	defer cur.Close(ctx)
	var out []engine.OutboxJob
	for cur.Next(ctx) {
		var d outboxDoc
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("mongo decode outbox: %w", err)
		}
		j := engine.OutboxJob{ID: d.ID, Type: d.Type, RunAt: d.RunAt.Time().UTC(), CreatedAt: d.CreatedAt.Time().UTC(), Done: d.Done}
		if d.Payload != nil {
			j.Payload = []byte(*d.Payload)
		}
		out = append(out, j)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongo find outbox: %w", err)
	}
	return out, nil
}
