package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

// TestBulkApplyMatchesApply keeps the benchmarks honest: the bulk loader
// must write exactly the rows that Apply writes for the same changes, and
// its audit chain must verify.
func TestBulkApplyMatchesApply(t *testing.T) {
	ctx := context.Background()
	now := func() time.Time { return time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC) }
	open := func(name string) *sqlite.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), name), sqlite.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.EnsureIndexes(ctx, engine.FormIndex{App: "shop", Form: "customer", Fields: []string{"level", "amount"}}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	bulk, applied := open("bulk.db"), open("apply.db")

	const nRec, nEv = 257, 613 // not multiples of the bulk statement size
	recs := make([]engine.RecordWrite, nRec)
	evs := make([]*engine.AuditEvent, nEv)
	mk := func() {
		for i := range recs {
			var data map[string]any
			if i%7 != 0 { // every seventh record has no data at all
				data = map[string]any{"name": fmt.Sprintf("客户%d", i), "level": fmt.Sprintf("L%d", i%10), "amount": float64(i) / 4,
					"tags": []any{"a", "b"}, "addr": map[string]any{"city": "上海", "zip": nil}}
			}
			status := ""
			if i%5 == 0 {
				status = engine.StatusInReview
			}
			at := benchT0.Add(time.Duration(i) * time.Second)
			if i%11 == 0 {
				at = time.Time{} // stamped by the store's clock
			}
			recs[i] = engine.RecordWrite{Op: engine.WriteCreate, Actor: fmt.Sprintf("u%d", i%3), At: at,
				Record: &engine.Record{ID: fmt.Sprintf("r%05d", i), App: "shop", Form: "customer", FormVersion: 2, Unit: "hq", Owner: "u1", Status: status, Data: data}}
		}
		for i := range evs {
			e := &engine.AuditEvent{Time: benchT0.Add(time.Duration(i)*time.Second + 1234567), Actor: fmt.Sprintf("u%d", i%13),
				Action: "view", App: "shop", Form: "customer", Object: fmt.Sprintf("r%05d", i%nRec), Result: engine.ResultOK, IP: "127.0.0.1"}
			if i%4 == 0 {
				e.Action, e.Fields = "update", []string{"level", "amount"}
			}
			if i%6 == 0 {
				e.Result, e.Reason, e.Detail = engine.ResultDenied, "scope", json.RawMessage(`{"why":"范围"}`)
			}
			evs[i] = e
		}
	}

	mk()
	// The bulk loader in uneven batches, records and events in separate calls.
	for i := 0; i < nRec; i += 150 {
		if err := bulk.BulkApply(ctx, recs[i:min(i+150, nRec)], nil); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < nEv; i += 250 {
		if err := bulk.BulkApply(ctx, nil, evs[i:min(i+250, nEv)]); err != nil {
			t.Fatal(err)
		}
	}
	mk() // fresh values: Seal wrote into the events
	for i := range recs {
		if _, err := applied.Apply(ctx, &engine.Change{Records: recs[i : i+1]}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < nEv; i += 3 {
		if _, err := applied.Apply(ctx, &engine.Change{Audit: evs[i:min(i+3, nEv)]}); err != nil {
			t.Fatal(err)
		}
	}

	for _, tb := range []struct{ name, order string }{{"records", "id"}, {"revisions", "record_id, version"}, {"audit", "seq"}, {"record_counts", "app, form, deleted"}} {
		a, err := bulk.DumpTable(ctx, tb.name, tb.order)
		if err != nil {
			t.Fatal(err)
		}
		b, err := applied.DumpTable(ctx, tb.name, tb.order)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) == 0 {
			t.Fatalf("%s: bulk load wrote nothing", tb.name)
		}
		if !slices.Equal(a, b) {
			for i := range min(len(a), len(b)) {
				if a[i] != b[i] {
					t.Fatalf("%s row %d differs:\nbulk:  %s\napply: %s", tb.name, i, a[i], b[i])
				}
			}
			t.Fatalf("%s: bulk has %d rows, Apply %d", tb.name, len(a), len(b))
		}
	}
	n, brk, err := engine.VerifyAudit(ctx, bulk)
	if err != nil || brk != nil || n != nEv {
		t.Fatalf("VerifyAudit on the bulk-loaded chain = %d, %v, %v", n, brk, err)
	}
	if err := bulk.BulkApply(ctx, []engine.RecordWrite{{Op: engine.WriteUpdate, Record: &engine.Record{ID: "r00001"}}}, nil); err == nil {
		t.Fatal("bulk loader accepted an update")
	}
}
