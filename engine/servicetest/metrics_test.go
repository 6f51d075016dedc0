package servicetest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

// storeCall is one call an observed store reported.
type storeCall struct {
	Op      string
	Outcome string
}

// callLog collects what ObserveStore reports.
type callLog struct {
	mu    sync.Mutex
	calls []storeCall
}

func (l *callLog) observe(op engine.StoreOp, o engine.Outcome, took time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if took < 0 {
		panic("negative time")
	}
	l.calls = append(l.calls, storeCall{op.String(), o.String()})
}

func (l *callLog) take() []storeCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

func openSQLite(tb testing.TB, now func() time.Time) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "fw.db"), sqlite.Options{Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// TestObserveStoreReportsEachCall: every call through the decorator is
// reported with its operation and outcome, answers pass through
// unchanged, and the audit chain is still verified with the store's fast
// walk.
func TestObserveStoreReportsEachCall(t *testing.T) {
	ctx := context.Background()
	log := &callLog{}
	st := engine.ObserveStore(openSQLite(t, time.Now), log.observe)
	doc := engine.Doc{Kind: "note", ID: "n1", Value: []byte(`{}`), Tags: []string{"t"}}
	steps := []struct {
		call func() error
		want storeCall
	}{
		{func() error { _, err := st.FindDoc(ctx, "note", "n1"); return err }, storeCall{"find_doc", "not_found"}},
		{func() error {
			_, err := st.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: doc}}, Audit: []*engine.AuditEvent{{Actor: "u1", Action: "note", Result: engine.ResultOK}}})
			return err
		}, storeCall{"apply", "ok"}},
		{func() error { _, err := st.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: doc}}}); return err }, storeCall{"apply", "conflict"}},
		{func() error { _, err := st.FindDoc(ctx, "note", "n1"); return err }, storeCall{"find_doc", "ok"}},
		{func() error { _, err := st.FindDocs(ctx, engine.DocQuery{Kind: "note", Tag: "t"}); return err }, storeCall{"find_docs", "ok"}},
		{func() error { _, err := st.CountDocs(ctx, engine.DocQuery{Kind: "note"}); return err }, storeCall{"count_docs", "ok"}},
		{func() error { _, err := st.DocVersions(ctx, []engine.DocRef{{Kind: "note", ID: "n1"}}); return err }, storeCall{"doc_versions", "ok"}},
		{func() error {
			_, err := st.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Cursor: "not a cursor"})
			return err
		}, storeCall{"find_records", "invalid"}},
		{func() error { _, err := st.FindOutbox(ctx, time.Now(), 10); return err }, storeCall{"find_outbox", "ok"}},
		{func() error {
			n, brk, err := engine.VerifyAudit(ctx, st)
			if err == nil && (n != 1 || brk != nil) {
				err = fmt.Errorf("verify: %d events, break %v", n, brk)
			}
			return err
		}, storeCall{"walk_audit", "ok"}},
		{func() error { return st.Ping(ctx) }, storeCall{"ping", "ok"}},
	}
	for i, s := range steps {
		err := s.call()
		if (s.want.Outcome == "ok") != (err == nil) {
			t.Errorf("step %d (%s): err %v", i, s.want.Op, err)
		}
		if diff := cmp.Diff([]storeCall{s.want}, log.take()); diff != "" {
			t.Errorf("step %d reported (-want +got):\n%s", i, diff)
		}
	}
	if engine.ObserveStore(st, nil) != st {
		t.Error("ObserveStore without a function should return the store itself")
	}
}

// TestCountLiveSessions counts unexpired browser sessions, across more
// than one page of the store's docs, and unexpired login tokens (not
// personal ones).
func TestCountLiveSessions(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := openSQLite(t, clock)
	org := engine.NewOrg(st, clock)
	const total = 1207
	var writes []engine.DocWrite
	var want engine.LiveSessions
	for i := range total {
		exp := now.Add(time.Hour)
		switch {
		case i%300 == 0:
			exp = now.Add(-time.Second)
		case i == 1001:
			exp = now // expiring at this instant counts as expired
		default:
			want.Browser++
		}
		id := fmt.Sprintf("s%05d", i)
		writes = append(writes, engine.DocWrite{Doc: engine.Doc{Kind: engine.KindSession, ID: id, Value: engine.MustJSON(engine.Session{ID: id, UserID: "u1", ExpiresAt: exp})}})
	}
	later, earlier := now.Add(time.Hour), now.Add(-time.Hour)
	for i, tok := range []engine.APIToken{
		{Name: "login", ExpiresAt: &later},                  // counts
		{Name: "login", ExpiresAt: &earlier},                // expired
		{Name: "script", ExpiresAt: &later, Personal: true}, // an integration's, not a session
		{Name: "ci"}, // no expiry, acts as its user: counts
	} {
		tok.ID, tok.UserID = fmt.Sprintf("t%d", i), "u1"
		writes = append(writes, engine.DocWrite{Doc: engine.Doc{Kind: engine.KindToken, ID: tok.ID, Value: engine.MustJSON(tok)}})
	}
	want.API = 2
	if _, err := st.Apply(ctx, &engine.Change{Docs: writes}); err != nil {
		t.Fatal(err)
	}
	got, err := org.CountLiveSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("CountLiveSessions = %+v, want %+v", got, want)
	}
}

// TestServiceReportsRulesAndAuditCommits: creating a record reports one
// create evaluation, a preview one preview evaluation, and a read (audited
// through the audit writer) one committed batch.
func TestServiceReportsRulesAndAuditCommits(t *testing.T) {
	var mu sync.Mutex
	rules := map[string]int{}
	var batches, events int
	obs := engine.Observer{
		RuleEval: func(op string, took time.Duration) { mu.Lock(); rules[op]++; mu.Unlock() },
		AuditWrite: func(n int, o engine.Outcome, took time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			if o == engine.OutcomeOK {
				batches++
				events += n
			}
		},
	}
	f := newFixtureWith(t, engine.ServiceOptions{Observer: obs})
	ctx := context.Background()
	staff := f.users["staff1"]
	rec, err := f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetRecord(ctx, staff, "shop", "customer", rec.ID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(map[string]int{"create": 1}, rules); diff != "" {
		t.Errorf("rule evaluations (-want +got):\n%s", diff)
	}
	if batches < 1 || events < 1 {
		t.Errorf("audit commits: %d batches, %d events; want the read's", batches, events)
	}
}

// BenchmarkObservedStore is what the metrics decorator adds to a store
// call: FindDoc of one doc on SQLite, bare and observed (the observer
// here only counts; cmd's Prometheus observer is measured by
// BenchmarkStoreMetrics in cmd/formwork).
func BenchmarkObservedStore(b *testing.B) {
	ctx := context.Background()
	bare := openSQLite(b, time.Now)
	if _, err := bare.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "note", ID: "n1", Value: []byte(`{"a":1}`)}}}}); err != nil {
		b.Fatal(err)
	}
	var n int
	for _, c := range []struct {
		name string
		st   engine.Store
	}{{"bare", bare}, {"observed", engine.ObserveStore(bare, func(engine.StoreOp, engine.Outcome, time.Duration) { n++ })}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.st.FindDoc(ctx, "note", "n1"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
