package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"formwork/engine"
)

// appendAudit seals evs in order after the current last event and inserts
// them. It runs inside the Apply transaction on the single writer, so the
// chain has one total order however many callers there are.
//
// The last event is the head this store's last commit left (Store.head),
// when it knows it: reading the newest row was a query per read's audit
// commit. A head gone stale (another process appended to the file) is
// found by the first insert, whose seq is then taken: the row is read
// and the events sealed again.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, evs []*engine.AuditEvent) error {
	if err := engine.CheckAuditEvents(evs); err != nil {
		return err
	}
	head, known := s.head, s.headOK
	s.headOK = false // until this transaction commits (applyTx)
	if !known {
		var err error
		if head, err = s.auditHead(ctx, tx); err != nil {
			return err
		}
	}
	for i := 0; i < len(evs); i++ {
		ev := evs[i]
		ev.Seal(head)
		if _, err := s.exec(ctx, tx, sqlInsertAudit, auditArgs(ev)...); err != nil {
			if i == 0 && known && isConstraint(err) {
				known = false
				if head, err = s.auditHead(ctx, tx); err != nil {
					return err
				}
				i--
				continue
			}
			return fmt.Errorf("sqlite audit insert: %w", err)
		}
		head = ev.Head()
	}
	s.txHead, s.txHeadOK = head, true
	return nil
}

// maxAuditRows is the most events appendEvents writes in one INSERT.
const maxAuditRows = 16

// appendEvents writes a lazy change of audit events and nothing else (the
// AuditWriter's batch of reads) as one INSERT of every event, its own
// transaction, after the head the store's last commit left: a
// transaction around it was two statements more (BEGIN, COMMIT), and an
// INSERT per event. done is false when c is not such a change (or has
// more than maxAuditRows events), or when the head is unknown or stale
// (another process appended: the first seq is taken, and the INSERT
// changed nothing); applyAlone then writes it in a transaction, which
// reads the head.
func (s *Store) appendEvents(ctx context.Context, c *engine.Change) (res *engine.ChangeResult, done bool, err error) {
	n := len(c.Audit)
	if !c.Lazy || !s.headOK || n == 0 || n > maxAuditRows || len(c.Records)+len(c.Docs)+len(c.Outbox)+len(c.OutboxDone) > 0 {
		return nil, false, nil
	}
	if err := engine.CheckAuditEvents(c.Audit); err != nil {
		return nil, true, err
	}
	st, err := s.auditInsert(ctx, n)
	if err != nil {
		return nil, true, err
	}
	head := s.head
	var args []any
	for _, ev := range c.Audit {
		ev.Seal(head)
		head = ev.Head()
		if n == 1 {
			args = auditArgs(ev)
		} else {
			args = append(args, auditArgs(ev)...)
		}
	}
	s.headOK = false // until the INSERT is done
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if err := s.setSync(ctx, false); err != nil {
		return nil, true, err
	}
	if err := s.vers.write(func() error {
		_, err := st.ExecContext(ctx, args...)
		return err
	}); err != nil {
		if isConstraint(err) {
			return nil, false, nil
		}
		return nil, true, fmt.Errorf("sqlite audit insert: %w", err)
	}
	s.head, s.headOK = head, true
	return &engine.ChangeResult{Audit: c.Audit}, true, nil
}

// auditInsert returns the INSERT of n audit rows, prepared on the writer
// at first use. Called with s.wmu held, outside a transaction.
func (s *Store) auditInsert(ctx context.Context, n int) (*sql.Stmt, error) {
	if n == 1 {
		return s.stmts[sqlInsertAudit], nil
	}
	if st := s.auditStmts[n-1]; st != nil {
		return st, nil
	}
	row := "(?" + strings.Repeat(",?", auditColCount-1) + ")"
	st, err := s.w.PrepareContext(ctx, `INSERT INTO audit (`+auditCols+`) VALUES `+row+strings.Repeat(","+row, n-1))
	if err != nil {
		return nil, fmt.Errorf("sqlite prepare audit insert: %w", err)
	}
	s.auditStmts[n-1] = st
	return st, nil
}

// auditHead returns the newest event's sequence number, hash and time.
func (s *Store) auditHead(ctx context.Context, tx *sql.Tx) (engine.AuditHead, error) {
	var h engine.AuditHead
	var t string
	err := s.queryRow(ctx, tx, sqlAuditHead).Scan(&h.Seq, &h.Hash, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return engine.AuditHead{}, nil
	}
	if err != nil {
		return h, fmt.Errorf("sqlite audit head: %w", err)
	}
	h.Time = parseTime(t)
	return h, nil
}

