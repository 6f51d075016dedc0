package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

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

// textMergeEvery is the number of full-text writes after which a merge of
// the index's segments is started (mergeText); textMergePages bounds the
// pages it writes, so that it holds the writer for a millisecond or two.
const (
	textMergeEvery = 16
	textMergePages = 64
)

// textMergeDue reports whether a merge of the index's segments is due
// (execFTS counts the writes), and if so marks it started: the caller then
// runs go s.mergeText(). Called with s.wmu held.
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
// unfinished carried on the next time). It runs after the writes that
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

// indexText renews a record's terms inside the writing transaction: data
// nil (a purge) removes them; unchanged terms are left alone.
func (s *Store) indexText(ctx context.Context, tx *sql.Tx, id string, old, data map[string]any, purge bool) error {
	terms := engine.RecordTextTerms(data)
	if old != nil && !purge && slices.Equal(terms, engine.RecordTextTerms(old)) {
		return nil
	}
	var tid int64
	err := s.queryRow(ctx, tx, sqlTextRow, id).Scan(&tid)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if purge || len(terms) == 0 {
			return nil
		}
		res, err := s.exec(ctx, tx, sqlInsertTextRow, id)
		if err != nil {
			return fmt.Errorf("sqlite text row: %w", err)
		}
		if tid, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("sqlite text row: %w", err)
		}
	case err != nil:
		return fmt.Errorf("sqlite text row: %w", err)
	default:
		if err := s.writeFTS(ctx, tx, tid, ""); err != nil {
			return err
		}
		if purge {
			_, err := s.exec(ctx, tx, sqlDeleteTextRow, tid)
			return err
		}
	}
	if len(terms) == 0 {
		return nil
	}
	return s.writeFTS(ctx, tx, tid, strings.Join(terms, " "))
}

// indexNewText indexes the terms of a record created in tx: its id is new
// to record_text as well, so its row is added without looking for one
// (indexText again if a row was left behind after all).
func (s *Store) indexNewText(ctx context.Context, tx *sql.Tx, id string, data map[string]any) error {
	terms := engine.RecordTextTerms(data)
	if len(terms) == 0 {
		return nil
	}
	res, err := s.exec(ctx, tx, sqlInsertTextRow, id)
	if err != nil {
		if isConstraint(err) {
			return s.indexText(ctx, tx, id, nil, data, false)
		}
		return fmt.Errorf("sqlite text row: %w", err)
	}
	tid, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("sqlite text row: %w", err)
	}
	return s.writeFTS(ctx, tx, tid, strings.Join(terms, " "))
}

// textOp is one write of record_fts: the terms of row tid, or with terms
// "" the removal of its terms.
type textOp struct {
	tid   int64
	terms string
}

// writeFTS writes op (tid, terms) to record_fts, or while a batch of
// changes is written (Store.textOps not nil) queues it for flushText.
func (s *Store) writeFTS(ctx context.Context, tx *sql.Tx, tid int64, terms string) error {
	if s.textOps != nil {
		*s.textOps = append(*s.textOps, textOp{tid, terms})
		return nil
	}
	return execFTS(ctx, s, tx, textOp{tid, terms})
}

// flushText writes the queued ops in order.
func (s *Store) flushText(ctx context.Context, tx *sql.Tx, ops []textOp) error {
	for _, op := range ops {
		if err := execFTS(ctx, s, tx, op); err != nil {
			return err
		}
	}
	return nil
}

func execFTS(ctx context.Context, s *Store, tx *sql.Tx, op textOp) error {
	s.textWrites++
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
		if err := s.indexText(ctx, tx, r.id, nil, r.data, false); err != nil {
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
	return n, s.flushText(ctx, tx, slices.DeleteFunc(batch, func(op textOp) bool { return op.terms == "" }))
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
