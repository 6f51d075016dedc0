package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"formwork/engine"
)

// Apply writes c in one transaction on the writer connection; any failure
// rolls back all of it. Changes that arrive while another is being
// committed are committed together (group commit): one transaction, one
// flush to disk, each change inside its own savepoint, so one change's
// refusal (a conflict, a missing record) is its own and the others land.
func (s *Store) Apply(ctx context.Context, c *engine.Change) (*engine.ChangeResult, error) {
	if c == nil {
		return &engine.ChangeResult{}, nil
	}
	req := &applyReq{ctx: ctx, c: c}
	s.gmu.Lock()
	s.pending = append(s.pending, req)
	s.gmu.Unlock()
	s.wmu.Lock()
	if !req.done {
		s.gmu.Lock()
		batch := s.pending
		s.pending = nil
		s.gmu.Unlock()
		s.applyBatch(batch)
	}
	flush := s.textFlushDue()
	s.wmu.Unlock()
	if flush {
		go s.flushTextSoon()
	}
	err := req.err
	if err != nil {
		if engine.ErrorCode(err) == engine.EINTERNAL && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("sqlite apply: %w", err)
		}
		return nil, err
	}
	return req.res, nil
}

// applyReq is one Apply waiting in the group commit; done, res and err are
// set under Store.wmu by the Apply that commits it.
type applyReq struct {
	ctx  context.Context
	c    *engine.Change
	done bool
	res  *engine.ChangeResult
	err  error
}

// applyBatch commits the batch, alone in its own transaction when it is
// one change. Called with s.wmu held.
func (s *Store) applyBatch(batch []*applyReq) {
	defer func() {
		for _, r := range batch {
			r.done = true
		}
	}()
	if len(batch) == 1 {
		r := batch[0]
		r.res, r.err = s.applyAlone(detachCtx(r.ctx), r.c)
		return
	}
	// The transaction and its statements run without the callers'
	// contexts: an interrupted INSERT may roll back the whole transaction,
	// everyone's changes in it. A change whose caller has gone is skipped.
	bg := context.Background()
	lazy := true
	for _, r := range batch {
		lazy = lazy && r.c.Lazy
	}
	// First without savepoints: each makes SQLite copy every page the
	// change then touches to a journal of its own (in a temporary file
	// past 64 KiB), and changes are seldom refused. A refusal rolls this
	// attempt back, and the batch is written again with a savepoint per
	// change, so that the others land.
	err := s.applyTx(bg, lazy, func(tx *sql.Tx) error { return s.writeBatch(bg, tx, batch, false) })
	if errors.Is(err, errRefusedInBatch) {
		err = s.applyTx(bg, lazy, func(tx *sql.Tx) error { return s.writeBatch(bg, tx, batch, true) })
	}
	if err != nil {
		for _, r := range batch {
			r.res, r.err = s.applyAlone(r.ctx, r.c)
		}
	}
}

// errRefusedInBatch ends an attempt at a batch without savepoints in which
// a change was refused.
var errRefusedInBatch = errors.New("a change of the batch was refused")

// writeBatch writes the changes of batch in tx, with savepoints each in
// its own, whose refusal (not EINTERNAL) is then its own; without, a
// refusal is errRefusedInBatch. Any other error leaves tx to be rolled
// back.
func (s *Store) writeBatch(ctx context.Context, tx *sql.Tx, batch []*applyReq, savepoints bool) error {
	for _, r := range batch {
		r.res = nil
		if r.err = r.ctx.Err(); r.err != nil {
			continue
		}
		if !savepoints {
			if r.res, r.err = s.applyChange(ctx, tx, r.c); r.err != nil {
				if engine.ErrorCode(r.err) == engine.EINTERNAL {
					return r.err
				}
				return errRefusedInBatch
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT change`); err != nil {
			return err
		}
		r.res, r.err = s.applyChange(ctx, tx, r.c)
		if r.err != nil {
			if engine.ErrorCode(r.err) == engine.EINTERNAL {
				return r.err // the transaction may be gone: each change again alone
			}
			r.res = nil
			s.txHeadOK = false // the change's events, if any, are undone
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO change`); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `RELEASE change`); err != nil {
			return err
		}
	}
	return nil
}