// auditArgs are the values of a sealed event's row, in the order of auditCols.
func auditArgs(ev *engine.AuditEvent) []any {
	var fields any
	if len(ev.Fields) > 0 {
		b, _ := json.Marshal(ev.Fields)
		fields = string(b)
	}
	var detail any
	if ev.Detail != nil {
		detail = []byte(ev.Detail)
	}
	return []any{ev.Seq, fmtTime(ev.Time), ev.Actor, ev.IP, ev.Action, ev.App, ev.Form, ev.Object, fields, ev.Result, ev.Reason, detail, ev.PrevHash, ev.Hash}
}

const auditCols = `seq, time, actor, ip, action, app, form, object, fields, result, reason, detail, prev_hash, hash`

// auditColCount is the number of auditCols.
var auditColCount = strings.Count(auditCols, ",") + 1

func scanAudit(row scanner) (*engine.AuditEvent, error) {
	var e engine.AuditEvent
	var t string
	var fields sql.NullString
	var detail []byte
	if err := row.Scan(&e.Seq, &t, &e.Actor, &e.IP, &e.Action, &e.App, &e.Form, &e.Object, &fields, &e.Result, &e.Reason, &detail, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = parseTime(t)
	if fields.Valid && fields.String != "" {
		if err := json.Unmarshal([]byte(fields.String), &e.Fields); err != nil {
			return nil, fmt.Errorf("sqlite audit %d fields: %w", e.Seq, err)
		}
	}
	if detail != nil {
		e.Detail = json.RawMessage(detail)
	}
	return &e, nil
}

// FindAuditEvents returns events newest first (by Seq). From is inclusive,
// To exclusive.
//
// Time order is chain order (engine.AuditEvent.Seal clamps it), so a query
// by person, action or object reads its page newest first along that
// column's (column, time) index, bounded by time: the cursor's event's
// time is the upper bound of the next page. Ordering by Seq instead read
// every match of the window (a person's month: tens of thousands of index
// entries) to sort them before taking one page. The other queries keep
// Seq order, and their time window becomes a range of Seq (auditSeqFrom):
// there is no index on time alone. The filters whose indexes hold
// (value, seq) — result, address — read their page from it. The result
// and action indexes hold only the events that are not ok and not reads
// (migration 9): a query for the others walks the events newest first.
func (s *Store) FindAuditEvents(ctx context.Context, q engine.AuditQuery) (*engine.AuditPage, error) {
	limit := engine.AuditPageLimit(q.Limit)
	below, err := engine.DecodeAuditCursor(q.Cursor)
	if err != nil {
		return nil, err
	}
	readAction := q.Action == "view" || q.Action == "list" // not in audit_action
	byTime := q.Actor != "" || q.Action != "" && !readAction || q.Object != ""
	var where []string
	var args []any
	if below > 0 {
		if byTime {
			var t string
			err := s.r.QueryRowContext(ctx, `SELECT time FROM audit WHERE seq = ?`, below).Scan(&t)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("sqlite find audit cursor: %w", err)
			}
			if t != "" {
				where = append(where, "time <= ?")
				args = append(args, t)
			}
		}
		where = append(where, "seq < ?")
		args = append(args, below)
	}
	for _, f := range []struct{ col, v string }{{"actor", q.Actor}, {"action", q.Action}, {"app", q.App}, {"form", q.Form},
		{"object", q.Object}, {"result", q.Result}, {"ip", q.IP}} {
		if f.v != "" {
			where = append(where, f.col+" = ?")
			args = append(args, f.v)
		}
	}
	// the terms that let the planner use the partial indexes (migration 9)
	if q.Object != "" {
		where = append(where, "object <> ''")
	}
	if q.Result != "" && q.Result != engine.ResultOK && !byTime {
		where = append(where, "result <> 'ok'")
	}
	if q.Action != "" && !readAction && q.Actor == "" && q.Object == "" {
		where = append(where, "action NOT IN ('view', 'list')")
	}
	for _, b := range []struct {
		t      time.Time
		op, cl string
	}{{q.From, ">=", "seq >= ?"}, {q.To, "<", "seq < ?"}} {
		if b.t.IsZero() {
			continue
		}
		t := fmtTime(engine.AuditTime(b.t))
		where = append(where, "time "+b.op+" ?")
		args = append(args, t)
		if byTime {
			continue
		}
		seq, err := s.auditSeqFrom(ctx, t)
		if err != nil {
			return nil, fmt.Errorf("sqlite find audit: %w", err)
		}
		where = append(where, b.cl)
		args = append(args, seq)
	}
	order := ` ORDER BY seq DESC`
	if byTime {
		order = ` ORDER BY time DESC, seq DESC`
	}
	// The page's sequence numbers come from an index alone (every index
	// holds seq, the rowid) and only the page's rows are read in full:
	// reading every match in full before sorting made a query by actor and
	// time take ten times as long at a million events.
	sub := `SELECT seq FROM audit`
	if len(where) > 0 {
		sub += ` WHERE ` + strings.Join(where, " AND ")
	}
	query := `SELECT ` + auditCols + ` FROM audit WHERE seq IN (` + sub + order + ` LIMIT ?)` + order
	args = append(args, limit+1)
	evs, err := s.queryAudit(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite find audit: %w", err)
	}
	return engine.NewAuditPage(evs, limit), nil
}

