package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
	"formwork/engine/store/storetest"
)

// TestTextBackfill: records stored before the full-text index existed are
// indexed by backend migration 5 when the store opens.
func TestTextBackfill(t *testing.T) {
	// back to a database as it was before migration 5
	s := reopenSeeded(t, `DROP TABLE record_fts`, `DROP TABLE record_text`, `DELETE FROM schema_version WHERE version = 5`)
	storetest.WantTextFound(t, s)
}

// TestTextRebuild: a database whose full-text index was made by migration
// 5 (with positions, the unicode61 tokenizer) gets it rebuilt by migration
// 7 when the store opens, and its records are found again.
func TestTextRebuild(t *testing.T) {
	// back to the index as migration 5 left it
	s := reopenSeeded(t, `DROP TABLE record_fts`, `DROP TABLE record_text`, `DELETE FROM schema_version WHERE version IN (5, 7)`)
	var def string
	if err := s.w.QueryRowContext(context.Background(), `SELECT sql FROM sqlite_master WHERE name = 'record_fts'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "detail=none") || !strings.Contains(def, "ascii") {
		t.Fatalf("record_fts is %s, want it without positions and with the ascii tokenizer", def)
	}
	storetest.WantTextFound(t, s)
}

// reopenSeeded opens a new store with storetest.SeedTextRecords, runs
// undo on it and opens it again, so that the missing migrations run.
func reopenSeeded(t *testing.T, undo ...string) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.SeedTextRecords(t, s)
	for _, q := range undo {
		if _, err := s.w.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTextNewLetters: a letter outside the basic plane (U+30EDE, CJK
// extension G) is part of its terms, alone and in a bigram, so a search
// for it finds its record.
func TestTextNewLetters(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, n := range []string{"\U00030EDE\U00030EDE面馆", "牛肉面馆"} {
		r := &engine.Record{ID: "n" + strconv.Itoa(i), App: "a", Form: "f", Data: map[string]any{"name": n}}
		if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "u", At: time.Unix(int64(i), 0)}}}); err != nil {
			t.Fatal(err)
		}
	}
	for q, want := range map[string][]string{"\U00030EDE面": {"n0"}, "\U00030EDE": {"n0"}, "面馆": {"n0", "n1"}} {
		tx, _ := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, q)
		page, err := s.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Filter: tx, Sort: []engine.SortKey{{Field: "_id"}}})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var got []string
		for _, r := range page.Items {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("search %q finds %v, want %v", q, got, want)
		}
	}
}
