package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
)

// The full-text index: record_fts is a contentless FTS5 table of each
// record's terms (engine.RecordTextTerms: "field:gram" character bigrams,
// made in Go, so the ascii tokenizer only splits on spaces: it keeps ':',
// '_' and every non-ASCII character inside a term); record_text gives each
// record a stable integer row for it (an INTEGER PRIMARY KEY survives
// VACUUM, records' implicit rowid does not). Searches ask only for whole
// terms and term prefixes (textMatch), never phrases, so the index keeps
// no positions (detail=none).
const (
	sqlTextRow       = `SELECT tid FROM record_text WHERE id = ?`
	sqlInsertTextRow = `INSERT INTO record_text (id) VALUES (?)`
	sqlDeleteTextRow = `DELETE FROM record_text WHERE tid = ?`
	sqlDeleteFTS     = `DELETE FROM record_fts WHERE rowid = ?`
	sqlInsertFTS     = `INSERT INTO record_fts (rowid, terms) VALUES (?, ?)`
	sqlMergeText     = `INSERT INTO record_fts (record_fts, rank) VALUES ('merge', ?)`
)

// textSchema is backend migration 4: the tables, filled from the records
// already stored by backfillText in the same step.
const textSchema = `
CREATE TABLE record_text (tid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE record_fts USING fts5(terms, content='', contentless_delete=1,
	tokenize="unicode61 remove_diacritics 0 tokenchars ':_'");
`

// textRebuild is backend migration 7: the index again as it is now
// (textSchema made it with positions and the unicode61 tokenizer), filled
// from the records by refillText in the same step. Without positions a
// create writes and merges a third less (the index's segments hold rowids
// only). The ascii tokenizer reads a term as the bytes Go made it: under
// unicode61 a letter its tables did not count as one would split a term,
// and a query for that term, a phrase then, is refused by an index
// without positions.
const textRebuild = `
DROP TABLE IF EXISTS record_fts;
CREATE VIRTUAL TABLE record_fts USING fts5(terms, content='', contentless_delete=1, detail=none,
	tokenize="ascii tokenchars ':_'");
`

// textNoAutomerge is backend migration 11. FTS5 writes each commit's
// terms as a new segment and, by default, merges segments a little in the
// same commit (automerge): half the index's work in a create's commit,
// and pages of it written to the WAL and synced with the record. With
// automerge off, mergeText does that work in commits of its own. The
// crisis merge (a level of that many segments merged whole in the commit
// that made it) stays, so segments stay bounded should merges fall behind,
// at 32 rather than 16: twice the writes after which mergeText
// merges level 0.
const textNoAutomerge = `
INSERT INTO record_fts (record_fts, rank) VALUES ('automerge', 0);
INSERT INTO record_fts (record_fts, rank) VALUES ('crisismerge', 32);
`

// textMergeEvery is the number of flushes of the full-text index (each
// a segment, see flushTextNow) after which a merge of the index's
// segments is started (mergeText); textMergePages bounds the pages it
// writes, so that it holds the writer for a millisecond or two.
const (
	textMergeEvery = 16
	textMergePages = 64
)

// textPendingSchema is backend migration 14: the records whose terms the
// full-text index does not hold yet. A record write adds its id here, in
// its own transaction, instead of writing the index: FTS5 writes each
// commit's terms as a new segment with its structure record, size and
// average rows, which with the record's text row made 8 of the 38 WAL
// pages a create committed (BenchmarkPeerCreate: 30 now, with its share
// of the flushes; the WITHOUT ROWID table is one page, the same for every
// create until a flush empties it), and 8% of the CPU of a create
// through the API. A flush
// (flushTextNow) indexes every pending record in one lazy commit of its
// own. The ids are stored with the records, so an index write lost in a
// crash is made at the next flush after it.
const textPendingSchema = `
CREATE TABLE text_pending (id TEXT PRIMARY KEY) WITHOUT ROWID;
`

