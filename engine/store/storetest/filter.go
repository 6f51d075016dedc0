package storetest

import (
	"context"
	"encoding/base64"
	"fmt"
	"sort"
	"testing"

	"formwork/engine"
	"formwork/engine/filter"

	"github.com/google/go-cmp/cmp"
)

// Fields of the filter fixture.
var (
	fName   = filter.Field{Key: "name", Type: filter.TypeString}
	fAge    = filter.Field{Key: "age", Type: filter.TypeNumber}
	fVip    = filter.Field{Key: "vip", Type: filter.TypeBool}
	fTags   = filter.Field{Key: "tags", Type: filter.TypeArray}
	fJoined = filter.Field{Key: "joined", Type: filter.TypeString}
	fNote   = filter.Field{Key: "note", Type: filter.TypeString}
	fMixed  = filter.Field{Key: "mixed", Type: filter.TypeNumber} // holds values of every JSON type: type-strict equality
	fShape  = filter.Field{Key: "shape", Type: filter.TypeString} // an object and an array where a string was expected
	fID     = filter.Field{Key: "_id", Type: filter.TypeString, System: true}
	fUnit   = filter.Field{Key: "_unit", Type: filter.TypeString, System: true}
	fOwner  = filter.Field{Key: "_owner", Type: filter.TypeString, System: true}
	fStatus = filter.Field{Key: "_status", Type: filter.TypeString, System: true}
	fVer    = filter.Field{Key: "_version", Type: filter.TypeNumber, System: true}
	fCreate = filter.Field{Key: "_created_at", Type: filter.TypeTime, System: true}
	fUpdate = filter.Field{Key: "_updated_at", Type: filter.TypeTime, System: true}
)

// filterFixture writes the records every filter case runs over: r1…r6
// live (created at minutes 1…6), r7 in the recycle bin; r2 updated once.
func filterFixture(tb testing.TB, s engine.Store) {
	tb.Helper()
	recs := []*engine.Record{
		newRecord("r1", map[string]any{"name": "张三", "age": 30.0, "vip": true, "tags": []any{"a", "b"}, "joined": "2024-01-15", "note": "hello world", "mixed": true}),
		newRecord("r2", map[string]any{"name": "李四", "age": 25.5, "vip": false, "tags": []any{"b"}, "joined": "2023-06-01", "mixed": 1.0}),
		newRecord("r3", map[string]any{"name": "Alice", "age": 40.0, "tags": []any{}, "note": nil, "mixed": "1"}),
		newRecord("r4", map[string]any{"name": "bob", "vip": true, "tags": []any{"c"}, "joined": "2024-12-31", "note": "Hello", "mixed": 0.0}),
		newRecord("r5", map[string]any{"name": "😀 emoji", "age": 0.0, "vip": false, "note": "x", "mixed": false, "shape": map[string]any{"k": "v"}}),
		newRecord("r6", map[string]any{"name": "10", "age": -3.0, "tags": nil, "mixed": nil, "shape": []any{"k"}}),
		newRecord("r7", map[string]any{"name": "张三", "age": 30.0, "vip": true}),
	}
	recs[5].Unit, recs[5].Owner = "u2", "bob"
	for i, r := range recs {
		create(tb, s, r, at(i+1))
	}
	r2 := find(tb, s, "r2", false)
	r2.Status = engine.StatusApproved
	if _, err := write(s, engine.WriteUpdate, r2, 1, at(10)); err != nil {
		tb.Fatalf("update r2: %v", err)
	}
	if _, err := write(s, engine.WriteDelete, find(tb, s, "r7", false), 1, at(11)); err != nil {
		tb.Fatalf("delete r7: %v", err)
	}
}

type filterCase struct {
	name  string
	f     filter.Expr
	want  []string
	regex bool
}

func eq(f filter.Field, v any) filter.Expr { return filter.Cmp{Field: f, Op: filter.OpEq, Value: v} }
func op(f filter.Field, o filter.Op, v any) filter.Expr {
	return filter.Cmp{Field: f, Op: o, Value: v}
}
func ids(s ...string) []string { return append([]string{}, s...) }

var allLive = ids("r1", "r2", "r3", "r4", "r5", "r6")

