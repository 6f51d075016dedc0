package storetest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"formwork/engine"
	"formwork/engine/filter"
)

// groupFixture writes the records every grouping case runs over: g1…g7
// live, g8 in the recycle bin. Their fields hold every kind of value a
// key or a measure may meet: strings, numbers, a bool, arrays, a scalar
// where an array is usual, text that is not a time, missing fields.
func groupFixture(tb testing.TB, s engine.Store) {
	tb.Helper()
	recs := []struct {
		r    *engine.Record
		when int
	}{
		{newRecord("g1", map[string]any{"level": "a", "amount": 10.0, "size": 1.0, "flag": true, "tags": []any{"p", "q"}, "day": "2026-12-05", "when": "2026-12-05T10:30:00+08:00"}), 1},
		{newRecord("g2", map[string]any{"level": "a", "amount": 5.5, "tags": []any{"p"}, "day": "2026-12-05T22:00:00+08:00", "when": "2026-12-05T23:59:00Z"}), 59},
		{newRecord("g3", map[string]any{"level": "b", "amount": "x", "tags": []any{}, "day": "2026-12-07", "when": "2026-12-05"}), 61},
		{newRecord("g4", map[string]any{"size": 1.0, "amount": 2.0, "tags": "solo", "day": "nonsense", "flag": false}), 150},
		{newRecord("g5", map[string]any{"size": 2.0, "day": 5.0, "flag": true}), 24 * 60},
		{newRecord("g6", map[string]any{"level": []any{"a"}, "amount": -1.0}), 24*60 + 30},
		{newRecord("g7", map[string]any{"amount": 100.0}), 2 * 24 * 60},
		{newRecord("g8", map[string]any{"level": "a", "amount": 1000.0}), 3 * 24 * 60},
	}
	recs[2].r.Unit = "u2"
	for _, x := range recs {
		create(tb, s, x.r, at(x.when))
	}
	g7 := find(tb, s, "g7", false)
	g7.Status = engine.StatusApproved
	if _, err := write(s, engine.WriteUpdate, g7, 1, at(3*24*60+1)); err != nil {
		tb.Fatalf("update g7: %v", err)
	}
	if _, err := write(s, engine.WriteDelete, find(tb, s, "g8", false), 1, at(3*24*60+2)); err != nil {
		tb.Fatalf("delete g8: %v", err)
	}
}

// grp is a want row: keys, then the count, and for a measure N, Sum, Min, Max.
func grp(count int64, keys ...any) engine.GroupRow {
	return engine.GroupRow{Keys: keys, Count: count}
}

func grpM(count, n int64, sum, lo, hi float64, keys ...any) engine.GroupRow {
	return engine.GroupRow{Keys: keys, Count: count, N: n, Sum: sum, Min: lo, Max: hi}
}

type groupCase struct {
	name string
	q    engine.GroupQuery
	want []engine.GroupRow
}

var (
	byLevel  = engine.GroupBy{Field: "level"}
	byStatus = engine.GroupBy{Field: "_status"}
	halfHour = 30 * time.Minute
)

