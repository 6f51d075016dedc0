// Package sqlite implements engine.Store on one SQLite file with the pure-Go
// modernc.org/sqlite driver: WAL mode, one writer connection that serialises
// every Apply in a transaction, and a pool of read-only connections.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"formwork/engine"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Options configures Open.
type Options struct {
	// Now is the clock for times the store sets itself (doc updates, outbox
	// creation). Default time.Now.
	Now func() time.Time
	// BusyTimeout is how long a connection waits for a lock. Default 10s.
	BusyTimeout time.Duration
	// Readers is the size of the read pool. Default max(4, GOMAXPROCS).
	Readers int
	// Synchronous is SQLite's synchronous setting of every commit but
	// those of changes marked Lazy (always NORMAL): "FULL" (default) syncs
	// the WAL at every commit, so a committed Apply survives a power cut;
	// "NORMAL" syncs only at checkpoints, which is faster but may lose the
	// last commits (never corrupt the file) on power loss or an OS crash.
	Synchronous string
	// PageSize is the page size of a database file Open creates (one that
	// exists keeps its own); default newPageSize.
	PageSize int
}

// Store is the SQLite engine.Store. It is safe for concurrent use.
type Store struct {
	w    *sql.DB // the one writer connection
	r    *sql.DB // read-only pool
	rc   *readCache
	wc   *readCache // statements of short reads on the writer connection (warmReader)
	vers *versionCache
	// snapDSN opens the connection of a Snapshot, which is neither the
	// writer nor one of the read-only pool's
	snapDSN string
	now     func() time.Time
	path    string
	sync    string // the synchronous setting of commits not lazy, FULL or NORMAL (tx)
	// full is the writer connection's synchronous setting (FULL or
	// NORMAL), guarded by syncMu, which a commit holds from setting it
	// (setSync) until it has committed.
	full   bool
	syncMu sync.Mutex
	stmts  map[string]*sql.Stmt // writeStatements, prepared on w

	wmu sync.Mutex // held by the Apply committing a batch
	// head is the audit chain's head as this store's last commit left
	// it, when headOK; txHead is the head the transaction under way
	// leaves, when txHeadOK (appendAudit, applyTx). Guarded by wmu.
	head     engine.AuditHead
	headOK   bool
	txHead   engine.AuditHead
	txHeadOK bool
	// auditStmts[n-1] is the INSERT of n audit rows (appendEvents),
	// prepared on w at first use; guarded by wmu
	auditStmts [maxAuditRows]*sql.Stmt
	gmu        sync.Mutex  // guards pending
	pending    []*applyReq // Applies waiting for the next batch
	txt        textFlushes // the background flush of the full-text index (record_text.go); under wmu
	// textWrites counts the flushes of the full-text index (a segment
	// each) since the last merge of its segments was started; merging is
	// set from a merge's start until it has the writer (mergeText), closed
	// once Close began. Guarded by wmu.
	textWrites int
	merging    bool
	closed     bool
	merges     sync.WaitGroup // the flush or merge under way, which Close waits for
}