// applyAlone writes c in a transaction of its own.
func (s *Store) applyAlone(ctx context.Context, c *engine.Change) (*engine.ChangeResult, error) {
	if res, done, err := s.appendEvents(ctx, c); done {
		return res, err
	}
	var res *engine.ChangeResult
	err := s.applyTx(ctx, c.Lazy, func(tx *sql.Tx) error {
		var err error
		res, err = s.applyChange(ctx, tx, c)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// applyTx runs fn in a write transaction, lazy (lazyTx) when asked, and
// once it commits keeps the audit head it left for the next appendAudit.
// Called with s.wmu held.
func (s *Store) applyTx(ctx context.Context, lazy bool, fn func(*sql.Tx) error) error {
	run := s.tx
	if lazy {
		run = s.lazyTx
	}
	s.txHeadOK = false
	err := run(ctx, fn)
	if err == nil && s.txHeadOK {
		s.head, s.headOK = s.txHead, true
	}
	s.txHeadOK = false
	return err
}

// applyChange writes c in tx.
func (s *Store) applyChange(ctx context.Context, tx *sql.Tx, c *engine.Change) (*engine.ChangeResult, error) {
	res := &engine.ChangeResult{}
	for i := range c.Records {
		r, err := s.applyRecord(ctx, tx, &c.Records[i])
		if err != nil {
			return nil, err
		}
		res.Records = append(res.Records, r)
	}
	for i := range c.Docs {
		d, err := s.applyDoc(ctx, tx, &c.Docs[i])
		if err != nil {
			return nil, err
		}
		res.Docs = append(res.Docs, d)
	}
	if len(c.Audit) > 0 {
		if err := s.appendAudit(ctx, tx, c.Audit); err != nil {
			return nil, err
		}
		res.Audit = c.Audit
	}
	for _, j := range c.Outbox {
		if err := s.insertOutbox(ctx, tx, j); err != nil {
			return nil, err
		}
	}
	now := fmtTime(s.now())
	for _, id := range c.OutboxDone {
		if _, err := s.exec(ctx, tx, sqlOutboxDone, now, id); err != nil {
			return nil, fmt.Errorf("sqlite outbox done %s: %w", id, err)
		}
	}
	return res, nil
}

const recordCols = `id, app, form, form_version, unit, owner, status, version, data, created_at, created_by, updated_at, updated_by, deleted_at`

type scanner interface{ Scan(dest ...any) error }

func scanRecord(row scanner, extra ...any) (*engine.Record, error) {
	var r engine.Record
	var data, created, updated string
	var deleted sql.NullString
	dest := append([]any{&r.ID, &r.App, &r.Form, &r.FormVersion, &r.Unit, &r.Owner, &r.Status, &r.Version, &data, &created, &r.CreatedBy, &updated, &r.UpdatedBy, &deleted}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	if r.Data, err = decodeData(data); err != nil {
		return nil, fmt.Errorf("sqlite record %s data: %w", r.ID, err)
	}
	r.CreatedAt = parseTime(created)
	r.UpdatedAt = parseTime(updated)
	if deleted.Valid {
		t := parseTime(deleted.String)
		r.DeletedAt = &t
	}
	return &r, nil
}

func notFound(id string) error { return engine.ErrRecordNotFound(id) }

func conflict(what string) error { return engine.ErrStoreConflict(what) }

func (s *Store) applyRecord(ctx context.Context, tx *sql.Tx, w *engine.RecordWrite) (*engine.Record, error) {
	at, err := engine.RecordWriteTime(w, s.now)
	if err != nil {
		return nil, err
	}
	if w.Op == engine.WriteCreate {
		r, err := engine.NextRecordState(nil, w, at)
		if err != nil {
			return nil, err
		}
		if err := s.assignSerials(ctx, tx, r, w); err != nil {
			return nil, err
		}
		data, err := json.Marshal(r.Data)
		if err != nil {
			return nil, engine.ErrDataEncoding(err)
		}
		_, err = s.exec(ctx, tx, sqlInsertRecord, createRecordArgs(r, data)...)
		if err != nil {
			if isConstraint(err) {
				return nil, conflict("duplicate record id " + r.ID)
			}
			return nil, fmt.Errorf("sqlite insert record: %w", err)
		}
		if err := s.countRecord(ctx, tx, r.App, r.Form, false, 1); err != nil {
			return nil, err
		}
		if err := s.writeRevision(ctx, tx, r, w, data, nil); err != nil {
			return nil, err
		}
		if err := s.markText(ctx, tx, r.ID); err != nil {
			return nil, err
		}
		return r, nil
	}

	in := w.Record
	old, err := scanRecord(s.queryRow(ctx, tx, sqlRecordByID, in.ID))
	if errors.Is(err, sql.ErrNoRows) {
		old, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite read record %s: %w", in.ID, err)
	}
	r, err := engine.NextRecordState(old, w, at)
	if err != nil {
		return nil, err
	}
	if w.Op == engine.WritePurge {
		if _, err := s.exec(ctx, tx, sqlDeleteRecord, in.ID); err != nil {
			return nil, fmt.Errorf("sqlite purge record: %w", err)
		}
		if _, err := s.exec(ctx, tx, sqlDeleteRevisions, in.ID); err != nil {
			return nil, fmt.Errorf("sqlite purge revisions: %w", err)
		}
		if err := s.countRecord(ctx, tx, old.App, old.Form, old.DeletedAt != nil, -1); err != nil {
			return nil, err
		}
		if err := s.markText(ctx, tx, in.ID); err != nil {
			return nil, err
		}
		return old, nil
	}
	if err := s.assignSerials(ctx, tx, r, w); err != nil {
		return nil, err
	}
	data, err := json.Marshal(r.Data)
	if err != nil {
		return nil, engine.ErrDataEncoding(err)
	}
	var deletedAt any
	deleted := 0
	if r.DeletedAt != nil {
		deletedAt, deleted = fmtTime(*r.DeletedAt), 1
	}
	res, err := s.exec(ctx, tx, sqlUpdateRecord,
		r.FormVersion, r.Unit, r.Owner, r.Status, r.Version, string(data), fmtTime(at), r.UpdatedBy, deleted, deletedAt, r.ID, old.Version)
	if err != nil {
		return nil, fmt.Errorf("sqlite update record: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, conflict("record " + r.ID)
	}
	if was, is := old.DeletedAt != nil, r.DeletedAt != nil; was != is {
		if err := s.countRecord(ctx, tx, old.App, old.Form, was, -1); err != nil {
			return nil, err
		}
		if err := s.countRecord(ctx, tx, r.App, r.Form, is, 1); err != nil {
			return nil, err
		}
	}
	if err := s.writeRevision(ctx, tx, r, w, data, old.Data); err != nil {
		return nil, err
	}
	if !slices.Equal(engine.RecordTextTerms(old.Data), engine.RecordTextTerms(r.Data)) {
		if err := s.markText(ctx, tx, r.ID); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// countRecord adds delta (1 or -1) to the number of records of app and
// form in the bin (deleted) or not that record_counts keeps, in the
// record's own write.
func (s *Store) countRecord(ctx context.Context, tx *sql.Tx, app, form string, deleted bool, delta int) error {
	q, bin := sqlCountRecord, 0
	if delta < 0 {
		q = sqlUncountRecord
	}
	if deleted {
		bin = 1
	}
	if _, err := s.exec(ctx, tx, q, app, form, bin); err != nil {
		return fmt.Errorf("sqlite record count: %w", err)
	}
	return nil
}

// sqlNextCounter advances a serial counter (made at 1 when new) and returns
// its new value.
const sqlNextCounter = `INSERT INTO counters (key, n) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET n = n + 1 RETURNING n`

// assignSerials numbers r's empty serial fields from counters advanced in
// tx, so a number is taken with the record or not at all.
func (s *Store) assignSerials(ctx context.Context, tx *sql.Tx, r *engine.Record, w *engine.RecordWrite) error {
	if len(w.Serials) == 0 || w.Op == engine.WriteDelete {
		return nil
	}
	return engine.AssignSerials(r, w.Serials, func(key string) (int64, error) {
		var n int64
		err := s.queryRow(ctx, tx, sqlNextCounter, key).Scan(&n)
		return n, err
	})
}

// createRecordArgs are the values of the records row a create inserts, in
// the order of recordCols up to updated_by.
func createRecordArgs(r *engine.Record, data []byte) []any {
	return []any{r.ID, r.App, r.Form, r.FormVersion, r.Unit, r.Owner, r.Status, r.Version, string(data), fmtTime(r.CreatedAt), r.CreatedBy, fmtTime(r.UpdatedAt), r.UpdatedBy}
}

// writeRevision inserts the revision of r written by w; data is r.Data
// as the records row holds it.
func (s *Store) writeRevision(ctx context.Context, tx *sql.Tx, r *engine.Record, w *engine.RecordWrite, data []byte, before map[string]any) error {
	args, err := revisionArgs(r, w.Op, w.Actor, data, before)
	if err != nil {
		return err
	}
	_, err = s.exec(ctx, tx, sqlInsertRevision, args...)
	if err != nil {
		if isConstraint(err) {
			return conflict(fmt.Sprintf("revision %s/%d", r.ID, r.Version))
		}
		return fmt.Errorf("sqlite insert revision: %w", err)
	}
	return nil
}

const revisionCols = `record_id, version, app, form, op, actor, at, status, unit, owner, data, changes`

// revisionArgs are the values of the revisions row that records r as
// written by op, in the order of revisionCols; data is r.Data encoded.
// A create's changes are every field of its data, from nothing: they are
// left empty and made from the data when read (FindRevisions), which
// halves the row the create adds.
func revisionArgs(r *engine.Record, op engine.WriteOp, actor string, data []byte, before map[string]any) ([]any, error) {
	var ch []byte
	if op != engine.WriteCreate || before != nil {
		var err error
		if ch, err = json.Marshal(engine.RevisionChanges(before, r.Data)); err != nil {
			return nil, err
		}
	}
	return []any{r.ID, r.Version, r.App, r.Form, op, actor, fmtTime(r.UpdatedAt), r.Status, r.Unit, r.Owner, string(data), string(ch)}, nil
}

// FindRecordByID returns a live record, or with deleted also a binned one.
func (s *Store) FindRecordByID(ctx context.Context, app, form, id string, deleted bool) (*engine.Record, error) {
	// One column, as a page reads its rows (listCols): scanned column by
	// column through database/sql the read made 83 allocations, not 32,
	// and took about a third longer (BenchmarkFindRecordByID).
	var row string
	err := s.readPoint(ctx, `SELECT `+listCols+` FROM records WHERE id = ? AND app = ? AND form = ?`, []any{id, app, form},
		func(r *sql.Row) error { return r.Scan(&row) })
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite find record %s: %w", id, err)
	}
	r := &engine.Record{}
	if err := readListRow(r, app, form, row, false); err != nil {
		return nil, fmt.Errorf("sqlite find record %s: %w", id, err)
	}
	if r.DeletedAt != nil && !deleted {
		return nil, notFound(id)
	}
	return r, nil
}

// FindRevisions returns a record's revisions, oldest first.
func (s *Store) FindRevisions(ctx context.Context, app, form, id string) ([]*engine.Revision, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT record_id, version, op, actor, at, status, unit, owner, data, changes FROM revisions WHERE record_id = ? AND app = ? AND form = ? ORDER BY version`, id, app, form)
	if err != nil {
		return nil, fmt.Errorf("sqlite find revisions: %w", err)
	}
	defer rows.Close()
	var out []*engine.Revision
	for rows.Next() {
		var v engine.Revision
		var at, data, ch string
		if err := rows.Scan(&v.RecordID, &v.Version, &v.Op, &v.Actor, &at, &v.Status, &v.Unit, &v.Owner, &data, &ch); err != nil {
			return nil, fmt.Errorf("sqlite scan revision: %w", err)
		}
		v.At = parseTime(at)
		if err := json.Unmarshal([]byte(data), &v.Data); err != nil {
			return nil, fmt.Errorf("sqlite revision data: %w", err)
		}
		if ch == "" && v.Op == engine.WriteCreate {
			v.Changes = engine.RevisionChanges(nil, v.Data) // as revisionArgs left them
		} else if err := json.Unmarshal([]byte(ch), &v.Changes); err != nil {
			return nil, fmt.Errorf("sqlite revision changes: %w", err)
		}
		out = append(out, &v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite find revisions: %w", err)
	}
	return out, nil
}
