package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
	"formwork/engine/store/sqlite"
)

// Sizes come from the environment so `make bench` stays short by default
// and the sizes can be asked for: FORMWORK_BENCH_RECORDS=1000000
// FORMWORK_BENCH_EVENTS=10000000.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "bench.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

var benchT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// userChange is what one user action writes: a record with its revision,
// an audit event and an outbox job.
func userChange(i int64) *engine.Change {
	id := fmt.Sprintf("b%012d", i)
	at := benchT0.Add(time.Duration(i) * time.Millisecond)
	return &engine.Change{
		Records: []engine.RecordWrite{{Op: engine.OpCreate, Actor: "u1", At: at, Record: &engine.Record{ID: id, App: "shop", Form: "customer", Unit: "hq", Owner: "u1",
			Data: map[string]any{"name": "客户" + id, "phone": "13800000000", "level": "vip", "amount": float64(i % 1000)}}}},
		Audit:  []*engine.AuditEvent{{Time: at, Actor: "u1", Action: "create", App: "shop", Form: "customer", Object: id, Result: engine.ResultOK}},
		Outbox: []engine.OutboxJob{{ID: "job-" + id, Type: "record:created", Payload: []byte(`{"id":"` + id + `"}`), RunAt: at, CreatedAt: at}},
	}
}

func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		s := benchStore(b)
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t := time.Now()
			if _, err := s.Apply(ctx, userChange(int64(i))); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		reportPercentiles(b, lat)
	})
	b.Run("concurrent8", func(b *testing.B) {
		s := benchStore(b)
		var n atomic.Int64
		b.SetParallelism(max(1, 8/max(1, runtimeProcs())))
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Apply(ctx, userChange(n.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// loadRecords bulk-loads n records of shop/customer in transactions of
// 20000: level has 10 values, so an equality filter selects a tenth.
func loadRecords(b *testing.B, s *sqlite.Store, n int) {
	b.Helper()
	ctx := context.Background()
	if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "shop", Form: "customer", Fields: []string{"level"}}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const chunk = 20000
	for i := 0; i < n; i += chunk {
		c := &engine.Change{}
		for j := i; j < min(i+chunk, n); j++ {
			id := fmt.Sprintf("r%012d", j)
			c.Records = append(c.Records, engine.RecordWrite{Op: engine.OpCreate, Actor: "u1", At: benchT0.Add(time.Duration(j) * time.Second),
				Record: &engine.Record{ID: id, App: "shop", Form: "customer", Unit: "hq", Owner: "u1",
					Data: map[string]any{"name": "客户" + id, "level": "L" + strconv.Itoa(j%10), "amount": float64(j % 997)}}})
		}
		if _, err := s.Apply(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("loaded %d records in %v", n, time.Since(start).Round(time.Millisecond))
}

func BenchmarkList(b *testing.B) {
	n := envInt("FORMWORK_BENCH_RECORDS", 100000)
	s := benchStore(b)
	loadRecords(b, s, n)
	ctx := context.Background()
	q := engine.RecordQuery{App: "shop", Form: "customer", Limit: 50,
		Filter: filter.Cmp{Field: filter.Field{Key: "level", Type: filter.TypeString}, Op: filter.OpEq, Value: "L3"}}
	// The deep cursor sits half-way through the matches.
	deep := ""
	{
		qq := q
		qq.Limit = 1000
		for i := 0; i < max(1, n/10/2/1000); i++ {
			p, err := s.FindRecords(ctx, qq)
			if err != nil {
				b.Fatal(err)
			}
			if p.NextCursor == "" {
				break
			}
			deep, qq.Cursor = p.NextCursor, p.NextCursor
		}
	}
	for _, tc := range []struct {
		name   string
		sort   []engine.SortKey
		cursor string
	}{
		{"eq+newest/first", nil, ""},
		{"eq+newest/deep", nil, deep},
		{"eq+sort_amount/first", []engine.SortKey{{Field: "amount", Desc: true}}, ""},
	} {
		b.Run(fmt.Sprintf("%s/N=%d", tc.name, n), func(b *testing.B) {
			q := q
			q.Sort, q.Cursor = tc.sort, tc.cursor
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				t := time.Now()
				p, err := s.FindRecords(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Items) == 0 {
					b.Fatal("empty page")
				}
				lat = append(lat, time.Since(t))
			}
			reportPercentiles(b, lat)
		})
	}
}

// loadAudit appends n events (100 actors, one event a second) in chunks.
func loadAudit(b *testing.B, s *sqlite.Store, n int) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	const chunk = 20000
	for i := 0; i < n; i += chunk {
		var evs []*engine.AuditEvent
		for j := i; j < min(i+chunk, n); j++ {
			evs = append(evs, &engine.AuditEvent{Time: benchT0.Add(time.Duration(j) * time.Second), Actor: "u" + strconv.Itoa(j%100), Action: "view",
				App: "shop", Form: "customer", Object: fmt.Sprintf("r%d", j%50000), Result: engine.ResultOK, IP: "10.0.0.1"})
		}
		if _, err := s.Apply(ctx, &engine.Change{Audit: evs}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("appended %d audit events in %v", n, time.Since(start).Round(time.Millisecond))
}

func BenchmarkAudit(b *testing.B) {
	n := envInt("FORMWORK_BENCH_EVENTS", 1000000)
	s := benchStore(b)
	loadAudit(b, s, n)
	ctx := context.Background()
	span := time.Duration(n) * time.Second
	b.Run(fmt.Sprintf("actor+range/N=%d", n), func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		for i := 0; i < b.N; i++ {
			// A window of a tenth of the log, sliding with i.
			from := benchT0.Add(time.Duration(i%9) * span / 10)
			t := time.Now()
			p, err := s.FindAuditEvents(ctx, engine.AuditQuery{Actor: "u" + strconv.Itoa(i%100), From: from, To: from.Add(span / 10), Limit: 100})
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Items) == 0 {
				b.Fatal("no events")
			}
			lat = append(lat, time.Since(t))
		}
		reportPercentiles(b, lat)
	})
	b.Run(fmt.Sprintf("verify/N=%d", n), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			got, brk, err := engine.VerifyAudit(ctx, s)
			if err != nil || brk != nil || got != int64(n) {
				b.Fatalf("VerifyAudit = %d, %v, %v", got, brk, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/event")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(n)*1e6, "s/Mevents")
	})
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.95), "p95-ms")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
