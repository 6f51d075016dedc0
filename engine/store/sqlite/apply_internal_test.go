package sqlite

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// TestCreateRevisionChanges: a create's revision is stored without its
// changes and read with them made from its data, as a revision stored
// with them (before this was so) is read.
func TestCreateRevisionChanges(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	data := map[string]any{"name": "张伟", "amount": 12.5, "tags": []any{"a", "b"}}
	r := &engine.Record{ID: "r1", App: "a", Form: "f", Data: data}
	if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "u", At: time.Unix(1, 0)}}}); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := s.w.QueryRowContext(ctx, `SELECT changes FROM revisions WHERE record_id = 'r1'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != "" {
		t.Errorf("a create's revision stores changes %s, want none", stored)
	}
	want := engine.DiffData(nil, map[string]any{"name": "张伟", "amount": 12.5, "tags": []any{"a", "b"}})
	old, _ := json.Marshal(want)
	for _, ch := range []string{"", string(old)} {
		if _, err := s.w.ExecContext(ctx, `UPDATE revisions SET changes = ? WHERE record_id = 'r1'`, ch); err != nil {
			t.Fatal(err)
		}
		revs, err := s.FindRevisions(ctx, "a", "f", "r1")
		if err != nil || len(revs) != 1 {
			t.Fatalf("FindRevisions: %d revisions, %v", len(revs), err)
		}
		if d := cmp.Diff(want, revs[0].Changes); d != "" {
			t.Errorf("changes stored as %q (-want +got):\n%s", ch, d)
		}
	}
}

// TestRecordCountsWithoutTriggers: migration 8 leaves no trigger on
// records for record_counts, and the record writes keep the counts.
func TestRecordCountsWithoutTriggers(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'records'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d triggers on records (%v), want none", n, err)
	}
	for _, id := range []string{"c1", "c2", "c3"} {
		r := &engine.Record{ID: id, App: "a", Form: "f", Data: map[string]any{}}
		if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "u", At: time.Unix(1, 0)}}}); err != nil {
			t.Fatal(err)
		}
	}
	del := &engine.Record{ID: "c2", App: "a", Form: "f", Data: map[string]any{}}
	if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteDelete, Record: del, ExpectVersion: 1, Actor: "u", At: time.Unix(2, 0)}}}); err != nil {
		t.Fatal(err)
	}
	got := map[int]int{}
	rows, err := s.w.QueryContext(ctx, `SELECT deleted, n FROM record_counts WHERE app = 'a' AND form = 'f'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d, c int
		if err := rows.Scan(&d, &c); err != nil {
			t.Fatal(err)
		}
		got[d] = c
	}
	rows.Close()
	if d := cmp.Diff(map[int]int{0: 2, 1: 1}, got); d != "" {
		t.Errorf("record_counts (-want +got):\n%s", d)
	}
}
