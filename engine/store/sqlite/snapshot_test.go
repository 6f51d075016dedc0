package sqlite

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"formwork/engine"
)

// TestSnapshotBesideWrites: a backup's copy neither waits for a write
// under way nor holds up the writer: it is taken while a write
// transaction holds the writer connection, and holds what was committed.
func TestSnapshotBesideWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "fw.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Apply(ctx, &engine.Change{Docs: []engine.DocWrite{
		{Doc: engine.Doc{Kind: "user", ID: "u1", Value: json.RawMessage(`{"n":1}`)}, ExpectVersion: engine.AnyVersion},
	}}); err != nil {
		t.Fatal(err)
	}
	tx, err := s.w.BeginTx(ctx, nil) // a write under way on the writer connection
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM docs`); err != nil {
		t.Fatal(err)
	}
	tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := s.Snapshot(tctx, path); err != nil {
		t.Fatalf("Snapshot beside a write under way: %v", err)
	}
	tx.Rollback()
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if d, err := c.FindDoc(ctx, "user", "u1"); err != nil || string(d.Value) != `{"n":1}` {
		t.Fatalf("the copy's doc = %+v, %v; want the committed one", d, err)
	}
}
