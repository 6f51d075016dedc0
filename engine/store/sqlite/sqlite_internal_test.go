package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
)

func openTest(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(filepath.Join(tb.TempDir(), "t.db"), Options{Now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// plan returns SQLite's query plan for the FindRecords query of q.
func plan(tb testing.TB, s *Store, q engine.RecordQuery) string {
	tb.Helper()
	cols, _, err := resolveSort(q.Sort, filter.Fixed(q.Filter))
	if err != nil {
		tb.Fatal(err)
	}
	where, args, err := recordWhere(q)
	if err != nil {
		tb.Fatal(err)
	}
	var order []string
	for _, c := range cols {
		d := " ASC"
		if c.desc {
			d = " DESC"
		}
		order = append(order, c.expr+d)
	}
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT id FROM records WHERE `+where+` ORDER BY `+strings.Join(order, ", ")+` LIMIT 51`, args...)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			tb.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	return b.String()
}

func TestIndexPlans(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "shop", Form: "customer", Fields: []string{"level"}}); err != nil {
		t.Fatal(err)
	}
	level := filter.Field{Key: "level", Type: filter.TypeString}
	for _, tc := range []struct {
		name string
		q    engine.RecordQuery
	}{
		{"equality, default order", engine.RecordQuery{App: "shop", Form: "customer", Filter: filter.Cmp{Field: level, Op: filter.OpEq, Value: "vip"}}},
		{"equality, sort by field", engine.RecordQuery{App: "shop", Form: "customer", Filter: filter.Cmp{Field: level, Op: filter.OpEq, Value: "vip"}, Sort: []engine.SortKey{{Field: "level"}}}},
		{"sort by field", engine.RecordQuery{App: "shop", Form: "customer", Sort: []engine.SortKey{{Field: "level", Desc: true}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, s, tc.q)
			if !strings.Contains(p, "INDEX rx_") || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("plan does not use the field index without sorting:\n%s", p)
			}
		})
	}
	p := plan(t, s, engine.RecordQuery{App: "shop", Form: "customer"})
	if !strings.Contains(p, "records_list") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("default list does not use records_list without sorting:\n%s", p)
	}
	p = plan(t, s, engine.RecordQuery{App: "shop", Form: "customer", Sort: []engine.SortKey{{Field: "_updated_at", Desc: true}}})
	if !strings.Contains(p, "records_updated") || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("list by last update does not use records_updated without sorting:\n%s", p)
	}
}

// TestRangePlans: with an equality on one indexed field and a range on
// another, the equality's index serves filter and order; a range on the
// first sort key keeps its index, which gives the order.
func TestRangePlans(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "shop", Form: "customer", Fields: []string{"level", "amount"}}); err != nil {
		t.Fatal(err)
	}
	level := filter.Cmp{Field: filter.Field{Key: "level", Type: filter.TypeString}, Op: filter.OpEq, Value: "L3"}
	amount := filter.Cmp{Field: filter.Field{Key: "amount", Type: filter.TypeNumber}, Op: filter.OpGte, Value: 900.0}
	eqRange := filter.And{Items: []filter.Expr{level, amount}}
	levelIx := indexName("shop", "customer", "level") + "_c"
	amountIx := indexName("shop", "customer", "amount") + "_c"
	for _, tc := range []struct {
		name, index string
		q           engine.RecordQuery
	}{
		{"equality and range, default order", levelIx, engine.RecordQuery{App: "shop", Form: "customer", Filter: eqRange}},
		{"range inside an or", levelIx, engine.RecordQuery{App: "shop", Form: "customer", Filter: filter.And{Items: []filter.Expr{level, filter.Or{Items: []filter.Expr{amount}}}}}},
		{"equality and range, sort by the range field", amountIx, engine.RecordQuery{App: "shop", Form: "customer", Filter: eqRange, Sort: []engine.SortKey{{Field: "amount", Desc: true}}}},
		{"range alone, sort by it", amountIx, engine.RecordQuery{App: "shop", Form: "customer", Filter: amount, Sort: []engine.SortKey{{Field: "amount"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(t, s, tc.q)
			if !strings.Contains(p, "INDEX "+tc.index+" ") || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("plan does not walk %s without sorting:\n%s", tc.index, p)
			}
		})
	}
}

// TestCoveredIndexes: a staff list of store = S1 (its role's scope) AND
// level = gold sorted by -amount walks the store-led amount index and
// checks level from its entries: no json_extract runs on a record's data,
// so only the records listed are read; without the prefix it walks the
// amount index alone, still checking both from the entries.
func TestCoveredIndexes(t *testing.T) {
	ctx := context.Background()
	var s *Store
	for _, tc := range []struct {
		prefixes [][]string
		index    string
	}{
		{nil, indexName("bench", "customers", "amount")},
		{[][]string{{"store"}}, indexName("bench", "customers", "@store@amount")},
	} {
		// a store of its own: a reader's EXPLAIN does not see indexes made
		// after the connection last read the schema
		s = openTest(t)
		ix := engine.FormIndex{App: "bench", Form: "customers", Fields: []string{"store", "level", "amount"}, Covered: []string{"store", "level", "amount"}, Prefixes: tc.prefixes}
		if err := s.EnsureIndexes(ctx, ix); err != nil {
			t.Fatal(err)
		}
		coveredPlan(t, s, tc.index)
	}
	// Publishing the form again without level drops level's indexes and
	// those of the others that covered it.
	if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "bench", Form: "customers", Fields: []string{"store", "amount"}, Covered: []string{"store", "amount"}, Prefixes: [][]string{{"store"}}}); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'rx_%' AND (sql LIKE '%$.level%' OR name LIKE ?)`, indexName("bench", "customers", "level")+"%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d indexes on level remain", n)
	}
	if err := s.r.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'rx_%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("%d field indexes, want 3 (store, amount, amount led by store)", n)
	}
}

