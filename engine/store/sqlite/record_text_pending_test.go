package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
)

// The full-text index is written by a flush of its own (text_pending,
// flushTextNow), not in the record's transaction. These tests hold the
// background flush back (holdTextFlush) so that each search finds records
// still pending: a search that did not flush them first would miss them.

// holdTextFlush makes s's background flush wait an hour rather than
// textFlushDelay (it still runs when woken: textFlushEvery records, Close).
func holdTextFlush(s *Store) { s.HoldTextFlush() }

// HoldTextFlush is holdTextFlush, for the benchmarks outside the package.
func (s *Store) HoldTextFlush() {
	s.wmu.Lock()
	s.txt.delay = time.Hour
	s.wmu.Unlock()
}

// textPending returns the number of records s's file has pending.
func textPending(t testing.TB, s *Store) int {
	t.Helper()
	return countRows(t, s, "text_pending")
}

// ftsRows returns the number of rows of record_fts.
func ftsRows(t testing.TB, s *Store) int {
	t.Helper()
	return countRows(t, s, "record_fts")
}

func countRows(t testing.TB, s *Store, table string) int {
	t.Helper()
	var n int
	if err := s.w.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// writeName creates (expect 0), updates, deletes or purges record id of
// form a.f with data {"name": name}.
func writeName(t testing.TB, s *Store, op engine.WriteOp, id, name string, expect int64) {
	t.Helper()
	r := &engine.Record{ID: id, App: "a", Form: "f", Data: map[string]any{"name": name}}
	_, err := s.Apply(context.Background(), &engine.Change{Records: []engine.RecordWrite{{Op: op, Record: r, ExpectVersion: expect, Actor: "u", At: time.Unix(1, 0)}}})
	if err != nil {
		t.Fatalf("%s %s: %v", op, id, err)
	}
}

// TestTextPendingReadYourWrites: a create is found by the search right
// after it, by the store that wrote it and by another store on the same
// file (another process), though no background flush has run: the search
// indexes the pending records first.
func TestTextPendingReadYourWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	a, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	holdTextFlush(a)
	holdTextFlush(b)

	writeName(t, a, engine.WriteCreate, "r1", "北京门店", 0)
	if n := textPending(t, a); n != 1 {
		t.Fatalf("%d records pending after the create, want 1 (the index is written in the record's commit?)", n)
	}
	if n := ftsRows(t, a); n != 0 {
		t.Fatalf("the index holds %d rows before any flush, want 0", n)
	}
	wantNameSearch(t, a, map[string][]string{"北京": {"r1"}})
	if n := textPending(t, a); n != 0 {
		t.Errorf("%d records pending after a search, want 0", n)
	}

	// written by one process, searched by the other, both ways
	writeName(t, a, engine.WriteCreate, "r2", "上海门店", 0)
	wantNameSearch(t, b, map[string][]string{"上海": {"r2"}, "门店": {"r1", "r2"}})
	writeName(t, b, engine.WriteCreate, "r3", "广州门店", 0)
	wantNameSearch(t, a, map[string][]string{"广州": {"r3"}, "门店": {"r1", "r2", "r3"}})

	// a count, a text search inside an OR (not one fewTextMatches
	// counts), and a grouping read the index too
	writeName(t, a, engine.WriteCreate, "r4", "深圳门店", 0)
	name := []filter.Field{{Key: "name", Type: filter.TypeString}}
	sz, _ := filter.NewText(name, "深圳")
	if n, err := b.CountRecords(context.Background(), engine.RecordQuery{App: "a", Form: "f", Filter: sz}); err != nil || n != 1 {
		t.Errorf("count of 深圳: %d (%v), want 1", n, err)
	}
	writeName(t, a, engine.WriteCreate, "r5", "杭州门店", 0)
	hz, _ := filter.NewText(name, "杭州")
	or := filter.Or{Items: []filter.Expr{hz, filter.Cmp{Field: filter.Field{Key: "name", Type: filter.TypeString}, Op: filter.OpEq, Value: "none"}}}
	p, err := b.FindRecords(context.Background(), engine.RecordQuery{App: "a", Form: "f", Filter: or})
	if err != nil || len(p.Items) != 1 || p.Items[0].ID != "r5" {
		t.Errorf("search of 杭州 in an OR: %v (%v), want r5", p, err)
	}
	writeName(t, a, engine.WriteCreate, "r6", "成都门店", 0)
	cd, _ := filter.NewText(name, "成都")
	rows, err := b.GroupRecords(context.Background(), engine.GroupQuery{App: "a", Form: "f", Filter: cd})
	if err != nil || len(rows) != 1 || rows[0].Count != 1 {
		t.Errorf("group of 成都: %v (%v), want one group of 1", rows, err)
	}
}

