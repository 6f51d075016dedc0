package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// testListedAsRead checks that a page of records holds each record exactly
// as FindRecordByID returns it, every column included, for live and binned
// records whose text needs escaping in JSON (a backend may read a page's
// columns differently from one record's).
func testListedAsRead(t *testing.T, h Harness) {
	s := open(t, h)
	ctx := context.Background()
	odd := []string{`say "hi" \ <b>&amp;`, "tab\tnew\nline\x01", "王小明 \u2028 😀", ""}
	for i, text := range odd {
		r := newRecord("", map[string]any{"name": text, "n": float64(i) + 0.5, "tags": []any{text, nil, true}})
		r.Unit, r.Owner, r.FormVersion = text, text+"o", 3+i
		got := create(t, s, r, at(i+1))
		if i%2 == 1 {
			if _, err := write(s, engine.WriteDelete, got, 1, at(10+i)); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}
	}
	for _, deleted := range []bool{false, true} {
		page, err := s.FindRecords(ctx, engine.RecordQuery{App: testApp, Form: testForm, Deleted: deleted, Limit: 100})
		if err != nil {
			t.Fatalf("FindRecords(deleted=%v): %v", deleted, err)
		}
		if len(page.Items) != 2 {
			t.Fatalf("FindRecords(deleted=%v): %d records, want 2", deleted, len(page.Items))
		}
		for _, r := range page.Items {
			if d := cmp.Diff(find(t, s, r.ID, deleted), r); d != "" {
				t.Errorf("FindRecords(deleted=%v) item (-FindRecordByID +FindRecords):\n%s", deleted, d)
			}
		}
		// With RawData a backend may give the data as its stored text,
		// which decodes to the record's data.
		raw, err := s.FindRecords(ctx, engine.RecordQuery{App: testApp, Form: testForm, Deleted: deleted, Limit: 100, RawData: true})
		if err != nil {
			t.Fatalf("FindRecords(deleted=%v, RawData): %v", deleted, err)
		}
		if len(raw.Items) != len(page.Items) {
			t.Fatalf("FindRecords(deleted=%v, RawData): %d records, want %d", deleted, len(raw.Items), len(page.Items))
		}
		for _, r := range raw.Items {
			if r.RawData != "" {
				if r.Data != nil {
					t.Errorf("FindRecords(RawData) record %s has both Data and RawData", r.ID)
				}
				c := *r
				if err := json.Unmarshal([]byte(r.RawData), &c.Data); err != nil {
					t.Fatalf("FindRecords(RawData) record %s: %v", r.ID, err)
				}
				c.RawData = ""
				r = &c
			}
			if d := cmp.Diff(find(t, s, r.ID, deleted), r); d != "" {
				t.Errorf("FindRecords(deleted=%v, RawData) item (-FindRecordByID +FindRecords):\n%s", deleted, d)
			}
		}
	}
}
