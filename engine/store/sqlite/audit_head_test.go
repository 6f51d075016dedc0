package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"formwork/engine"
)

// TestAuditHeadAcrossStores: two stores on one file (two processes) append
// in turns, lazily and not, one event and two; each one's remembered head
// goes stale when the other appends, and the chain still holds every event
// once, in order.
func TestAuditHeadAcrossStores(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	n := 0
	for round := 0; round < 4; round++ {
		for _, s := range []*Store{a, a, b, a, b, b} {
			evs := []*engine.AuditEvent{{Time: t0.Add(time.Duration(n) * time.Second), Actor: "u1", Action: "view", Object: "r1", Result: engine.ResultOK},
				{Time: t0.Add(time.Duration(n) * time.Second), Actor: "u2", Action: "list", Result: engine.ResultOK}}
			if round >= 2 { // one event: a lazy one is a single INSERT (appendOneEvent)
				evs = evs[:1]
			}
			res, err := s.Apply(ctx, &engine.Change{Audit: evs, Lazy: round%2 == 0})
			if err != nil {
				t.Fatalf("round %d, event %d: %v", round, n, err)
			}
			n += len(evs)
			if got := res.Audit[len(evs)-1].Seq; got != int64(n) {
				t.Fatalf("event %d has seq %d", n, got)
			}
		}
	}
	for _, s := range []*Store{a, b} {
		got, brk, err := engine.VerifyAudit(ctx, s)
		if err != nil || brk != nil || got != int64(n) {
			t.Fatalf("VerifyAudit = %d, %+v, %v; want %d events, no break", got, brk, err, n)
		}
	}
}

// TestAuditHeadAfterRefusedChange: a change refused after its events were
// sealed (a duplicate outbox job) leaves no event, and the next one is
// chained after the last committed event, alone and in a group commit.
func TestAuditHeadAfterRefusedChange(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ev := func(i int) []*engine.AuditEvent {
		return []*engine.AuditEvent{{Time: t0.Add(time.Duration(i) * time.Second), Actor: "u1", Action: "view", Object: "r1", Result: engine.ResultOK}}
	}
	job := []engine.OutboxJob{{ID: "job1", Type: "t", RunAt: t0}}
	if _, err := s.Apply(ctx, &engine.Change{Audit: ev(0), Outbox: job}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, &engine.Change{Audit: ev(1), Outbox: job}); engine.ErrorCode(err) != engine.ECONFLICT {
		t.Fatalf("duplicate job: %v, want a conflict", err)
	}
	// a group commit: the refused change's savepoint is rolled back
	s.wmu.Lock()
	reqs := []*applyReq{{ctx: ctx, c: &engine.Change{Audit: ev(2)}}, {ctx: ctx, c: &engine.Change{Audit: ev(3), Outbox: job}},
		{ctx: ctx, c: &engine.Change{Outbox: []engine.OutboxJob{{ID: "job2", Type: "t", RunAt: t0}}}}}
	s.applyBatch(reqs)
	s.wmu.Unlock()
	if reqs[0].err != nil || engine.ErrorCode(reqs[1].err) != engine.ECONFLICT || reqs[2].err != nil {
		t.Fatalf("batch: %v, %v, %v; want the second refused", reqs[0].err, reqs[1].err, reqs[2].err)
	}
	if _, err := s.Apply(ctx, &engine.Change{Audit: ev(5), Lazy: true}); err != nil {
		t.Fatal(err)
	}
	got, brk, err := engine.VerifyAudit(ctx, s)
	if err != nil || brk != nil || got != 3 {
		t.Fatalf("VerifyAudit = %d, %+v, %v; want 3 events, no break", got, brk, err)
	}
}

// twoStores opens two stores on one new file, as two processes would,
// closed when the test ends.
func twoStores(t *testing.T) (a, b *Store) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shared.db")
	for _, s := range []**Store{&a, &b} {
		var err error
		if *s, err = Open(path, Options{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { (*s).Close() })
	}
	return a, b
}