// groupCases is the one table of grouping semantics every backend must meet.
var groupCases = []groupCase{
	{"everything measured", engine.GroupQuery{Measure: "amount"},
		[]engine.GroupRow{grpM(7, 5, 116.5, -1, 100)}},
	{"count only", engine.GroupQuery{}, []engine.GroupRow{grp(7)}},
	{"by value: arrays and missing fields are nil", engine.GroupQuery{By: []engine.GroupBy{byLevel}, Measure: "amount"},
		[]engine.GroupRow{
			grpM(2, 2, 15.5, 5.5, 10, "a"), grpM(1, 0, 0, 0, 0, "b"), grpM(4, 3, 101, -1, 100, nil),
		}},
	{"by a number", engine.GroupQuery{By: []engine.GroupBy{{Field: "size"}}},
		[]engine.GroupRow{grp(2, 1.0), grp(1, 2.0), grp(4, nil)}},
	{"by a yes/no field", engine.GroupQuery{By: []engine.GroupBy{{Field: "flag", Bool: true}}},
		[]engine.GroupRow{grp(2, true), grp(1, false), grp(4, nil)}},
	{"each element of an array", engine.GroupQuery{By: []engine.GroupBy{{Field: "tags", Each: true}}},
		[]engine.GroupRow{grp(2, "p"), grp(1, "q"), grp(1, "solo"), grp(4, nil)}},
	{"an array as a value is nil", engine.GroupQuery{By: []engine.GroupBy{{Field: "tags"}}},
		[]engine.GroupRow{grp(1, "solo"), grp(6, nil)}},
	{"two keys", engine.GroupQuery{By: []engine.GroupBy{byLevel, byStatus}},
		[]engine.GroupRow{grp(2, "a", "active"), grp(1, "b", "active"), grp(3, nil, "active"), grp(1, nil, "approved")}},
	{"a system field", engine.GroupQuery{By: []engine.GroupBy{{Field: "_unit"}}, Measure: "amount"},
		[]engine.GroupRow{grpM(6, 5, 116.5, -1, 100, "u1"), grpM(1, 0, 0, 0, 0, "u2")}},
	{"created, by the hour", engine.GroupQuery{By: []engine.GroupBy{{Field: "_created_at", Cut: engine.CutHour}}},
		[]engine.GroupRow{grp(2, "2026-03-01T09"), grp(1, "2026-03-01T10"), grp(1, "2026-03-01T11"), grp(2, "2026-03-02T09"), grp(1, "2026-03-03T09")}},
	{"created, by the hour shifted half an hour", engine.GroupQuery{By: []engine.GroupBy{{Field: "_created_at", Cut: engine.CutHour, Shift: halfHour}}},
		[]engine.GroupRow{
			grp(1, "2026-03-01T09"), grp(2, "2026-03-01T10"), grp(1, "2026-03-01T12"),
			grp(1, "2026-03-02T09"), grp(1, "2026-03-02T10"), grp(1, "2026-03-03T09"),
		}},
	{"created, by the day", engine.GroupQuery{By: []engine.GroupBy{{Field: "_created_at", Cut: engine.CutDay}}},
		[]engine.GroupRow{grp(4, "2026-03-01"), grp(2, "2026-03-02"), grp(1, "2026-03-03")}},
	{"a date field by the day; not dates are nil", engine.GroupQuery{By: []engine.GroupBy{{Field: "day", Cut: engine.CutDay}}},
		[]engine.GroupRow{grp(2, "2026-12-05"), grp(1, "2026-12-07"), grp(4, nil)}},
	{"a time field by the hour in UTC; a date alone is nil", engine.GroupQuery{By: []engine.GroupBy{{Field: "when", Cut: engine.CutHour}}},
		[]engine.GroupRow{grp(1, "2026-12-05T02"), grp(1, "2026-12-05T23"), grp(5, nil)}},
	{"a time field by the hour shifted", engine.GroupQuery{By: []engine.GroupBy{{Field: "when", Cut: engine.CutHour, Shift: halfHour}}},
		[]engine.GroupRow{grp(1, "2026-12-05T03"), grp(1, "2026-12-06T00"), grp(5, nil)}},
	{"a filter first", engine.GroupQuery{Filter: eq(filter.Field{Key: "level", Type: filter.TypeString}, "a"), By: []engine.GroupBy{{Field: "_unit"}}, Measure: "amount"},
		[]engine.GroupRow{grpM(2, 2, 15.5, 5.5, 10, "u1")}},
	{"nothing matches", engine.GroupQuery{Filter: eq(filter.Field{Key: "level", Type: filter.TypeString}, "zzz"), Measure: "amount"}, nil},
	{"created in a range that cuts hours", engine.GroupQuery{
		Filter: filter.And{Items: []filter.Expr{createdCmp(filter.OpGte, at(30)), createdCmp(filter.OpLt, at(24*60+15))}},
		By:     []engine.GroupBy{{Field: "_created_at", Cut: engine.CutHour}}, Measure: "amount"},
		[]engine.GroupRow{grpM(1, 1, 5.5, 5.5, 5.5, "2026-03-01T09"), grpM(1, 0, 0, 0, 0, "2026-03-01T10"), grpM(1, 1, 2, 2, 2, "2026-03-01T11"), grpM(1, 0, 0, 0, 0, "2026-03-02T09")}},
	{"created after, to the millisecond, in a unit", engine.GroupQuery{
		Filter: filter.And{Items: []filter.Expr{createdCmp(filter.OpGt, at(59)), createdCmp(filter.OpLte, at(24*60)), op(unitField, filter.OpIn, []any{"u1"})}},
		By:     []engine.GroupBy{byLevel}},
		[]engine.GroupRow{grp(2, nil)}},
	{"a unit, and a value or another", engine.GroupQuery{
		Filter: filter.And{Items: []filter.Expr{op(unitField, filter.OpNe, "u2"), filter.Or{Items: []filter.Expr{eq(filter.Field{Key: "level", Type: filter.TypeString}, "a"), eq(filter.Field{Key: "flag", Type: filter.TypeBool}, true)}}}},
		By:     []engine.GroupBy{{Field: "flag", Bool: true}}, Measure: "amount"},
		[]engine.GroupRow{grpM(2, 1, 10, 10, 10, true), grpM(1, 1, 5.5, 5.5, 5.5, nil)}},
}