// filterCases is the one table of filter semantics every backend must meet.
var filterCases = []filterCase{
	{"nil filter", nil, allLive, false},
	{"empty and", filter.And{}, allLive, false},
	{"empty or", filter.Or{}, ids(), false},
	{"eq chinese", eq(fName, "张三"), ids("r1"), false},
	{"eq emoji", eq(fName, "😀 emoji"), ids("r5"), false},
	{"eq string that looks like a number", eq(fName, "10"), ids("r6"), false},
	{"eq number", eq(fAge, 30.0), ids("r1"), false},
	{"eq fraction", eq(fAge, 25.5), ids("r2"), false},
	{"eq zero", eq(fAge, 0.0), ids("r5"), false},
	{"eq true", eq(fVip, true), ids("r1", "r4"), false},
	{"eq false", eq(fVip, false), ids("r2", "r5"), false},
	{"eq nil: missing or null", eq(fNote, nil), ids("r2", "r3", "r6"), false},
	{"mixed eq 1 is the number only", eq(fMixed, 1.0), ids("r2"), false},
	{"mixed eq true is the boolean only", eq(fMixed, true), ids("r1"), false},
	{"mixed eq string 1", eq(fMixed, "1"), ids("r3"), false},
	{"an object is not the string of its JSON", eq(fShape, `{"k":"v"}`), ids(), false},
	{"an array is not the string of its JSON", eq(fShape, `["k"]`), ids(), false},
	{"in: an object or array is no string", op(fShape, filter.OpIn, []any{`{"k":"v"}`, `["k"]`}), ids(), false},
	{"in: plain strings match no object", op(fShape, filter.OpIn, []any{"k", "v"}), ids(), false},
	{"mixed eq 0 is the number only", eq(fMixed, 0.0), ids("r4"), false},
	{"mixed eq false is the boolean only", eq(fMixed, false), ids("r5"), false},
	{"mixed gt 0 is numbers only", op(fMixed, filter.OpGt, 0.0), ids("r2"), false},
	{"ne string", op(fName, filter.OpNe, "张三"), ids("r2", "r3", "r4", "r5", "r6"), false},
	{"ne matches missing", op(fNote, filter.OpNe, "x"), ids("r1", "r2", "r3", "r4", "r6"), false},
	{"ne nil: present", op(fNote, filter.OpNe, nil), ids("r1", "r4", "r5"), false},
	{"ne true", op(fVip, filter.OpNe, true), ids("r2", "r3", "r5", "r6"), false},
	{"gt", op(fAge, filter.OpGt, 25.5), ids("r1", "r3"), false},
	{"gte", op(fAge, filter.OpGte, 25.5), ids("r1", "r2", "r3"), false},
	{"lt", op(fAge, filter.OpLt, 0.0), ids("r6"), false},
	{"lte", op(fAge, filter.OpLte, 0.0), ids("r5", "r6"), false},
	{"string range (dates)", op(fJoined, filter.OpGte, "2024-01-01"), ids("r1", "r4"), false},
	{"string lt", op(fJoined, filter.OpLt, "2024"), ids("r2"), false},
	{"string gt never matches numbers", op(fAge, filter.OpGt, "a"), ids(), false},
	{"number lt never matches strings", op(fName, filter.OpLt, 1e9), ids(), false},
	{"in strings", op(fName, filter.OpIn, []any{"张三", "bob", "nobody"}), ids("r1", "r4"), false},
	{"in numbers", op(fAge, filter.OpIn, []any{30.0, 40.0}), ids("r1", "r3"), false},
	{"in with nil", op(fNote, filter.OpIn, []any{nil, "x"}), ids("r2", "r3", "r5", "r6"), false},
	{"in bool", op(fVip, filter.OpIn, []any{false}), ids("r2", "r5"), false},
	{"in empty", op(fName, filter.OpIn, []any{}), ids(), false},
	{"nin", op(fName, filter.OpNin, []any{"张三", "李四"}), ids("r3", "r4", "r5", "r6"), false},
	{"nin matches missing", op(fAge, filter.OpNin, []any{30.0}), ids("r2", "r3", "r4", "r5", "r6"), false},
	{"array eq any element", eq(fTags, "b"), ids("r1", "r2"), false},
	{"array in any element", op(fTags, filter.OpIn, []any{"a", "c"}), ids("r1", "r4"), false},
	{"array ne: no element", op(fTags, filter.OpNe, "b"), ids("r3", "r4", "r5", "r6"), false},
	{"array nin", op(fTags, filter.OpNin, []any{"a", "b"}), ids("r3", "r4", "r5", "r6"), false},
	{"array eq nil: missing or null", eq(fTags, nil), ids("r5", "r6"), false},
	{"exists", filter.Exists{Field: fNote, Want: true}, ids("r1", "r4", "r5"), false},
	{"not exists", filter.Exists{Field: fNote, Want: false}, ids("r2", "r3", "r6"), false},
	{"exists bool false counts", filter.Exists{Field: fVip, Want: true}, ids("r1", "r2", "r4", "r5"), false},
	{"and", filter.And{Items: []filter.Expr{eq(fVip, true), op(fAge, filter.OpGt, 20.0)}}, ids("r1"), false},
	{"or", filter.Or{Items: []filter.Expr{eq(fName, "bob"), op(fAge, filter.OpLt, 0.0)}}, ids("r4", "r6"), false},
	{"not eq true includes missing", filter.Not{X: eq(fVip, true)}, ids("r2", "r3", "r5", "r6"), false},
	{"not gt includes missing", filter.Not{X: op(fAge, filter.OpGt, 25.0)}, ids("r4", "r5", "r6"), false},
	{"not not", filter.Not{X: filter.Not{X: op(fAge, filter.OpGt, 25.0)}}, ids("r1", "r2", "r3"), false},
	{"not and", filter.Not{X: filter.And{Items: []filter.Expr{eq(fVip, true), op(fAge, filter.OpGt, 20.0)}}}, ids("r2", "r3", "r4", "r5", "r6"), false},
	{"not or", filter.Not{X: filter.Or{Items: []filter.Expr{eq(fTags, "b"), filter.Exists{Field: fNote, Want: true}}}}, ids("r3", "r6"), false},
	{"nested", filter.Or{Items: []filter.Expr{
		filter.And{Items: []filter.Expr{eq(fVip, true), filter.Not{X: eq(fTags, "a")}}},
		op(fAge, filter.OpGte, 40.0),
	}}, ids("r3", "r4"), false},
	{"system _id", eq(fID, "r3"), ids("r3"), false},
	{"system _id in", op(fID, filter.OpIn, []any{"r1", "r2", "r7"}), ids("r1", "r2"), false},
	{"system _unit", eq(fUnit, "u2"), ids("r6"), false},
	{"system _owner ne", op(fOwner, filter.OpNe, "bob"), ids("r1", "r2", "r3", "r4", "r5"), false},
	{"system _status", eq(fStatus, engine.StatusApproved), ids("r2"), false},
	{"system _version", eq(fVer, 2.0), ids("r2"), false},
	{"system _version gt", op(fVer, filter.OpGt, 1.0), ids("r2"), false},
	{"system _created_at gte", op(fCreate, filter.OpGte, at(4).Format(filter.TimeFormat)), ids("r4", "r5", "r6"), false},
	{"system _created_at range", filter.And{Items: []filter.Expr{op(fCreate, filter.OpGt, at(1).Format(filter.TimeFormat)), op(fCreate, filter.OpLt, at(3).Format(filter.TimeFormat))}}, ids("r2"), false},
	{"system _updated_at", op(fUpdate, filter.OpGte, at(10).Format(filter.TimeFormat)), ids("r2"), false},
	{"regex prefix", filter.Regex{Field: fName, Pattern: "^b"}, ids("r4"), true},
	{"regex is case-sensitive", filter.Regex{Field: fName, Pattern: "^B"}, ids(), true},
	{"regex fold", filter.Regex{Field: fName, Pattern: "^B", Fold: true}, ids("r4"), true},
	{"regex fold 2", filter.Regex{Field: fName, Pattern: "^a", Fold: true}, ids("r3"), true},
	{"regex chinese", filter.Regex{Field: fName, Pattern: "张"}, ids("r1"), true},
	{"regex emoji", filter.Regex{Field: fName, Pattern: "😀"}, ids("r5"), true},
	{"regex suffix", filter.Regex{Field: fNote, Pattern: "world$"}, ids("r1"), true},
	{"regex never matches numbers", filter.Regex{Field: fAge, Pattern: "3"}, ids(), true},
	{"regex on array elements", filter.Regex{Field: fTags, Pattern: "^[ac]$"}, ids("r1", "r4"), true},
	{"not regex includes missing", filter.Not{X: filter.Regex{Field: fNote, Pattern: "(?i)hello"}}, ids("r2", "r3", "r5", "r6"), true},
}

