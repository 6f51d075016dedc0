package storetest

import (
	"slices"
	"testing"

	"formwork/engine"
	"formwork/engine/filter"

	"github.com/google/go-cmp/cmp"
)

// testTextSearch checks the full-text index (filter.Text): Chinese and
// Latin text found by a piece of it, per field, kept up to date by create,
// update, delete, restore and purge, never over ciphertext, and the same
// answers as filter.Match gives in memory.
func testTextSearch(t *testing.T, h Harness) {
	s := open(t, h)
	fTitle := filter.Field{Key: "title", Type: filter.TypeString}
	recs := []*engine.Record{
		newRecord("t1", map[string]any{"name": "张伟", "title": "北京朝阳门店经理", "note": "VIP customer"}),
		newRecord("t2", map[string]any{"name": "王伟明", "title": "上海销售顾问", "note": "Call back 13800138000"}),
		newRecord("t3", map[string]any{"name": "Alice Zhang", "title": "店长", "note": "会员 北京"}),
		newRecord("t4", map[string]any{"name": "李娜", "secret": "fwenc1:AAAA北京BBBB", "BI_secret": "北京", "_x": "北京"}),
		newRecord("t5", map[string]any{"name": "赵六", "title": "ＶＩＰ 专员"}), // full-width letters fold to half-width
	}
	for i, r := range recs {
		create(t, s, r, at(i+1))
	}
	search := func(q string, fields ...filter.Field) []string {
		t.Helper()
		tx, ok := filter.NewText(fields, q)
		if !ok {
			t.Fatalf("NewText(%q): no terms", q)
		}
		got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Filter: tx, Sort: []engine.SortKey{{Field: "_id"}}})
		// the stores answer what filter.Match answers in memory (which
		// knows nothing of ciphertext: the engine never searches it)
		if slices.ContainsFunc(fields, func(f filter.Field) bool { return f.Key == "secret" }) {
			return got
		}
		var want []string
		for _, r := range recs {
			cur, err := s.FindRecordByID(t.Context(), testApp, testForm, r.ID, false)
			if err != nil {
				continue
			}
			if filter.Match(tx, func(f filter.Field) any { return cur.Data[f.Key] }) {
				want = append(want, r.ID)
			}
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b []string) bool { return slices.Equal(a, b) })); diff != "" && !(len(want) == 0 && len(got) == 0) {
			t.Errorf("search %q: store and filter.Match disagree (-match +store):\n%s", q, diff)
		}
		return got
	}
	fSecret := filter.Field{Key: "secret", Type: filter.TypeString}
	fX := filter.Field{Key: "x", Type: filter.TypeString}
	cases := []struct {
		q      string
		fields []filter.Field
		want   []string
	}{
		{"北京", []filter.Field{fName, fTitle, fNote}, ids("t1", "t3")},
		{"北京", []filter.Field{fTitle}, ids("t1")},               // only the fields asked for
		{"朝阳门店", []filter.Field{fTitle}, ids("t1")},             // several bigrams, all in one field
		{"北京 经理", []filter.Field{fTitle}, ids("t1")},            // several words
		{"北京经理", []filter.Field{fTitle}, nil},                   // 京经 is not in it
		{"伟", []filter.Field{fName}, ids("t1", "t2")},           // one character: at the end of 张伟 and inside 王伟明
		{"vip", []filter.Field{fNote, fTitle}, ids("t1", "t5")}, // case and width folded
		{"0013800", []filter.Field{fNote}, ids("t2")},           // digits inside a number
		{"zhang", []filter.Field{fName}, ids("t3")},
		{"北京", []filter.Field{fSecret, fX}, nil}, // ciphertext, blind indexes and system keys are never indexed
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, search(c.q, c.fields...)); diff != "" {
			t.Errorf("search %q over %v (-want +got):\n%s", c.q, c.fields, diff)
		}
	}

	// update renews the terms
	t1 := find(t, s, "t1", false)
	t1.Data["title"] = "广州天河门店"
	if _, err := write(s, engine.WriteUpdate, t1, 1, at(20)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids("t3"), search("北京", fName, fTitle, fNote)); diff != "" {
		t.Errorf("after update, 北京 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(ids("t1"), search("天河", fTitle)); diff != "" {
		t.Errorf("after update, 天河 (-want +got):\n%s", diff)
	}
	// delete: out of the live list, found in the bin; restore brings it back
	if _, err := write(s, engine.WriteDelete, find(t, s, "t1", false), 2, at(21)); err != nil {
		t.Fatal(err)
	}
	tx, _ := filter.NewText([]filter.Field{fTitle}, "天河")
	if got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Filter: tx}); len(got) != 0 {
		t.Errorf("deleted record still found: %v", got)
	}
	if got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Filter: tx, Deleted: true}); !slices.Equal(got, ids("t1")) {
		t.Errorf("bin search = %v, want [t1]", got)
	}
	binned := find(t, s, "t1", true)
	binned.Data["title"] = "深圳南山"
	if _, err := write(s, engine.WriteRestore, binned, 3, at(22)); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ids("t1"), search("南山", fTitle)); diff != "" {
		t.Errorf("after restore (-want +got):\n%s", diff)
	}
	// purge removes the terms with the record
	if _, err := write(s, engine.WritePurge, find(t, s, "t1", false), 4, at(23)); err != nil {
		t.Fatal(err)
	}
	if got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Filter: tx, Deleted: true}); len(got) != 0 {
		t.Errorf("purged record still found: %v", got)
	}
	// a search combines with other conditions and counts
	tx, _ = filter.NewText([]filter.Field{fName}, "伟")
	both := filter.And{Items: []filter.Expr{tx, eq(fID, "t2")}}
	if n, err := s.CountRecords(t.Context(), engine.RecordQuery{App: testApp, Form: testForm, Filter: both}); err != nil || n != 1 {
		t.Errorf("CountRecords(伟 and t2) = %d, %v; want 1", n, err)
	}
}

// SeedTextRecords writes three records of app "a", form "f" for a
// backend's own test that its text index is rebuilt for records stored
// before it existed: write them, take the terms away as an old database
// lacks them, reopen, then WantTextFound.
func SeedTextRecords(tb testing.TB, s engine.Store) {
	tb.Helper()
	for i, n := range []string{"北京门店", "上海门店", "北京总部"} {
		r := &engine.Record{ID: "b" + string(rune('1'+i)), App: "a", Form: "f", Data: map[string]any{"name": n}}
		mustApply(tb, s, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "u", At: at(i)}}})
	}
}

// WantTextFound checks that a search finds the SeedTextRecords it should.
func WantTextFound(tb testing.TB, s engine.Store) {
	tb.Helper()
	tx, _ := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, "北京")
	got := pageIDs(tb, s, engine.RecordQuery{App: "a", Form: "f", Filter: tx, Sort: []engine.SortKey{{Field: "_id"}}})
	if !slices.Equal(got, []string{"b1", "b3"}) {
		tb.Errorf("after the backfill, 北京 finds %v, want [b1 b3]", got)
	}
}
