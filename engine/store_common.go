package engine

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// This file holds the backend-independent parts of a Store: what a record
// write turns into, the error values every backend returns, page limits and
// the opaque cursor encoding. engine/store/sqlite and engine/store/mongo
// share them so both backends behave the same by construction.

// Limits of one page of records.
const (
	DefaultRecordLimit = 50
	MaxRecordLimit     = 1000
)

// Limits of one page of audit events.
const (
	DefaultAuditLimit = 100
	MaxAuditLimit     = 1000
)

// clampLimit returns n, or def when n <= 0, and at most maxN.
func clampLimit(n, def, maxN int) int {
	if n <= 0 {
		n = def
	}
	return min(n, maxN)
}

// RecordPageLimit is the number of records a RecordQuery.Limit asks for.
func RecordPageLimit(n int) int { return clampLimit(n, DefaultRecordLimit, MaxRecordLimit) }

// AuditPageLimit is the number of events an AuditQuery.Limit asks for.
func AuditPageLimit(n int) int { return clampLimit(n, DefaultAuditLimit, MaxAuditLimit) }

// ErrRecordNotFound is the ENOTFOUND a store returns for a missing record.
func ErrRecordNotFound(id string) error {
	return Errorf(ENOTFOUND, T("记录不存在："+id, "record not found: "+id))
}

// ErrStoreConflict is the ECONFLICT a store returns for a stale version or
// a duplicate key; what names the object.
func ErrStoreConflict(what string) error {
	return Errorf(ECONFLICT, T("数据已被他人修改或重复："+what, "conflict (stale version or duplicate): "+what))
}

// ErrBadCursor is the EINVALID a store returns for a cursor it did not make.
func ErrBadCursor() error {
	return Errorf(EINVALID, T("分页游标无效", "invalid cursor"))
}

// ErrDataEncoding is the EINVALID for record data that cannot be encoded.
func ErrDataEncoding(err error) error {
	return Errorf(EINVALID, T("数据无法编码", "record data cannot be encoded: "+err.Error()))
}

// maxCursor bounds the length of an encoded cursor.
const maxCursor = 16 << 10

