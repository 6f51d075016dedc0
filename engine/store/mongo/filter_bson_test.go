package mongo

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.mongodb.org/mongo-driver/v2/bson"

	"formwork/engine"
	"formwork/engine/filter"
)

var testFields = map[string]filter.Field{
	"name":        {Key: "name", Type: filter.TypeString},
	"level":       {Key: "level", Type: filter.TypeString},
	"budget":      {Key: "budget", Type: filter.TypeNumber},
	"vip":         {Key: "vip", Type: filter.TypeBool},
	"tags":        {Key: "tags", Type: filter.TypeArray},
	"_id":         {Key: "_id", Type: filter.TypeString, System: true},
	"_unit":       {Key: "_unit", Type: filter.TypeString, System: true},
	"_owner":      {Key: "_owner", Type: filter.TypeString, System: true},
	"_status":     {Key: "_status", Type: filter.TypeString, System: true},
	"_version":    {Key: "_version", Type: filter.TypeNumber, System: true},
	"_created_at": {Key: "_created_at", Type: filter.TypeTime, System: true},
	"_updated_at": {Key: "_updated_at", Type: filter.TypeTime, System: true},
}

func resolve(key string) (filter.Field, bool) {
	f, ok := testFields[key]
	return f, ok
}

// mustParse parses a filter with fixed variables.
func mustParse(tb testing.TB, raw string) filter.Expr {
	tb.Helper()
	e, err := filter.Parse([]byte(raw), resolve, filter.Vars{UserID: "u1", Unit: "s1", UnitsBelow: []string{"s1", "s2"},
		Now: time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)})
	if err != nil {
		tb.Fatalf("Parse(%s): %v", raw, err)
	}
	return e
}

// extJSON renders a query as canonical extended JSON, so key order and
// value types are part of the comparison.
func extJSON(tb testing.TB, d bson.D) string {
	tb.Helper()
	b, err := bson.MarshalExtJSON(d, true, false)
	if err != nil {
		tb.Fatalf("MarshalExtJSON: %v", err)
	}
	return string(b)
}

