package sqlite

import (
	"context"
	"encoding/json"
	"testing"

	"formwork/engine"
)

// TestWarmReadsAcrossStores: a store whose writer is idle reads through
// the writer connection (warmReader) and still sees what another store
// on the file (another process) wrote since; while its writer is taken,
// the same reads go to the read pool and do not wait for it.
func TestWarmReadsAcrossStores(t *testing.T) {
	ctx := context.Background()
	a, b := twoStores(t)
	rec := &engine.Record{ID: "r1", App: "shop", Form: "customers", FormVersion: 1, Unit: "u", Owner: "o", Status: "active",
		CreatedAt: t0, CreatedBy: "o", UpdatedAt: t0, UpdatedBy: "o", Data: map[string]any{"name": "一"}}
	if _, err := a.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: rec, Actor: "o", At: t0}},
		Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "user", ID: "u1", Value: json.RawMessage(`{"n":1}`)}, ExpectVersion: engine.AnyVersion}}}); err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"二", "三", "四"} {
		if rc, done := a.warmReader(); rc != a.wc {
			t.Fatal("an idle writer was not used for a short read")
		} else {
			done()
		}
		next := *rec
		next.Data = map[string]any{"name": name}
		next.Version = int64(i + 1)
		if _, err := b.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: &next, ExpectVersion: int64(i + 1), Actor: "o", At: t0}},
			Docs: []engine.DocWrite{{Doc: engine.Doc{Kind: "user", ID: "u1", Value: json.RawMessage(`{"n":2}`)}, ExpectVersion: engine.AnyVersion}}}); err != nil {
			t.Fatal(err)
		}
		check := func(how string) {
			t.Helper()
			got, err := a.FindRecordByID(ctx, "shop", "customers", "r1", false)
			if err != nil || got.Data["name"] != name || got.Version != int64(i+2) {
				t.Fatalf("%s: read by id = %+v, %v; want %s at version %d", how, got, err, name, i+2)
			}
			page, err := a.FindRecords(ctx, engine.RecordQuery{App: "shop", Form: "customers"})
			if err != nil || len(page.Items) != 1 || page.Items[0].Data["name"] != name {
				t.Fatalf("%s: list = %+v, %v; want one record named %s", how, page, err, name)
			}
			v, err := a.DocVersions(ctx, []engine.DocRef{{Kind: "user", ID: "u1"}})
			if err != nil || v[0] != int64(i+2) {
				t.Fatalf("%s: doc version = %v, %v; want %d", how, v, err, i+2)
			}
		}
		check("writer idle")
		a.wmu.Lock() // a commit under way: the reads take the pool
		check("writer taken")
		a.wmu.Unlock()
	}
}
