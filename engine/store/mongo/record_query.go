package mongo

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"formwork/engine"
	"formwork/engine/filter"
)

// Limits of one page of records.
const (
	DefaultLimit = engine.DefaultRecordLimit
	MaxLimit     = engine.MaxRecordLimit
)

// findOpts leaves out the text terms (record_text.go), which a page of
// records does not need and which outweigh the data.
func findOpts() *options.FindOptionsBuilder {
	return options.Find().SetProjection(bson.D{{Key: "text", Value: 0}})
}

func badCursor() error { return engine.ErrBadCursor() }

// sortKey is one resolved sort key.
type sortKey struct {
	field  string // filter key (data key or system field)
	path   string // document path
	desc   bool
	system bool
}

// cursorValue is one sort value: at most one field is set, none for missing/null.
type cursorValue struct {
	F *float64 `json:"f,omitempty"`
	S *string  `json:"s,omitempty"`
	B *bool    `json:"b,omitempty"`
	T *int64   `json:"t,omitempty"` // datetime, Unix milliseconds
}

func (c cursorValue) value() (any, error) {
	n := 0
	var v any
	if c.F != nil {
		if math.IsNaN(*c.F) || math.IsInf(*c.F, 0) {
			return nil, badCursor()
		}
		n, v = n+1, *c.F
	}
	if c.S != nil {
		n, v = n+1, *c.S
	}
	if c.B != nil {
		n, v = n+1, *c.B
	}
	if c.T != nil {
		n, v = n+1, bson.DateTime(*c.T)
	}
	if n > 1 {
		return nil, badCursor()
	}
	return v, nil
}

func toCursorValue(v any) cursorValue {
	switch x := v.(type) {
	case float64:
		return cursorValue{F: &x}
	case string:
		return cursorValue{S: &x}
	case bool:
		return cursorValue{B: &x}
	case bson.DateTime:
		ms := int64(x)
		return cursorValue{T: &ms}
	}
	return cursorValue{} // missing or null (arrays and objects do not page by value)
}

// resolveSort maps the query's sort keys to document paths, adding the
// ties last: created_at (unless a key is _created_at) then _id, in the
// direction of the last key not in fixed (the fields the filter pins, see
// filter.Fixed), as the SQLite store orders them.
func resolveSort(keys []engine.SortKey, fixed map[string]bool) ([]sortKey, uint32, error) {
	if len(keys) == 0 {
		keys = []engine.SortKey{{Field: "_created_at", Desc: true}}
	}
	h := fnv.New32a()
	var out []sortKey
	desc := keys[len(keys)-1].Desc
	created, byID := false, false
	for _, k := range keys {
		if k.Field == "_id" {
			desc, byID = k.Desc, true
			break // id is unique: nothing after it matters
		}
		system := strings.HasPrefix(k.Field, "_")
		p, err := fieldPath(k.Field, system)
		if err != nil {
			return nil, 0, engine.Errorf(engine.EINVALID, engine.T("不能按该字段排序："+k.Field, "cannot sort by "+k.Field))
		}
		created = created || k.Field == "_created_at"
		out = append(out, sortKey{field: k.Field, path: p, desc: k.Desc, system: system})
		if !fixed[k.Field] {
			desc = k.Desc
		}
		fmt.Fprintf(h, "%s:%v;", k.Field, k.Desc)
	}
	if !created && !byID {
		out = append(out, sortKey{field: "_created_at", path: "created_at", desc: desc, system: true})
		fmt.Fprintf(h, "~_created_at:%v;", desc)
	}
	fmt.Fprintf(h, "_id:%v", desc)
	out = append(out, sortKey{field: "_id", path: "_id", desc: desc, system: true})
	return out, h.Sum32(), nil
}

// after builds "the record sorts after vals" for MongoDB's order, where
// missing and null come first ascending and last descending.
func after(keys []sortKey, vals []any) bson.D {
	var ors bson.A
	for i := range keys {
		var ands bson.A
		for j := 0; j < i; j++ {
			if vals[j] == nil {
				ands = append(ands, bson.D{{Key: keys[j].path, Value: nil}})
			} else {
				ands = append(ands, bson.D{{Key: keys[j].path, Value: bson.D{{Key: "$eq", Value: vals[j]}}}})
			}
		}
		k, v := keys[i], vals[i]
		switch {
		case !k.desc && v == nil:
			ands = append(ands, bson.D{{Key: k.path, Value: bson.D{{Key: "$ne", Value: nil}}}})
		case !k.desc:
			ands = append(ands, bson.D{{Key: k.path, Value: bson.D{{Key: "$gt", Value: v}}}})
		case k.desc && v == nil:
			continue // nothing sorts after null descending
		default:
			ands = append(ands, bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: k.path, Value: bson.D{{Key: "$lt", Value: v}}}},
				bson.D{{Key: k.path, Value: nil}},
			}}})
		}
		ors = append(ors, bson.D{{Key: "$and", Value: ands}})
	}
	if len(ors) == 0 {
		return bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}}
	}
	return bson.D{{Key: "$or", Value: ors}}
}

