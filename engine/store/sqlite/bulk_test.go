package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"formwork/engine"
)

// This file is compiled only into tests and benchmarks: it loads millions of
// rows fast enough to benchmark at the sizes. It writes exactly the
// rows Apply would (TestBulkApplyMatchesApply compares them column by
// column), reusing Apply's own row builders, but batches many rows into one
// INSERT and many changes into one transaction.

// BulkApply writes, in one transaction, the rows that Apply would write for
// the record creates in recs (record and revision 1) and for the audit
// events in evs (sealed in order after the current newest event). Only
// creates are accepted.
func (s *Store) BulkApply(ctx context.Context, recs []engine.RecordWrite, evs []*engine.AuditEvent) error {
	if err := engine.CheckAuditEvents(evs); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		recRows := make([][]any, 0, len(recs))
		revRows := make([][]any, 0, len(recs))
		for i := range recs {
			w := &recs[i]
			if w.Op != engine.WriteCreate {
				return fmt.Errorf("bulk apply: only creates, not %q", w.Op)
			}
			at, err := engine.RecordWriteTime(w, s.now)
			if err != nil {
				return err
			}
			r, err := engine.NextRecordState(nil, w, at)
			if err != nil {
				return err
			}
			data, err := json.Marshal(r.Data)
			if err != nil {
				return engine.ErrDataEncoding(err)
			}
			a := createRecordArgs(r, data) // and the head's, as sqlInsertRecord makes it
			recRows = append(recRows, append(a, a[0], a[3], a[4], a[5], a[6], a[7], a[9], a[10], a[11], a[12], a[7]))
			rev, err := revisionArgs(r, w.Op, w.Actor, data, nil)
			if err != nil {
				return err
			}
			revRows = append(revRows, rev)
		}
		if err := insertRows(ctx, tx, `INSERT INTO records (`+recordCols+`, deleted, head, head_v) VALUES `,
			"(?,?,?,?,?,?,?,?,?,?,?,?,?,NULL,0,json_array(?,?,?,?,?,?,?,?,?,?,NULL),?)", recRows); err != nil {
			return err
		}
		// record_counts as countRecord keeps it, one statement per form
		counts := map[[2]string]int{}
		for i := range recs {
			counts[[2]string{recs[i].Record.App, recs[i].Record.Form}]++
		}
		for k, n := range counts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO record_counts (app, form, deleted, n) VALUES (?,?,0,?) ON CONFLICT (app, form, deleted) DO UPDATE SET n = n + excluded.n`, k[0], k[1], n); err != nil {
				return err
			}
		}
		if err := insertRows(ctx, tx, `INSERT INTO revisions (`+revisionCols+`) VALUES `, "(?,?,?,?,?,?,?,?,?,?,?,?)", revRows); err != nil {
			return err
		}
		for i := range recs {
			if err := s.indexText(ctx, tx, recs[i].Record.ID, recs[i].Record.Data); err != nil {
				return err
			}
		}
		if len(evs) == 0 {
			return nil
		}
		head, err := s.auditHead(ctx, tx)
		if err != nil {
			return err
		}
		audRows := make([][]any, 0, len(evs))
		for _, ev := range evs {
			ev.Seal(head)
			head = ev.Head()
			audRows = append(audRows, auditArgs(ev))
		}
		return insertRows(ctx, tx, `INSERT INTO audit (`+auditCols+`) VALUES `, "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)", audRows)
	})
}

// insertRows inserts rows with multi-row INSERT statements of up to
// bulkRows rows each; the full-size statement is prepared once.
func insertRows(ctx context.Context, tx *sql.Tx, head, tuple string, rows [][]any) error {
	const bulkRows = 100
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for i := 0; i < len(rows); i += bulkRows {
		batch := rows[i:min(i+bulkRows, len(rows))]
		args := make([]any, 0, len(batch)*len(batch[0]))
		for _, r := range batch {
			args = append(args, r...)
		}
		q := head + strings.Repeat(tuple+",", len(batch)-1) + tuple
		var err error
		if len(batch) == bulkRows {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, q); err != nil {
					return fmt.Errorf("bulk prepare: %w", err)
				}
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, q, args...)
		}
		if err != nil {
			return fmt.Errorf("bulk insert: %w", err)
		}
	}
	return nil
}

// BulkLoadMode sets the writer connection up for a bulk load: no fsync
// (a crash mid-load loses the file, which a benchmark rebuilds), a 1 GiB
// page cache, statement journals in memory (a multi-row INSERT inside a
// transaction writes one; on disk it cost a third of the load's CPU in
// write calls) and checkpoints every 256 MiB of WAL rather than 4 MiB. The
// database it produces is the same; reopen the store with Open for
// measurements under the normal settings.
func (s *Store) BulkLoadMode(ctx context.Context) error {
	for _, p := range []string{`PRAGMA synchronous=OFF`, `PRAGMA cache_size=-1048576`, `PRAGMA temp_store=MEMORY`, `PRAGMA wal_autocheckpoint=65536`} {
		if _, err := s.w.ExecContext(ctx, p); err != nil {
			return fmt.Errorf("bulk mode %s: %w", p, err)
		}
	}
	return nil
}

// DropIndexes drops the secondary indexes of tables for a bulk load and
// saves their definitions in the table bulk_saved_indexes, in the same
// transaction, so an interrupted load can still restore them. Appending to
// bare tables and indexing once at the end took half the time of keeping
// four audit indexes up to date row by row.
func (s *Store) DropIndexes(ctx context.Context, tables ...string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bulk_saved_indexes (name TEXT PRIMARY KEY, sql TEXT NOT NULL)`); err != nil {
			return err
		}
		for _, t := range tables {
			rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, t)
			if err != nil {
				return err
			}
			var names, defs []string
			for rows.Next() {
				var n, d string
				if err := rows.Scan(&n, &d); err != nil {
					rows.Close()
					return err
				}
				names, defs = append(names, n), append(defs, d)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for i := range names {
				if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO bulk_saved_indexes (name, sql) VALUES (?, ?)`, names[i], defs[i]); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `DROP INDEX `+quoteIdent(names[i])); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// RestoreIndexes creates the indexes DropIndexes saved (those not there
// again already) and removes its table; without one it does nothing.
func (s *Store) RestoreIndexes(ctx context.Context) error {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'bulk_saved_indexes'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT sql FROM bulk_saved_indexes WHERE name NOT IN (SELECT name FROM sqlite_master WHERE type = 'index') ORDER BY name`)
		if err != nil {
			return err
		}
		var defs []string
		for rows.Next() {
			var d string
			if err := rows.Scan(&d); err != nil {
				rows.Close()
				return err
			}
			defs = append(defs, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range defs {
			if _, err := tx.ExecContext(ctx, d); err != nil {
				return fmt.Errorf("restore index: %w", err)
			}
		}
		_, err = tx.ExecContext(ctx, `DROP TABLE bulk_saved_indexes`)
		return err
	})
}

