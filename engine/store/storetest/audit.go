package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"formwork/engine"

	"github.com/google/go-cmp/cmp"
)

func walk(tb testing.TB, s engine.Store) []*engine.AuditEvent {
	tb.Helper()
	var out []*engine.AuditEvent
	if err := s.WalkAudit(context.Background(), 0, func(e *engine.AuditEvent) error { out = append(out, e); return nil }); err != nil {
		tb.Fatalf("WalkAudit: %v", err)
	}
	return out
}

func testAuditChain(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	total := 0
	for i := range 5 {
		var evs []*engine.AuditEvent
		for j := 0; j <= i%3; j++ {
			e := ev("alice", "view", fmt.Sprintf("r%d-%d", i, j), at(i).Add(123456789*time.Nanosecond))
			e.Fields = []string{"name", "电话"}
			e.Detail = json.RawMessage(`{"why":"测试"}`)
			e.IP = "10.0.0.1"
			evs = append(evs, e)
		}
		res := mustApply(t, s, &engine.Change{Audit: evs})
		for k, e := range res.Audit {
			total++
			if e.Seq != int64(total) || e.Hash == "" || e.Hash != e.ComputeHash() {
				t.Fatalf("Apply %d event %d: seq %d hash %q, want seq %d and a valid hash", i, k, e.Seq, e.Hash, total)
			}
		}
	}
	verify(t, s, int64(total))
	got := walk(t, s)
	if got[0].PrevHash != "" || !got[0].Time.Equal(engine.AuditTime(at(0).Add(123456789*time.Nanosecond))) {
		t.Errorf("first event prev_hash %q time %v", got[0].PrevHash, got[0].Time)
	}
	if d := cmp.Diff([]string{"name", "电话"}, got[0].Fields); d != "" {
		t.Errorf("fields round trip (-want +got):\n%s", d)
	}
	// WalkAudit resumes after a seq.
	n := 0
	if err := s.WalkAudit(ctx, 3, func(e *engine.AuditEvent) error {
		n++
		if e.Seq <= 3 {
			t.Errorf("WalkAudit(after 3) gave seq %d", e.Seq)
		}
		return nil
	}); err != nil || n != total-3 {
		t.Errorf("WalkAudit(after 3) = %d events, %v; want %d", n, err, total-3)
	}
	// An error from fn stops the walk and comes back.
	if err := s.WalkAudit(ctx, 0, func(*engine.AuditEvent) error { return errStop }); err != errStop {
		t.Errorf("WalkAudit with a failing fn = %v, want that error", err)
	}

	t.Run("concurrent", func(t *testing.T) {
		need(t, h.Capabilities.Transactions, "Transactions")
		var wg sync.WaitGroup
		errs := make(chan error, 8*10)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 10 {
					_, err := s.Apply(ctx, &engine.Change{Audit: []*engine.AuditEvent{
						ev(fmt.Sprintf("g%d", g), "list", fmt.Sprintf("a%d", i), at(10)),
						ev(fmt.Sprintf("g%d", g), "view", fmt.Sprintf("b%d", i), at(10)),
					}})
					if err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("concurrent Apply: %v", err)
		}
		verify(t, s, int64(total+8*10*2))
	})
}