// recordQuery builds the query common to FindRecords and CountRecords.
func recordQuery(q engine.RecordQuery) (bson.A, error) {
	and := bson.A{bson.D{{Key: "app", Value: q.App}, {Key: "form", Value: q.Form}, {Key: "deleted", Value: q.Deleted}}}
	if q.Filter != nil {
		f, err := compileFilter(q.Filter)
		if err != nil {
			return nil, err
		}
		if len(f) > 0 {
			and = append(and, f)
		}
	}
	return and, nil
}

// sortValue is the value of a sort key in a stored record, as the cursor keeps it.
func sortValue(r *engine.Record, k sortKey) any {
	if k.system {
		switch k.field {
		case "_unit":
			return r.Unit
		case "_owner":
			return r.Owner
		case "_status":
			return r.Status
		case "_version":
			return float64(r.Version)
		case "_created_at":
			return dt(r.CreatedAt)
		case "_updated_at":
			return dt(r.UpdatedAt)
		}
		return nil
	}
	return r.Data[k.field]
}

// FindRecords returns one page of records in keyset order.
func (s *Store) FindRecords(ctx context.Context, q engine.RecordQuery) (*engine.RecordPage, error) {
	limit := engine.RecordPageLimit(q.Limit)
	keys, fp, err := resolveSort(q.Sort, filter.Fixed(q.Filter))
	if err != nil {
		return nil, err
	}
	and, err := recordQuery(q)
	if err != nil {
		return nil, err
	}
	if q.Cursor != "" {
		vals, err := engine.DecodeRecordCursor(q.Cursor, fp, len(keys), cursorValue.value)
		if err != nil {
			return nil, err
		}
		and = append(and, after(keys, vals))
	}
	var sortDoc bson.D
	for _, k := range keys {
		dir := 1
		if k.desc {
			dir = -1
		}
		sortDoc = append(sortDoc, bson.E{Key: k.path, Value: dir})
	}
	cur, err := s.records.Find(ctx, bson.D{{Key: "$and", Value: and}}, findOpts().SetSort(sortDoc).SetLimit(int64(limit+1)))
	if err != nil {
		return nil, fmt.Errorf("mongo find records: %w", err)
	}
	defer cur.Close(ctx)
	page := &engine.RecordPage{}
	more := false
	for cur.Next(ctx) {
		if len(page.Items) == limit {
			more = true
			break
		}
		var d recordDoc
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("mongo decode record: %w", err)
		}
		page.Items = append(page.Items, d.record())
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongo find records: %w", err)
	}
	if more {
		last := page.Items[limit-1]
		var cvals []cursorValue
		for _, k := range keys[:len(keys)-1] {
			cvals = append(cvals, toCursorValue(sortValue(last, k)))
		}
		page.NextCursor = engine.EncodeRecordCursor(fp, cvals, last.ID)
	}
	return page, nil
}

// CountRecords counts the records q selects.
func (s *Store) CountRecords(ctx context.Context, q engine.RecordQuery) (int64, error) {
	and, err := recordQuery(q)
	if err != nil {
		return 0, err
	}
	n, err := s.records.CountDocuments(ctx, bson.D{{Key: "$and", Value: and}})
	if err != nil {
		return 0, fmt.Errorf("mongo count records: %w", err)
	}
	return n, nil
}

// EnsureIndexes creates, for each x-index field, an index on data.<field>
// scoped by app, form and bin, then created_at and _id: it serves an
// equality filter on the field with the default order and a sort by the
// field, whose ties go by created_at and _id (resolveSort). App and form
// lead the keys, so one index on a field path serves every form that
// indexes it: names derive from the path alone, and repeated calls (and
// other forms with the same field) are no-ops. The indexes of the earlier
// order (a field's (path, _id) and (path, created_at desc, _id desc)) are
// dropped.
//
// FormIndex.Covered, Prefixes and Choices are not indexed here: the
// records of every form share one collection, which holds at most 64
// indexes, and an index on a field path serves every form with that
// field, so the copies of each field index led by a scope's fields (and a
// choice) that SQLite makes per form would, across an installation's
// apps, run into that bound and make a publish fail.
func (s *Store) EnsureIndexes(ctx context.Context, ix engine.FormIndex) error {
	var models []mongo.IndexModel
	for _, f := range ix.Fields {
		p, err := dataKey(f)
		if err != nil {
			return err
		}
		h := fnv.New64a()
		fmt.Fprint(h, p)
		name := fmt.Sprintf("rx_%016x", h.Sum64())
		models = append(models, idx(name+"_t", false, "app", 1, "form", 1, "deleted", 1, p, 1, "created_at", 1, "_id", 1))
	}
	if err := syncIndexes(ctx, s.records, models, oldFieldIndex); err != nil {
		return fmt.Errorf("mongo ensure indexes %s.%s: %w", ix.App, ix.Form, err)
	}
	return nil
}

// oldFieldIndex reports whether name is a field index of the order before
// ties went by created_at ("rx_<hash>_s" and "rx_<hash>_c").
func oldFieldIndex(name string) bool {
	return len(name) == len("rx_0123456789abcdef_s") && strings.HasPrefix(name, "rx_") && (strings.HasSuffix(name, "_s") || strings.HasSuffix(name, "_c"))
}
