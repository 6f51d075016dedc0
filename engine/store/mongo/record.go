package mongo

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"formwork/engine"
	"formwork/engine/filter"
)

// toBSON converts decoded JSON to BSON with object keys sorted, so a stored
// document never depends on Go's map iteration order. Numbers are doubles,
// as in decoded JSON.
func toBSON(v any) (any, error) {
	switch x := v.(type) {
	case nil, string, bool, float64:
		return x, nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case float32:
		return float64(x), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := make(bson.D, 0, len(keys))
		for _, k := range keys {
			e, err := toBSON(x[k])
			if err != nil {
				return nil, err
			}
			d = append(d, bson.E{Key: k, Value: e})
		}
		return d, nil
	case []any:
		a := make(bson.A, len(x))
		for i, it := range x {
			e, err := toBSON(it)
			if err != nil {
				return nil, err
			}
			a[i] = e
		}
		return a, nil
	}
	// Anything else goes through JSON, the form the engine speaks.
	return toBSON(engine.CloneData(map[string]any{"v": v})["v"])
}

// dataBSON converts record data; nil data is an empty document.
func dataBSON(m map[string]any) (bson.D, error) {
	if m == nil {
		return bson.D{}, nil
	}
	v, err := toBSON(m)
	if err != nil {
		return nil, err
	}
	return v.(bson.D), nil
}

// fromBSON converts a stored value back to decoded-JSON types.
func fromBSON(v bson.RawValue) any {
	switch v.Type {
	case bson.TypeDouble:
		return v.Double()
	case bson.TypeInt32:
		return float64(v.Int32())
	case bson.TypeInt64:
		return float64(v.Int64())
	case bson.TypeDecimal128:
		f, _ := strconv.ParseFloat(v.Decimal128().String(), 64)
		return f
	case bson.TypeString:
		return v.StringValue()
	case bson.TypeBoolean:
		return v.Boolean()
	case bson.TypeNull, bson.TypeUndefined:
		return nil
	case bson.TypeEmbeddedDocument:
		return docMap(v.Document())
	case bson.TypeArray:
		vals, _ := v.Array().Values()
		out := make([]any, len(vals))
		for i, e := range vals {
			out[i] = fromBSON(e)
		}
		return out
	case bson.TypeDateTime:
		return filter.FormatTime(v.Time())
	}
	return v.String()
}

func docMap(d bson.Raw) map[string]any {
	els, _ := d.Elements()
	m := make(map[string]any, len(els))
	for _, e := range els {
		m[e.Key()] = fromBSON(e.Value())
	}
	return m
}

func dt(t time.Time) bson.DateTime { return bson.NewDateTimeFromTime(t) }

// recordDoc is a record as stored. Times are BSON datetimes (milliseconds,
// the precision every backend keeps); data is a document with sorted keys.
type recordDoc struct {
	ID          string         `bson:"_id"`
	App         string         `bson:"app"`
	Form        string         `bson:"form"`
	FormVersion int            `bson:"form_version"`
	Unit        string         `bson:"unit"`
	Owner       string         `bson:"owner"`
	Status      string         `bson:"status"`
	Version     int64          `bson:"version"`
	Data        bson.Raw       `bson:"data"`
	CreatedAt   bson.DateTime  `bson:"created_at"`
	CreatedBy   string         `bson:"created_by"`
	UpdatedAt   bson.DateTime  `bson:"updated_at"`
	UpdatedBy   string         `bson:"updated_by"`
	Deleted     bool           `bson:"deleted"`
	DeletedAt   *bson.DateTime `bson:"deleted_at"`
	// Text is the full-text index terms of Data (engine.RecordTextTerms),
	// renewed by every write that replaces the document; record_text.go.
	Text []string `bson:"text,omitempty"`
}

