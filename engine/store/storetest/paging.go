package storetest

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"

	"formwork/engine"
	"formwork/engine/filter"

	"github.com/google/go-cmp/cmp"
)

func testSortPaging(t *testing.T, h Harness) {
	s := open(t, h)
	// 57 records: score has duplicates and is missing on every 7th; created_at
	// has ties (three records per minute).
	type row struct {
		id    string
		score *float64
	}
	var rows []row
	for i := range 57 {
		id := fmt.Sprintf("p%02d", i)
		data := map[string]any{"label": fmt.Sprintf("标签%d", i%10)}
		r := row{id: id}
		if i%7 != 3 {
			v := float64((i * 37) % 11)
			data["score"] = v
			r.score = &v
		}
		rows = append(rows, r)
		create(t, s, newRecord(id, data), at(i/3))
	}
	less := func(a, b row) bool { // ascending: missing first, then by value, ties by id
		switch {
		case a.score == nil && b.score != nil:
			return true
		case a.score != nil && b.score == nil:
			return false
		case a.score != nil && *a.score != *b.score:
			return *a.score < *b.score
		}
		return a.id < b.id
	}
	asc := append([]row(nil), rows...)
	sort.Slice(asc, func(i, j int) bool { return less(asc[i], asc[j]) })
	var wantAsc, wantDesc []string
	for _, r := range asc {
		wantAsc = append(wantAsc, r.id)
	}
	for i := len(wantAsc) - 1; i >= 0; i-- {
		wantDesc = append(wantDesc, wantAsc[i])
	}
	// Default order: _created_at desc, then id desc.
	byCreated := append([]string(nil), wantAsc...)
	sort.Slice(byCreated, func(i, j int) bool {
		a, b := byCreated[i], byCreated[j]
		var ia, ib int
		fmt.Sscanf(a, "p%d", &ia)
		fmt.Sscanf(b, "p%d", &ib)
		if ia/3 != ib/3 {
			return ia/3 > ib/3
		}
		return a > b
	})
	for _, tc := range []struct {
		name string
		sort []engine.SortKey
		want []string
	}{
		{"default", nil, byCreated},
		{"score asc", []engine.SortKey{{Field: "score"}}, wantAsc},
		{"score desc", []engine.SortKey{{Field: "score", Desc: true}}, wantDesc},
		{"_id asc", []engine.SortKey{{Field: "_id"}}, sortedIDs(wantAsc, false)},
		{"_id desc", []engine.SortKey{{Field: "_id", Desc: true}}, sortedIDs(wantAsc, true)},
	} {
		for _, limit := range []int{1, 4, 10, 57, 100} {
			t.Run(fmt.Sprintf("%s/limit %d", tc.name, limit), func(t *testing.T) {
				got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Sort: tc.sort, Limit: limit})
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("order across pages (-want +got):\n%s", d)
				}
			})
		}
	}
	// Sorting by a string field with a filter: every record once.
	t.Run("label asc filtered", func(t *testing.T) {
		got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Limit: 5,
			Sort:   []engine.SortKey{{Field: "label"}, {Field: "score", Desc: true}},
			Filter: filter.Cmp{Field: filter.Field{Key: "score", Type: filter.TypeNumber}, Op: filter.OpGte, Value: 5.0}})
		want := 0
		for _, r := range rows {
			if r.score != nil && *r.score >= 5 {
				want++
			}
		}
		if len(got) != want || len(uniq(got)) != want {
			t.Errorf("%d ids (%d distinct), want %d distinct", len(got), len(uniq(got)), want)
		}
	})
	t.Run("default and max limit", func(t *testing.T) {
		p, err := s.FindRecords(context.Background(), engine.RecordQuery{App: testApp, Form: testForm})
		if err != nil || len(p.Items) != 50 || p.NextCursor == "" {
			t.Errorf("default limit: %d items, cursor %q, %v; want 50 and a cursor", len(p.Items), p.NextCursor, err)
		}
		p, err = s.FindRecords(context.Background(), engine.RecordQuery{App: testApp, Form: testForm, Limit: 100000})
		if err != nil || len(p.Items) != 57 || p.NextCursor != "" {
			t.Errorf("huge limit: %d items, cursor %q, %v; want all 57 and no cursor", len(p.Items), p.NextCursor, err)
		}
	})
}