// EncodeCursor encodes a backend's cursor struct as an opaque string.
func EncodeCursor(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor decodes what EncodeCursor made into v, refusing anything
// else (too long, not base64, unknown keys, trailing data) with
// ErrBadCursor.
func DecodeCursor(s string, v any) error {
	if len(s) > maxCursor {
		return ErrBadCursor()
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ErrBadCursor()
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return ErrBadCursor()
	}
	if _, err := dec.Token(); err != io.EOF { // nothing may follow the cursor
		return ErrBadCursor()
	}
	return nil
}

// RecordWriteTime checks that w carries a record and returns the time the
// write is stamped with: w.At, or now() when zero, in UTC at millisecond
// precision (the finest every backend keeps).
func RecordWriteTime(w *RecordWrite, now func() time.Time) (time.Time, error) {
	if w.Record == nil {
		return time.Time{}, Errorf(EINVALID, T("缺少记录", "record write without a record"))
	}
	at := w.At
	if at.IsZero() {
		at = now()
	}
	return at.UTC().Truncate(time.Millisecond), nil
}

// NextRecordState returns the record a write stores, given the stored
// record old (nil when there is none) and the write's time at (from
// RecordWriteTime). For OpCreate old is ignored and the result is version 1
// with defaults filled in; for OpPurge the result is old itself, which the
// backend then removes with its revisions. Errors: ENOTFOUND when old is
// missing, belongs to another form, or is binned for an update or delete;
// ECONFLICT when old is not at w.ExpectVersion; EINVALID for an unknown op.
// The backend still writes with a compare-and-set on old.Version.
func NextRecordState(old *Record, w *RecordWrite, at time.Time) (*Record, error) {
	in := w.Record
	if w.Op == WriteCreate {
		r := in.Clone()
		if r.ID == "" {
			r.ID = NewID(at)
		}
		if r.Data == nil {
			r.Data = map[string]any{}
		}
		if r.Status == "" {
			r.Status = StatusActive
		}
		r.Version = 1
		r.CreatedAt, r.UpdatedAt = at, at
		r.CreatedBy, r.UpdatedBy = w.Actor, w.Actor
		r.DeletedAt = nil
		return r, nil
	}
	if old == nil || old.App != in.App || old.Form != in.Form {
		return nil, ErrRecordNotFound(in.ID)
	}
	if old.Version != w.ExpectVersion {
		return nil, ErrStoreConflict(fmt.Sprintf("record %s is at version %d, not %d", in.ID, old.Version, w.ExpectVersion))
	}
	r := old.Clone()
	r.Version = old.Version + 1
	r.UpdatedAt, r.UpdatedBy = at, w.Actor
	switch w.Op {
	case WriteUpdate:
		if old.DeletedAt != nil {
			return nil, ErrRecordNotFound(in.ID)
		}
		setRecordState(r, in)
	case WriteDelete:
		if old.DeletedAt != nil {
			return nil, ErrRecordNotFound(in.ID)
		}
		t := at
		r.DeletedAt = &t
	case WriteRestore:
		if in.Data != nil {
			setRecordState(r, in)
		}
		r.DeletedAt = nil
	case WritePurge:
		return old, nil
	default:
		return nil, Errorf(EINVALID, T("未知操作："+string(w.Op), "unknown record op: "+string(w.Op)))
	}
	return r, nil
}

// setRecordState copies the caller-settable parts of in onto r.
func setRecordState(r, in *Record) {
	r.Data = CloneData(in.Data)
	if r.Data == nil {
		r.Data = map[string]any{}
	}
	if in.Status != "" {
		r.Status = in.Status
	}
	r.Unit, r.Owner = in.Unit, in.Owner
	if in.FormVersion != 0 {
		r.FormVersion = in.FormVersion
	}
}

// RevisionChanges lists what a write changed, for its revision: the
// fields that differ between before (nil for a create) and after, never nil.
func RevisionChanges(before, after map[string]any) []FieldChange {
	changes := DiffData(before, after)
	if changes == nil {
		changes = []FieldChange{}
	}
	return changes
}

// CheckAuditEvents refuses a Change whose audit list holds a nil event.
func CheckAuditEvents(evs []*AuditEvent) error {
	for _, ev := range evs {
		if ev == nil {
			return Errorf(EINVALID, T("审计事件为空", "nil audit event"))
		}
	}
	return nil
}

// PrepareOutboxJob checks a job before a store writes it and fills in its
// defaults: CreatedAt from now(), RunAt from CreatedAt.
func PrepareOutboxJob(j OutboxJob, now func() time.Time) (OutboxJob, error) {
	if j.ID == "" {
		return j, Errorf(EINVALID, T("后台任务缺少编号", "outbox job without id"))
	}
	if j.CreatedAt.IsZero() {
		j.CreatedAt = now()
	}
	if j.RunAt.IsZero() {
		j.RunAt = j.CreatedAt
	}
	return j, nil
}

// RecordCursor is the position after the last record of a page: its sort
// values as the backend types them (V), its id, and a fingerprint of the
// sort so a cursor from another ordering is refused.
type RecordCursor[V any] struct {
	Sort uint32 `json:"k"`
	Vals []V    `json:"v"`
	ID   string `json:"i"`
}

// EncodeRecordCursor encodes the position after a record with sort
// fingerprint fp, sort values vals (without the id) and id.
func EncodeRecordCursor[V any](fp uint32, vals []V, id string) string {
	if vals == nil {
		vals = []V{}
	}
	return EncodeCursor(RecordCursor[V]{Sort: fp, Vals: vals, ID: id})
}

// DecodeRecordCursor decodes a cursor for a sort with fingerprint fp and
// nKeys keys (the id included) and returns its sort values, converted by
// conv, followed by the id. ErrBadCursor for a cursor of another sort.
func DecodeRecordCursor[V any](s string, fp uint32, nKeys int, conv func(V) (any, error)) ([]any, error) {
	var c RecordCursor[V]
	if err := DecodeCursor(s, &c); err != nil {
		return nil, err
	}
	if c.Sort != fp || len(c.Vals) != nKeys-1 || c.ID == "" {
		return nil, ErrBadCursor()
	}
	vals := make([]any, 0, nKeys)
	for _, cv := range c.Vals {
		v, err := conv(cv)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	return append(vals, c.ID), nil
}

// auditCursor is the position after the last event of a page.
type auditCursor struct {
	Seq int64 `json:"s"`
}

// DecodeAuditCursor returns the Seq an AuditQuery.Cursor continues below,
// or 0 for no cursor.
func DecodeAuditCursor(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	var c auditCursor
	if err := DecodeCursor(s, &c); err != nil || c.Seq <= 0 {
		return 0, ErrBadCursor()
	}
	return c.Seq, nil
}

// NewAuditPage makes a page of the events a backend read, newest first,
// asking for limit+1 of them: a page of limit events and, when the extra one
// came back, the cursor to the next page.
func NewAuditPage(items []*AuditEvent, limit int) *AuditPage {
	page := &AuditPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.NextCursor = EncodeCursor(auditCursor{Seq: items[limit-1].Seq})
	}
	return page
}

// AuditWalkChunk bounds how many events a WalkAudit reads per query, so a
// walk over millions of events holds neither them nor a long read.
const AuditWalkChunk = 5000

// WalkAuditChunks implements Store.WalkAudit over read, which returns up to
// AuditWalkChunk events with Seq > after in Seq order.
func WalkAuditChunks(after int64, read func(after int64) ([]*AuditEvent, error), fn func(*AuditEvent) error) error {
	for {
		evs, err := read(after)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := fn(e); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(evs) < AuditWalkChunk {
			return nil
		}
	}
}