func testFilter(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	filterFixture(t, s)
	live, err := s.FindRecords(ctx, engine.RecordQuery{App: testApp, Form: testForm, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range filterCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.regex {
				need(t, h.Capabilities.Regex, "Regex")
			}
			q := engine.RecordQuery{App: testApp, Form: testForm, Filter: tc.f, Limit: 2}
			got := pageIDs(t, s, q)
			sort.Strings(got)
			if got == nil {
				got = []string{}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("filter %+v (-want +got):\n%s", tc.f, d)
			}
			// the engine's in-memory check of a write (filter.Match) answers
			// as the store does for the records it stores
			inMemory := []string{}
			for _, r := range live.Items {
				sys := engine.SystemOf(r)
				if filter.Match(tc.f, func(f filter.Field) any {
					if f.System {
						return sys[f.Key]
					}
					return r.Data[f.Key]
				}) {
					inMemory = append(inMemory, r.ID)
				}
			}
			sort.Strings(inMemory)
			if d := cmp.Diff(tc.want, inMemory); d != "" {
				t.Errorf("filter.Match %+v (-want +got):\n%s", tc.f, d)
			}
			n, err := s.CountRecords(ctx, q)
			if err != nil || n != int64(len(tc.want)) {
				t.Errorf("CountRecords = %d, %v; want %d", n, err, len(tc.want))
			}
		})
	}
	t.Run("recycle bin", func(t *testing.T) {
		got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Deleted: true, Filter: eq(fName, "张三")})
		if d := cmp.Diff([]string{"r7"}, got); d != "" {
			t.Errorf("(-want +got):\n%s", d)
		}
	})
	t.Run("other form sees nothing", func(t *testing.T) {
		got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: "other"})
		if len(got) != 0 {
			t.Errorf("got %v", got)
		}
	})
}

