package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"formwork/engine"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	testApp  = "shop"
	testForm = "customer"
)

// t0 is the suite's clock origin; every time the suite writes derives from it.
var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

// wantCode fails tb unless err carries code.
func wantCode(tb testing.TB, err error, code, what string) {
	tb.Helper()
	if got := engine.ErrorCode(err); got != code {
		tb.Fatalf("%s: error code %q (err %v), want %q", what, got, err, code)
	}
}

func mustApply(tb testing.TB, s engine.Store, c *engine.Change) *engine.ChangeResult {
	tb.Helper()
	res, err := s.Apply(context.Background(), c)
	if err != nil {
		tb.Fatalf("Apply: %v", err)
	}
	return res
}

func newRecord(id string, data map[string]any) *engine.Record {
	return &engine.Record{ID: id, App: testApp, Form: testForm, FormVersion: 1, Unit: "u1", Owner: "alice", Data: data}
}

func create(tb testing.TB, s engine.Store, r *engine.Record, when time.Time) *engine.Record {
	tb.Helper()
	res := mustApply(tb, s, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "alice", At: when}}})
	if len(res.Records) != 1 {
		tb.Fatalf("Apply create: %d records in result, want 1", len(res.Records))
	}
	return res.Records[0]
}

func write(s engine.Store, op engine.WriteOp, r *engine.Record, expect int64, when time.Time) (*engine.Record, error) {
	res, err := s.Apply(context.Background(), &engine.Change{Records: []engine.RecordWrite{{Op: op, Record: r, ExpectVersion: expect, Actor: "bob", At: when}}})
	if err != nil {
		return nil, err
	}
	return res.Records[0], nil
}

func find(tb testing.TB, s engine.Store, id string, deleted bool) *engine.Record {
	tb.Helper()
	r, err := s.FindRecordByID(context.Background(), testApp, testForm, id, deleted)
	if err != nil {
		tb.Fatalf("FindRecordByID(%s, deleted=%v): %v", id, deleted, err)
	}
	return r
}

