package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
	"formwork/engine/store/sqlite"
	"formwork/engine/store/storetest"
)

// processCPU is the process's CPU time so far (storetest.ProcessCPU).
var processCPU = storetest.ProcessCPU

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
		Records: []engine.RecordWrite{{Op: engine.WriteCreate, Actor: "u1", At: at, Record: &engine.Record{ID: id, App: "shop", Form: "customer", Unit: "hq", Owner: "u1",
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
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			t := time.Now()
			if _, err := s.Apply(ctx, userChange(int64(i))); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		b.StopTimer()
		reportCPU(b, cpu)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		reportPercentiles(b, lat)
	})
	// the same change with a serial number taken in it (engine.SerialClaim):
	// what numbering costs a create
	b.Run("serial_number", func(b *testing.B) {
		s := benchStore(b)
		claim := []engine.SerialClaim{{Field: "no", Counter: "form|shop|customer|no|20260101", Prefix: "SO-20260101-", Digits: 8}}
		b.ResetTimer()
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			ch := userChange(int64(i))
			ch.Records[0].Serials = claim
			if _, err := s.Apply(ctx, ch); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		reportCPU(b, cpu)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	// what reads cost the audit writer: a lazy change of one event, its
	// batch when reads do not overlap, and of four, when they do (per
	// event)
	for _, n := range []int{1, 4} {
		name := "lazy_audit"
		if n > 1 {
			name += strconv.Itoa(n)
		}
		b.Run(name, func(b *testing.B) {
			s := benchStore(b)
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU()
			for i := 0; i < b.N; i += n {
				evs := make([]*engine.AuditEvent, 0, n)
				for j := i; j < i+n; j++ {
					evs = append(evs, &engine.AuditEvent{Time: benchT0.Add(time.Duration(j) * time.Millisecond), Actor: "u" + strconv.Itoa(j%7),
						IP: "10.0.0.1", Action: "view", App: "shop", Form: "customer", Object: fmt.Sprintf("b%012d", j%5000), Result: engine.ResultOK})
				}
				if _, err := s.Apply(ctx, &engine.Change{Audit: evs, Lazy: true}); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			reportCPU(b, cpu)
		})
	}
	b.Run("concurrent8", func(b *testing.B) {
		s := benchStore(b)
		var n atomic.Int64
		b.SetParallelism(max(1, 8/max(1, runtimeProcs())))
		b.ResetTimer()
		cpu := processCPU()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Apply(ctx, userChange(n.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.StopTimer()
		reportCPU(b, cpu)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}

// benchCacheVersion names the shape of the generated data; bump it when the
// generators below change, so stale cached databases are not reused.
const benchCacheVersion = 6 // 4: with the full-text index; 5: records in 20 stores; 6: field indexes (field, created_at, id) only

// cachedStore opens the benchmark database kind-n, building it with build
// on first use. Built databases are kept in FORMWORK_BENCH_CACHE (default: a
// formwork-bench folder in the system temp dir), keyed by kind, size and
// generator version, so repeated runs measure without reloading. A
// database is built under a temporary name and renamed when complete.
func cachedStore(b *testing.B, kind string, n int, build func(s *sqlite.Store) error) (*sqlite.Store, string) {
	b.Helper()
	ctx := context.Background()
	dir := os.Getenv("FORMWORK_BENCH_CACHE")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "formwork-bench")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d-v%d.db", kind, n, benchCacheVersion))
	if _, err := os.Stat(path); err != nil {
		// A partial build (or a smaller database copied to the
		// .building name) is resumed: the builds below continue after
		// the rows already committed.
		tmp := path + ".building"
		s, err := sqlite.Open(tmp, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		err = s.BulkLoadMode(ctx)
		if err == nil {
			err = s.DropIndexes(ctx, "records", "revisions", "audit")
		}
		if err == nil {
			err = build(s)
		}
		if err == nil {
			err = s.RestoreIndexes(ctx)
		}
		if err == nil {
			err = s.Checkpoint(ctx)
		}
		if cerr := s.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatalf("building %s: %v", path, err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %s (%d) in %v", kind, n, time.Since(start).Round(time.Second))
	}
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s, path
}

// reportSize logs the size on disk of the database file and its WAL.
func reportSize(b *testing.B, path string) {
	var total int64
	for _, f := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	b.Logf("database size on disk: %.1f MiB (%s)", float64(total)/(1<<20), filepath.Base(path))
}

var cities = []string{"北京", "上海", "广州", "深圳", "杭州", "南京", "成都", "武汉", "西安", "重庆", "天津", "苏州"}

// recordWrite is the j-th benchmark record of shop/customer: level has 10
// values (an equality filter selects a tenth), amount 997, city 12; it
// belongs to store unit s0…s19 (j mod 20).
func recordWrite(j int) engine.RecordWrite {
	id := fmt.Sprintf("r%012d", j)
	return engine.RecordWrite{Op: engine.WriteCreate, Actor: "u" + strconv.Itoa(j%50), At: benchT0.Add(time.Duration(j) * time.Second),
		Record: &engine.Record{ID: id, App: "shop", Form: "customer", FormVersion: 1, Unit: "s" + strconv.Itoa(j%20), Owner: "u" + strconv.Itoa(j%50),
			Data: map[string]any{"name": "客户" + id, "phone": fmt.Sprintf("138%08d", j), "level": "L" + strconv.Itoa(j%10),
				"amount": float64(j % 997), "city": cities[j%len(cities)], "vip": j%3 == 0}}}
}

// recordsStore is a database of n records of shop/customer, with level and
// amount indexed (x-index), loaded in transactions of 20000 records. An
// interrupted build resumes after the records it had committed (record j
// is the j-th row, and its revision commits with it).
func recordsStore(b *testing.B, n int) (*sqlite.Store, string) {
	return cachedStore(b, "records", n, func(s *sqlite.Store) error {
		ctx := context.Background()
		had, err := s.CountRows(ctx, "records")
		if err != nil {
			return err
		}
		if had > 0 {
			b.Logf("records: resuming after %d records", had)
		} else if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "shop", Form: "customer", Fields: []string{"level", "amount"}}); err != nil {
			return err
		}
		// A resumed build saved its x-index indexes with the others.
		if err := s.DropIndexes(ctx, "records"); err != nil {
			return err
		}
		start := time.Now()
		const chunk = 20000
		for i := int(had); i < n; i += chunk {
			ws := make([]engine.RecordWrite, 0, chunk)
			for j := i; j < min(i+chunk, n); j++ {
				ws = append(ws, recordWrite(j))
			}
			if err := s.BulkApply(ctx, ws, nil); err != nil {
				return err
			}
			if done := i + len(ws); done%200000 == 0 || done == n {
				b.Logf("records: %d loaded, %.0f/s", done, float64(done-int(had))/time.Since(start).Seconds())
			}
		}
		return nil
	})
}

func eqLevel(v string) filter.Expr {
	return filter.Cmp{Field: filter.Field{Key: "level", Type: filter.TypeString}, Op: filter.OpEq, Value: v}
}

// BenchmarkList measures reads on a database of FORMWORK_BENCH_RECORDS
// records (default 100000). Use -benchtime=Nx to set the samples behind
// each p50/p95.
func BenchmarkList(b *testing.B) {
	n := envInt("FORMWORK_BENCH_RECORDS", 100000)
	s, path := recordsStore(b, n)
	reportSize(b, path)
	ctx := context.Background()
	base := engine.RecordQuery{App: "shop", Form: "customer", Limit: 50}
	q := base
	q.Filter = eqLevel("L3")
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
	cityEq := base
	cityEq.Filter = filter.Cmp{Field: filter.Field{Key: "city", Type: filter.TypeString}, Op: filter.OpEq, Value: "成都"}
	rangeAmt := q
	rangeAmt.Filter = filter.And{Items: []filter.Expr{eqLevel("L3"),
		filter.Cmp{Field: filter.Field{Key: "amount", Type: filter.TypeNumber}, Op: filter.OpGte, Value: float64(900)}}}
	sortAmt := base
	sortAmt.Sort = []engine.SortKey{{Field: "amount", Desc: true}}
	eqSortAmt := q
	eqSortAmt.Sort = sortAmt.Sort
	deepQ := q
	deepQ.Cursor = deep
	for _, tc := range []struct {
		name string
		q    engine.RecordQuery
	}{
		{"newest/first", base},
		{"eq_level+newest/first", q},
		{"eq_level+newest/deep", deepQ},
		{"eq_level+range_amount/first", rangeAmt},
		{"eq_city_unindexed/first", cityEq},
		{"sort_amount_indexed/first", sortAmt},
		{"eq_level+sort_amount/first", eqSortAmt},
	} {
		b.Run(fmt.Sprintf("%s/N=%d", tc.name, n), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				t := time.Now()
				p, err := s.FindRecords(ctx, tc.q)
				if err != nil {
					b.Fatal(err)
				}
				if len(p.Items) == 0 {
					b.Fatal("empty page")
				}
				lat = append(lat, time.Since(t))
			}
			reportCPU(b, cpu)
			reportPercentiles(b, lat)
		})
	}
	for _, tc := range []struct {
		name string
		q    engine.RecordQuery
		want int64
	}{
		{"count/all", base, int64(n)},
		{"count/eq_level", q, int64((n + 6) / 10)},
	} {
		b.Run(fmt.Sprintf("%s/N=%d", tc.name, n), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				t := time.Now()
				got, err := s.CountRecords(ctx, tc.q)
				if err != nil {
					b.Fatal(err)
				}
				if got != tc.want {
					b.Fatalf("count = %d, want %d", got, tc.want)
				}
				lat = append(lat, time.Since(t))
			}
			reportCPU(b, cpu)
			reportPercentiles(b, lat)
		})
	}
	b.Run(fmt.Sprintf("get_by_id/N=%d", n), func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			id := fmt.Sprintf("r%012d", (i*7919)%n)
			t := time.Now()
			if _, err := s.FindRecordByID(ctx, "shop", "customer", id, false); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		reportCPU(b, cpu)
		reportPercentiles(b, lat)
	})
	// Apply on the big database: a record with its revision, an audit event
	// and an outbox job, synchronous=FULL as in production. The records are
	// purged afterwards, so the cached database keeps n live records.
	b.Run(fmt.Sprintf("apply/N=%d", n), func(b *testing.B) {
		prefix := strconv.FormatInt(time.Now().UnixNano(), 36)
		lat := make([]time.Duration, 0, b.N)
		cpu := processCPU()
		var made []*engine.Record
		for i := 0; i < b.N; i++ {
			c := userChange(int64(i))
			id := "a" + prefix + c.Records[0].Record.ID
			c.Records[0].Record.ID, c.Records[0].At = id, time.Now()
			c.Audit[0].Object, c.Outbox[0].ID = id, "job-"+id
			t := time.Now()
			res, err := s.Apply(ctx, c)
			if err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
			made = append(made, res.Records[0])
		}
		b.StopTimer()
		reportCPU(b, cpu)
		reportPercentiles(b, lat)
		for _, r := range made {
			if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WritePurge, Record: r, ExpectVersion: r.Version, Actor: "bench"}}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

var auditActions = []string{"view", "view", "view", "list", "list", "update", "create", "export"}

// auditEvent is the j-th benchmark event: 100 actors, one event a second.
func auditEvent(j int) *engine.AuditEvent {
	e := &engine.AuditEvent{Time: benchT0.Add(time.Duration(j) * time.Second), Actor: "u" + strconv.Itoa(j%100), Action: auditActions[j%len(auditActions)],
		App: "shop", Form: "customer", Object: fmt.Sprintf("r%012d", j%50000), Result: engine.ResultOK, IP: "10.0.0.1"}
	if e.Action == "update" {
		e.Fields = []string{"level", "amount"}
	}
	if j%997 == 0 { // a denial now and then, from another address
		e.Result, e.Reason, e.IP = engine.ResultDenied, "no read permission", "10.9.9."+strconv.Itoa(j%7)
	}
	return e
}

// auditStore is a database of n chained audit events, appended in
// transactions of 50000. An interrupted build resumes after the events it
// had committed (the generator is deterministic and event j has Seq j+1).
func auditStore(b *testing.B, n int) (*sqlite.Store, string) {
	return cachedStore(b, "audit", n, func(s *sqlite.Store) error {
		ctx := context.Background()
		start := time.Now()
		const chunk = 50000
		had := 0
		if err := s.WalkAuditTail(ctx, func(e *engine.AuditEvent) { had = int(e.Seq) }); err != nil {
			return err
		}
		if had > 0 {
			b.Logf("audit: resuming after %d events", had)
		}
		for i := had; i < n; i += chunk {
			evs := make([]*engine.AuditEvent, 0, chunk)
			for j := i; j < min(i+chunk, n); j++ {
				evs = append(evs, auditEvent(j))
			}
			if err := s.BulkApply(ctx, nil, evs); err != nil {
				return err
			}
			if done := i + len(evs); done%500000 == 0 || done == n {
				b.Logf("audit: %d appended, %.0f/s", done, float64(done-had)/time.Since(start).Seconds())
			}
		}
		return nil
	})
}

// BenchmarkAudit measures queries and verification on a chain of
// FORMWORK_BENCH_EVENTS events (default 1000000). Run the verify
// sub-benchmark with -benchtime=1x: one walk of the whole chain.
func BenchmarkAudit(b *testing.B) {
	n := envInt("FORMWORK_BENCH_EVENTS", 1000000)
	s, path := auditStore(b, n)
	reportSize(b, path)
	ctx := context.Background()
	span := time.Duration(n) * time.Second
	b.Run(fmt.Sprintf("actor+range/N=%d", n), func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		cpu := processCPU()
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
		reportCPU(b, cpu)
		reportPercentiles(b, lat)
	})
	b.Run(fmt.Sprintf("actor+range/page2/N=%d", n), func(b *testing.B) {
		lat := make([]time.Duration, 0, b.N)
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			from := benchT0.Add(time.Duration(i%9) * span / 10)
			q := engine.AuditQuery{Actor: "u" + strconv.Itoa(i%100), From: from, To: from.Add(span / 10), Limit: 100}
			p, err := s.FindAuditEvents(ctx, q)
			if err != nil || p.NextCursor == "" {
				b.Fatalf("first page: %v, cursor %q", err, p.NextCursor)
			}
			q.Cursor = p.NextCursor
			t := time.Now()
			if _, err := s.FindAuditEvents(ctx, q); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		reportCPU(b, cpu) // both pages
		reportPercentiles(b, lat)
	})
	// a person's last month, as the audit page asks it: the newest page
	// and the next, p95 the target (under 100 ms at 10,000,000 events)
	end := benchT0.Add(span)
	for _, pages := range []int{1, 2} {
		b.Run(fmt.Sprintf("actor+lastmonth/page%d/N=%d", pages, n), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				q := engine.AuditQuery{Actor: "u" + strconv.Itoa(i*37%100), From: end.AddDate(0, -1, 0), To: end, Limit: engine.DefaultAuditLimit}
				t := time.Now()
				for pg := 0; pg < pages; pg++ {
					p, err := s.FindAuditEvents(ctx, q)
					if err != nil || len(p.Items) != engine.DefaultAuditLimit {
						b.Fatalf("page %d: %v events, %v", pg+1, p, err)
					}
					q.Cursor = p.NextCursor
				}
				lat = append(lat, time.Since(t))
			}
			reportCPU(b, cpu)
			reportPercentiles(b, lat)
		})
	}
	// the audit page's other filters, each reading one page: a record's
	// history, the denials, an address
	for _, c := range []struct {
		name string
		q    func(i int) engine.AuditQuery
	}{
		{"record", func(i int) engine.AuditQuery {
			return engine.AuditQuery{App: "shop", Form: "customer", Object: fmt.Sprintf("r%012d", i*7919%50000), Limit: 50}
		}},
		{"denied", func(int) engine.AuditQuery { return engine.AuditQuery{Result: engine.ResultDenied, Limit: 100} }},
		{"denied+range", func(i int) engine.AuditQuery {
			from := benchT0.Add(time.Duration(i%9) * span / 10)
			return engine.AuditQuery{Result: engine.ResultDenied, From: from, To: from.Add(span / 10), Limit: 100}
		}},
		{"ok", func(int) engine.AuditQuery { return engine.AuditQuery{Result: engine.ResultOK, Limit: 100} }},
		{"action", func(i int) engine.AuditQuery {
			return engine.AuditQuery{Action: auditActions[i%len(auditActions)], Limit: 100}
		}},
		{"range", func(i int) engine.AuditQuery {
			from := benchT0.Add(time.Duration(i%9) * span / 10)
			return engine.AuditQuery{From: from, To: from.Add(span / 10), Limit: 100}
		}},
		{"lastmonth", func(int) engine.AuditQuery {
			return engine.AuditQuery{From: end.AddDate(0, -1, 0), To: end, Limit: 100}
		}},
		{"ip", func(i int) engine.AuditQuery { return engine.AuditQuery{IP: "10.9.9." + strconv.Itoa(i%7), Limit: 100} }},
	} {
		b.Run(fmt.Sprintf("%s/N=%d", c.name, n), func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			cpu := processCPU()
			for i := 0; i < b.N; i++ {
				t := time.Now()
				p, err := s.FindAuditEvents(ctx, c.q(i))
				if err != nil || len(p.Items) == 0 {
					b.Fatalf("%s: %d events, %v", c.name, len(p.Items), err)
				}
				lat = append(lat, time.Since(t))
			}
			reportCPU(b, cpu)
			reportPercentiles(b, lat)
		})
	}
	b.Run(fmt.Sprintf("verify/N=%d", n), func(b *testing.B) {
		cpu := processCPU()
		for i := 0; i < b.N; i++ {
			got, brk, err := engine.VerifyAudit(ctx, s)
			if err != nil || brk != nil || got < int64(n) {
				b.Fatalf("VerifyAudit = %d, %v, %v", got, brk, err)
			}
		}
		reportCPU(b, cpu)
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N)/float64(n)*1e6/1e9, "cpu-s/Mevents")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/event")
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/float64(n)*1e6, "s/Mevents")
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// reportCPU reports the process CPU time used since start per operation.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
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