// coveredPlan checks that the staff list's query walks index (a name's
// stem) in order and evaluates no json_extract on records.
func coveredPlan(t *testing.T, s *Store, index string) {
	t.Helper()
	str := func(k string) filter.Field { return filter.Field{Key: k, Type: filter.TypeString} }
	q := engine.RecordQuery{App: "bench", Form: "customers", Filter: filter.And{Items: []filter.Expr{
		filter.Cmp{Field: str("store"), Op: filter.OpEq, Value: "S1"},
		filter.Cmp{Field: str("level"), Op: filter.OpEq, Value: "gold"}}},
		Sort: []engine.SortKey{{Field: "amount", Desc: true}}}
	if p := plan(t, s, q); !strings.Contains(p, "INDEX "+index) || strings.Contains(p, "TEMP B-TREE") {
		t.Errorf("plan does not walk %s without sorting:\n%s", index, p)
	}
	where, args, err := recordWhere(q)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.r.Query(`EXPLAIN SELECT `+recordCols+`, json_extract(data, '$.amount') FROM records WHERE `+where+` ORDER BY json_extract(data, '$.amount') DESC, created_at DESC, id DESC LIMIT 51`, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var prog strings.Builder
	for rows.Next() {
		var addr, p1, p2, p3 int
		var op string
		var p4, p5, comment any
		if err := rows.Scan(&addr, &op, &p1, &p2, &p3, &p4, &p5, &comment); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&prog, "%d %s %d %d %d %v\n", addr, op, p1, p2, p3, p4)
	}
	if strings.Contains(prog.String(), "json_extract") {
		t.Errorf("the query evaluates json_extract on records instead of reading the index:\n%s", prog.String())
	}
}