func testRecordCRUD(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	in := newRecord("rec1", map[string]any{"name": "张三", "age": 30.0, "vip": true, "tags": []any{"a", "b"}})
	got := create(t, s, in, at(1))
	want := &engine.Record{ID: "rec1", App: testApp, Form: testForm, FormVersion: 1, Unit: "u1", Owner: "alice", Status: engine.StatusActive,
		Version: 1, Data: in.Data, CreatedAt: at(1), CreatedBy: "alice", UpdatedAt: at(1), UpdatedBy: "alice"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Apply create result (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, find(t, s, "rec1", false)); d != "" {
		t.Errorf("FindRecordByID after create (-want +got):\n%s", d)
	}

	// A record without an id gets one.
	anon := create(t, s, newRecord("", map[string]any{"name": "x"}), at(2))
	if anon.ID == "" {
		t.Fatal("create without id: store assigned no id")
	}
	find(t, s, anon.ID, false)

	_, err := write(s, engine.WriteCreate, newRecord("rec1", map[string]any{}), 0, at(3))
	wantCode(t, err, engine.ECONFLICT, "create with a duplicate id")

	upd := got.Clone()
	upd.Data["age"] = 31.0
	upd.Data["note"] = "更新"
	upd.Status = engine.StatusInReview
	got2, err := write(s, engine.WriteUpdate, upd, 1, at(4))
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	want2 := want.Clone()
	want2.Data["age"], want2.Data["note"] = 31.0, "更新"
	want2.Version, want2.Status, want2.UpdatedAt, want2.UpdatedBy = 2, engine.StatusInReview, at(4), "bob"
	if d := cmp.Diff(want2, got2); d != "" {
		t.Errorf("update result (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want2, find(t, s, "rec1", false)); d != "" {
		t.Errorf("FindRecordByID after update (-want +got):\n%s", d)
	}

	_, err = write(s, engine.WriteUpdate, upd, 1, at(5))
	wantCode(t, err, engine.ECONFLICT, "update with a stale version")
	_, err = write(s, engine.WriteUpdate, newRecord("nope", map[string]any{}), 1, at(5))
	wantCode(t, err, engine.ENOTFOUND, "update of a missing record")

	_, err = s.FindRecordByID(ctx, testApp, testForm, "nope", true)
	wantCode(t, err, engine.ENOTFOUND, "FindRecordByID of a missing id")
	_, err = s.FindRecordByID(ctx, testApp, "other_form", "rec1", true)
	wantCode(t, err, engine.ENOTFOUND, "FindRecordByID in another form")

	n, err := s.CountRecords(ctx, engine.RecordQuery{App: testApp, Form: testForm})
	if err != nil || n != 2 {
		t.Errorf("CountRecords = %d, %v; want 2", n, err)
	}
}

// wantCounts checks CountRecords without a filter, live and binned: the
// figure a backend may keep as a counter must follow every kind of write.
func wantCounts(tb testing.TB, s engine.Store, live, binned int64, when string) {
	tb.Helper()
	for _, c := range []struct {
		deleted bool
		want    int64
	}{{false, live}, {true, binned}} {
		n, err := s.CountRecords(context.Background(), engine.RecordQuery{App: testApp, Form: testForm, Deleted: c.deleted})
		if err != nil || n != c.want {
			tb.Errorf("%s: CountRecords(deleted=%v) = %d, %v; want %d", when, c.deleted, n, err, c.want)
		}
	}
}

func testRecycleBin(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	r := create(t, s, newRecord("bin1", map[string]any{"name": "李四"}), at(1))
	create(t, s, newRecord("keep", map[string]any{"name": "王五"}), at(2))

	del, err := write(s, engine.WriteDelete, r, 1, at(3))
	if err != nil {
		t.Fatalf("delete: %v", err)
	}
	if del.Version != 2 || del.DeletedAt == nil || !del.DeletedAt.Equal(at(3)) {
		t.Errorf("delete result: version %d deleted_at %v, want 2 and %v", del.Version, del.DeletedAt, at(3))
	}
	_, err = s.FindRecordByID(ctx, testApp, testForm, "bin1", false)
	wantCode(t, err, engine.ENOTFOUND, "FindRecordByID of a deleted record")
	binned := find(t, s, "bin1", true)
	if binned.DeletedAt == nil || binned.Data["name"] != "李四" {
		t.Errorf("binned record = %+v, want deleted_at set and data kept", binned)
	}
	if got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm}); !cmp.Equal(got, []string{"keep"}) {
		t.Errorf("live list = %v, want [keep]", got)
	}
	if got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Deleted: true}); !cmp.Equal(got, []string{"bin1"}) {
		t.Errorf("recycle bin list = %v, want [bin1]", got)
	}
	wantCounts(t, s, 1, 1, "after delete")
	_, err = write(s, engine.WriteUpdate, binned, 2, at(4))
	wantCode(t, err, engine.ENOTFOUND, "update of a binned record")
	_, err = write(s, engine.WriteDelete, binned, 2, at(4))
	wantCode(t, err, engine.ENOTFOUND, "delete of a binned record")

	_, err = write(s, engine.WriteRestore, binned, 1, at(5))
	wantCode(t, err, engine.ECONFLICT, "restore with a stale version")
	res, err := write(s, engine.WriteRestore, binned, 2, at(5))
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if res.Version != 3 || res.DeletedAt != nil || res.Data["name"] != "李四" {
		t.Errorf("restore result = %+v, want version 3, live, data kept", res)
	}
	live := find(t, s, "bin1", false)
	if live.DeletedAt != nil {
		t.Errorf("restored record still has deleted_at %v", live.DeletedAt)
	}
	wantCounts(t, s, 2, 0, "after restore")

	// Purge is for good, from the bin or live.
	if _, err := write(s, engine.WritePurge, live, 3, at(6)); err != nil {
		t.Fatalf("purge: %v", err)
	}
	_, err = s.FindRecordByID(ctx, testApp, testForm, "bin1", true)
	wantCode(t, err, engine.ENOTFOUND, "FindRecordByID of a purged record")
	revs, err := s.FindRevisions(ctx, testApp, testForm, "bin1")
	if err != nil || len(revs) != 0 {
		t.Errorf("FindRevisions of a purged record = %d revisions, %v; want none", len(revs), err)
	}
	wantCounts(t, s, 1, 0, "after purge")
	binAgain := create(t, s, newRecord("bin2", map[string]any{}), at(7))
	if _, err := write(s, engine.WriteDelete, binAgain, 1, at(8)); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := write(s, engine.WritePurge, find(t, s, "bin2", true), 2, at(9)); err != nil {
		t.Fatalf("purge from the bin: %v", err)
	}
	wantCounts(t, s, 1, 0, "after a purge from the bin")
}

