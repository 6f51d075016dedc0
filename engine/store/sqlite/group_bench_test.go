package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
)

// dashboardQueries are the six charts of a store dashboard over the
// benchmark's customers: a count by level (an x-index field), the amount
// by city, records per day, a filtered count, a count by a yes/no field,
// and a pivot of level by city.
func dashboardQueries(zone time.Duration, from time.Time) []engine.GroupQuery {
	base := engine.GroupQuery{App: "shop", Form: "customer"}
	var since filter.Expr
	if !from.IsZero() {
		since = filter.Cmp{Field: filter.Field{Key: "_created_at", Type: filter.TypeTime, System: true}, Op: filter.OpGte, Value: filter.FormatTime(from)}
		base.Filter = since
	}
	with := func(q engine.GroupQuery, f func(*engine.GroupQuery)) engine.GroupQuery { f(&q); return q }
	and := func(e filter.Expr) filter.Expr {
		if since == nil {
			return e
		}
		return filter.And{Items: []filter.Expr{since, e}}
	}
	return []engine.GroupQuery{
		with(base, func(q *engine.GroupQuery) { q.By = []engine.GroupBy{{Field: "level"}} }),
		with(base, func(q *engine.GroupQuery) { q.By = []engine.GroupBy{{Field: "city"}}; q.Measure = "amount" }),
		with(base, func(q *engine.GroupQuery) {
			q.By = []engine.GroupBy{{Field: "_created_at", Cut: engine.CutHour, Shift: zone}}
		}),
		with(base, func(q *engine.GroupQuery) { q.Filter = and(eqLevel("L3")); q.Measure = "amount" }),
		with(base, func(q *engine.GroupQuery) { q.By = []engine.GroupBy{{Field: "vip"}} }),
		with(base, func(q *engine.GroupQuery) { q.By = []engine.GroupBy{{Field: "level"}, {Field: "city"}} }),
	}
}