const (
	sqlMarkText     = `INSERT OR IGNORE INTO text_pending (id) VALUES (?)`
	sqlAnyTextDue   = `SELECT EXISTS (SELECT 1 FROM text_pending)`
	sqlTextDue      = `SELECT p.id, r.data, t.tid FROM text_pending p LEFT JOIN records r ON r.id = p.id LEFT JOIN record_text t ON t.id = p.id WHERE p.id > ? ORDER BY p.id LIMIT 1000`
	sqlClearTextDue = `DELETE FROM text_pending`
)

// When the pending records are indexed: in the background
// textFlushDelay after the first write that left some (so that the
// writes of that time share one segment of the index, rather than a
// segment each), or at once once textFlushEvery have been marked since;
// and before every read of the index (textFresh), so that a search sees
// every committed write, this store's or another's on the same file.
// Measured on BenchmarkPeerCreate, the WAL pages of a create with its
// share of the flushes hardly depend on how many a flush takes (30.2 at
// 12 or so a flush, 29.9 at 256, 37.8 when each create wrote the index);
// what a search right after writes waits for does (a record's terms cost
// the flush some 75 us of CPU). So flushes are frequent and small: 20 ms
// (at a create every millisecond and a half through the API, a dozen
// creates), 16 records at most.
const (
	textFlushDelay = 20 * time.Millisecond
	textFlushEvery = 16
)

// textFlushes is the Store's state of the background flush of the
// pending records. Guarded by Store.wmu.
type textFlushes struct {
	marked    int           // records marked since the last flush began
	scheduled bool          // a flushTextSoon has not yet taken the writer
	kick      chan struct{} // ends its wait early (the count reached, Close)
	delay     time.Duration // textFlushDelay; tests make it longer
}

// markText records in tx that the terms of record id are to be renewed
// by the next flush. Called with s.wmu held (a change's write).
func (s *Store) markText(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := s.exec(ctx, tx, sqlMarkText, id); err != nil {
		return fmt.Errorf("sqlite text pending: %w", err)
	}
	s.txt.marked++
	return nil
}

// textFlushDue reports whether a background flush of the pending
// records is to be started, and if so marks it scheduled: the caller
// then runs go s.flushTextSoon(). A flush already scheduled is woken
// once textFlushEvery records wait. Called with s.wmu held.
func (s *Store) textFlushDue() bool {
	if s.txt.marked == 0 || s.closed {
		return false
	}
	if s.txt.scheduled {
		if s.txt.marked >= textFlushEvery {
			s.kickText()
		}
		return false
	}
	if s.txt.kick == nil {
		s.txt.kick = make(chan struct{}, 1)
	}
	if s.txt.delay == 0 {
		s.txt.delay = textFlushDelay
	}
	s.txt.scheduled = true
	s.merges.Add(1)
	if s.txt.marked >= textFlushEvery { // a batch of imports, say
		s.kickText()
	}
	return true
}

// kickText ends the wait of a scheduled flush. Called with s.wmu held.
func (s *Store) kickText() {
	if s.txt.kick != nil {
		select {
		case s.txt.kick <- struct{}{}:
		default:
		}
	}
}

// flushTextSoon flushes the pending records after the delay, or when
// woken, then starts a merge of the index's segments if one is due.
// Close waits for it (s.merges) and wakes it: the flush still runs, so
// that the next Open finds nothing pending.
func (s *Store) flushTextSoon() {
	defer s.merges.Done()
	t := time.NewTimer(s.txt.delay)
	select {
	case <-t.C:
	case <-s.txt.kick:
		t.Stop()
	}
	s.wmu.Lock()
	s.txt.scheduled = false
	// an error leaves the records pending: the next flush, or the next
	// search's, indexes them
	_ = s.flushTextNow(context.Background())
	merge := s.textMergeDue()
	s.wmu.Unlock()
	if merge {
		s.mergeText()
	}
}