// Checkpoint moves the whole WAL into the database file and truncates it.
func (s *Store) Checkpoint(ctx context.Context) error {
	_, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return err
}

// DumpTable returns every row of table, ordered by order, as strings: the
// test compares a bulk-loaded database with one written by Apply.
func (s *Store) DumpTable(ctx context.Context, table, order string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT * FROM `+table+` ORDER BY `+order)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, v := range vals {
			if raw, ok := v.([]byte); ok {
				v = "bytes:" + string(raw)
			}
			fmt.Fprintf(&b, "%s=%T:%v|", cols[i], v, v)
		}
		out = append(out, b.String())
	}
	return out, rows.Err()
}

// CountRows returns the number of rows in table.
func (s *Store) CountRows(ctx context.Context, table string) (int64, error) {
	var n int64
	err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n)
	return n, err
}

// WalkAuditTail calls fn with the newest audit event, if there is one.
func (s *Store) WalkAuditTail(ctx context.Context, fn func(*engine.AuditEvent)) error {
	e, err := scanAudit(s.w.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit ORDER BY seq DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	fn(e)
	return nil
}

// WALFrames returns the number of frames in the WAL, then checkpoints all
// of them and truncates it, so the next count is of the frames written
// since.
func (s *Store) WALFrames(ctx context.Context) (int, error) {
	var busy, frames, done int
	if err := s.w.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &done); err != nil {
		return 0, err
	}
	_, err := s.w.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	return frames, err
}

// TextSegments returns the number of segments of the full-text index: the
// segment ids of its pages (an FTS5 page's rowid holds its segment's id
// above bit 37; the rows below are the index's own records, the ids from
// 1<<16 up are the pages of segments' tombstones, which deletes write).
func (s *Store) TextSegments(ctx context.Context) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `SELECT count(DISTINCT rowid >> 37) FROM record_fts_data WHERE rowid >> 37 BETWEEN 1 AND 65535`).Scan(&n)
	return n, err
}
