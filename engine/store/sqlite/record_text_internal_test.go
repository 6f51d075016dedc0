package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"formwork/engine/store/storetest"
)

// TestTextBackfill: records stored before the full-text index existed are
// indexed by backend migration 5 when the store opens.
func TestTextBackfill(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	storetest.SeedTextRecords(t, s)
	// back to a database as it was before migration 5
	for _, q := range []string{`DROP TABLE record_fts`, `DROP TABLE record_text`, `DELETE FROM schema_version WHERE version = 5`} {
		if _, err := s.w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.WantTextFound(t, s)
}