// textFresh indexes the pending records, if any, before a read of the
// full-text index by e (one holding a filter.Text): the read then sees
// the terms of every write committed before it, by this store or by
// another process on the file. The check reads the table, not a flag of
// this store's; a record marked after it is written concurrently with
// the read.
func (s *Store) textFresh(ctx context.Context, e filter.Expr) error {
	if !hasText(e) {
		return nil
	}
	var due bool
	err := s.readPoint(ctx, sqlAnyTextDue, nil, func(r *sql.Row) error { return r.Scan(&due) })
	if err != nil {
		return fmt.Errorf("sqlite text pending: %w", err)
	}
	if !due {
		return nil
	}
	s.wmu.Lock()
	err = s.flushTextNow(detachCtx(ctx))
	merge := s.textMergeDue()
	s.wmu.Unlock()
	if merge {
		go s.mergeText()
	}
	return err
}

// hasText reports whether e holds a filter.Text anywhere.
func hasText(e filter.Expr) bool {
	switch x := e.(type) {
	case filter.Text, *filter.Text:
		return true
	case filter.And:
		return slices.ContainsFunc(x.Items, hasText)
	case *filter.And:
		return x != nil && hasText(*x)
	case filter.Or:
		return slices.ContainsFunc(x.Items, hasText)
	case *filter.Or:
		return x != nil && hasText(*x)
	case filter.Not:
		return hasText(x.X)
	case *filter.Not:
		return x != nil && hasText(x.X)
	}
	return false
}

// flushTextNow indexes every pending record in one lazy commit: the
// terms of its data as records holds it now (several writes of a record
// since the last flush cost one index write), none for a record purged
// since (its text row goes too), and empties text_pending. Written as
// the index's own commit it may be lost in a power cut, and the pending
// ids with it: they are then still there. Called with s.wmu held.
func (s *Store) flushTextNow(ctx context.Context) error {
	flushed := false
	err := s.lazyTx(ctx, func(tx *sql.Tx) error {
		last, n := "", 0
		for {
			more, err := s.flushTextFrom(ctx, tx, &last)
			if err != nil {
				return err
			}
			if more == 0 {
				break
			}
			n += more
		}
		if n == 0 {
			return nil
		}
		if _, err := s.exec(ctx, tx, sqlClearTextDue); err != nil {
			return fmt.Errorf("sqlite text pending: %w", err)
		}
		flushed = true
		return nil
	})
	if err != nil {
		// marked stays: the next change schedules the flush again
		return fmt.Errorf("sqlite text flush: %w", err)
	}
	s.txt.marked = 0
	if flushed {
		s.textWrites++ // a segment
	}
	return nil
}

// flushTextFrom indexes the next thousand pending records after *last,
// moving *last on, and returns how many it read.
func (s *Store) flushTextFrom(ctx context.Context, tx *sql.Tx, last *string) (int, error) {
	rows, err := s.query(ctx, tx, sqlTextDue, *last)
	if err != nil {
		return 0, fmt.Errorf("sqlite text pending: %w", err)
	}
	type due struct {
		id   string
		data sql.NullString
		tid  sql.NullInt64 // its text row, if it has one
	}
	var batch []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.data, &d.tid); err != nil {
			rows.Close()
			return 0, err
		}
		batch = append(batch, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, d := range batch {
		var terms []string
		if d.data.Valid {
			data, err := decodeData(d.data.String)
			if err != nil {
				return 0, fmt.Errorf("record %s data: %w", d.id, err)
			}
			terms = engine.RecordTextTerms(data)
		}
		if err := s.writeText(ctx, tx, d.id, d.tid, terms, !d.data.Valid); err != nil {
			return 0, err
		}
	}
	if len(batch) > 0 {
		*last = batch[len(batch)-1].id
	}
	return len(batch), nil
}

// textMergeDue reports whether a merge of the index's segments is due
// (flushTextNow counts the flushes), and if so marks it started: the
// caller then runs s.mergeText(). Called with s.wmu held.
func (s *Store) textMergeDue() bool {
	if s.textWrites < textMergeEvery || s.merging || s.closed {
		return false
	}
	s.textWrites, s.merging = 0, true
	s.merges.Add(1)
	return true
}