func testRevisions(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	v1 := map[string]any{"name": "张三", "age": 30.0, "gone": "x"}
	r := create(t, s, newRecord("rv", v1), at(1))
	u := r.Clone()
	u.Data = map[string]any{"name": "张三", "age": 31.0, "new": []any{"a"}}
	r2, err := write(s, engine.WriteUpdate, u, 1, at(2))
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	revs, err := s.FindRevisions(ctx, testApp, testForm, "rv")
	if err != nil {
		t.Fatalf("FindRevisions: %v", err)
	}
	want := []*engine.Revision{
		{RecordID: "rv", Version: 1, Op: engine.WriteCreate, Actor: "alice", At: at(1), Status: engine.StatusActive, Unit: "u1", Owner: "alice", Data: v1, Changes: engine.DiffData(nil, v1)},
		{RecordID: "rv", Version: 2, Op: engine.WriteUpdate, Actor: "bob", At: at(2), Status: engine.StatusActive, Unit: "u1", Owner: "alice", Data: u.Data, Changes: engine.DiffData(v1, u.Data)},
	}
	if d := cmp.Diff(want, revs, cmpopts.EquateEmpty()); d != "" {
		t.Fatalf("revisions (-want +got):\n%s", d)
	}
	// Restore to revision 1: the caller writes revision 1's state back.
	back := r2.Clone()
	back.Data = engine.CloneData(revs[0].Data)
	r3, err := write(s, engine.WriteRestore, back, 2, at(3))
	if err != nil {
		t.Fatalf("restore to revision 1: %v", err)
	}
	if d := cmp.Diff(v1, r3.Data); d != "" || r3.Version != 3 {
		t.Errorf("restored record version %d, data (-want +got):\n%s", r3.Version, d)
	}
	revs, err = s.FindRevisions(ctx, testApp, testForm, "rv")
	if err != nil || len(revs) != 3 {
		t.Fatalf("FindRevisions after restore = %d, %v; want 3", len(revs), err)
	}
	last := revs[2]
	if last.Op != engine.WriteRestore || last.Version != 3 || !cmp.Equal(last.Data, v1) {
		t.Errorf("revision 3 = %+v, want op restore, version 3, data of revision 1", last)
	}
	if d := cmp.Diff(engine.DiffData(u.Data, v1), last.Changes, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("revision 3 changes (-want +got):\n%s", d)
	}
}

// auditCount walks the chain and returns its length.
func auditCount(tb testing.TB, s engine.Store) int {
	tb.Helper()
	n := 0
	if err := s.WalkAudit(context.Background(), 0, func(*engine.AuditEvent) error { n++; return nil }); err != nil {
		tb.Fatalf("WalkAudit: %v", err)
	}
	return n
}

func ev(actor, action, object string, when time.Time) *engine.AuditEvent {
	return &engine.AuditEvent{Time: when, Actor: actor, Action: action, App: testApp, Form: testForm, Object: object, Result: engine.ResultOK}
}