// auditSeqFrom returns the Seq of the first event at or after t (a stored
// time), or one past the last event when there is none, by a binary search
// over Seq: time order is chain order (engine.AuditEvent.Seal clamps it),
// so the events of a time window are a range of Seq, found in some twenty
// reads of one row at a million events. On a chain whose times are out of
// order (VerifyAudit reports it) the range is only near the window; the
// query keeps its terms on time, so it returns no event outside it.
func (s *Store) auditSeqFrom(ctx context.Context, t string) (int64, error) {
	var lo, hi int64 // the answer is in [lo, hi]
	// two subqueries: min and max in one read every row
	if err := s.rc.queryRow(ctx, `SELECT coalesce((SELECT min(seq) FROM audit), 1), coalesce((SELECT max(seq) FROM audit), 0) + 1`).Scan(&lo, &hi); err != nil {
		return 0, fmt.Errorf("audit seq bounds: %w", err)
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		var at string // the time of the first event from mid on; there is one, as mid < hi
		if err := s.rc.queryRow(ctx, `SELECT time FROM audit WHERE seq >= ? ORDER BY seq LIMIT 1`, mid).Scan(&at); err != nil {
			return 0, fmt.Errorf("audit seq at %d: %w", mid, err)
		}
		if at >= t {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// queryAudit reads the events a query selects.
func (s *Store) queryAudit(ctx context.Context, query string, args ...any) ([]*engine.AuditEvent, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []*engine.AuditEvent
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	return evs, rows.Err()
}

// WalkAudit calls fn for every event with Seq > after, in Seq order, reading
// engine.AuditWalkChunk events per query.
func (s *Store) WalkAudit(ctx context.Context, after int64, fn func(*engine.AuditEvent) error) error {
	return engine.WalkAuditChunks(after, func(after int64) ([]*engine.AuditEvent, error) {
		evs, err := s.queryAudit(ctx, `SELECT `+auditCols+` FROM audit WHERE seq > ? ORDER BY seq LIMIT ?`, after, engine.AuditWalkChunk)
		if err != nil {
			return nil, fmt.Errorf("sqlite walk audit: %w", err)
		}
		return evs, nil
	}, fn)
}

func (s *Store) insertOutbox(ctx context.Context, tx *sql.Tx, j engine.OutboxJob) error {
	j, err := engine.PrepareOutboxJob(j, s.now)
	if err != nil {
		return err
	}
	var payload any
	if j.Payload != nil {
		payload = []byte(j.Payload)
	}
	_, err = s.exec(ctx, tx, sqlInsertOutbox,
		j.ID, j.Type, payload, fmtTime(j.RunAt), fmtTime(j.CreatedAt))
	if err != nil {
		if isConstraint(err) {
			return conflict("duplicate outbox job " + j.ID)
		}
		return fmt.Errorf("sqlite insert outbox: %w", err)
	}
	return nil
}

// FindOutbox returns pending jobs due at or before due, oldest RunAt first.
func (s *Store) FindOutbox(ctx context.Context, due time.Time, limit int) ([]engine.OutboxJob, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, type, payload, run_at, created_at FROM outbox WHERE done = 0 AND run_at <= ? ORDER BY run_at, id LIMIT ?`, fmtTime(due), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite find outbox: %w", err)
	}
	defer rows.Close()
	var out []engine.OutboxJob
	for rows.Next() {
		var j engine.OutboxJob
		var payload []byte
		var runAt, created string
		if err := rows.Scan(&j.ID, &j.Type, &payload, &runAt, &created); err != nil {
			return nil, fmt.Errorf("sqlite scan outbox: %w", err)
		}
		if payload != nil {
			j.Payload = json.RawMessage(payload)
		}
		j.RunAt, j.CreatedAt = parseTime(runAt), parseTime(created)
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite find outbox: %w", err)
	}
	return out, nil
}
