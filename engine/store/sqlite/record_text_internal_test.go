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

// TestTextNoAutomerge: a database whose full-text index still merges in
// each write's commit gets automerge turned off by migration 11 when the
// store opens.
func TestTextNoAutomerge(t *testing.T) {
	s := reopenSeeded(t, `INSERT INTO record_fts (record_fts, rank) VALUES ('automerge', 4)`, `DELETE FROM schema_version WHERE version = 11`)
	var automerge int
	if err := s.w.QueryRowContext(context.Background(), `SELECT v FROM record_fts_config WHERE k = 'automerge'`).Scan(&automerge); err != nil || automerge != 0 {
		t.Fatalf("automerge %d (%v), want 0", automerge, err)
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
	s := openTest(t)
	for i, n := range []string{"\U00030EDE\U00030EDE面馆", "牛肉面馆"} {
		r := &engine.Record{ID: "n" + strconv.Itoa(i), App: "a", Form: "f", Data: map[string]any{"name": n}}
		if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "u", At: time.Unix(int64(i), 0)}}}); err != nil {
			t.Fatal(err)
		}
	}
	wantNameSearch(t, s, map[string][]string{"\U00030EDE面": {"n0"}, "\U00030EDE": {"n0"}, "面馆": {"n0", "n1"}})
}

// TestTextBatch: in a batch of changes (group commit) the full-text writes
// are made after the last change, in order; a change refused in the batch
// leaves none of its terms, and a record written twice keeps its last.
func TestTextBatch(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	rec := func(id, name string) *engine.Record {
		return &engine.Record{ID: id, App: "a", Form: "f", Data: map[string]any{"name": name}}
	}
	write := func(op engine.WriteOp, r *engine.Record, expect int64) engine.RecordWrite {
		return engine.RecordWrite{Op: op, Record: r, ExpectVersion: expect, Actor: "u", At: time.Unix(1, 0)}
	}
	if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{write(engine.WriteCreate, rec("t1", "北京门店"), 0)}}); err != nil {
		t.Fatal(err)
	}
	job := engine.OutboxJob{ID: "j1", Type: "x", Payload: []byte(`{}`), RunAt: time.Unix(1, 0), CreatedAt: time.Unix(1, 0)}
	changes := []*engine.Change{
		{Records: []engine.RecordWrite{write(engine.WriteUpdate, rec("t1", "上海门店"), 1)}},
		{Records: []engine.RecordWrite{write(engine.WriteCreate, rec("t2", "北京总部"), 0)}, Outbox: []engine.OutboxJob{job}},
		// refused after its record and terms were written: the job is taken
		{Records: []engine.RecordWrite{write(engine.WriteCreate, rec("t3", "北京分店"), 0)}, Outbox: []engine.OutboxJob{job}},
		{Records: []engine.RecordWrite{write(engine.WriteUpdate, rec("t1", "广州门店"), 2)}},
	}
	var batch []*applyReq
	for _, c := range changes {
		batch = append(batch, &applyReq{ctx: ctx, c: c})
	}
	s.wmu.Lock()
	s.applyBatch(batch)
	s.wmu.Unlock()
	for i, r := range batch {
		if (r.err != nil) != (i == 2) {
			t.Errorf("change %d: %v", i, r.err)
		}
	}
	wantNameSearch(t, s, map[string][]string{"北京": {"t2"}, "上海": nil, "广州": {"t1"}, "门店": {"t1"}, "分店": nil})
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM record_fts`).Scan(&n); err != nil || n != 2 {
		t.Errorf("record_fts holds %d rows (%v), want 2", n, err)
	}

	// a batch none of whose changes is refused (written without savepoints)
	batch = []*applyReq{
		{ctx: ctx, c: &engine.Change{Records: []engine.RecordWrite{write(engine.WriteCreate, rec("t4", "深圳门店"), 0)}}},
		{ctx: ctx, c: &engine.Change{Records: []engine.RecordWrite{write(engine.WriteUpdate, rec("t2", "杭州总部"), 1)}}},
		{ctx: ctx, c: &engine.Change{Records: []engine.RecordWrite{write(engine.WriteUpdate, rec("t4", "深圳分店"), 1)}}},
	}
	s.wmu.Lock()
	s.applyBatch(batch)
	s.wmu.Unlock()
	for i, r := range batch {
		if r.err != nil || r.res == nil || len(r.res.Records) != 1 {
			t.Errorf("change %d: %v, %v", i, r.res, r.err)
		}
	}
	wantNameSearch(t, s, map[string][]string{"北京": nil, "杭州": {"t2"}, "深圳": {"t4"}, "门店": {"t1"}, "分店": {"t4"}})
}

// wantNameSearch checks which records of form a.f each search of the name
// field finds, by id.
func wantNameSearch(t *testing.T, s *Store, want map[string][]string) {
	t.Helper()
	for q, ids := range want {
		tx, _ := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, q)
		page, err := s.FindRecords(context.Background(), engine.RecordQuery{App: "a", Form: "f", Filter: tx, Sort: []engine.SortKey{{Field: "_id"}}})
		if err != nil {
			t.Fatalf("search %q: %v", q, err)
		}
		var got []string
		for _, r := range page.Items {
			got = append(got, r.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("search %q finds %v, want %v", q, got, ids)
		}
	}
}

// TestTextMerges: the full-text index no longer merges segments in the
// commits of its flushes (migration 11 turned automerge off), and
// mergeText, started every textMergeEvery flushes, keeps the segments
// few: after thousands of creates, each flushed by a search right after
// it (a segment each, the most a flush can make), a search still reads a
// few dozen segments at most and finds every record.
func TestTextMerges(t *testing.T) {
	ctx := context.Background()
	s, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var automerge int
	if err := s.w.QueryRowContext(ctx, `SELECT v FROM record_fts_config WHERE k = 'automerge'`).Scan(&automerge); err != nil || automerge != 0 {
		t.Fatalf("automerge %d (%v), want 0", automerge, err)
	}
	const n = 3000
	most := 0
	for i := range n {
		r := &engine.Record{ID: "m" + strconv.Itoa(i), App: "a", Form: "f", Data: map[string]any{"name": "门店" + strconv.Itoa(i)}}
		if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: "u", At: time.Unix(int64(i), 0)}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.textFresh(ctx, filter.Text{}); err != nil {
			t.Fatal(err)
		}
		if i%500 == 499 {
			s.merges.Wait()
			// each flush above made a segment; those since the last
			// merge began wait for the next
			segs, err := s.TextSegments(ctx)
			if err != nil {
				t.Fatal(err)
			}
			most = max(most, segs-s.textWrites)
		}
	}
	// without mergeText the crisis merge alone leaves 24 here (up to 31
	// a level)
	if most > 12 {
		t.Errorf("the index holds up to %d merged segments, want at most 12", most)
	}
	got, err := s.CountRecords(ctx, engine.RecordQuery{App: "a", Form: "f",
		Filter: filter.Text{Fields: []filter.Field{{Key: "name", Type: filter.TypeString}}, Grams: []string{"门店"}}})
	if err != nil || got != n {
		t.Fatalf("search found %d records (%v), want %d", got, err, n)
	}
	t.Logf("segments: up to %d", most)
}