// mergeText merges segments of the full-text index in a lazy commit of
// its own (FTS5's 'merge': of the levels holding at least four segments,
// those with most first, textMergePages pages at most, a merge it leaves
// unfinished carried on the next time). It runs after the flushes that
// made the segments, off their requests, and waits for the writer like a
// change. A merge lost in a crash leaves only more segments to merge.
func (s *Store) mergeText() {
	defer s.merges.Done()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.merging = false
	if s.closed {
		return
	}
	ctx := context.Background()
	_ = s.lazyTx(ctx, func(tx *sql.Tx) error {
		_, err := s.exec(ctx, tx, sqlMergeText, textMergePages)
		return err
	})
}

// indexText makes the terms of data the terms of record id in the index
// inside the writing transaction, looking its text row up (writeText).
// Changes leave that to the flush (markText); it indexes the records
// stored before the index existed, and bulk loads in one transaction.
func (s *Store) indexText(ctx context.Context, tx *sql.Tx, id string, data map[string]any) error {
	var row sql.NullInt64
	err := s.queryRow(ctx, tx, sqlTextRow, id).Scan(&row)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite text row: %w", err)
	}
	return s.writeText(ctx, tx, id, row, engine.RecordTextTerms(data), false)
}

// writeText makes terms the terms of record id, whose text row is row
// (none if not Valid), in the index: those it had are removed first;
// gone (the record was purged) removes its text row too. A record
// without terms has no row until it has some.
func (s *Store) writeText(ctx context.Context, tx *sql.Tx, id string, row sql.NullInt64, terms []string, gone bool) error {
	tid := row.Int64
	if !row.Valid {
		if gone || len(terms) == 0 {
			return nil
		}
		res, err := s.exec(ctx, tx, sqlInsertTextRow, id)
		if err != nil {
			return fmt.Errorf("sqlite text row: %w", err)
		}
		if tid, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("sqlite text row: %w", err)
		}
	} else {
		if err := execFTS(ctx, s, tx, textOp{tid, ""}); err != nil {
			return err
		}
		if gone {
			_, err := s.exec(ctx, tx, sqlDeleteTextRow, tid)
			return err
		}
	}
	if len(terms) == 0 {
		return nil
	}
	return execFTS(ctx, s, tx, textOp{tid, strings.Join(terms, " ")})
}

// textOp is one write of record_fts: the terms of row tid, or with terms
// "" the removal of its terms.
type textOp struct {
	tid   int64
	terms string
}

// writeTextOps writes ops in order.
func (s *Store) writeTextOps(ctx context.Context, tx *sql.Tx, ops []textOp) error {
	for _, op := range ops {
		if err := execFTS(ctx, s, tx, op); err != nil {
			return err
		}
	}
	return nil
}

func execFTS(ctx context.Context, s *Store, tx *sql.Tx, op textOp) error {
	if op.terms == "" {
		if _, err := s.exec(ctx, tx, sqlDeleteFTS, op.tid); err != nil {
			return fmt.Errorf("sqlite text delete: %w", err)
		}
		return nil
	}
	if _, err := s.exec(ctx, tx, sqlInsertFTS, op.tid, op.terms); err != nil {
		return fmt.Errorf("sqlite text insert: %w", err)
	}
	return nil
}