// peerWords are the words of peerChange's notes.
var peerWords = strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike " +
	"november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu")

// peerChange is the create of the peer comparison's customer i (the server's
// BenchmarkHTTPPeerCreate): a record of seven fields with notes of 10 to 40
// words, its audit event and an outbox job.
func peerChange(rng *rand.Rand, i int) *engine.Change {
	id := fmt.Sprintf("c%012d", i)
	at := benchT0.Add(time.Duration(i) * time.Millisecond)
	level := [...]string{"gold", "silver", "silver", "bronze"}[rng.IntN(4)]
	notes := make([]string, 10+rng.IntN(30))
	for j := range notes {
		notes[j] = peerWords[rng.IntN(len(peerWords))]
	}
	data := map[string]any{"name": "Customer " + strconv.Itoa(i+1), "phone": fmt.Sprintf("+1-555-%03d-%04d", rng.IntN(1000), rng.IntN(10000)),
		"store": "S" + strconv.Itoa(1+rng.IntN(4)), "level": level, "amount": float64(rng.IntN(1_000_000)) / 100,
		"notes": strings.Join(notes, " "), "created_on": at.Format(time.RFC3339)}
	return &engine.Change{
		Records: []engine.RecordWrite{{Op: engine.WriteCreate, Actor: "admin", At: at, Record: &engine.Record{ID: id, App: "bench", Form: "customers",
			FormVersion: 1, Unit: "hq", Owner: "admin", Data: data}}},
		Audit: []*engine.AuditEvent{{Time: at, Actor: "admin", IP: "127.0.0.1", Action: "create", App: "bench", Form: "customers", Object: id,
			Fields: []string{"amount", "created_on", "level", "name", "notes", "phone", "store"}, Result: engine.ResultOK}},
		Outbox: []engine.OutboxJob{{ID: "job-" + id, Type: "record:created", Payload: []byte(`{"app":"bench","form":"customers","id":"` + id + `"}`), RunAt: at, CreatedAt: at}},
	}
}