func testAtomicity(t *testing.T, h Harness) {
	need(t, h.Capabilities.Transactions, "Transactions")
	s := open(t, h)
	ctx := context.Background()
	base := create(t, s, newRecord("base", map[string]any{"n": 1.0}), at(1))
	mustApply(t, s, &engine.Change{Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "user", ID: "u1", Unique: []string{"email:a@x.cn"}, Value: []byte(`{}`)}}}})
	auditBefore := auditCount(t, s)

	stale := base.Clone()
	stale.Data["n"] = 2.0
	missing := newRecord("ghost", map[string]any{})
	cases := []struct {
		name   string
		change *engine.Change
		code   string
	}{
		{"stale second record", &engine.Change{
			Records: []engine.RecordWrite{
				{Op: engine.WriteCreate, Record: newRecord("new1", map[string]any{"n": 1.0}), Actor: "a", At: at(2)},
				{Op: engine.WriteUpdate, Record: stale, ExpectVersion: 7, Actor: "a", At: at(2)},
			},
			Audit:  []*engine.AuditEvent{ev("a", "create", "new1", at(2))},
			Outbox: []engine.OutboxJob{{ID: "job1", Type: "record:created", Payload: []byte(`{"id":"new1"}`), RunAt: at(2)}},
		}, engine.ECONFLICT},
		{"missing second record", &engine.Change{
			Records: []engine.RecordWrite{
				{Op: engine.WriteCreate, Record: newRecord("new2", map[string]any{}), Actor: "a", At: at(2)},
				{Op: engine.WriteUpdate, Record: missing, ExpectVersion: 1, Actor: "a", At: at(2)},
			},
			Audit:  []*engine.AuditEvent{ev("a", "create", "new2", at(2))},
			Outbox: []engine.OutboxJob{{ID: "job2", Type: "record:created", RunAt: at(2)}},
		}, engine.ENOTFOUND},
		{"duplicate unique tag", &engine.Change{
			Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: newRecord("new3", map[string]any{}), Actor: "a", At: at(2)}},
			Docs:    []engine.DocWrite{{Doc: engine.Doc{Kind: "user", ID: "u2", Unique: []string{"email:a@x.cn"}, Value: []byte(`{}`)}}},
			Audit:   []*engine.AuditEvent{ev("a", "create", "new3", at(2))},
			Outbox:  []engine.OutboxJob{{ID: "job3", Type: "record:created", RunAt: at(2)}},
		}, engine.ECONFLICT},
		{"duplicate outbox id after everything else", &engine.Change{
			Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: stale, ExpectVersion: 1, Actor: "a", At: at(2)}},
			Docs:    []engine.DocWrite{{Doc: engine.Doc{Kind: "user", ID: "u4", Value: []byte(`{}`)}}},
			Audit:   []*engine.AuditEvent{ev("a", "update", "base", at(2))},
			Outbox:  []engine.OutboxJob{{ID: "job4", Type: "t:x", RunAt: at(2)}, {ID: "job4", Type: "t:x", RunAt: at(2)}},
		}, engine.ECONFLICT},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Apply(ctx, tc.change)
			wantCode(t, err, tc.code, "Apply")
			for _, w := range tc.change.Records {
				if w.Op != engine.WriteCreate {
					continue
				}
				if _, err := s.FindRecordByID(ctx, testApp, testForm, w.Record.ID, true); engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("record %s of the failed change is visible (err %v)", w.Record.ID, err)
				}
				if revs, _ := s.FindRevisions(ctx, testApp, testForm, w.Record.ID); len(revs) != 0 {
					t.Errorf("record %s of the failed change has %d revisions", w.Record.ID, len(revs))
				}
			}
			for _, d := range tc.change.Docs {
				if _, err := s.FindDoc(ctx, d.Doc.Kind, d.Doc.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("doc %s of the failed change is visible (err %v)", d.Doc.ID, err)
				}
			}
			if n := auditCount(t, s); n != auditBefore {
				t.Errorf("audit chain has %d events after the failed change, want %d", n, auditBefore)
			}
			jobs, err := s.FindOutbox(ctx, at(1000), 100)
			if err != nil || len(jobs) != 0 {
				t.Errorf("outbox after the failed change = %v, %v; want empty", jobs, err)
			}
			if got := find(t, s, "base", false); got.Version != 1 || got.Data["n"] != 1.0 {
				t.Errorf("base record changed by the failed change: %+v", got)
			}
			if revs, _ := s.FindRevisions(ctx, testApp, testForm, "base"); len(revs) != 1 {
				t.Errorf("base record has %d revisions, want 1", len(revs))
			}
			wantCounts(t, s, 1, 0, "after the failed change")
		})
	}
	// The store still works and the chain is intact.
	mustApply(t, s, &engine.Change{Audit: []*engine.AuditEvent{ev("a", "view", "base", at(3))}})
	verify(t, s, int64(auditBefore+1))
}