// TestTextPendingRenews: the flush indexes each pending record as it is
// now: new terms in, old ones out; a purged record's terms and text row
// gone; several updates of a record before a flush one row, one segment.
func TestTextPendingRenews(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	holdTextFlush(s)
	writeName(t, s, engine.WriteCreate, "r1", "北京门店", 0)
	writeName(t, s, engine.WriteCreate, "r2", "上海分店", 0)
	wantNameSearch(t, s, map[string][]string{"北京": {"r1"}, "门店": {"r1"}, "分店": {"r2"}})

	writeName(t, s, engine.WriteUpdate, "r1", "广州总部", 1)
	wantNameSearch(t, s, map[string][]string{"北京": nil, "门店": nil, "广州": {"r1"}, "总部": {"r1"}})

	// ten updates, then one flush: one row for r1, its last terms, and
	// one new segment
	segs, err := s.TextSegments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for v := range 10 {
		writeName(t, s, engine.WriteUpdate, "r1", "深圳"+strconv.Itoa(v), int64(2+v))
	}
	if n := textPending(t, s); n != 1 {
		t.Errorf("%d records pending after ten updates of one, want 1", n)
	}
	wantNameSearch(t, s, map[string][]string{"广州": nil, "深圳": {"r1"}, "深圳9": {"r1"}, "深圳8": nil})
	if n := ftsRows(t, s); n != 2 {
		t.Errorf("the index holds %d rows, want 2", n)
	}
	if now, err := s.TextSegments(ctx); err != nil || now != segs+1 {
		t.Errorf("the index has %d segments after the flush (%v), want %d", now, err, segs+1)
	}

	// an update that leaves the terms as they are marks nothing
	r := &engine.Record{ID: "r1", App: "a", Form: "f", Status: "done", Data: map[string]any{"name": "深圳9"}}
	if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteUpdate, Record: r, ExpectVersion: 12, Actor: "u", At: time.Unix(1, 0)}}}); err != nil {
		t.Fatal(err)
	}
	if n := textPending(t, s); n != 0 {
		t.Errorf("%d records pending after an update of the status alone, want 0", n)
	}

	// binned: still indexed, as before; a search of the live records
	// leaves it out, one of the bin finds it
	writeName(t, s, engine.WriteDelete, "r2", "上海分店", 1)
	wantNameSearch(t, s, map[string][]string{"分店": nil})
	fd, _ := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, "分店")
	if p, err := s.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Deleted: true, Filter: fd}); err != nil || len(p.Items) != 1 {
		t.Errorf("search of the bin: %v (%v), want r2", p, err)
	}
	// purged: its terms and its text row go
	writeName(t, s, engine.WritePurge, "r2", "", 2)
	if n := textPending(t, s); n != 1 {
		t.Errorf("%d records pending after a purge, want 1", n)
	}
	if p, err := s.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Deleted: true, Filter: fd}); err != nil || len(p.Items) != 0 {
		t.Errorf("search of the bin after the purge: %v (%v), want nothing", p, err)
	}
	var rowsLeft int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM record_text WHERE id = 'r2'`).Scan(&rowsLeft); err != nil || rowsLeft != 0 {
		t.Errorf("record_text keeps %d rows of the purged record (%v), want 0", rowsLeft, err)
	}
	if n := ftsRows(t, s); n != 1 {
		t.Errorf("the index holds %d rows after the purge, want 1", n)
	}

	// created, then purged before any flush: nothing indexed
	writeName(t, s, engine.WriteCreate, "r3", "重庆门店", 0)
	writeName(t, s, engine.WritePurge, "r3", "", 1)
	wantNameSearch(t, s, map[string][]string{"重庆": nil})
	if n := ftsRows(t, s); n != 1 {
		t.Errorf("the index holds %d rows, want 1", n)
	}
}

// TestTextPendingSameRows: records written through Apply and flushed
// leave record_text and record_fts as indexing each in its own write
// (indexText, as before the flush existed) leaves them.
func TestTextPendingSameRows(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	ref := openTest(t)
	holdTextFlush(s)
	names := []string{"北京门店", "", "上海分店", "Café 42 号", "北京总部"}
	for i, n := range names {
		id := "r" + strconv.Itoa(i)
		writeName(t, s, engine.WriteCreate, id, n, 0)
		err := ref.tx(ctx, func(tx *sql.Tx) error {
			return ref.indexText(ctx, tx, id, map[string]any{"name": n})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.textFresh(ctx, filter.Text{}); err != nil {
		t.Fatal(err)
	}
	dump := func(st *Store) string {
		var out string
		rows, err := st.w.QueryContext(ctx, `SELECT t.tid, t.id, d.sz FROM record_text t LEFT JOIN record_fts_docsize d ON d.id = t.tid ORDER BY t.tid`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var tid int64
			var id string
			var sz []byte
			if err := rows.Scan(&tid, &id, &sz); err != nil {
				t.Fatal(err)
			}
			out += fmt.Sprintf("%d %s %x\n", tid, id, sz)
		}
		return out
	}
	if got, want := dump(s), dump(ref); got != want {
		t.Errorf("text rows after the flush:\n%s\nwant, as indexed in each write:\n%s", got, want)
	}
	for _, q := range []string{"北京", "门店", "café", "42", "号"} {
		tx, _ := filter.NewText([]filter.Field{{Key: "name", Type: filter.TypeString}}, q)
		var got, want int
		m := textMatch(tx)
		if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM record_fts WHERE record_fts MATCH ?`, m).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if err := ref.w.QueryRowContext(ctx, `SELECT count(*) FROM record_fts WHERE record_fts MATCH ?`, m).Scan(&want); err != nil {
			t.Fatal(err)
		}
		if got != want || got == 0 {
			t.Errorf("%q matches %d rows, %d when indexed in each write", q, got, want)
		}
	}
}