var unitField = filter.Field{Key: "_unit", Type: filter.TypeString, System: true}

func createdCmp(o filter.Op, t time.Time) filter.Expr {
	return op(filter.Field{Key: "_created_at", Type: filter.TypeTime, System: true}, o, filter.FormatTime(t))
}

// groupRollup is the totals the suite asks a store to keep of the fixture
// (a store that keeps none ignores it).
var groupRollup = &engine.FormRollup{Sets: [][]string{{"level", "size", "flag", "day"}, {"level"}, {}}, Measures: []string{"other", "amount"}}

func testGroup(t *testing.T, h Harness) {
	s := open(t, h)
	groupFixture(t, s)
	ctx := context.Background()
	runGroupCases(t, s, false)
	// Without bounds asked for, a store may answer from the totals it
	// keeps: built from the records there, kept with every write here.
	t.Run("totals built", func(t *testing.T) {
		if err := s.EnsureIndexes(ctx, engine.FormIndex{App: testApp, Form: testForm, Rollup: groupRollup}); err != nil {
			t.Fatal(err)
		}
		runGroupCases(t, s, true)
	})
	t.Run("totals kept", func(t *testing.T) {
		s := open(t, h)
		if err := s.EnsureIndexes(ctx, engine.FormIndex{App: testApp, Form: testForm, Rollup: groupRollup}); err != nil {
			t.Fatal(err)
		}
		groupFixture(t, s)
		runGroupCases(t, s, true)
		// g8 back from the recycle bin counts again; purged, never again.
		g8 := find(t, s, "g8", true)
		everything := engine.GroupQuery{App: testApp, Form: testForm, Measure: "amount", NoBounds: true}
		for _, step := range []struct {
			op   engine.WriteOp
			want []engine.GroupRow
		}{
			{engine.WriteRestore, []engine.GroupRow{grpM(8, 6, 1116.5, 0, 0)}},
			{engine.WriteDelete, []engine.GroupRow{grpM(7, 5, 116.5, 0, 0)}},
			{engine.WritePurge, []engine.GroupRow{grpM(7, 5, 116.5, 0, 0)}},
		} {
			var err error
			if g8, err = write(s, step.op, g8, g8.Version, at(4*24*60)); err != nil {
				t.Fatalf("%s g8: %v", step.op, err)
			}
			got, err := s.GroupRecords(ctx, everything)
			if err != nil {
				t.Fatal(err)
			}
			for i := range got { // a store may give them all the same
				got[i].Min, got[i].Max = 0, 0
			}
			if diff := cmp.Diff(step.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("after %s of g8 (-want +got):\n%s", step.op, diff)
			}
		}
		// Dropping the totals leaves the answers as they were.
		if err := s.EnsureIndexes(ctx, engine.FormIndex{App: testApp, Form: testForm, Rollup: &engine.FormRollup{}}); err != nil {
			t.Fatal(err)
		}
		runGroupCases(t, s, true)
	})
	bad := []struct {
		name string
		q    engine.GroupQuery
	}{
		{"more groups than the limit", engine.GroupQuery{By: []engine.GroupBy{byLevel}, Limit: 2}},
		{"the record id", engine.GroupQuery{By: []engine.GroupBy{{Field: "_id"}}}},
		{"an unknown system field", engine.GroupQuery{By: []engine.GroupBy{{Field: "_nope"}}}},
		{"a path", engine.GroupQuery{By: []engine.GroupBy{{Field: "a.b"}}}},
		{"a bad measure", engine.GroupQuery{Measure: "$x"}},
		{"three keys", engine.GroupQuery{By: []engine.GroupBy{byLevel, byStatus, {Field: "tags"}}}},
		{"an unknown cut", engine.GroupQuery{By: []engine.GroupBy{{Field: "day", Cut: "year"}}}},
		{"a shift of an hour", engine.GroupQuery{By: []engine.GroupBy{{Field: "_created_at", Cut: engine.CutHour, Shift: time.Hour}}}},
	}
	for _, tc := range bad {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			q := tc.q
			q.App, q.Form = testApp, testForm
			_, err := s.GroupRecords(ctx, q)
			wantCode(t, err, engine.EINVALID, tc.name)
		})
	}
}