// BenchmarkDashboard measures a dashboard of six charts over
// FORMWORK_BENCH_RECORDS records (default 100000), all of them and the
// last tenth of them by creation time (a "this month" view), for a viewer
// who sees every store and for one who sees one store of twenty (and,
// with FORMWORK_BENCH_ROLLUP_OWNER=1, one who sees their own records): each
// operation is the whole dashboard, its charts run side by side as the
// service runs them, p50/p95 over the operations; then each chart alone.
// The charts read the form's rollups (as Service.Dashboard asks for count,
// sum and average); FORMWORK_BENCH_RAW=1 also measures them reading the
// records.
func BenchmarkDashboard(b *testing.B) {
	n := envInt("FORMWORK_BENCH_RECORDS", 100000)
	s, path := recordsStore(b, n)
	ctx := context.Background()
	// The product indexes the fields a dashboard groups by (level and
	// amount are x-index already) and keeps its rollups.
	// FORMWORK_BENCH_ROLLUP_OWNER=1 keeps the totals per owner too (as for
	// a form some role sees only its own records of), and adds a viewer
	// who sees their own records.
	byOwner := os.Getenv("FORMWORK_BENCH_ROLLUP_OWNER") == "1"
	start := time.Now()
	ix := engine.FormIndex{App: "shop", Form: "customer", Fields: []string{"city", "vip"},
		Rollup: &engine.FormRollup{Sets: [][]string{{"level"}, {"city"}, {}, {"vip"}, {"level", "city"}}, Measures: []string{"amount"}, Owner: byOwner}}
	if err := s.EnsureIndexes(ctx, ix); err != nil {
		b.Fatal(err)
	}
	b.Logf("group indexes and rollups ready in %v", time.Since(start).Round(time.Millisecond))
	reportSize(b, path)
	recent := benchT0.Add(time.Duration(n-n/10) * time.Second)
	scopes := map[string]filter.Expr{
		"store": filter.Cmp{Field: filter.Field{Key: "_unit", Type: filter.TypeString, System: true}, Op: filter.OpIn, Value: []any{"s3"}},
		"own":   filter.Cmp{Field: filter.Field{Key: "_owner", Type: filter.TypeString, System: true}, Op: filter.OpEq, Value: "u7"},
	}
	viewers := []string{"hq", "store"}
	if byOwner {
		viewers = append(viewers, "own")
	}
	type run struct {
		name string
		qs   []engine.GroupQuery
	}
	var runs []run
	for _, raw := range []bool{false, true} {
		if raw && os.Getenv("FORMWORK_BENCH_RAW") != "1" {
			continue
		}
		for _, viewer := range viewers {
			for _, period := range []string{"all", "last-tenth"} {
				from := time.Time{}
				if period == "last-tenth" {
					from = recent
				}
				qs := dashboardQueries(0, from)
				for i := range qs {
					qs[i].NoBounds = !raw
					if scope := scopes[viewer]; scope != nil {
						qs[i].Filter = filter.And{Items: []filter.Expr{scope, qs[i].Filter}}
					}
				}
				name := viewer + "/" + period
				if raw {
					name = "raw/" + name
				}
				runs = append(runs, run{name, qs})
			}
		}
	}
	if os.Getenv("FORMWORK_BENCH_RAW") == "1" {
		// the rollups answer what the records do
		for _, tc := range runs[:len(runs)/2] { // those with rollups
			for i, q := range tc.qs {
				got, err := s.GroupRecords(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				raw := q
				raw.NoBounds = false
				want, err := s.GroupRecords(ctx, raw)
				if err != nil {
					b.Fatal(err)
				}
				for j := range want {
					want[j].Min, want[j].Max = 0, 0
				}
				if !reflect.DeepEqual(sortedRows(want), sortedRows(got)) {
					b.Fatalf("%s chart %d: the rollups answer %v, the records %v", tc.name, i+1, got, want)
				}
			}
		}
		b.Logf("the rollups' answers equal the records'")
	}
	for _, tc := range runs {
		b.Run(tc.name, func(b *testing.B) {
			var lat []time.Duration
			cpu := processCPU()
			for b.Loop() {
				t := time.Now()
				// as Service.Dashboard runs them: side by side, one per processor
				var wg sync.WaitGroup
				slots := make(chan struct{}, runtime.GOMAXPROCS(0))
				for _, q := range tc.qs {
					wg.Add(1)
					slots <- struct{}{}
					go func() {
						defer func() { <-slots; wg.Done() }()
						if _, err := s.GroupRecords(ctx, q); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				lat = append(lat, time.Since(t))
			}
			reportCPU(b, cpu)
			reportPercentiles(b, lat)
			// where the time goes: each chart once
			for i, q := range tc.qs {
				t := time.Now()
				if _, err := s.GroupRecords(ctx, q); err != nil {
					b.Fatal(err)
				}
				b.Logf("chart %d: %v", i+1, time.Since(t).Round(time.Millisecond))
			}
		})
	}
}

func sortedRows(rows []engine.GroupRow) []engine.GroupRow {
	sort.Slice(rows, func(i, j int) bool { return fmt.Sprint(rows[i].Keys) < fmt.Sprint(rows[j].Keys) })
	return rows
}

// BenchmarkRollupWrite measures what keeping a dashboard's rollups adds to
// a record write (the triggers' work in its transaction): a create, an
// update moving the record to another store and level, and an edit of a
// field no chart reads, with and without rollups over the benchmark
// dashboard's fields (five sets, by owner too).
func BenchmarkRollupWrite(b *testing.B) {
	ctx := context.Background()
	for _, rolled := range []bool{false, true} {
		name := "plain"
		if rolled {
			name = "rollups"
		}
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			if rolled {
				if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "shop", Form: "customer",
					Rollup: &engine.FormRollup{Sets: [][]string{{"level"}, {"city"}, {}, {"vip"}, {"level", "city"}}, Measures: []string{"amount"}, Owner: true}}); err != nil {
					b.Fatal(err)
				}
			}
			cpu := processCPU()
			j := 0
			for b.Loop() {
				w := recordWrite(j)
				res, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{w}})
				if err != nil {
					b.Fatal(err)
				}
				r := res.Records[0]
				r.Unit, r.Data["level"] = "s99", "L99"
				if res, err = s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: r, ExpectVersion: r.Version, Actor: "u1", At: w.At.Add(time.Hour)}}}); err != nil {
					b.Fatal(err)
				}
				r = res.Records[0]
				r.Data["name"] = "改名"
				if _, err = s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: r, ExpectVersion: r.Version, Actor: "u1", At: w.At.Add(2 * time.Hour)}}}); err != nil {
					b.Fatal(err)
				}
				j++
			}
			reportCPU(b, cpu)
		})
	}
}
