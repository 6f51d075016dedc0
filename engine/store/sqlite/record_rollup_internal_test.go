package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"formwork/engine"
	"formwork/engine/filter"
)

// TestRollupKeptExact writes records at random (creates, updates that
// move them between units, statuses and values, deletes, restores,
// purges, some in one Change) and checks after each batch that every
// dashboard-shaped query reads the rollups and answers exactly what the
// records give.
func TestRollupKeptExact(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ix := engine.FormIndex{App: "shop", Form: "customer", Rollup: &engine.FormRollup{Sets: [][]string{{"level", "flag"}, {"level"}, {}}, Measures: []string{"amount"}}}
	// half the records before the rollups exist (built), half after (kept)
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	value := func() map[string]any {
		d := map[string]any{}
		switch rng.IntN(4) {
		case 0:
			d["level"] = "a"
		case 1:
			d["level"] = "b"
		case 2:
			d["level"] = 3.0
		}
		switch rng.IntN(3) {
		case 0:
			d["flag"] = true
		case 1:
			d["flag"] = false
		}
		switch rng.IntN(4) {
		case 0:
			d["amount"] = float64(rng.IntN(100))
		case 1:
			d["amount"] = float64(rng.IntN(100)) + 0.5
		case 2:
			d["amount"] = "x"
		}
		return d
	}
	live := map[string]*engine.Record{}
	binned := map[string]*engine.Record{}
	n := 0
	step := func() {
		var ws []engine.RecordWrite
		for range 1 + rng.IntN(3) {
			at := t0.Add(time.Duration(rng.IntN(70*24*3600*1000)) * time.Millisecond) // over three months
			pick := func(m map[string]*engine.Record) *engine.Record {
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				r := m[keys[rng.IntN(len(keys))]]
				delete(m, r.ID)
				return r
			}
			switch op := rng.IntN(10); {
			case op < 5 || len(live) == 0:
				n++
				r := &engine.Record{ID: fmt.Sprintf("r%04d", n), App: "shop", Form: "customer", Unit: fmt.Sprintf("u%d", rng.IntN(3)), Owner: fmt.Sprintf("o%d", rng.IntN(2)), Data: value()}
				ws = append(ws, engine.RecordWrite{Op: engine.WriteCreate, Record: r, Actor: "a", At: at})
			case op < 7:
				r := pick(live)
				r.Data, r.Unit, r.Owner = value(), fmt.Sprintf("u%d", rng.IntN(3)), fmt.Sprintf("o%d", rng.IntN(2))
				if rng.IntN(2) == 0 {
					r.Status = engine.StatusApproved
				}
				ws = append(ws, engine.RecordWrite{Op: engine.WriteUpdate, Record: r, ExpectVersion: r.Version, Actor: "a", At: at})
			case op < 8:
				r := pick(live)
				ws = append(ws, engine.RecordWrite{Op: engine.WriteDelete, Record: r, ExpectVersion: r.Version, Actor: "a", At: at})
			case op < 9 && len(binned) > 0:
				r := pick(binned)
				ws = append(ws, engine.RecordWrite{Op: engine.WriteRestore, Record: r, ExpectVersion: r.Version, Actor: "a", At: at})
			default:
				r := pick(live)
				ws = append(ws, engine.RecordWrite{Op: engine.WritePurge, Record: r, ExpectVersion: r.Version, Actor: "a", At: at})
			}
		}
		res, err := s.Apply(ctx, &engine.Change{Records: ws})
		if err != nil {
			t.Fatalf("Apply: %v", err)
		}
		for i, w := range ws {
			r := res.Records[i]
			switch w.Op {
			case engine.WriteDelete:
				binned[r.ID] = r
			case engine.WritePurge:
			default:
				live[r.ID] = r
			}
		}
	}
	created := filter.Field{Key: "_created_at", Type: filter.TypeTime, System: true}
	unit := filter.Field{Key: "_unit", Type: filter.TypeString, System: true}
	level := filter.Field{Key: "level", Type: filter.TypeString}
	since := filter.Cmp{Field: created, Op: filter.OpGte, Value: filter.FormatTime(t0.Add(20*time.Hour + 17*time.Minute + 3*time.Millisecond))}
	before := filter.Cmp{Field: created, Op: filter.OpLt, Value: filter.FormatTime(t0.Add(50*24*time.Hour + 59*time.Minute))}
	inUnits := filter.Cmp{Field: unit, Op: filter.OpIn, Value: []any{"u1", "u2"}}
	queries := []engine.GroupQuery{
		{Measure: "amount"},
		{By: []engine.GroupBy{{Field: "level"}}, Measure: "amount"},
		{By: []engine.GroupBy{{Field: "flag", Bool: true}, {Field: "_unit"}}},
		{By: []engine.GroupBy{{Field: "_created_at", Cut: engine.CutHour}}, Measure: "amount", Filter: filter.And{Items: []filter.Expr{since, before}}},
		{By: []engine.GroupBy{{Field: "_created_at", Cut: engine.CutDay}, {Field: "_status"}}, Filter: filter.And{Items: []filter.Expr{inUnits, since}}},
		{By: []engine.GroupBy{{Field: "level"}}, Filter: filter.And{Items: []filter.Expr{filter.Or{Items: []filter.Expr{inUnits, filter.Cmp{Field: level, Op: filter.OpEq, Value: "a"}}}, before}}},
		{Measure: "amount", Filter: filter.Not{X: filter.Exists{Field: level, Want: true}}},
	}
	check := func(when string) {
		t.Helper()
		for i, q := range queries {
			q.App, q.Form, q.NoBounds = "shop", "customer", true
			if err := engine.CheckGroupQuery(&q); err != nil {
				t.Fatal(err)
			}
			acc := engine.NewGroupAccumulator(q)
			rolled, _, err := s.groupRollup(ctx, s.r, q, acc)
			if err != nil || !rolled {
				t.Fatalf("%s, query %d: rollups not read (%v)", when, i, err)
			}
			raw := engine.NewGroupAccumulator(q)
			if _, err := s.groupRaw(ctx, s.r, q, raw); err != nil {
				t.Fatal(err)
			}
			want, got := raw.Rows(), acc.Rows()
			for j := range want {
				want[j].Min, want[j].Max = 0, 0
			}
			for j := range got { // the partial hours' records had theirs
				got[j].Min, got[j].Max = 0, 0
			}
			if diff := cmp.Diff(sortRows(want), sortRows(got), cmpopts.EquateEmpty()); diff != "" {
				t.Fatalf("%s, query %d (-records +rollups):\n%s", when, i, diff)
			}
		}
	}
	for range 150 {
		step()
	}
	if err := s.EnsureIndexes(ctx, ix); err != nil {
		t.Fatal(err)
	}
	check("built")
	for b := range 20 {
		for range 20 {
			step()
		}
		check(fmt.Sprintf("batch %d", b))
	}
	// A bulk load fires the same triggers.
	var ws []engine.RecordWrite
	for j := range 200 {
		r := &engine.Record{ID: fmt.Sprintf("b%04d", j), App: "shop", Form: "customer", Unit: "u1", Owner: "o", Data: value()}
		ws = append(ws, engine.RecordWrite{Op: engine.WriteCreate, Record: r, Actor: "a", At: t0.Add(time.Duration(j) * time.Minute)})
	}
	if err := s.BulkApply(ctx, ws, nil); err != nil {
		t.Fatal(err)
	}
	check("bulk")
	// Another rollup of the form is built afresh, this one by owner too.
	ix.Rollup = &engine.FormRollup{Sets: [][]string{{"level"}}, Measures: []string{"amount"}, Owner: true}
	if err := s.EnsureIndexes(ctx, ix); err != nil {
		t.Fatal(err)
	}
	owner := filter.Field{Key: "_owner", Type: filter.TypeString, System: true}
	queries = append(queries[:2],
		engine.GroupQuery{By: []engine.GroupBy{{Field: "_owner"}}, Measure: "amount", Filter: filter.And{Items: []filter.Expr{since, before}}},
		engine.GroupQuery{By: []engine.GroupBy{{Field: "level"}}, Filter: filter.And{Items: []filter.Expr{filter.Cmp{Field: owner, Op: filter.OpEq, Value: "o1"}, before}}})
	check("rebuilt")
	for b := range 5 {
		for range 20 {
			step()
		}
		check(fmt.Sprintf("batch %d by owner", b))
	}
}