// runGroupCases checks every grouping case on s; with noBounds the
// queries ask for no Min and Max, which are then zero.
func runGroupCases(t *testing.T, s engine.Store, noBounds bool) {
	t.Helper()
	ctx := context.Background()
	for _, tc := range groupCases {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.App, q.Form, q.NoBounds = testApp, testForm, noBounds
			want := tc.want
			if noBounds {
				want = make([]engine.GroupRow, len(tc.want))
				for i, r := range tc.want {
					r.Min, r.Max = 0, 0
					want[i] = r
				}
			}
			got, err := s.GroupRecords(ctx, q)
			if err != nil {
				t.Fatalf("GroupRecords: %v", err)
			}
			if noBounds {
				for i := range got { // a store may give them all the same
					got[i].Min, got[i].Max = 0, 0
				}
			}
			if diff := cmp.Diff(sortGroups(want), sortGroups(got), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GroupRecords (-want +got):\n%s", diff)
			}
			// The in-memory grouping a backend may fall back on means the same.
			if diff := cmp.Diff(sortGroups(tc.want), sortGroups(accumulate(t, s, q)), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("GroupAccumulator (-want +got):\n%s", diff)
			}
		})
	}
}

// accumulate groups the records q selects with engine.GroupAccumulator.
func accumulate(tb testing.TB, s engine.Store, q engine.GroupQuery) []engine.GroupRow {
	tb.Helper()
	if err := engine.CheckGroupQuery(&q); err != nil {
		tb.Fatal(err)
	}
	acc := engine.NewGroupAccumulator(q)
	page, err := s.FindRecords(context.Background(), engine.RecordQuery{App: q.App, Form: q.Form, Filter: q.Filter, Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range page.Items {
		if err := acc.Add(r); err != nil {
			tb.Fatal(err)
		}
	}
	return acc.Rows()
}

// sortGroups orders rows by their keys' text, for comparing.
func sortGroups(rows []engine.GroupRow) []engine.GroupRow {
	out := append([]engine.GroupRow(nil), rows...)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprintf("%#v", out[i].Keys) < fmt.Sprintf("%#v", out[j].Keys) })
	return out
}