func testAuditQuery(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	actors := []string{"alice", "bob", "张三"}
	actions := []string{"view", "update", "login"}
	var all []*engine.AuditEvent
	for i := range 30 {
		e := ev(actors[i%3], actions[i%3+0*i], fmt.Sprintf("obj%d", i%5), at(i))
		e.IP = fmt.Sprintf("10.0.0.%d", i%2)
		if i%4 == 1 {
			e.Result, e.Reason = engine.ResultDenied, "no read permission"
		}
		if i%6 == 0 {
			e.Form = "other_form"
		}
		if i%7 == 2 {
			e.App = "other_app"
		}
		if i%10 == 9 { // about no object, as a list's event
			e.Object = ""
		}
		all = append(all, e)
	}
	for i := 0; i < len(all); i += 4 {
		mustApply(t, s, &engine.Change{Audit: all[i:min(i+4, len(all))]})
	}
	ids := func(q engine.AuditQuery) []int64 {
		t.Helper()
		var seqs []int64
		for n := 0; ; n++ {
			p, err := s.FindAuditEvents(ctx, q)
			if err != nil {
				t.Fatalf("FindAuditEvents(%+v): %v", q, err)
			}
			if q.Limit > 0 && len(p.Items) > q.Limit {
				t.Fatalf("FindAuditEvents: %d items, limit %d", len(p.Items), q.Limit)
			}
			for _, e := range p.Items {
				seqs = append(seqs, e.Seq)
			}
			if p.NextCursor == "" || n > 100 {
				return seqs
			}
			q.Cursor = p.NextCursor
		}
	}
	want := func(pred func(i int, e *engine.AuditEvent) bool) []int64 {
		out := []int64{}
		for i := len(all) - 1; i >= 0; i-- {
			if pred(i, all[i]) {
				out = append(out, all[i].Seq)
			}
		}
		return out
	}
	cases := []struct {
		name string
		q    engine.AuditQuery
		want []int64
	}{
		{"all", engine.AuditQuery{}, want(func(int, *engine.AuditEvent) bool { return true })},
		{"all paged", engine.AuditQuery{Limit: 4}, want(func(int, *engine.AuditEvent) bool { return true })},
		{"actor", engine.AuditQuery{Actor: "张三", Limit: 3}, want(func(_ int, e *engine.AuditEvent) bool { return e.Actor == "张三" })},
		{"action", engine.AuditQuery{Action: "update"}, want(func(_ int, e *engine.AuditEvent) bool { return e.Action == "update" })},
		{"read action", engine.AuditQuery{Action: "view", Limit: 3}, want(func(_ int, e *engine.AuditEvent) bool { return e.Action == "view" })},
		{"read action and range", engine.AuditQuery{Action: "view", From: at(4), To: at(23), Limit: 2}, want(func(i int, e *engine.AuditEvent) bool {
			return e.Action == "view" && i >= 4 && i < 23
		})},
		{"object", engine.AuditQuery{Object: "obj2", Limit: 2}, want(func(_ int, e *engine.AuditEvent) bool { return e.Object == "obj2" })},
		{"time range", engine.AuditQuery{From: at(5), To: at(12), Limit: 3}, want(func(i int, _ *engine.AuditEvent) bool { return i >= 5 && i < 12 })},
		{"actor and range", engine.AuditQuery{Actor: "alice", From: at(3), To: at(20), Limit: 2}, want(func(i int, e *engine.AuditEvent) bool { return e.Actor == "alice" && i >= 3 && i < 20 })},
		{"app", engine.AuditQuery{App: "other_app"}, want(func(_ int, e *engine.AuditEvent) bool { return e.App == "other_app" })},
		{"record", engine.AuditQuery{App: testApp, Form: testForm, Object: "obj1", Limit: 2}, want(func(_ int, e *engine.AuditEvent) bool {
			return e.App == testApp && e.Form == testForm && e.Object == "obj1"
		})},
		{"result", engine.AuditQuery{Result: engine.ResultDenied, Limit: 3}, want(func(_ int, e *engine.AuditEvent) bool { return e.Result == engine.ResultDenied })},
		{"record denied", engine.AuditQuery{Object: "obj1", Result: engine.ResultDenied}, want(func(_ int, e *engine.AuditEvent) bool {
			return e.Object == "obj1" && e.Result == engine.ResultDenied
		})},
		{"ip and range", engine.AuditQuery{IP: "10.0.0.1", From: at(4), To: at(25), Limit: 4}, want(func(i int, e *engine.AuditEvent) bool {
			return e.IP == "10.0.0.1" && i >= 4 && i < 25
		})},
		{"result and range", engine.AuditQuery{Result: engine.ResultDenied, From: at(4), To: at(26), Limit: 2}, want(func(i int, e *engine.AuditEvent) bool {
			return e.Result == engine.ResultDenied && i >= 4 && i < 26
		})},
		{"ok", engine.AuditQuery{Result: engine.ResultOK, Limit: 5}, want(func(_ int, e *engine.AuditEvent) bool { return e.Result == engine.ResultOK })},
		{"from", engine.AuditQuery{From: at(17), Limit: 5}, want(func(i int, _ *engine.AuditEvent) bool { return i >= 17 })},
		{"to", engine.AuditQuery{To: at(9), Limit: 5}, want(func(i int, _ *engine.AuditEvent) bool { return i < 9 })},
		{"before the first", engine.AuditQuery{To: at(0)}, want(func(int, *engine.AuditEvent) bool { return false })},
		{"after the last", engine.AuditQuery{From: at(30)}, want(func(int, *engine.AuditEvent) bool { return false })},
		{"nothing", engine.AuditQuery{Actor: "nobody"}, want(func(int, *engine.AuditEvent) bool { return false })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(tc.q)
			if got == nil {
				got = []int64{}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("seqs (-want +got):\n%s", d)
			}
		})
	}
	p, err := s.FindAuditEvents(ctx, engine.AuditQuery{Limit: 1})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("FindAuditEvents(limit 1) = %v, %v", p, err)
	}
	e := p.Items[0]
	if e.Seq != 30 || e.Actor != all[29].Actor || e.Hash != all[29].Hash || e.PrevHash != all[28].Hash || !e.Time.Equal(at(29)) {
		t.Errorf("newest event = %+v, want seq 30 as written", e)
	}
	for _, c := range badCursors(p.NextCursor) {
		_, err := s.FindAuditEvents(ctx, engine.AuditQuery{Cursor: c})
		wantCode(t, err, engine.EINVALID, fmt.Sprintf("FindAuditEvents with cursor %q", c))
	}
}