// backfillText indexes the records stored before the text index existed.
func (s *Store) backfillText(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, data FROM records`)
	if err != nil {
		return err
	}
	type rec struct {
		id   string
		data map[string]any
	}
	var all []rec
	for rows.Next() {
		var r rec
		var data string
		if err := rows.Scan(&r.id, &data); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal([]byte(data), &r.data); err != nil {
			rows.Close()
			return fmt.Errorf("record %s data: %w", r.id, err)
		}
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range all {
		if err := s.indexText(ctx, tx, r.id, r.data); err != nil {
			return err
		}
	}
	return nil
}

// refillText indexes again, after textRebuild, the records that have a
// text row, a thousand at a time.
func (s *Store) refillText(ctx context.Context, tx *sql.Tx) error {
	var last int64
	for {
		n, err := s.refillTextFrom(ctx, tx, &last)
		if err != nil || n == 0 {
			return err
		}
	}
}

// refillTextFrom indexes the next thousand text rows after *last, moving
// *last on, and returns how many it read.
func (s *Store) refillTextFrom(ctx context.Context, tx *sql.Tx, last *int64) (int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT t.tid, r.data FROM record_text t JOIN records r ON r.id = t.id WHERE t.tid > ? ORDER BY t.tid LIMIT 1000`, *last)
	if err != nil {
		return 0, err
	}
	var batch []textOp
	for rows.Next() {
		var tid int64
		var data string
		if err := rows.Scan(&tid, &data); err != nil {
			rows.Close()
			return 0, err
		}
		d, err := decodeData(data)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("text row %d data: %w", tid, err)
		}
		batch = append(batch, textOp{tid, strings.Join(engine.RecordTextTerms(d), " ")})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := len(batch)
	if n > 0 {
		*last = batch[n-1].tid
	}
	// a record without terms has nothing to insert ("" would remove)
	return n, s.writeTextOps(ctx, tx, slices.DeleteFunc(batch, func(op textOp) bool { return op.terms == "" }))
}

// textMatch is the FTS5 query of t: for each field, every gram as a whole
// term and every prefix as a term's start, the fields joined by OR. Grams
// and prefixes are letters and digits only (filter.Validate), field keys
// are [a-z0-9_], so nothing needs escaping inside the quotes.
func textMatch(t filter.Text) string {
	var ors []string
	for _, f := range t.Fields {
		var ands []string
		for _, g := range t.Grams {
			ands = append(ands, `"`+f.Key+":"+g+`"`)
		}
		for _, p := range t.Prefixes {
			ands = append(ands, `"`+f.Key+":"+p+`"*`)
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return strings.Join(ors, " OR ")
}

// text writes t as a subquery on the text index.
func (c *sqlFilter) text(t filter.Text) error {
	if err := filter.Validate(t); err != nil {
		return engine.Errorf(engine.EINVALID, engine.T("无效的搜索", "invalid search"))
	}
	if len(t.Fields) == 0 {
		c.w("0")
		return nil
	}
	// the join lets the FTS match drive (probing record_text by its key);
	// "tid IN (SELECT rowid …)" scanned record_text instead
	c.w("id IN (SELECT t.id FROM record_fts f JOIN record_text t ON t.tid = f.rowid WHERE record_fts MATCH ", c.arg(textMatch(t)), ")")
	return nil
}

// fewTextMatchesMax is the number of text matches up to which a query is
// driven by them (recordWhereBy): fetching and sorting that many records
// by id costs less than walking the form's records in list order, which
// stops early only when matches are common.
const fewTextMatchesMax = 2000

// fewTextMatches reports whether e is (or ANDs) a text search matching at
// most fewTextMatchesMax records of any form, counted in the FTS index
// alone (a millisecond or so).
func (s *Store) fewTextMatches(ctx context.Context, e filter.Expr) (bool, error) {
	// every read of the index (FindRecords, CountRecords) asks this first
	if err := s.textFresh(ctx, e); err != nil {
		return false, err
	}
	var t *filter.Text
	switch x := e.(type) {
	case filter.Text:
		t = &x
	case filter.And:
		for _, it := range x.Items {
			if tx, ok := it.(filter.Text); ok && len(tx.Fields) > 0 {
				t = &tx
				break
			}
		}
	}
	if t == nil || len(t.Fields) == 0 || filter.Validate(*t) != nil {
		return false, nil
	}
	var n int
	err := s.rc.queryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM record_fts WHERE record_fts MATCH ? LIMIT ?)`, textMatch(*t), fewTextMatchesMax+1).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("sqlite text count: %w", err)
	}
	return n <= fewTextMatchesMax, nil
}