// testSortTies: records with equal sort values come in the order of their
// creation, then of their ids, in the direction of the last sort key that
// the filter does not pin to one value —
// across pages too, so the cursor carries the creation time — unless the
// sort names _id itself. The ids run against the creation order here.
func testSortTies(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	// the indexes a form with these fields gets, so both a store's index
	// walks and its sorts are checked
	if err := s.EnsureIndexes(ctx, engine.FormIndex{App: testApp, Form: testForm, Fields: []string{"score", "label"},
		Covered: []string{"label", "score"}, Prefixes: [][]string{{"label"}}, Choices: []string{"label"}}); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		id    string
		score any
		at    int
	}{{"t1", 5.0, 3}, {"t2", 5.0, 1}, {"t3", 5.0, 2}, {"t4", 5.0, 1}, {"t5", 5.0, 0}, {"u1", 1.0, 9}, {"u2", 9.0, 0}, {"m1", nil, 5}, {"m2", nil, 4}} {
		data := map[string]any{"label": "x"}
		if r.score != nil {
			data["score"] = r.score
		}
		create(t, s, newRecord(r.id, data), at(r.at))
	}
	asc := []string{"m2", "m1", "u1", "t5", "t2", "t4", "t3", "t1", "u2"}
	reversed := func(ids []string) []string {
		out := slices.Clone(ids)
		slices.Reverse(out)
		return out
	}
	desc := reversed(asc)
	byCreated := []string{"t5", "u2", "t2", "t4", "t3", "t1", "m2", "m1", "u1"}
	score := filter.Field{Key: "score", Type: filter.TypeNumber}
	label := filter.Field{Key: "label", Type: filter.TypeString}
	fives := filter.Cmp{Field: score, Op: filter.OpEq, Value: 5.0}
	for _, tc := range []struct {
		name   string
		filter filter.Expr
		sort   []engine.SortKey
		want   []string
	}{
		{"score asc", nil, []engine.SortKey{{Field: "score"}}, asc},
		{"score desc", nil, []engine.SortKey{{Field: "score", Desc: true}}, desc},
		{"label asc then score desc", nil, []engine.SortKey{{Field: "label"}, {Field: "score", Desc: true}}, desc},
		{"label desc then score asc", nil, []engine.SortKey{{Field: "label", Desc: true}, {Field: "score"}}, asc},
		{"_status asc", nil, []engine.SortKey{{Field: "_status"}}, byCreated},
		{"_updated_at desc", nil, []engine.SortKey{{Field: "_updated_at", Desc: true}}, reversed(byCreated)},
		{"score asc then _id", nil, []engine.SortKey{{Field: "score"}, {Field: "_id"}}, []string{"m1", "m2", "u1", "t1", "t2", "t3", "t4", "t5", "u2"}},
		{"score = 5, sort by score desc", fives, []engine.SortKey{{Field: "score", Desc: true}}, []string{"t1", "t3", "t4", "t2", "t5"}},
		{"label = x, score = 5, default order", filter.And{Items: []filter.Expr{filter.Cmp{Field: label, Op: filter.OpEq, Value: "x"}, fives}}, nil, []string{"t1", "t3", "t4", "t2", "t5"}},
		{"label = x, sort by score asc", filter.Cmp{Field: label, Op: filter.OpEq, Value: "x"}, []engine.SortKey{{Field: "score"}}, asc},
		// ties go the way of the last key the filter does not pin
		{"label = x, sort by score asc then label desc", filter.Cmp{Field: label, Op: filter.OpEq, Value: "x"}, []engine.SortKey{{Field: "score"}, {Field: "label", Desc: true}}, asc},
	} {
		for _, limit := range []int{1, 2, 100} {
			t.Run(fmt.Sprintf("%s/limit %d", tc.name, limit), func(t *testing.T) {
				got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Filter: tc.filter, Sort: tc.sort, Limit: limit})
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("order across pages (-want +got):\n%s", d)
				}
			})
		}
	}
}

func sortedIDs(ids []string, desc bool) []string {
	out := append([]string(nil), ids...)
	sort.Strings(out)
	if desc {
		sort.Sort(sort.Reverse(sort.StringSlice(out)))
	}
	return out
}