// countingStore counts Apply calls and can fail the first ones; the rest is
// the real store.
type countingStore struct {
	engine.Store
	applies atomic.Int64
	failN   atomic.Int64
}

func (c *countingStore) Apply(ctx context.Context, ch *engine.Change) (*engine.ChangeResult, error) {
	c.applies.Add(1)
	if c.failN.Add(-1) >= 0 {
		return nil, engine.Errorf(engine.EUNAVAILABLE, engine.T("注入的故障", "injected failure"))
	}
	return c.Store.Apply(ctx, ch)
}

func testAuditWriter(t *testing.T, h Harness) {
	need(t, h.Capabilities.Transactions, "Transactions")
	s := open(t, h)
	ctx := context.Background()
	cs := &countingStore{Store: s}
	w := engine.NewAuditWriter(cs, engine.AuditWriterOptions{})
	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	evs := make([]*engine.AuditEvent, n)
	start := make(chan struct{})
	for i := range n {
		evs[i] = ev(fmt.Sprintf("u%d", i%7), "view", fmt.Sprintf("o%d", i), at(1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := w.Write(ctx, evs[i]); err != nil {
				errs <- err
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Write: %v", err)
	}
	for i, e := range evs {
		if e.Seq == 0 || e.Hash == "" {
			t.Fatalf("event %d not sealed after Write returned", i)
		}
	}
	seen := map[string]int{}
	for _, e := range walk(t, s) {
		seen[e.Object]++
	}
	for i := range n {
		if c := seen[fmt.Sprintf("o%d", i)]; c != 1 {
			t.Errorf("event o%d stored %d times, want once", i, c)
		}
	}
	verify(t, s, n)
	if a := cs.applies.Load(); a >= n {
		t.Errorf("%d Applies for %d events: no group commit", a, n)
	} else {
		t.Logf("%d events in %d commits", n, a)
	}

	// A failed commit reports the error to its waiters and loses nothing else.
	cs.failN.Store(1)
	err := w.Write(ctx, ev("x", "view", "failed", at(2)))
	wantCode(t, err, engine.EUNAVAILABLE, "Write in a failed batch")
	if err := w.Write(ctx, ev("x", "view", "after", at(2))); err != nil {
		t.Fatalf("Write after a failed batch: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err = w.Write(ctx, ev("x", "view", "closed", at(3)))
	wantCode(t, err, engine.EUNAVAILABLE, "Write after Close")
	verify(t, s, n+1)
}

func testOutbox(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	mustApply(t, s, &engine.Change{Outbox: []engine.OutboxJob{
		{ID: "j2", Type: "record:created", Payload: json.RawMessage(`{"id":"r1","名":"张"}`), RunAt: at(1), CreatedAt: at(0)},
		{ID: "j1", Type: "record:created", Payload: json.RawMessage(`{"id":"r0"}`), RunAt: at(0), CreatedAt: at(0)},
		{ID: "j3", Type: "task:remind", Payload: json.RawMessage(`{}`), RunAt: at(5), CreatedAt: at(0)},
	}})
	jobIDs := func(due time.Time) []string {
		t.Helper()
		jobs, err := s.FindOutbox(ctx, due, 100)
		if err != nil {
			t.Fatalf("FindOutbox: %v", err)
		}
		ids := []string{}
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
		return ids
	}
	if d := cmp.Diff([]string{"j1", "j2"}, jobIDs(at(2))); d != "" {
		t.Errorf("due jobs (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"j1", "j2", "j3"}, jobIDs(at(5))); d != "" {
		t.Errorf("due jobs at run_at of j3 (-want +got):\n%s", d)
	}
	jobs, err := s.FindOutbox(ctx, at(2), 1)
	if err != nil || len(jobs) != 1 || jobs[0].ID != "j1" || jobs[0].Type != "record:created" || !jobs[0].RunAt.Equal(at(0)) || jobs[0].Done {
		t.Fatalf("FindOutbox(limit 1) = %+v, %v", jobs, err)
	}
	jsonEqual(t, json.RawMessage(`{"id":"r0"}`), jobs[0].Payload)

	_, err = s.Apply(ctx, &engine.Change{Outbox: []engine.OutboxJob{{ID: "j1", Type: "x:y", RunAt: at(0)}}})
	wantCode(t, err, engine.ECONFLICT, "outbox job with a duplicate id")

	mustApply(t, s, &engine.Change{OutboxDone: []string{"j1"}})
	if d := cmp.Diff([]string{"j2", "j3"}, jobIDs(at(9))); d != "" {
		t.Errorf("jobs after j1 done (-want +got):\n%s", d)
	}
	// Marking done again is harmless (handlers and relays retry).
	mustApply(t, s, &engine.Change{OutboxDone: []string{"j1", "j2"}})
	if d := cmp.Diff([]string{"j3"}, jobIDs(at(9))); d != "" {
		t.Errorf("jobs after j2 done (-want +got):\n%s", d)
	}
}
