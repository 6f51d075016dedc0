package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// The statements of Apply, prepared once on the writer connection at Open:
// executing SQL text makes the driver parse and plan it again on every
// call, and an Apply runs several.
const (
	sqlInsertRecord = `INSERT INTO records (` + recordCols + `, deleted, head, head_v) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,NULL,0,
		json_array(?1, ?4, ?5, ?6, ?7, ?8, ?10, ?11, ?12, ?13, NULL), ?8)`
	sqlRecordByID   = `SELECT ` + recordCols + ` FROM records WHERE id = ?`
	sqlUpdateRecord = `UPDATE records SET form_version=?1, unit=?2, owner=?3, status=?4, version=?5, data=?6, updated_at=?7, updated_by=?8, deleted=?9, deleted_at=?10,
		head=json_array(id, ?1, ?2, ?3, ?4, ?5, created_at, created_by, ?7, ?8, ?10), head_v=?5 WHERE id=?11 AND version=?12`
	sqlDeleteRecord    = `DELETE FROM records WHERE id = ?`
	sqlInsertRevision  = `INSERT INTO revisions (` + revisionCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`
	sqlDeleteRevisions = `DELETE FROM revisions WHERE record_id = ?`
	sqlAuditHead       = `SELECT seq, hash, time FROM audit ORDER BY seq DESC LIMIT 1`
	sqlInsertAudit     = `INSERT INTO audit (` + auditCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	sqlInsertOutbox    = `INSERT INTO outbox (id, type, payload, run_at, created_at, done) VALUES (?,?,?,?,?,0)`
	sqlOutboxDone      = `UPDATE outbox SET done = 1, done_at = ? WHERE id = ? AND done = 0`
	sqlDocVersion      = `SELECT version FROM docs WHERE kind = ? AND id = ?`
	sqlPutDoc          = `INSERT INTO docs (kind, id, version, tags, uniq, value, updated) VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, tags = excluded.tags, uniq = excluded.uniq, value = excluded.value, updated = excluded.updated`
	sqlDeleteDoc       = `DELETE FROM docs WHERE kind = ? AND id = ?`
	sqlDeleteDocTags   = `DELETE FROM doc_tags WHERE kind = ? AND id = ?`
	sqlDeleteDocUnique = `DELETE FROM doc_unique WHERE kind = ? AND id = ?`
	sqlInsertDocTag    = `INSERT OR IGNORE INTO doc_tags (kind, tag, id) VALUES (?,?,?)`
	sqlInsertDocUnique = `INSERT INTO doc_unique (kind, tag, id) VALUES (?,?,?)`
	sqlCountRecord     = `INSERT INTO record_counts (app, form, deleted, n) VALUES (?,?,?,1) ON CONFLICT (app, form, deleted) DO UPDATE SET n = n + 1`
	sqlUncountRecord   = `UPDATE record_counts SET n = n - 1 WHERE app = ? AND form = ? AND deleted = ?`
)

var writeStatements = []string{sqlInsertRecord, sqlRecordByID, sqlUpdateRecord, sqlDeleteRecord, sqlInsertRevision, sqlDeleteRevisions,
	sqlAuditHead, sqlInsertAudit, sqlInsertOutbox, sqlOutboxDone,
	sqlDocVersion, sqlPutDoc, sqlDeleteDoc, sqlDeleteDocTags, sqlDeleteDocUnique, sqlInsertDocTag, sqlInsertDocUnique, sqlNextCounter,
	sqlCountRecord, sqlUncountRecord, sqlTextRow, sqlInsertTextRow, sqlDeleteTextRow, sqlDeleteFTS, sqlInsertFTS, sqlMergeText, sqlMarkText, sqlTextDue, sqlClearTextDue}

// prepareWrites prepares writeStatements on the writer. It must run
// outside a transaction: the writer pool has one connection, which a
// transaction holds.
func (s *Store) prepareWrites(ctx context.Context) error {
	s.stmts = make(map[string]*sql.Stmt, len(writeStatements))
	for _, q := range writeStatements {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			s.closeStmts()
			return fmt.Errorf("sqlite prepare: %w", err)
		}
		s.stmts[q] = st
	}
	return nil
}

func (s *Store) closeStmts() {
	for _, st := range s.stmts {
		st.Close()
	}
	for _, st := range s.auditStmts {
		if st != nil {
			st.Close()
		}
	}
}

// exec runs q in tx, through its prepared statement when it has one (the
// statement stays prepared on the connection; database/sql prepares it
// again only if the connection was replaced).
func (s *Store) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.stmts[q]; st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// query is exec for a query of rows.
func (s *Store) query(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st := s.stmts[q]; st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// queryRow is exec for a query of one row.
func (s *Store) queryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := s.stmts[q]; st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// readCacheSize bounds the read statements kept prepared: each is
// prepared on every reader connection that runs it.
const readCacheSize = 64

// readCache keeps the read pool's statements prepared by their SQL text.
// Preparing a list query (parsing it and planning it against every index
// on records) was half of its cost; the texts repeat, since values are
// parameters and only the shape of a filter changes the text. The least
// recently used statement goes when the cache is full, closed once no
// query still holds it.
type readCache struct {
	db   *sql.DB
	mu   sync.Mutex
	m    map[string]*readStmt
	tick uint64
}

type readStmt struct {
	st   *sql.Stmt
	used uint64
	refs int
	gone bool // evicted: closed when refs drops to 0
}

func newReadCache(db *sql.DB) *readCache {
	return &readCache{db: db, m: make(map[string]*readStmt, readCacheSize)}
}

// acquire returns the prepared statement of q, preparing it if needed;
// the caller must release it.
func (c *readCache) acquire(ctx context.Context, q string) (*readStmt, error) {
	c.mu.Lock()
	c.tick++
	if e := c.m[q]; e != nil {
		e.refs++
		e.used = c.tick
		c.mu.Unlock()
		return e, nil
	}
	c.mu.Unlock()
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.m[q]; e != nil { // prepared meanwhile by another query
		st.Close()
		e.refs++
		return e, nil
	}
	e := &readStmt{st: st, used: c.tick, refs: 1}
	if len(c.m) >= readCacheSize {
		var old string
		for k, v := range c.m {
			if old == "" || v.used < c.m[old].used {
				old = k
			}
		}
		if st := c.drop(old); st != nil {
			st.Close()
		}
	}
	c.m[q] = e
	return e, nil
}

// drop takes q's statement out of the cache and returns it if no query
// holds it, for the caller to close; else the release of its last query
// closes it. Called with c.mu held.
func (c *readCache) drop(q string) *sql.Stmt {
	e := c.m[q]
	delete(c.m, q)
	e.gone = true
	if e.refs == 0 {
		return e.st
	}
	return nil
}

func (c *readCache) release(e *readStmt) {
	c.mu.Lock()
	e.refs--
	closeIt := e.gone && e.refs == 0
	c.mu.Unlock()
	if closeIt {
		e.st.Close()
	}
}

// query runs q on the read pool through its cached statement. The rows
// keep the statement open until they are closed, even if it is evicted.
func (c *readCache) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	e, err := c.acquire(ctx, q)
	if err != nil {
		return nil, err
	}
	defer c.release(e)
	return e.st.QueryContext(ctx, args...)
}

// queryRow is query for one row.
func (c *readCache) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	e, err := c.acquire(ctx, q)
	if err != nil {
		return c.db.QueryRowContext(ctx, q, args...) // reports the same error when scanned
	}
	defer c.release(e)
	return e.st.QueryRowContext(ctx, args...)
}

// close drops every statement: those no query holds are closed now, the
// others by the release of their last query. It must not wait for a
// query under c.mu: a query inside its statement (which Stmt.Close waits
// for) can be waiting for a pool connection that another query's rows
// hold, and those rows are closed only after their release takes c.mu.
func (c *readCache) close() {
	c.mu.Lock()
	var idle []*sql.Stmt
	for k := range c.m {
		if st := c.drop(k); st != nil {
			idle = append(idle, st)
		}
	}
	c.mu.Unlock()
	for _, st := range idle {
		st.Close()
	}
}

// warmReader returns the statements a short read (one row, one page of
// records) runs through, and the function that ends the read. When the
// writer is idle and no change waits for it, that is the writer
// connection: its page cache stays warm, since it made the last writes
// itself, whereas a reader drops its whole cache at its first read after
// any commit, and every request commits (its read's audit event). Else
// it is the read pool. The caller must close its rows before ending the
// read, and must not wait for the writer meanwhile.
func (s *Store) warmReader() (*readCache, func()) {
	if s.wmu.TryLock() {
		s.gmu.Lock()
		idle := len(s.pending) == 0
		s.gmu.Unlock()
		if idle {
			return s.wc, s.wmu.Unlock
		}
		s.wmu.Unlock()
	}
	return s.rc, func() {}
}

// readPoint runs q, a read of one row by its key (a doc, a record, doc
// versions), through warmReader and without the request's cancellation
// (detachCtx), and scans its row with scan before the read ends.
func (s *Store) readPoint(ctx context.Context, q string, args []any, scan func(*sql.Row) error) error {
	rc, done := s.warmReader()
	defer done()
	return scan(rc.queryRow(detachCtx(ctx), q, args...))
}

// detachCtx is the context of a read of one row by its key, of a page of
// records (FindRecords), or of one change's write transaction: ctx's
// values without its cancellation.
// Given a context that can end, database/sql and the driver start a
// goroutine per transaction and per statement to watch it, and each end
// wakes them: for a read of microseconds more than the read, for a create
// of about fifteen statements a tenth of its CPU. Neither has anything
// worth interrupting (a change of a batch already runs without its
// caller's context). A context that has already ended is still honoured:
// the read or the write then fails at once with its error.
func detachCtx(ctx context.Context) context.Context {
	if ctx.Done() == nil || ctx.Err() != nil {
		return ctx
	}
	return context.WithoutCancel(ctx)
}
