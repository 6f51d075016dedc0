package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
)

// TestTextBackfill: records stored before the full-text index existed are
// indexed by backend migration 4 when the store opens.
func TestTextBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"北京门店", "上海门店", "北京总部"} {
		r := &engine.Record{ID: "b" + string(rune('1'+i)), App: "a", Form: "f", Data: map[string]any{"name": name}}
		if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "u", At: time.Now()}}}); err != nil {
			t.Fatal(err)
		}
	}
	// back to a database as it was before migration 4
	for _, q := range []string{`DROP TABLE record_fts`, `DROP TABLE record_text`, `DELETE FROM schema_version WHERE version = 4`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tx, _ := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, "北京")
	p, err := s.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Filter: tx, Sort: []engine.SortKey{{Field: "_id"}}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range p.Items {
		got = append(got, r.ID)
	}
	if !slices.Equal(got, []string{"b1", "b3"}) {
		t.Errorf("after the migration, 北京 finds %v, want [b1 b3]", got)
	}
}