// badCursors are garbage variants of a valid cursor.
func badCursors(valid string) []string {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	out := []string{"garbage", "!!!!", "%%%", b64("{}"), b64("null"), b64("[1,2,3]"), b64(`{"s":-5}`), b64("\x00\xff"),
		base64.StdEncoding.EncodeToString([]byte(`{"v":[{"i":1,"s":"x"}]}`))}
	if len(valid) > 4 {
		out = append(out, valid[:len(valid)/2], valid+"x", "x"+valid[1:])
	}
	return out
}

func testBadCursor(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	for i := range 3 {
		create(t, s, newRecord(fmt.Sprintf("c%d", i), map[string]any{"n": float64(i)}), at(i))
	}
	p, err := s.FindRecords(ctx, engine.RecordQuery{App: testApp, Form: testForm, Limit: 1})
	if err != nil || p.NextCursor == "" {
		t.Fatalf("FindRecords(limit 1) = %v, %v; want a next cursor", p, err)
	}
	for _, c := range badCursors(p.NextCursor) {
		_, err := s.FindRecords(ctx, engine.RecordQuery{App: testApp, Form: testForm, Limit: 1, Cursor: c})
		wantCode(t, err, engine.EINVALID, fmt.Sprintf("FindRecords with cursor %q", c))
	}
	// A cursor from one ordering is refused by another.
	_, err = s.FindRecords(ctx, engine.RecordQuery{App: testApp, Form: testForm, Limit: 1, Cursor: p.NextCursor,
		Sort: []engine.SortKey{{Field: "n"}, {Field: "_updated_at", Desc: true}}})
	wantCode(t, err, engine.EINVALID, "FindRecords with a cursor of another sort")
}