// BenchmarkPeerCreate is the store's part of the peer comparison's create
// at one client: the customers form indexed as the engine indexes it
// (engine.FormIndex of server/testdata/customers.json), 4,000 customers
// created one by one first, then one create per op. It reports the WAL
// frames (pages) a create writes and the full-text index's segments at the
// end, and what a search of one customer's name then takes; alone, and
// with another form's dashboard in the database.
func BenchmarkPeerCreate(b *testing.B) {
	b.Run("alone", func(b *testing.B) { benchPeerCreate(b, false) })
	b.Run("dashboard-elsewhere", func(b *testing.B) { benchPeerCreate(b, true) })
}

// benchPeerCreate is BenchmarkPeerCreate, with rollupElsewhere another
// form of the database having a dashboard's rollups.
func benchPeerCreate(b *testing.B, rollupElsewhere bool) {
	ctx := context.Background()
	s := benchStore(b)
	ix := engine.FormIndex{App: "bench", Form: "customers", Fields: []string{"store", "level", "amount"},
		Covered: []string{"store", "level", "amount"}, Prefixes: [][]string{{"store"}}, Choices: []string{"level"}}
	if err := s.EnsureIndexes(ctx, ix); err != nil {
		b.Fatal(err)
	}
	if rollupElsewhere {
		// another form's dashboard: triggers on records, which every
		// record write then runs under a statement journal
		if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "crm", Form: "deals", Rollup: &engine.FormRollup{Sets: [][]string{{"stage"}}, Measures: []string{"value"}}}); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 0x5eed))
	n := 0
	for ; n < 4000; n++ {
		if _, err := s.Apply(ctx, peerChange(rng, n)); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.WALFrames(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration // the creates' alone, not the counts' checkpoints
	start := processCPU()
	frames, counted := 0, 0
	for i := 0; i < b.N; i++ {
		if _, err := s.Apply(ctx, peerChange(rng, n)); err != nil {
			b.Fatal(err)
		}
		n++
		// count the frames of 50 creates at a time, well below a checkpoint
		if (i+1)%50 == 0 {
			b.StopTimer()
			cpu += processCPU() - start
			f, err := s.WALFrames(ctx)
			if err != nil {
				b.Fatal(err)
			}
			frames, counted = frames+f, counted+50
			start = processCPU()
			b.StartTimer()
		}
	}
	b.StopTimer()
	cpu += processCPU() - start
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if counted > 0 {
		b.ReportMetric(float64(frames)/float64(counted), "frames/op")
	}
	segs, err := s.TextSegments(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(segs), "segments")
	name, ok := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, "Customer "+strconv.Itoa(n/2))
	if !ok {
		b.Fatal("no terms")
	}
	const searches = 200
	t := time.Now()
	for range searches {
		p, err := s.FindRecords(ctx, engine.RecordQuery{App: "bench", Form: "customers", Limit: 50, Filter: name})
		if err != nil || len(p.Items) == 0 {
			b.Fatalf("search: %v, %v", p, err)
		}
	}
	b.ReportMetric(float64(time.Since(t).Microseconds())/searches, "search-us")
}

// BenchmarkFindRecordByID reads records by id, as a read by id through
// the API does, round the first page's ids.
func BenchmarkFindRecordByID(b *testing.B) {
	n := envInt("FORMWORK_BENCH_RECORDS", 100000)
	s, _ := recordsStore(b, n)
	ctx := context.Background()
	p, err := s.FindRecords(ctx, engine.RecordQuery{App: "shop", Form: "customer", Limit: 50})
	if err != nil || len(p.Items) == 0 {
		b.Fatal(err, len(p.Items))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.FindRecordByID(ctx, "shop", "customer", p.Items[i%len(p.Items)].ID, false); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
