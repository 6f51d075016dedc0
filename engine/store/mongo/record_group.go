package mongo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"formwork/engine"
)

// codeNotImplemented is the server error a wire-compatible server (such as
// FerretDB) gives for an aggregation operator it lacks.
const codeNotImplemented = 238

// GroupRecords groups with one aggregation pipeline ($match with the same
// query as FindRecords, $unwind for array keys, $group). A server that
// lacks an operator the pipeline needs gets the same answer computed from
// the matching records as they stream past (engine.GroupAccumulator):
// slower, never different.
func (s *Store) GroupRecords(ctx context.Context, q engine.GroupQuery) ([]engine.GroupRow, error) {
	if err := engine.CheckGroupQuery(&q); err != nil {
		return nil, err
	}
	and, err := recordQuery(engine.RecordQuery{App: q.App, Form: q.Form, Filter: q.Filter})
	if err != nil {
		return nil, err
	}
	match := bson.D{{Key: "$and", Value: and}}
	pipeline, err := groupPipeline(q, match)
	if err != nil {
		return nil, err
	}
	rows, err := s.groupAggregate(ctx, q, pipeline)
	var se mongo.ServerError
	if errors.As(err, &se) && se.HasErrorCode(codeNotImplemented) {
		return s.groupStream(ctx, q, match)
	}
	return rows, err
}

// groupPipeline builds the aggregation of q after match.
func groupPipeline(q engine.GroupQuery, match bson.D) (bson.A, error) {
	p := bson.A{bson.D{{Key: "$match", Value: match}}}
	id := bson.D{}
	for i, b := range q.By {
		expr, unwind, err := groupKeyExpr(b)
		if err != nil {
			return nil, err
		}
		if unwind != "" {
			p = append(p, bson.D{{Key: "$unwind", Value: bson.D{{Key: "path", Value: unwind}, {Key: "preserveNullAndEmptyArrays", Value: true}}}})
		}
		id = append(id, bson.E{Key: "k" + strconv.Itoa(i), Value: expr})
	}
	group := bson.D{{Key: "_id", Value: id}, {Key: "count", Value: bson.D{{Key: "$sum", Value: 1}}}}
	if q.Measure != "" {
		path, err := dataKey(q.Measure)
		if err != nil {
			return nil, err
		}
		num := bson.D{{Key: "$isNumber", Value: "$" + path}}
		onlyNum := bson.D{{Key: "$cond", Value: bson.A{num, "$" + path, nil}}}
		group = append(group,
			bson.E{Key: "n", Value: bson.D{{Key: "$sum", Value: bson.D{{Key: "$cond", Value: bson.A{num, 1, 0}}}}}},
			bson.E{Key: "sum", Value: bson.D{{Key: "$sum", Value: onlyNum}}},
			bson.E{Key: "min", Value: bson.D{{Key: "$min", Value: onlyNum}}},
			bson.E{Key: "max", Value: bson.D{{Key: "$max", Value: onlyNum}}})
	}
	return append(p, bson.D{{Key: "$group", Value: group}}), nil
}

// groupKeyExpr is the $group _id expression of one key, and the path to
// $unwind first for an Each key.
func groupKeyExpr(b engine.GroupBy) (expr any, unwind string, err error) {
	path, system := systemFields[b.Field]
	if system && (path == "_id") {
		return nil, "", engine.Errorf(engine.EINVALID, engine.T("不能按该字段分组："+b.Field, "cannot group by "+b.Field))
	}
	if !system {
		if path, err = fieldPath(b.Field, false); err != nil {
			return nil, "", err
		}
	}
	ref := "$" + path
	if b.Each && !system {
		unwind = ref
	}
	timeField := system && (path == "created_at" || path == "updated_at")
	switch b.Cut {
	case "":
		if timeField { // as the SQLite store's text times
			return bson.D{{Key: "$dateToString", Value: bson.D{{Key: "format", Value: "%Y-%m-%dT%H:%M:%S.%LZ"}, {Key: "date", Value: ref}}}}, unwind, nil
		}
		return ref, unwind, nil
	case engine.CutHour:
		date := any(ref)
		if !timeField {
			isTime := bson.D{{Key: "$regexMatch", Value: bson.D{{Key: "input", Value: ref}, {Key: "regex", Value: `^[0-9]{4}-[0-9]{2}-[0-9]{2}T`}}}}
			parsed := bson.D{{Key: "$dateFromString", Value: bson.D{{Key: "dateString", Value: ref}, {Key: "onError", Value: nil}, {Key: "onNull", Value: nil}}}}
			date = bson.D{{Key: "$cond", Value: bson.A{bson.D{{Key: "$and", Value: bson.A{isString(ref), isTime}}}, parsed, nil}}}
		}
		if b.Shift != 0 {
			date = bson.D{{Key: "$add", Value: bson.A{date, b.Shift.Milliseconds()}}}
		}
		return bson.D{{Key: "$dateToString", Value: bson.D{{Key: "format", Value: "%Y-%m-%dT%H"}, {Key: "date", Value: date}, {Key: "onNull", Value: nil}}}}, unwind, nil
	default: // engine.CutDay
		if timeField {
			return bson.D{{Key: "$dateToString", Value: bson.D{{Key: "format", Value: "%Y-%m-%d"}, {Key: "date", Value: ref}}}}, unwind, nil
		}
		isDay := bson.D{{Key: "$regexMatch", Value: bson.D{{Key: "input", Value: ref}, {Key: "regex", Value: `^[0-9]{4}-[0-9]{2}-[0-9]{2}`}}}}
		cut := bson.D{{Key: "$substrBytes", Value: bson.A{ref, 0, 10}}}
		return bson.D{{Key: "$cond", Value: bson.A{bson.D{{Key: "$and", Value: bson.A{isString(ref), isDay}}}, cut, nil}}}, unwind, nil
	}
}

