package sqlite

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// appendEvents appends evs, one Change each, and returns them sealed.
func appendEvents(tb testing.TB, s *Store, evs ...*engine.AuditEvent) {
	tb.Helper()
	for _, ev := range evs {
		if _, err := s.Apply(context.Background(), &engine.Change{Audit: []*engine.AuditEvent{ev}}); err != nil {
			tb.Fatal(err)
		}
	}
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

// chainEvents are events with every kind of value the hash covers: no
// fields, fields with an escape, non-ASCII text, a detail, an empty one.
func chainEvents() []*engine.AuditEvent {
	return []*engine.AuditEvent{
		{Time: t0, Actor: "u1", Action: "login", Result: engine.ResultOK},
		{Time: t0.Add(time.Second), Actor: "u1", IP: "10.0.0.1", Action: "update", App: "shop", Form: "customer", Object: "r1",
			Fields: []string{"name", "phone"}, Result: engine.ResultOK, Detail: json.RawMessage(`{"before":"张三"}`)},
		{Time: t0.Add(2 * time.Second), Actor: "u2", Action: "update", Object: "r2", Fields: []string{`a"b`, `c\d`, "电话"},
			Result: engine.ResultDenied, Reason: "不允许"},
		{Time: t0.Add(3 * time.Second), Actor: "u2", Action: "view", Object: "r3", Fields: []string{}, Result: engine.ResultOK, Detail: json.RawMessage(`{}`)},
	}
}

// TestWalkAuditChainMatchesWalkAudit: the verify read yields the same
// events as the general one.
func TestWalkAuditChainMatchesWalkAudit(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	appendEvents(t, s, chainEvents()...)
	var want, got []engine.AuditEvent
	if err := s.WalkAudit(ctx, 0, func(e *engine.AuditEvent) error { want = append(want, *e); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.WalkAuditChain(ctx, func(e *engine.AuditEvent) error {
		c := *e // copy what the walk lends
		c.Fields = append([]string(nil), cloneAll(e.Fields)...)
		c.Detail = append(json.RawMessage(nil), e.Detail...)
		for _, p := range []*string{&c.Actor, &c.IP, &c.Action, &c.App, &c.Form, &c.Object, &c.Result, &c.Reason, &c.PrevHash, &c.Hash} {
			*p = strings.Clone(*p)
		}
		got = append(got, c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	norm := cmp.Transformer("fields", func(f []string) []string {
		if len(f) == 0 {
			return nil
		}
		return f
	})
	if d := cmp.Diff(want, got, norm); d != "" {
		t.Errorf("WalkAuditChain (-WalkAudit +chain):\n%s", d)
	}
	for _, e := range got {
		if e.ComputeHash() != e.Hash {
			t.Errorf("event %d: the chain read's values do not give its hash", e.Seq)
		}
	}
	if n, brk, err := engine.VerifyAudit(ctx, s); n != 4 || brk != nil || err != nil {
		t.Errorf("VerifyAudit = %d, %+v, %v", n, brk, err)
	}
}

func cloneAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Clone(s)
	}
	return out
}

// TestAuditTimeNeverGoesBack: an event whose time is before the newest
// one's (it waited for the writer) is stored at the newest one's time.
func TestAuditTimeNeverGoesBack(t *testing.T) {
	s := openTest(t)
	appendEvents(t, s, &engine.AuditEvent{Time: t0.Add(time.Minute), Actor: "u1", Action: "view", Result: engine.ResultOK},
		&engine.AuditEvent{Time: t0, Actor: "u2", Action: "view", Result: engine.ResultOK})
	p, err := s.FindAuditEvents(context.Background(), engine.AuditQuery{Actor: "u2"})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("u2's events = %v, %v", p, err)
	}
	if got := p.Items[0].Time; !got.Equal(t0.Add(time.Minute)) {
		t.Errorf("the late event's time = %v, want the newest event's %v", got, t0.Add(time.Minute))
	}
}

// TestVerifyAuditFindsTimeOutOfOrder: a chain rewritten with its hashes
// recomputed, one event moved back in time, is refused for its order.
func TestVerifyAuditFindsTimeOutOfOrder(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	appendEvents(t, s, chainEvents()...)
	var evs []*engine.AuditEvent
	if err := s.WalkAudit(ctx, 0, func(e *engine.AuditEvent) error { evs = append(evs, e); return nil }); err != nil {
		t.Fatal(err)
	}
	evs[2].Time = t0.Add(-time.Hour)
	prev := evs[1].Head()
	for _, e := range evs[2:] {
		e.PrevHash = prev.Hash
		e.Hash = e.ComputeHash()
		if _, err := s.w.ExecContext(ctx, `UPDATE audit SET time = ?, prev_hash = ?, hash = ? WHERE seq = ?`, fmtTime(e.Time), e.PrevHash, e.Hash, e.Seq); err != nil {
			t.Fatal(err)
		}
		prev = e.Head()
	}
	_, brk, err := engine.VerifyAudit(ctx, s)
	if err != nil || brk == nil || brk.Seq != 3 || !strings.Contains(brk.Reason, "out of order") {
		t.Errorf("VerifyAudit break = %+v, %v; want event 3 out of order", brk, err)
	}
}

// TestAuditPagesByTime: a person's pages, read along (actor, time), hold
// every event once, newest first, also when many share one millisecond
// (as the clamp makes events that waited for the writer do).
func TestAuditPagesByTime(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	var evs []*engine.AuditEvent
	for i := range 250 {
		at := t0.Add(time.Duration(i/100) * time.Second) // 100 events a millisecond
		evs = append(evs, &engine.AuditEvent{Time: at, Actor: []string{"u1", "u2"}[i%5/4], Action: "view", Result: engine.ResultOK})
	}
	appendEvents(t, s, evs...)
	for _, q := range []engine.AuditQuery{{Actor: "u1"}, {Actor: "u1", From: t0, To: t0.Add(time.Hour)}, {From: t0}, {Action: "view"}} {
		q.Limit = 30
		var seqs []int64
		for {
			p, err := s.FindAuditEvents(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range p.Items {
				seqs = append(seqs, e.Seq)
			}
			if p.NextCursor == "" {
				break
			}
			q.Cursor = p.NextCursor
		}
		var want []int64
		for i := len(evs) - 1; i >= 0; i-- {
			if q.Actor == "" || evs[i].Actor == q.Actor {
				want = append(want, evs[i].Seq)
			}
		}
		if d := cmp.Diff(want, seqs); d != "" {
			t.Errorf("pages of %+v (-want +got):\n%s", q, d)
		}
	}
}

// FuzzParseFields: the verify read's field list parser reads every list
// json.Marshal stores exactly as encoding/json does.
func FuzzParseFields(f *testing.F) {
	f.Add("name", "phone")
	f.Add(`a"b`, `c\d`)
	f.Add("电话", "")
	f.Fuzz(func(t *testing.T, a, b string) {
		raw, err := json.Marshal([]string{a, b})
		if err != nil {
			t.Skip()
		}
		var want []string
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		got, err := parseFields(raw, nil)
		if err != nil {
			t.Fatalf("parseFields(%s): %v", raw, err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("parseFields(%s) (-json +got):\n%s", raw, d)
		}
	})
}