// TestLazyChange: a lazy change commits with synchronous NORMAL, any other
// with FULL, in any order and run of them (the setting stays from one
// commit to the next: setSync), and a read's audit event committed alone
// (appendEvents) with NORMAL too.
func TestLazyChange(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	ev := func(i int) []*engine.AuditEvent {
		return []*engine.AuditEvent{{Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Actor: "u1", Action: "view", Result: engine.ResultOK}}
	}
	setting := func(q interface {
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}) int {
		t.Helper()
		var n int
		if err := q.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	want := map[bool]int{true: 1, false: 2}
	i := 0
	for _, lazy := range []bool{true, false, false, true, true, false, true} {
		var got int
		err := s.applyTx(ctx, lazy, func(tx *sql.Tx) error {
			got = setting(tx)
			return s.appendAudit(ctx, tx, ev(i))
		})
		if err != nil {
			t.Fatal(err)
		}
		i++
		if got != want[lazy] {
			t.Errorf("change %d (lazy %v) committed with synchronous %d, want %d", i, lazy, got, want[lazy])
		}
		s.wmu.Lock()
		_, done, err := s.appendEvents(ctx, &engine.Change{Audit: ev(i), Lazy: true})
		s.wmu.Unlock()
		if err != nil || !done {
			t.Fatalf("appendEvents after change %d: done %v, %v", i, done, err)
		}
		i++
		if n := setting(s.w); n != 1 {
			t.Errorf("a read's event after change %d committed with synchronous %d, want 1 (NORMAL)", i, n)
		}
	}
	var n int
	if err := s.r.QueryRow(`SELECT count(*) FROM audit`).Scan(&n); err != nil || n != i {
		t.Fatalf("audit rows %d %v, want %d", n, err, i)
	}
}

func TestReopenIsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	for i := range 3 {
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v != len(migrations) {
			t.Errorf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
		}
		var mode string
		if err := s.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFilterRefusesUnsafeKeys(t *testing.T) {
	for _, key := range []string{"a'b", "a.b", "a]", "", "a b", "$x", "a\"b", "名字"} {
		_, _, err := compileFilter(filter.Cmp{Field: filter.Field{Key: key, Type: filter.TypeString}, Op: filter.OpEq, Value: "x"}, nil)
		if engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("key %q: err %v, want EINVALID", key, err)
		}
	}
	if _, _, err := resolveSort([]engine.SortKey{{Field: "x') --"}}, nil); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("sort key injection: err %v, want EINVALID", err)
	}
	if _, _, err := compileFilter(filter.Regex{Field: filter.Field{Key: "a", Type: filter.TypeString}, Pattern: "(("}, nil); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("bad regex: err %v, want EINVALID", err)
	}
}

// FuzzCursor feeds garbage cursors to FindRecords and FindAuditEvents: they
// must answer with a page or EINVALID, never panic or fail otherwise.
func FuzzCursor(f *testing.F) {
	s := openTest(f)
	ctx := context.Background()
	for i := range 3 {
		_, err := s.Apply(ctx, &engine.Change{
			Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: &engine.Record{App: "a", Form: "f", Data: map[string]any{"n": float64(i)}}, At: time.Unix(int64(i), 0)}},
			Audit:   []*engine.AuditEvent{{Actor: "x", Action: "create", Result: engine.ResultOK}},
		})
		if err != nil {
			f.Fatal(err)
		}
	}
	p, err := s.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Limit: 1, Sort: []engine.SortKey{{Field: "n"}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(p.NextCursor)
	ap, err := s.FindAuditEvents(ctx, engine.AuditQuery{Limit: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ap.NextCursor)
	f.Add("")
	f.Add("eyJrIjoxLCJ2IjpbeyJpIjoxLCJmIjoxfV0sImkiOiJ4In0")
	f.Fuzz(func(t *testing.T, c string) {
		for _, sort := range [][]engine.SortKey{nil, {{Field: "n"}}} {
			_, err := s.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Limit: 1, Sort: sort, Cursor: c})
			if err != nil && engine.ErrorCode(err) != engine.EINVALID {
				t.Fatalf("FindRecords(cursor %q): %v", c, err)
			}
		}
		_, err := s.FindAuditEvents(ctx, engine.AuditQuery{Cursor: c, Limit: 1})
		if err != nil && engine.ErrorCode(err) != engine.EINVALID {
			t.Fatalf("FindAuditEvents(cursor %q): %v", c, err)
		}
	})
}

func TestAuditPlan(t *testing.T) {
	s := openTest(t)
	rows, err := s.r.Query(`EXPLAIN QUERY PLAN SELECT `+auditCols+` FROM audit WHERE actor = ? AND time >= ? AND time < ? ORDER BY seq DESC LIMIT 101`, "u1", "2026", "2027")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if !strings.Contains(b.String(), "audit_actor") {
		t.Errorf("audit query by actor and time does not use audit_actor:\n%s", b.String())
	}
}