func sortRows(rows []engine.GroupRow) []engine.GroupRow {
	sort.Slice(rows, func(i, j int) bool { return fmt.Sprintf("%#v", rows[i].Keys) < fmt.Sprintf("%#v", rows[j].Keys) })
	return rows
}

// TestRollupPlan: a range is read as the records of its partial hours,
// then hours, days and whole months, and back down.
func TestRollupPlan(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	seg := func(g int, from, to string) rollupSegment {
		var a, b time.Time
		if from != "" {
			a = at(from)
		}
		if to != "" {
			b = at(to)
		}
		return rollupSegment{g, a, b}
	}
	for _, tc := range []struct {
		name   string
		lo, hi string
		top    int
		want   []rollupSegment
	}{
		{"everything", "", "", grainMonth, []rollupSegment{seg(grainMonth, "", "")}},
		{"since a moment", "2026-01-30T22:15:00.001Z", "", grainMonth, []rollupSegment{
			seg(-1, "2026-01-30T22:15:00.001Z", "2026-01-30T23:00:00Z"), seg(grainHour, "2026-01-30T23:00:00Z", "2026-01-31T00:00:00Z"),
			seg(grainDay, "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z"), seg(grainMonth, "2026-02-01T00:00:00Z", ""),
		}},
		{"until a moment", "", "2026-03-02T01:30:00Z", grainMonth, []rollupSegment{
			seg(grainMonth, "", "2026-03-01T00:00:00Z"), seg(grainDay, "2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"),
			seg(grainHour, "2026-03-02T00:00:00Z", "2026-03-02T01:00:00Z"), seg(-1, "2026-03-02T01:00:00Z", "2026-03-02T01:30:00Z"),
		}},
		{"whole days within a month", "2026-03-02T00:00:00Z", "2026-03-05T00:00:00Z", grainMonth, []rollupSegment{
			seg(grainDay, "2026-03-02T00:00:00Z", "2026-03-05T00:00:00Z"),
		}},
		{"hours only when grouped by time", "2026-03-02T00:10:00Z", "2026-04-05T00:00:00Z", grainHour, []rollupSegment{
			seg(-1, "2026-03-02T00:10:00Z", "2026-03-02T01:00:00Z"), seg(grainHour, "2026-03-02T01:00:00Z", "2026-04-05T00:00:00Z"),
		}},
		{"within an hour", "2026-03-02T00:10:00Z", "2026-03-02T00:50:00Z", grainMonth, []rollupSegment{
			seg(-1, "2026-03-02T00:10:00Z", "2026-03-02T00:50:00Z"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var lo, hi time.Time
			if tc.lo != "" {
				lo = at(tc.lo)
			}
			if tc.hi != "" {
				hi = at(tc.hi)
			}
			got := rollupPlan(lo, hi, tc.top)
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(rollupSegment{})); diff != "" {
				t.Errorf("rollupPlan (-want +got):\n%s", diff)
			}
		})
	}
}