func toRecordDoc(r *engine.Record) (*recordDoc, error) {
	data, err := dataBSON(r.Data)
	if err != nil {
		return nil, err
	}
	raw, err := bson.Marshal(data)
	if err != nil {
		return nil, engine.ErrDataEncoding(err)
	}
	d := &recordDoc{ID: r.ID, App: r.App, Form: r.Form, FormVersion: r.FormVersion, Unit: r.Unit, Owner: r.Owner,
		Status: r.Status, Version: r.Version, Data: raw, CreatedAt: dt(r.CreatedAt), CreatedBy: r.CreatedBy,
		UpdatedAt: dt(r.UpdatedAt), UpdatedBy: r.UpdatedBy, Text: engine.RecordTextTerms(r.Data)}
	if r.DeletedAt != nil {
		t := dt(*r.DeletedAt)
		d.Deleted, d.DeletedAt = true, &t
	}
	return d, nil
}

func (d *recordDoc) record() *engine.Record {
	r := &engine.Record{ID: d.ID, App: d.App, Form: d.Form, FormVersion: d.FormVersion, Unit: d.Unit, Owner: d.Owner,
		Status: d.Status, Version: d.Version, Data: map[string]any{}, CreatedAt: d.CreatedAt.Time().UTC(), CreatedBy: d.CreatedBy,
		UpdatedAt: d.UpdatedAt.Time().UTC(), UpdatedBy: d.UpdatedBy}
	if len(d.Data) > 0 {
		r.Data = docMap(d.Data)
	}
	if d.DeletedAt != nil {
		t := d.DeletedAt.Time().UTC()
		r.DeletedAt = &t
	}
	return r
}

// revisionDoc is a revision as stored.
type revisionDoc struct {
	RecordID string        `bson:"record_id"`
	Version  int64         `bson:"version"`
	App      string        `bson:"app"`
	Form     string        `bson:"form"`
	Op       string        `bson:"op"`
	Actor    string        `bson:"actor"`
	At       bson.DateTime `bson:"at"`
	Status   string        `bson:"status"`
	Unit     string        `bson:"unit"`
	Owner    string        `bson:"owner"`
	Data     bson.Raw      `bson:"data"`
	Changes  []changeDoc   `bson:"changes"`
}

type changeDoc struct {
	Field  string   `bson:"field"`
	Before bson.Raw `bson:"before"` // {v: value}, so null and missing stay apart from BSON quirks
	After  bson.Raw `bson:"after"`
}

func boxed(v any) (bson.Raw, error) {
	b, err := toBSON(v)
	if err != nil {
		return nil, err
	}
	return bson.Marshal(bson.D{{Key: "v", Value: b}})
}

func unboxed(r bson.Raw) any {
	if len(r) == 0 {
		return nil
	}
	v, err := r.LookupErr("v")
	if err != nil {
		return nil
	}
	return fromBSON(v)
}

func notFound(id string) error { return engine.ErrRecordNotFound(id) }

func conflict(what string) error { return engine.ErrStoreConflict(what) }

func (s *Store) applyRecord(ctx context.Context, w *engine.RecordWrite) (*engine.Record, error) {
	at, err := engine.RecordWriteTime(w, s.now)
	if err != nil {
		return nil, err
	}
	if w.Op == engine.WriteCreate {
		r, err := engine.NextRecordState(nil, w, at)
		if err != nil {
			return nil, err
		}
		if err := s.assignSerials(ctx, r, w); err != nil {
			return nil, err
		}
		d, err := toRecordDoc(r)
		if err != nil {
			return nil, err
		}
		if _, err := s.records.InsertOne(ctx, d); err != nil {
			if mongo.IsDuplicateKeyError(err) {
				return nil, conflict("duplicate record id " + r.ID)
			}
			return nil, fmt.Errorf("mongo insert record: %w", err)
		}
		if err := s.writeRevision(ctx, r, w, nil); err != nil {
			return nil, err
		}
		return r, nil
	}

	in := w.Record
	var old *engine.Record
	var cur recordDoc
	err = s.records.FindOne(ctx, bson.D{{Key: "_id", Value: in.ID}}).Decode(&cur)
	switch {
	case err == nil:
		old = cur.record()
	case !errors.Is(err, mongo.ErrNoDocuments):
		return nil, fmt.Errorf("mongo read record %s: %w", in.ID, err)
	}
	r, err := engine.NextRecordState(old, w, at)
	if err != nil {
		return nil, err
	}
	if w.Op == engine.WritePurge {
		res, err := s.records.DeleteOne(ctx, bson.D{{Key: "_id", Value: in.ID}, {Key: "version", Value: old.Version}})
		if err != nil {
			return nil, fmt.Errorf("mongo purge record: %w", err)
		}
		if res.DeletedCount != 1 {
			return nil, conflict("record " + in.ID)
		}
		if _, err := s.revisions.DeleteMany(ctx, bson.D{{Key: "record_id", Value: in.ID}}); err != nil {
			return nil, fmt.Errorf("mongo purge revisions: %w", err)
		}
		return old, nil
	}
	if err := s.assignSerials(ctx, r, w); err != nil {
		return nil, err
	}
	d, err := toRecordDoc(r)
	if err != nil {
		return nil, err
	}
	// The version in the filter is the compare-and-set: a concurrent writer
	// that got there first makes this match nothing.
	res, err := s.records.ReplaceOne(ctx, bson.D{{Key: "_id", Value: r.ID}, {Key: "version", Value: old.Version}}, d)
	if err != nil {
		return nil, fmt.Errorf("mongo update record: %w", err)
	}
	if res.MatchedCount != 1 {
		return nil, conflict("record " + r.ID)
	}
	if err := s.writeRevision(ctx, r, w, old.Data); err != nil {
		return nil, err
	}
	return r, nil
}