// TestTextPendingCrash: records committed while their index write was
// still pending, as a crash leaves the file (a copy of the database and
// its WAL taken with no write under way), are found after the reopen:
// the pending ids were committed with them.
func TestTextPendingCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	holdTextFlush(s)
	for i := range 5 {
		writeName(t, s, engine.WriteCreate, "r"+strconv.Itoa(i), "门店"+strconv.Itoa(i), 0)
	}
	// the writer held: no flush, no write while the files are copied
	crashed := filepath.Join(dir, "crashed.db")
	s.wmu.Lock()
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, path+suffix, crashed+suffix)
	}
	s.wmu.Unlock()

	c, err := Open(crashed, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if n := textPending(t, c); n != 5 {
		t.Fatalf("%d records pending after the crash, want 5", n)
	}
	wantNameSearch(t, c, map[string][]string{"门店": {"r0", "r1", "r2", "r3", "r4"}, "门店3": {"r3"}})
	if n := textPending(t, c); n != 0 {
		t.Errorf("%d records pending after the search, want 0", n)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTextPendingBackground: with no search, the pending records are
// indexed in the background after textFlushDelay, at once when
// textFlushEvery wait (written one by one or in one change), and by
// Close.
func TestTextPendingBackground(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(path, Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	writeName(t, s, engine.WriteCreate, "r0", "门店", 0)
	waitFlushed(t, s, 5*time.Second)

	holdTextFlush(s)
	for i := range textFlushEvery {
		writeName(t, s, engine.WriteCreate, "c"+strconv.Itoa(i), "分店", 0)
	}
	waitFlushed(t, s, 5*time.Second)

	// as many in one change (a batch of an import) start it at once too
	var ws []engine.RecordWrite
	for i := range textFlushEvery {
		r := &engine.Record{ID: "b" + strconv.Itoa(i), App: "a", Form: "f", Data: map[string]any{"name": "仓库"}}
		ws = append(ws, engine.RecordWrite{Op: engine.WriteCreate, Record: r, Actor: "u", At: time.Unix(1, 0)})
	}
	if _, err := s.Apply(context.Background(), &engine.Change{Records: ws}); err != nil {
		t.Fatal(err)
	}
	waitFlushed(t, s, 5*time.Second)

	writeName(t, s, engine.WriteCreate, "r1", "总部", 0)
	if n := textPending(t, s); n != 1 {
		t.Fatalf("%d records pending, want 1", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := textPending(t, s); n != 0 {
		t.Errorf("%d records pending after Close, want 0", n)
	}
	if n := ftsRows(t, s); n != 2*textFlushEvery+2 {
		t.Errorf("the index holds %d rows, want %d", n, 2*textFlushEvery+2)
	}
}

// waitFlushed waits until s has no record pending, for at most max.
func waitFlushed(t *testing.T, s *Store, max time.Duration) {
	t.Helper()
	end := time.Now().Add(max)
	for textPending(t, s) > 0 {
		if time.Now().After(end) {
			t.Fatalf("records still pending after %v", max)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTextPendingConcurrent: writers on two stores of one file, each
// searching for the record it has just created (and updated), always
// find it, whatever the other writers and the background flushes do
// meanwhile.
func TestTextPendingConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	var stores [2]*Store
	for i := range stores {
		s, err := Open(path, Options{Synchronous: "NORMAL"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	ctx := context.Background()
	name := []filter.Field{{Key: "name", Type: filter.TypeString}}
	find := func(s *Store, q string) []string {
		tx, _ := filter.NewText(name, q)
		p, err := s.FindRecords(ctx, engine.RecordQuery{App: "a", Form: "f", Filter: tx})
		if err != nil {
			t.Error(err)
			return nil
		}
		var ids []string
		for _, r := range p.Items {
			ids = append(ids, r.ID)
		}
		return ids
	}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				id := fmt.Sprintf("w%dx%d", w, i)
				// the term is the id's own: z<w>q<i>
				term := fmt.Sprintf("z%dq%d", w, i)
				writeName(t, stores[w%2], engine.WriteCreate, id, term+"a", 0)
				if got := find(stores[(w+i)%2], term+"a"); len(got) != 1 || got[0] != id {
					t.Errorf("search of %sa right after its create finds %v, want %s", term, got, id)
				}
				writeName(t, stores[(w+1)%2], engine.WriteUpdate, id, term+"b", 1)
				if got := find(stores[(w+i+1)%2], term+"a"); len(got) != 0 {
					t.Errorf("search of %sa after the update finds %v, want nothing", term, got)
				}
				if got := find(stores[w%2], term+"b"); len(got) != 1 || got[0] != id {
					t.Errorf("search of %sb right after the update finds %v, want %s", term, got, id)
				}
			}
		}()
	}
	wg.Wait()
}