func verify(tb testing.TB, s engine.Store, want int64) {
	tb.Helper()
	n, brk, err := engine.VerifyAudit(context.Background(), s)
	if err != nil || brk != nil || n != want {
		tb.Fatalf("VerifyAudit = %d, %+v, %v; want %d events, no break", n, brk, err, want)
	}
}

func testOptimisticConcurrency(t *testing.T, h Harness) {
	need(t, h.Capabilities.ConcurrentAtomicUpdates, "ConcurrentAtomicUpdates")
	s := open(t, h)
	ctx := context.Background()
	create(t, s, newRecord("hot", map[string]any{"n": 0.0}), at(0))
	const workers = 100
	errs := make(chan error, workers)
	start := make(chan struct{})
	for i := range workers {
		go func() {
			<-start
			r, err := s.FindRecordByID(ctx, testApp, testForm, "hot", false)
			if err != nil {
				errs <- fmt.Errorf("read: %w", err)
				return
			}
			u := r.Clone()
			u.Data["n"] = float64(i + 1)
			_, err = write(s, engine.WriteUpdate, u, r.Version, at(1))
			errs <- err
		}()
	}
	close(start)
	landed := 0
	for range workers {
		err := <-errs
		switch {
		case err == nil:
			landed++
		case engine.ErrorCode(err) == engine.ECONFLICT:
		default:
			t.Errorf("update: %v (want success or ECONFLICT)", err)
		}
	}
	r := find(t, s, "hot", false)
	if r.Version != int64(1+landed) {
		t.Errorf("final version %d, but %d updates landed: want %d (an update was lost)", r.Version, landed, 1+landed)
	}
	if landed == 0 {
		t.Error("no update landed")
	}
	revs, err := s.FindRevisions(ctx, testApp, testForm, "hot")
	if err != nil || len(revs) != 1+landed {
		t.Errorf("revisions = %d, %v; want %d", len(revs), err, 1+landed)
	}
	for i, rv := range revs {
		if rv.Version != int64(i+1) {
			t.Errorf("revision %d has version %d", i, rv.Version)
		}
	}
	t.Logf("%d of %d concurrent updates landed, the rest got ECONFLICT", landed, workers)
}

// pageIDs lists every id q selects, following cursors.
func pageIDs(tb testing.TB, s engine.Store, q engine.RecordQuery) []string {
	tb.Helper()
	var ids []string
	for i := 0; ; i++ {
		p, err := s.FindRecords(context.Background(), q)
		if err != nil {
			tb.Fatalf("FindRecords: %v", err)
		}
		for _, r := range p.Items {
			ids = append(ids, r.ID)
		}
		if p.NextCursor == "" {
			return ids
		}
		if i > 10000 {
			tb.Fatal("FindRecords: cursor never ends")
		}
		q.Cursor = p.NextCursor
	}
}

var errStop = errors.New("stop")