func uniq(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func testPagingConcurrentInserts(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	var orig []string
	for i := range 40 {
		id := fmt.Sprintf("o%02d", i)
		orig = append(orig, id)
		create(t, s, newRecord(id, map[string]any{"rank": float64(i % 6)}), at(i))
	}
	for _, tc := range []struct {
		name string
		sort []engine.SortKey
	}{
		{"newest first", nil},
		{"by rank", []engine.SortKey{{Field: "rank"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[string]int{}
			q := engine.RecordQuery{App: testApp, Form: testForm, Sort: tc.sort, Limit: 7}
			for page := 0; ; page++ {
				p, err := s.FindRecords(ctx, q)
				if err != nil {
					t.Fatalf("page %d: %v", page, err)
				}
				for _, r := range p.Items {
					seen[r.ID]++
				}
				if p.NextCursor == "" {
					break
				}
				// Others insert between our pages: newer records, and records
				// whose rank sorts anywhere.
				for k := range 3 {
					create(t, s, newRecord(fmt.Sprintf("%s-new-%d-%d", tc.name, page, k), map[string]any{"rank": float64(k * 2)}), at(100+page))
				}
				q.Cursor = p.NextCursor
			}
			for id, n := range seen {
				if n > 1 {
					t.Errorf("%s seen %d times", id, n)
				}
			}
			for _, id := range orig {
				if seen[id] != 1 {
					t.Errorf("%s (there before paging began) seen %d times, want once", id, seen[id])
				}
			}
		})
	}
}

func testUnicode(t *testing.T, h Harness) {
	s := open(t, h)
	texts := []string{"张三丰", "客户备注：今天下午三点到店，试驾车型为「汉 EV」", "emoji 🚗💨👍🏽", "混合 mixed ½ ß ﬁ", "\u200b零宽", "tab\tnewline\nquote\"back\\slash"}
	data := map[string]any{"texts": []any{}, "name": texts[0]}
	for i, s := range texts {
		data[fmt.Sprintf("t%d", i)] = s
		data["texts"] = append(data["texts"].([]any), s)
	}
	r := newRecord("uni", data)
	r.Unit, r.Owner = "华东区", "用户一"
	create(t, s, r, at(1))
	got := find(t, s, "uni", false)
	if d := cmp.Diff(data, got.Data); d != "" {
		t.Errorf("data round trip (-want +got):\n%s", d)
	}
	if got.Unit != "华东区" || got.Owner != "用户一" {
		t.Errorf("unit/owner round trip: %q %q", got.Unit, got.Owner)
	}
	for i, txt := range texts {
		ids := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Filter: eq(filter.Field{Key: fmt.Sprintf("t%d", i), Type: filter.TypeString}, txt)})
		if !cmp.Equal(ids, []string{"uni"}) {
			t.Errorf("filter $eq %q found %v", txt, ids)
		}
	}
	ids := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Filter: eq(fUnit, "华东区")})
	if !cmp.Equal(ids, []string{"uni"}) {
		t.Errorf("filter _unit found %v", ids)
	}
	e := ev("用户一", "export", "uni", at(2))
	e.Reason = "导出 🚗"
	mustApply(t, s, &engine.Change{Audit: []*engine.AuditEvent{e}})
	verify(t, s, 1)
	evs := walk(t, s)
	if evs[0].Reason != "导出 🚗" || evs[0].Actor != "用户一" {
		t.Errorf("audit round trip: %+v", evs[0])
	}
}

func testIndexes(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	ix := engine.FormIndex{App: testApp, Form: testForm, Fields: []string{"phone", "level"}}
	for i := range 3 {
		if err := s.EnsureIndexes(ctx, ix); err != nil {
			t.Fatalf("EnsureIndexes call %d: %v", i+1, err)
		}
	}
	if err := s.EnsureIndexes(ctx, engine.FormIndex{App: testApp, Form: "other"}); err != nil {
		t.Fatalf("EnsureIndexes without fields: %v", err)
	}
	// other forms, of this app and another, index a field of the same name
	for _, other := range []engine.FormIndex{{App: testApp, Form: "second", Fields: []string{"phone"}}, {App: "other_app", Form: testForm, Fields: []string{"level", "phone"}}} {
		if err := s.EnsureIndexes(ctx, other); err != nil {
			t.Fatalf("EnsureIndexes of %s.%s, a field another form indexes too: %v", other.App, other.Form, err)
		}
	}
	for i := range 20 {
		create(t, s, newRecord(fmt.Sprintf("i%02d", i), map[string]any{"phone": fmt.Sprintf("1380000%04d", i%4), "level": []string{"vip", "normal"}[i%2]}), at(i))
	}
	got := pageIDs(t, s, engine.RecordQuery{App: testApp, Form: testForm, Limit: 2,
		Filter: eq(filter.Field{Key: "phone", Type: filter.TypeString}, "13800000001"),
		Sort:   []engine.SortKey{{Field: "level"}}})
	want := []string{"i01", "i05", "i09", "i13", "i17"}
	sort.Strings(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("indexed filter (-want +got):\n%s", d)
	}
	n, err := s.CountRecords(ctx, engine.RecordQuery{App: testApp, Form: testForm, Filter: eq(filter.Field{Key: "level", Type: filter.TypeString}, "vip")})
	if err != nil || n != 10 {
		t.Errorf("CountRecords(level=vip) = %d, %v; want 10", n, err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