func (s *Store) writeRevision(ctx context.Context, r *engine.Record, w *engine.RecordWrite, before map[string]any) error {
	data, err := dataBSON(r.Data)
	if err != nil {
		return err
	}
	raw, err := bson.Marshal(data)
	if err != nil {
		return fmt.Errorf("mongo revision data: %w", err)
	}
	changes := []changeDoc{}
	for _, c := range engine.RevisionChanges(before, r.Data) {
		b, err := boxed(c.Before)
		if err != nil {
			return err
		}
		a, err := boxed(c.After)
		if err != nil {
			return err
		}
		changes = append(changes, changeDoc{Field: c.Field, Before: b, After: a})
	}
	_, err = s.revisions.InsertOne(ctx, revisionDoc{RecordID: r.ID, Version: r.Version, App: r.App, Form: r.Form, Op: string(w.Op),
		Actor: w.Actor, At: dt(r.UpdatedAt), Status: r.Status, Unit: r.Unit, Owner: r.Owner, Data: raw, Changes: changes})
	if err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return conflict(fmt.Sprintf("revision %s/%d", r.ID, r.Version))
		}
		return fmt.Errorf("mongo insert revision: %w", err)
	}
	return nil
}

// FindRecordByID returns a live record, or with deleted also a binned one.
func (s *Store) FindRecordByID(ctx context.Context, app, form, id string, deleted bool) (*engine.Record, error) {
	var d recordDoc
	err := s.records.FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "app", Value: app}, {Key: "form", Value: form}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("mongo find record %s: %w", id, err)
	}
	if d.Deleted && !deleted {
		return nil, notFound(id)
	}
	return d.record(), nil
}

// FindRevisions returns a record's revisions, oldest first.
func (s *Store) FindRevisions(ctx context.Context, app, form, id string) ([]*engine.Revision, error) {
	cur, err := s.revisions.Find(ctx, bson.D{{Key: "record_id", Value: id}, {Key: "app", Value: app}, {Key: "form", Value: form}},
		findOpts().SetSort(bson.D{{Key: "version", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("mongo find revisions: %w", err)
	}
	defer cur.Close(ctx)
	var out []*engine.Revision
	for cur.Next(ctx) {
		var d revisionDoc
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("mongo decode revision: %w", err)
		}
		v := &engine.Revision{RecordID: d.RecordID, Version: d.Version, Op: engine.WriteOp(d.Op), Actor: d.Actor, At: d.At.Time().UTC(),
			Status: d.Status, Unit: d.Unit, Owner: d.Owner, Data: map[string]any{}, Changes: []engine.FieldChange{}}
		if len(d.Data) > 0 {
			v.Data = docMap(d.Data)
		}
		for _, c := range d.Changes {
			v.Changes = append(v.Changes, engine.FieldChange{Field: c.Field, Before: unboxed(c.Before), After: unboxed(c.After)})
		}
		out = append(out, v)
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongo find revisions: %w", err)
	}
	return out, nil
}