func TestCompileFilter(t *testing.T) {
	created := bson.NewDateTimeFromTime(time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC))
	tests := []struct {
		name, in string
		want     bson.D
	}{
		{"all", `{}`, bson.D{}},
		{"eq", `{"level": "vip"}`, bson.D{{Key: "data.level", Value: bson.D{{Key: "$eq", Value: "vip"}, {Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}}}},
		{"eq null", `{"level": null}`, bson.D{{Key: "data.level", Value: nil}}},
		{"ne null", `{"level": {"$ne": null}}`, bson.D{{Key: "data.level", Value: bson.D{{Key: "$ne", Value: nil}}}}},
		{"range", `{"budget": {"$gte": 10, "$lt": 100}}`, bson.D{{Key: "$and", Value: bson.A{
			bson.D{{Key: "data.budget", Value: bson.D{{Key: "$gte", Value: 10.0}}}},
			bson.D{{Key: "data.budget", Value: bson.D{{Key: "$lt", Value: 100.0}}}}}}}},
		{"in", `{"level": {"$in": ["vip", "gold"]}}`, bson.D{{Key: "data.level", Value: bson.D{{Key: "$in", Value: bson.A{"vip", "gold"}}, {Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}}}},
		{"nin", `{"tags": {"$nin": ["a", 1, true]}}`, bson.D{{Key: "data.tags", Value: bson.D{{Key: "$nin", Value: bson.A{"a", 1.0, true}}}}}},
		{"exists", `{"name": {"$exists": true}}`, bson.D{{Key: "data.name", Value: bson.D{{Key: "$ne", Value: nil}}}}},
		{"not exists", `{"name": {"$exists": false}}`, bson.D{{Key: "data.name", Value: nil}}},
		{"regex", `{"name": {"$regex": "^张", "$options": "i"}}`, bson.D{{Key: "data.name", Value: bson.D{{Key: "$regex", Value: "^张"}, {Key: "$options", Value: "i"}}}}},
		{"or", `{"$or": [{"vip": true}, {"_version": {"$gt": 2}}]}`, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "data.vip", Value: bson.D{{Key: "$eq", Value: true}, {Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}}},
			bson.D{{Key: "version", Value: bson.D{{Key: "$gt", Value: 2.0}}}}}}}},
		{"not", `{"$not": {"level": "vip"}}`, bson.D{{Key: "$nor", Value: bson.A{bson.D{{Key: "data.level", Value: bson.D{{Key: "$eq", Value: "vip"}, {Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}}}}}}},
		{"field not", `{"budget": {"$not": {"$gt": 5}}}`, bson.D{{Key: "$nor", Value: bson.A{bson.D{{Key: "data.budget", Value: bson.D{{Key: "$gt", Value: 5.0}}}}}}}},
		{"system fields", `{"_id": "r1", "_unit": {"$in": "$user.units_below"}, "_owner": "$user.id", "_status": "active"}`, bson.D{{Key: "$and", Value: bson.A{
			bson.D{{Key: "_id", Value: bson.D{{Key: "$eq", Value: "r1"}}}},
			bson.D{{Key: "unit", Value: bson.D{{Key: "$in", Value: bson.A{"s1", "s2"}}}}},
			bson.D{{Key: "owner", Value: bson.D{{Key: "$eq", Value: "u1"}}}},
			bson.D{{Key: "status", Value: bson.D{{Key: "$eq", Value: "active"}}}}}}}},
		{"time as datetime", `{"_created_at": {"$lt": "$now"}}`, bson.D{{Key: "created_at", Value: bson.D{{Key: "$lt", Value: created}}}}},
		{"time list", `{"_updated_at": {"$in": ["2026-01-02T03:04:05.006Z"]}}`, bson.D{{Key: "updated_at", Value: bson.D{{Key: "$in", Value: bson.A{created}}}}}},
		{"hostile looking value stays a value", `{"name": "{\"$gt\": \"\"}"}`, bson.D{{Key: "data.name", Value: bson.D{{Key: "$eq", Value: `{"$gt": ""}`}, {Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := compileFilter(mustParse(t, tt.in))
			if err != nil {
				t.Fatalf("compileFilter: %v", err)
			}
			if diff := cmp.Diff(extJSON(t, tt.want), extJSON(t, got)); diff != "" {
				t.Errorf("compileFilter(%s) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestCompileFilterRefusesUncheckedTrees(t *testing.T) {
	name := filter.Field{Key: "name", Type: filter.TypeString}
	tests := []struct {
		name string
		e    filter.Expr
	}{
		{"operator as op", filter.Cmp{Field: name, Op: "$where", Value: "1"}},
		{"unsafe regex", filter.Regex{Field: name, Pattern: "(a+)+$"}},
		{"dotted key", filter.Cmp{Field: filter.Field{Key: "a.b", Type: filter.TypeString}, Op: filter.OpEq, Value: "x"}},
		{"dollar key", filter.Exists{Field: filter.Field{Key: "$where", Type: filter.TypeString}, Want: true}},
		{"unknown system field", filter.Cmp{Field: filter.Field{Key: "_secret", Type: filter.TypeString, System: true}, Op: filter.OpEq, Value: "x"}},
		{"object value", filter.Cmp{Field: name, Op: filter.OpEq, Value: map[string]any{"$gt": ""}}},
	}
	for _, tt := range tests {
		if _, err := compileFilter(tt.e); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("%s: compileFilter(%#v) = %v, want %s", tt.name, tt.e, err, engine.EINVALID)
		}
	}
}

func TestToBSONSortsKeys(t *testing.T) {
	in := map[string]any{"b": 1.0, "a": map[string]any{"z": "x", "y": []any{map[string]any{"d": true, "c": nil}}}, "c": "中文"}
	want := `{"a":{"y":[{"c":null,"d":true}],"z":"x"},"b":{"$numberDouble":"1.0"},"c":"中文"}`
	for i := 0; i < 20; i++ { // map order varies from run to run
		d, err := dataBSON(in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, extJSON(t, d)); diff != "" {
			t.Fatalf("dataBSON (-want +got):\n%s", diff)
		}
	}
	raw, _ := bson.Marshal(bson.D{{Key: "v", Value: mustBSON(t, in)}})
	back := docMap(bson.Raw(raw))["v"]
	if diff := cmp.Diff(in, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func mustBSON(tb testing.TB, v any) any {
	tb.Helper()
	b, err := toBSON(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestCursorRefusesGarbage(t *testing.T) {
	for _, c := range []string{"garbage!", "e30", engine.EncodeCursor(map[string]any{"x": 1}),
		engine.EncodeRecordCursor(0, []cursorValue{{S: new(string), B: new(bool)}}, "x")} {
		if vals, err := engine.DecodeRecordCursor(c, 0, 2, cursorValue.value); err == nil {
			t.Errorf("cursor %q accepted: %v", c, vals)
		}
	}
}