// isString is the expression "ref holds a string" ($regexMatch errs on
// anything else, so it guards every use).
func isString(ref string) bson.D {
	return bson.D{{Key: "$eq", Value: bson.A{bson.D{{Key: "$type", Value: ref}}, "string"}}}
}

// groupResult is one $group output document.
type groupResult struct {
	ID    bson.Raw      `bson:"_id"`
	Count int64         `bson:"count"`
	N     int64         `bson:"n"`
	Sum   bson.RawValue `bson:"sum"`
	Min   bson.RawValue `bson:"min"`
	Max   bson.RawValue `bson:"max"`
}

// groupAggregate runs the pipeline and reads its groups, merging those
// the engine reads as one (an array and a missing field are both nil).
func (s *Store) groupAggregate(ctx context.Context, q engine.GroupQuery, pipeline bson.A) ([]engine.GroupRow, error) {
	cur, err := s.records.Aggregate(ctx, pipeline)
	if err != nil {
		return nil, fmt.Errorf("mongo group records: %w", err)
	}
	defer cur.Close(ctx)
	acc := engine.NewGroupAccumulator(q)
	for cur.Next(ctx) {
		var g groupResult
		if err := cur.Decode(&g); err != nil {
			return nil, fmt.Errorf("mongo decode group: %w", err)
		}
		row := engine.GroupRow{Count: g.Count, N: g.N, Keys: make([]any, len(q.By))}
		for i := range q.By {
			row.Keys[i] = scalarKey(g.ID.Lookup("k" + strconv.Itoa(i)))
		}
		if row.N > 0 {
			row.Sum, row.Min, row.Max = number(g.Sum), number(g.Min), number(g.Max)
		}
		if err := acc.Merge(row); err != nil {
			return nil, err
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongo group records: %w", err)
	}
	return acc.Rows(), nil
}

// groupStream groups the records match selects as they stream past.
func (s *Store) groupStream(ctx context.Context, q engine.GroupQuery, match bson.D) ([]engine.GroupRow, error) {
	cur, err := s.records.Find(ctx, match)
	if err != nil {
		return nil, fmt.Errorf("mongo group records: %w", err)
	}
	defer cur.Close(ctx)
	acc := engine.NewGroupAccumulator(q)
	for cur.Next(ctx) {
		var d recordDoc
		if err := cur.Decode(&d); err != nil {
			return nil, fmt.Errorf("mongo decode record: %w", err)
		}
		if err := acc.Add(d.record()); err != nil {
			return nil, err
		}
	}
	if err := cur.Err(); err != nil {
		return nil, fmt.Errorf("mongo group records: %w", err)
	}
	return acc.Rows(), nil
}

// scalarKey reads a group key as engine.GroupKeys gives it: a string,
// a bool or a number as fromBSON reads them, nil for anything else.
func scalarKey(v bson.RawValue) any {
	switch v.Type {
	case bson.TypeString, bson.TypeBoolean, bson.TypeDouble, bson.TypeInt32, bson.TypeInt64:
		return fromBSON(v)
	}
	return nil
}

// number reads a numeric value (0 for anything else).
func number(v bson.RawValue) float64 {
	f, _ := scalarKey(v).(float64)
	return f
}
