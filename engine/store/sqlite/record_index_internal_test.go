package sqlite

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/filter"
)

// peerIndex is the FormIndex the engine makes of the peer comparison's
// customers form (server/testdata/customers.json): three indexed fields,
// a staff scope pinning store, level a choice.
var peerIndex = engine.FormIndex{App: "bench", Form: "customers", Fields: []string{"store", "level", "amount"},
	Covered: []string{"store", "level", "amount"}, Prefixes: [][]string{{"store"}}, Choices: []string{"level"}}

// rxIndexes returns the names of the field indexes there are, sorted.
func rxIndexes(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.w.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'rx\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// TestChoiceIndexPlans: with the peer form's indexes, the staff list
// (store = S1, level = gold, sorted by -amount) walks the index led by
// store, level and amount, reading from records only the rows it lists;
// the other lists of the form each walk one index in order, none sorting.
func TestChoiceIndexPlans(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	if err := s.EnsureIndexes(ctx, peerIndex); err != nil {
		t.Fatal(err)
	}
	if got := len(rxIndexes(t, s)); got != 6 {
		t.Errorf("%d field indexes, want 6 (one per field, store with level and with amount, store with level and amount)", got)
	}
	coveredPlan(t, s, indexName("bench", "customers", "@store@level@amount"))
	str := func(k, v string) filter.Expr {
		return filter.Cmp{Field: filter.Field{Key: k, Type: filter.TypeString}, Op: filter.OpEq, Value: v}
	}
	and := func(e ...filter.Expr) filter.Expr { return filter.And{Items: e} }
	byAmount := []engine.SortKey{{Field: "amount", Desc: true}}
	for _, tc := range []struct {
		name  string
		index string
		q     engine.RecordQuery
	}{
		{"scope, default order", "store", engine.RecordQuery{Filter: str("store", "S1")}},
		{"scope and choice, default order", "@store@level", engine.RecordQuery{Filter: and(str("store", "S1"), str("level", "gold"))}},
		{"scope, sort by amount", "@store@amount", engine.RecordQuery{Filter: str("store", "S1"), Sort: byAmount}},
		{"scope and choice, sort by amount ascending", "@store@level@amount", engine.RecordQuery{Filter: and(str("store", "S1"), str("level", "gold")), Sort: []engine.SortKey{{Field: "amount"}}}},
		{"choice, default order", "level", engine.RecordQuery{Filter: str("level", "gold")}},
		{"choice, sort by it", "level", engine.RecordQuery{Filter: str("level", "gold"), Sort: []engine.SortKey{{Field: "level"}}}},
		{"sort by amount", "amount", engine.RecordQuery{Sort: byAmount}},
		{"sort by level", "level", engine.RecordQuery{Sort: []engine.SortKey{{Field: "level"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.App, tc.q.Form = "bench", "customers"
			p := plan(t, s, tc.q)
			if !strings.Contains(p, "INDEX "+indexName("bench", "customers", tc.index)) || strings.Contains(p, "TEMP B-TREE") {
				t.Errorf("plan does not walk the %s index without sorting:\n%s", tc.index, p)
			}
		})
	}
}

// TestEnsureIndexesUpgrade: a database holding the indexes of the earlier
// version (a field's sort index (field, id), the scope-led ones (store,
// field, id)) gets the new set at the next EnsureIndexes, keeps the indexes
// whose columns did not change (no rebuild), and lists its records in the
// new order through them.
func TestEnsureIndexesUpgrade(t *testing.T) {
	ctx := context.Background()
	fresh := openTest(t)
	if err := fresh.EnsureIndexes(ctx, peerIndex); err != nil {
		t.Fatal(err)
	}
	want := rxIndexes(t, fresh)

	s := openTest(t)
	// the earlier version's statements for peerIndex
	scope := ` WHERE app = 'bench' AND form = 'customers'`
	x := func(k string) string { return "json_extract(data, '$." + k + "')" }
	tail := func(stem string, lead ...string) (string, string) {
		var t string
		for _, k := range peerIndex.Covered {
			if !slices.Contains(lead, k) {
				t += ", " + x(k)
			}
		}
		h := fnv.New32a()
		h.Write([]byte(t))
		return stem + fmt.Sprintf("_%08x", h.Sum32()), t
	}
	var old []string
	for _, f := range peerIndex.Fields {
		name, t := tail(indexName("bench", "customers", f), f)
		old = append(old, name+"_c ON records(app, form, deleted, "+x(f)+", created_at, id"+t+")",
			name+"_s ON records(app, form, deleted, "+x(f)+", id"+t+")")
		if f != "store" {
			name, t := tail(indexName("bench", "customers", "@store@"+f), "store", f)
			old = append(old, name+"_p ON records(app, form, deleted, "+x("store")+", "+x(f)+", id"+t+")")
		}
	}
	for _, o := range old {
		if _, err := s.w.Exec(`CREATE INDEX ` + o + scope); err != nil {
			t.Fatal(err)
		}
	}
	before := rxIndexes(t, s)
	if len(before) != 8 {
		t.Fatalf("%d indexes of the earlier version, want 8", len(before))
	}
	for i, lv := range []string{"gold", "silver", "gold", "gold"} {
		_, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, At: time.Date(2026, 1, 1, 0, 0, 4-i, 0, time.UTC),
			Record: &engine.Record{ID: fmt.Sprintf("r%d", i), App: "bench", Form: "customers", Data: map[string]any{"store": "S1", "level": lv, "amount": 5.0}}}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	kept := want[slices.IndexFunc(want, func(n string) bool { return strings.HasSuffix(n, "_c") })] // a field's own index
	var rootBefore int
	if err := s.w.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, kept).Scan(&rootBefore); err != nil {
		t.Fatalf("index %s of the earlier version: %v", kept, err)
	}
	if err := s.EnsureIndexes(ctx, peerIndex); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, rxIndexes(t, s)); d != "" {
		t.Errorf("indexes after EnsureIndexes on the earlier set (-want +got):\n%s", d)
	}
	var rootAfter int
	if err := s.w.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, kept).Scan(&rootAfter); err != nil || rootAfter != rootBefore {
		t.Errorf("index %s rebuilt (root page %d, was %d; %v)", kept, rootAfter, rootBefore, err)
	}
	str := func(k, v string) filter.Expr {
		return filter.Cmp{Field: filter.Field{Key: k, Type: filter.TypeString}, Op: filter.OpEq, Value: v}
	}
	p, err := s.FindRecords(ctx, engine.RecordQuery{App: "bench", Form: "customers", Filter: filter.And{Items: []filter.Expr{str("store", "S1"), str("level", "gold")}},
		Sort: []engine.SortKey{{Field: "amount", Desc: true}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Items {
		got = append(got, r.ID)
	}
	// equal amounts: the newest first (r0 was created last)
	if d := cmp.Diff([]string{"r0", "r2", "r3"}, got); d != "" {
		t.Errorf("staff list (-want +got):\n%s", d)
	}
}

// TestOldSortCursor: a cursor of a sort made before its ties went by
// created_at (the sort's values and the id) is refused as invalid, not
// read as a position in the new order.
func TestOldSortCursor(t *testing.T) {
	s := openTest(t)
	h := fnv.New32a()
	fmt.Fprint(h, "amount:true;_id:true") // the fingerprint of -amount then
	amount := 5.0
	old := engine.EncodeRecordCursor(h.Sum32(), []cursorValue{{F: &amount}}, "r1")
	_, err := s.FindRecords(context.Background(), engine.RecordQuery{App: "bench", Form: "customers", Sort: []engine.SortKey{{Field: "amount", Desc: true}}, Cursor: old})
	if engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("old cursor: %v, want EINVALID", err)
	}
}