var _ engine.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. Callers must Close the store.
func Open(path string, opts Options) (*Store, error) {
	registerFuncs()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	switch strings.ToUpper(opts.Synchronous) {
	case "":
		opts.Synchronous = "FULL"
	case "FULL", "NORMAL":
		opts.Synchronous = strings.ToUpper(opts.Synchronous)
	default:
		return nil, fmt.Errorf("sqlite open: synchronous must be FULL or NORMAL, not %q", opts.Synchronous)
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, runtime.GOMAXPROCS(0))
	}
	if opts.PageSize <= 0 {
		opts.PageSize = newPageSize
	}
	if err := createFile(path, opts.PageSize); err != nil {
		return nil, err
	}
	dsn := func(extra ...string) string {
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "foreign_keys(ON)")
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return "file:" + path + "?" + q.Encode()
	}
	// The writer checkpoints at 4,000 WAL pages rather than SQLite's
	// 1,000: a page written by many commits in between (an index's last
	// leaf, the full-text index's structure) is copied to the file once.
	// It starts at synchronous FULL; each commit sets what it needs
	// (setSync). Its temporary storage is memory: once any form has a
	// dashboard, the rollup triggers on records make every record write
	// keep a statement journal, which past 64 KiB (a create touches ~40
	// pages) went to a temporary file opened, written and removed per
	// write (strace of 1,000 creates: 4,267 opens and 40,000 writes more
	// than without a dashboard; with this setting, none). A statement
	// journal holds the pages one statement changed, which every write
	// here bounds; sorts still spill to files (SQLite's sorter ignores
	// the setting).
	w, err := sql.Open("sqlite", dsn("_txlock", "immediate", "_pragma", "wal_autocheckpoint(4000)", "_pragma", "synchronous(FULL)",
		"_pragma", "temp_store(MEMORY)"))
	if err != nil {
		return nil, fmt.Errorf("sqlite open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, now: opts.Now, path: path, sync: opts.Synchronous, full: true, vers: &versionCache{}, snapDSN: dsn()}
	if err := s.migrate(context.Background()); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.prepareWrites(context.Background()); err != nil {
		w.Close()
		return nil, err
	}
	// Readers copy pages in with a read call rather than map the file: a
	// reader drops its mapping whenever the WAL moved since its last read
	// (every request writes an audit event), and unmapping and mapping it
	// again cost a read by id more than the reads. Long walks map it for
	// their own connection (withMmap).
	r, err := sql.Open("sqlite", dsn("_pragma", "query_only(1)"))
	if err != nil {
		s.closeStmts()
		w.Close()
		return nil, fmt.Errorf("sqlite open readers %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.Readers)
	r.SetMaxIdleConns(opts.Readers)
	s.r, s.rc, s.wc = r, newReadCache(r), newReadCache(w)
	s.vers.open(path)
	return s, nil
}

// newPageSize is the page size of a database file Open creates. Every
// page a commit changes is written to the WAL whole and synced: a create
// changes some two dozen pages (a leaf of the records, of each index, of
// the audit, the revisions...), mostly a row or an index entry each, so a
// smaller page writes and syncs fewer bytes for the same change. Peer
// creates at one client, seven alternating runs: 4–10% faster at 2 KiB
// than at SQLite's 4 KiB (better in every pair); lists and reads by id
// the same within noise. A file made before keeps its page size.
const newPageSize = 2048

// createFile makes the database file at path, if there is none or it is
// empty, with pages of pageSize bytes, in WAL mode: the page size is fixed
// once the first page is written, which setting WAL mode does (the driver
// runs a DSN's pragmas in name order, journal_mode before page_size, so it
// is done here on a connection of its own).
func createFile(path string, pageSize int) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sqlite open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return fmt.Errorf("sqlite create %s: %w", path, err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // both statements on one connection
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA page_size = %d`, pageSize)); err != nil {
		return fmt.Errorf("sqlite create %s: %w", path, err)
	}
	if _, err := db.Exec(`PRAGMA journal_mode = WAL`); err != nil {
		return fmt.Errorf("sqlite create %s: %w", path, err)
	}
	return nil
}

// walkMmap is how much of the file a long walk maps (see withMmap).
const walkMmap = 1 << 30

// withMmap returns a reader that maps the file (up to walkMmap) instead
// of copying each page in with a read call, for a walk over many pages:
// a walk over a million audit events spent an eighth of its CPU time in
// pread. The caller gives it back with releaseMmap.
func (s *Store) withMmap(ctx context.Context) (*sql.Conn, error) {
	conn, err := s.r.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA mmap_size = %d`, walkMmap)); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// releaseMmap unmaps the file on conn and gives it back to the pool; a
// reader whose mapping cannot be turned off is closed instead.
func (s *Store) releaseMmap(conn *sql.Conn) {
	_, err := conn.ExecContext(context.Background(), `PRAGMA mmap_size = 0`)
	if err != nil {
		conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}

// Ping reports whether both pools can reach the database.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite ping writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite ping readers: %w", err)
	}
	return nil
}

// Close closes both pools, once a flush or a merge of the full-text index
// under way has ended.
func (s *Store) Close() error {
	s.wmu.Lock()
	s.closed = true
	s.kickText() // a flush waiting runs now
	s.wmu.Unlock()
	s.merges.Wait()
	s.closeStmts()
	s.rc.close()
	s.wc.close()
	s.vers.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// ErrNewerSchema is Open's error for a database a newer build has
// migrated past the steps this build knows.
var ErrNewerSchema = errors.New("the database was written by a newer version of Formwork")

// migrations are the backend's own schema steps, applied in order once each
// and recorded in schema_version. Never edit a released step; append.
var migrations = []string{
	// 1: the base schema.
	`
CREATE TABLE records (
	id TEXT PRIMARY KEY,
	app TEXT NOT NULL,
	form TEXT NOT NULL,
	form_version INTEGER NOT NULL DEFAULT 0,
	unit TEXT NOT NULL DEFAULT '',
	owner TEXT NOT NULL DEFAULT '',
	status TEXT NOT NULL DEFAULT '',
	version INTEGER NOT NULL,
	data TEXT NOT NULL DEFAULT '{}',
	created_at TEXT NOT NULL,
	created_by TEXT NOT NULL DEFAULT '',
	updated_at TEXT NOT NULL,
	updated_by TEXT NOT NULL DEFAULT '',
	deleted INTEGER NOT NULL DEFAULT 0,
	deleted_at TEXT
);
CREATE INDEX records_list ON records(app, form, deleted, created_at, id);
CREATE INDEX records_updated ON records(app, form, deleted, updated_at, id);

CREATE TABLE revisions (
	record_id TEXT NOT NULL,
	version INTEGER NOT NULL,
	app TEXT NOT NULL,
	form TEXT NOT NULL,
	op TEXT NOT NULL,
	actor TEXT NOT NULL,
	at TEXT NOT NULL,
	status TEXT NOT NULL,
	unit TEXT NOT NULL,
	owner TEXT NOT NULL,
	data TEXT NOT NULL,
	changes TEXT NOT NULL,
	PRIMARY KEY (record_id, version)
) WITHOUT ROWID;

CREATE TABLE docs (
	kind TEXT NOT NULL,
	id TEXT NOT NULL,
	version INTEGER NOT NULL,
	tags TEXT NOT NULL DEFAULT '[]',
	uniq TEXT NOT NULL DEFAULT '[]',
	value TEXT NOT NULL,
	updated TEXT NOT NULL,
	PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE TABLE doc_tags (
	kind TEXT NOT NULL,
	tag TEXT NOT NULL,
	id TEXT NOT NULL,
	PRIMARY KEY (kind, tag, id)
) WITHOUT ROWID;
CREATE INDEX doc_tags_id ON doc_tags(kind, id);
CREATE TABLE doc_unique (
	kind TEXT NOT NULL,
	tag TEXT NOT NULL,
	id TEXT NOT NULL,
	PRIMARY KEY (kind, tag)
) WITHOUT ROWID;
CREATE INDEX doc_unique_id ON doc_unique(kind, id);

CREATE TABLE audit (
	seq INTEGER PRIMARY KEY,
	time TEXT NOT NULL,
	actor TEXT NOT NULL,
	ip TEXT NOT NULL,
	action TEXT NOT NULL,
	app TEXT NOT NULL,
	form TEXT NOT NULL,
	object TEXT NOT NULL,
	fields TEXT,
	result TEXT NOT NULL,
	reason TEXT NOT NULL,
	detail BLOB,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_actor ON audit(actor, time);
CREATE INDEX audit_action ON audit(action, time);
CREATE INDEX audit_object ON audit(object, time);
CREATE INDEX audit_time ON audit(time);

CREATE TABLE outbox (
	id TEXT PRIMARY KEY,
	type TEXT NOT NULL,
	payload BLOB,
	run_at TEXT NOT NULL,
	created_at TEXT NOT NULL,
	done INTEGER NOT NULL DEFAULT 0,
	done_at TEXT
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox(done, run_at, id);
`,
	// 2: the number of records per form and bin state, kept by triggers in
	// the writing transaction, so an unfiltered count reads one row instead
	// of walking an index entry per record (2.6 s at 600,000 records).
	`
CREATE TABLE record_counts (
	app TEXT NOT NULL,
	form TEXT NOT NULL,
	deleted INTEGER NOT NULL,
	n INTEGER NOT NULL,
	PRIMARY KEY (app, form, deleted)
) WITHOUT ROWID;
INSERT INTO record_counts (app, form, deleted, n)
	SELECT app, form, deleted, count(*) FROM records GROUP BY app, form, deleted;
CREATE TRIGGER record_counts_insert AFTER INSERT ON records BEGIN
	INSERT INTO record_counts (app, form, deleted, n) VALUES (new.app, new.form, new.deleted, 1)
		ON CONFLICT (app, form, deleted) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER record_counts_delete AFTER DELETE ON records BEGIN
	UPDATE record_counts SET n = n - 1 WHERE app = old.app AND form = old.form AND deleted = old.deleted;
END;
CREATE TRIGGER record_counts_update AFTER UPDATE OF app, form, deleted ON records
	WHEN old.app IS NOT new.app OR old.form IS NOT new.form OR old.deleted IS NOT new.deleted
BEGIN
	UPDATE record_counts SET n = n - 1 WHERE app = old.app AND form = old.form AND deleted = old.deleted;
	INSERT INTO record_counts (app, form, deleted, n) VALUES (new.app, new.form, new.deleted, 1)
		ON CONFLICT (app, form, deleted) DO UPDATE SET n = n + 1;
END;
`,
	// 3: the audit page's filters by result and by address read one page:
	// each index holds (value, seq), so the newest matches come first
	// without a scan (a query for one address scanned every event).
	`
CREATE INDEX audit_result ON audit(result);
CREATE INDEX audit_ip ON audit(ip);
`,
	// 4: the counters serial numbers are taken from (engine.SerialClaim),
	// advanced in the transaction of the record that takes the number.
	`
CREATE TABLE counters (
	key TEXT PRIMARY KEY,
	n INTEGER NOT NULL
) WITHOUT ROWID;
`,
	// 5: the full-text index of list searches (record_text.go), filled
	// from the stored records by backfillText.
	textSchema,
	// 6: the rollups dashboards group from (record_rollup.go), built per
	// form by EnsureIndexes from the stored records.
	rollupSchema,
	// 7: the full-text index without positions and with the ascii
	// tokenizer (record_text.go), filled again by refillText.
	textRebuild,
	// 8: record_counts is kept by the record writes themselves
	// (countRecord in apply.go), not by triggers: a trigger makes SQLite
	// keep a statement journal of every page the INSERT touches (in
	// memory, then in a temporary file past 64 KiB), the records row and
	// each of its indexes.
	`
DROP TRIGGER IF EXISTS record_counts_insert;
DROP TRIGGER IF EXISTS record_counts_delete;
DROP TRIGGER IF EXISTS record_counts_update;
`,
	// 9: fewer index pages for each read's audit commit (every index is a
	// page written to the WAL per commit; a read's event wrote seven, now
	// four). No index on time alone: time order is chain order, so
	// FindAuditEvents turns a time window into a range of seq. Results,
	// actions and objects are indexed only where a scan newest first would
	// not find a page at once, as it does for the events most are (and as
	// it does for a filter by form, which has no index): the results that
	// are not ok, the actions other than reads (view, list: the events of
	// every record opened and every list shown) and the events about an
	// object (a list has none).
	`
DROP INDEX IF EXISTS audit_time;
DROP INDEX IF EXISTS audit_result;
CREATE INDEX audit_result ON audit(result) WHERE result <> 'ok';
DROP INDEX IF EXISTS audit_action;
CREATE INDEX audit_action ON audit(action, time) WHERE action NOT IN ('view', 'list');
DROP INDEX IF EXISTS audit_object;
CREATE INDEX audit_object ON audit(object, time) WHERE object <> '';
`,
	// 10: the docs' versions apart from their values, for DocVersions
	// (every request's authentication): the docs table holds each value in
	// its own rows, a few per page, so five lookups after a write read
	// some twenty pages again; this index holds a hundred versions a page.
	`
CREATE INDEX docs_versions ON docs(kind, id, version);
`,
	// 11: the full-text index merges its segments no longer in the commit
	// of each write but in commits of their own, every textMergeEvery
	// writes (mergeText in record_text.go).
	textNoAutomerge,
	// 12: each record's scalar columns kept as the JSON array a list reads
	// (head), with the version it was made at (head_v), written by the
	// record writes themselves (sqlInsertRecord, sqlUpdateRecord): a page
	// of fifty built the array from eleven columns per row, a fifth of its
	// query. A row whose head_v is not its version (written before this
	// step, or by a writer that does not keep head) is read as before
	// (listCols), so the rows are not rewritten here.
	`
ALTER TABLE records ADD COLUMN head TEXT;
ALTER TABLE records ADD COLUMN head_v INTEGER;
`,
	// 13: a list's ties go by created_at, then id (resolveSort): a list by
	// last update walks this index in order instead of sorting.
	`
DROP INDEX IF EXISTS records_updated;
CREATE INDEX records_updated ON records(app, form, deleted, updated_at, created_at, id);
`,
	// 14: record writes leave the full-text index to a flush of its own
	// (text_pending, flushTextNow in record_text.go).
	textPendingSchema,
}

// migrationFuncs run after the SQL of their step, in its transaction.
var migrationFuncs = map[int]func(s *Store, ctx context.Context, tx *sql.Tx) error{
	5: (*Store).backfillText,
	7: (*Store).refillText,
}

// migrate creates the schema_version table and applies the missing steps,
// each in its own transaction on the writer.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite migrate: %w", err)
	}
	var newest int
	if err := s.w.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&newest); err != nil {
		return fmt.Errorf("sqlite migrate: %w", err)
	}
	if newest > len(migrations) {
		// a newer build's steps may keep data this one does not (a row's
		// head, say): written by this build, it would go stale
		return fmt.Errorf("%w: its schema is at step %d, this build knows %d; run the newer build, or restore a backup made by this one",
			ErrNewerSchema, newest, len(migrations))
	}
	for i, step := range migrations {
		v := i + 1
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_version WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, step); err != nil {
				return err
			}
			if fn := migrationFuncs[v]; fn != nil {
				if err := fn(s, ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_version(version, applied_at) VALUES (?, ?)`, v, fmtTime(s.now()))
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlite migrate step %d: %w", v, err)
		}
	}
	return nil
}

// SchemaVersion returns the highest applied backend migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlite schema version: %w", err)
	}
	return v, nil
}

// tx runs fn in a write transaction and commits it with the store's
// synchronous setting, or rolls back on error.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.sync == "NORMAL" {
		return s.lazyTx(ctx, fn)
	}
	return s.syncedTx(ctx, fn)
}

// runTx begins a transaction with begin (a pool's or a held connection's
// BeginTx), runs fn in it and commits, or rolls back on error.
func runTx(ctx context.Context, begin func(context.Context, *sql.TxOptions) (*sql.Tx, error), fn func(*sql.Tx) error) error {
	tx, err := begin(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// lazyTx is tx for an engine.Change marked Lazy: the transaction commits
// with synchronous NORMAL, which writes the WAL but does not wait for the
// disk (the next FULL commit's sync, or a checkpoint, covers it).
func (s *Store) lazyTx(ctx context.Context, fn func(*sql.Tx) error) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if err := s.setSync(ctx, false); err != nil {
		return err
	}
	return s.writeTx(ctx, fn)
}

// syncedTx is tx when the store syncs every commit (Synchronous FULL).
func (s *Store) syncedTx(ctx context.Context, fn func(*sql.Tx) error) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if err := s.setSync(ctx, true); err != nil {
		return err
	}
	return s.writeTx(ctx, fn)
}

// writeTx is runTx on the writer connection, which moves the doc version
// cache past the commit (versionCache.write).
func (s *Store) writeTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.vers.write(func() error { return runTx(ctx, s.w.BeginTx, fn) })
}

// setSync sets the writer connection's synchronous setting to FULL or
// NORMAL, if it is not so already: the setting stays from one commit to
// the next, so a run of record writes, or of reads' audit events, sets it
// once rather than there and back around each commit (two statements, a
// create's ~45 us). Called with s.syncMu held, which every commit whose
// setting matters holds from here until it has committed, so nothing sets
// it in between. A new connection starts at FULL (Open), as full says
// before the first call; one that could not be set to NORMAL stays at
// FULL, which syncs lazy commits too: slower, not less safe.
func (s *Store) setSync(ctx context.Context, full bool) error {
	if s.full == full {
		return nil
	}
	q := `PRAGMA synchronous = NORMAL`
	if full {
		q = `PRAGMA synchronous = FULL`
	}
	s.full = true // if the statement fails, assume the safe setting: the next call sets it again
	if _, err := s.w.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("sqlite set synchronous: %w", err)
	}
	s.full = full
	return nil
}

func fmtTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func parseTime(s string) time.Time {
	if t, ok := parseStoredTime(s); ok {
		return t
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t.UTC()
}

// isConstraint reports whether err is a SQLite constraint violation.
func isConstraint(err error) bool {
	var se *sqlitedrv.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
	}
	return strings.Contains(err.Error(), "constraint failed")
}

// parseStoredTime reads a time in exactly timeFormat without time.Parse's
// general layout walk (an audit verify parses a million of them); anything
// else, or an out-of-range part, is left to time.Parse.
func parseStoredTime(s string) (time.Time, bool) {
	if len(s) != len(timeFormat) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, sec, ms := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2), num(20, 3)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 || ms < 0 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, ms*int(time.Millisecond), time.UTC)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}
