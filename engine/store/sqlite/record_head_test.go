package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"formwork/engine"
)

// TestRecordHead: the record writes keep each row's head (its scalar
// columns as a list reads them) equal to what the columns give; a row
// whose head is not its version's (written before migration 12, or by a
// writer that does not keep it) is read from its columns, never from a
// stale head.
func TestRecordHead(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	rec := &engine.Record{ID: "r1", App: "shop", Form: "customers", FormVersion: 3, Unit: "u", Owner: "o", Status: "active",
		CreatedAt: t0, CreatedBy: "c", UpdatedAt: t0, UpdatedBy: "c", Data: map[string]any{"name": "一"}}
	if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: rec, Actor: "c", At: t0}}}); err != nil {
		t.Fatal(err)
	}
	headMatches := func(when string) {
		t.Helper()
		var same, current bool
		if err := s.w.QueryRowContext(ctx, `SELECT head = `+listHead+`, head_v = version FROM records WHERE id = 'r1'`).Scan(&same, &current); err != nil || !same || !current {
			t.Fatalf("%s: head equals its columns: %v, is the version's: %v (%v)", when, same, current, err)
		}
	}
	headMatches("after create")
	next := *rec
	next.Version, next.Status, next.Unit, next.UpdatedBy = 2, "closed", "u2", "d"
	if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: &next, ExpectVersion: 1, Actor: "d", At: t0}}}); err != nil {
		t.Fatal(err)
	}
	headMatches("after update")
	del := next
	del.Version = 3
	if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteDelete, Record: &del, ExpectVersion: 2, Actor: "d", At: t0}}}); err != nil {
		t.Fatal(err)
	}
	headMatches("after delete")

	check := func(when, status string, version int64) {
		t.Helper()
		for _, raw := range []bool{false, true} {
			page, err := s.FindRecords(ctx, engine.RecordQuery{App: "shop", Form: "customers", Deleted: true, RawData: raw})
			if err != nil || len(page.Items) != 1 || page.Items[0].Status != status || page.Items[0].Version != version || page.Items[0].DeletedAt == nil {
				t.Fatalf("%s, raw %v: list = %+v, %v; want status %s at version %d, deleted", when, raw, page, err, status, version)
			}
		}
		got, err := s.FindRecordByID(ctx, "shop", "customers", "r1", true)
		if err != nil || got.Status != status || got.Version != version {
			t.Fatalf("%s: read by id = %+v, %v; want status %s at version %d", when, got, err, status, version)
		}
	}
	check("kept head", "closed", 3)
	// A writer that does not keep head (an older build) moves the row on.
	if _, err := s.w.ExecContext(ctx, `UPDATE records SET status = 'archived', version = version + 1 WHERE id = 'r1'`); err != nil {
		t.Fatal(err)
	}
	check("stale head", "archived", 4)
	// A row written before migration 12 has none.
	if _, err := s.w.ExecContext(ctx, `UPDATE records SET head = NULL, head_v = NULL WHERE id = 'r1'`); err != nil {
		t.Fatal(err)
	}
	check("no head", "archived", 4)
}

// TestOpenRefusesNewerSchema: a database a newer build migrated further
// is not opened (this build's writes would leave what the newer steps
// keep, such as a row's head, stale); one at this build's steps is.
func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{}); err != nil {
		t.Fatalf("reopen at this build's steps: %v", err)
	}
	if _, err := s.w.Exec(`INSERT INTO schema_version (version, applied_at) VALUES (?, '2027-01-01T00:00:00Z')`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(path, Options{}); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("open after a newer build's step: %v, want ErrNewerSchema", err)
	}
}

// TestPageSize: a database file Open creates has newPageSize pages; one
// made before with SQLite's default keeps its own and opens as before.
func TestPageSize(t *testing.T) {
	dir := t.TempDir()
	pageSize := func(s *Store) int {
		t.Helper()
		var n int
		if err := s.w.QueryRow(`PRAGMA page_size`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	s, err := Open(filepath.Join(dir, "new.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := pageSize(s); n != newPageSize {
		t.Errorf("new file's page size %d, want %d", n, newPageSize)
	}
	s.Close()
	old := filepath.Join(dir, "old.db")
	db, err := sql.Open("sqlite", "file:"+old+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE made_before (x)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if s, err = Open(old, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := pageSize(s); n != 4096 {
		t.Errorf("existing file's page size %d, want 4096 (unchanged)", n)
	}
}
