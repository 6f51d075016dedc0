package engine

import (
	"context"
	"encoding/json"
	"time"

	"formwork/engine/filter"
)

// WriteOp is what a RecordWrite does to a stored record. It is a type of
// its own so that it cannot be confused with the Operation a role grants
// (OpCreate and WriteCreate are both "create", but one is a permission and
// the other a store write).
type WriteOp string

// Record write operations.
const (
	WriteCreate  WriteOp = "create"  // insert a new record at version 1
	WriteUpdate  WriteOp = "update"  // replace data/status/unit/owner; version+1
	WriteDelete  WriteOp = "delete"  // soft delete to the recycle bin; version+1
	WriteRestore WriteOp = "restore" // bring back from the recycle bin, or to an earlier revision; version+1
	WritePurge   WriteOp = "purge"   // remove the record and its revisions for good (admin)
)

// RecordWrite is one record change inside a Change. For every op but create,
// ExpectVersion must equal the stored version or the whole Change fails with
// ECONFLICT. The store sets Version, timestamps (from At) and writes the
// revision itself (full snapshot plus DiffData against the stored state).
type RecordWrite struct {
	Op            WriteOp
	Record        *Record // the new state; for create the store assigns Version 1
	ExpectVersion int64
	Actor         string
	At            time.Time
	// Serials number the record's serial fields that are still empty,
	// inside this write (see AssignSerials).
	Serials []SerialClaim
}

// Doc is a small JSON document of an auxiliary kind (users, units, sessions,
// tokens, grants, workflow instances, tasks, notifications, definitions,
// migrations …). Tags are exact-match lookup keys ("email:a@b.c",
// "assignee:u1|open"); Unique tags must be unique within the kind.
type Doc struct {
	Kind    string          `json:"kind"`
	ID      string          `json:"id"`
	Version int64           `json:"version"`
	Tags    []string        `json:"tags,omitempty"`
	Unique  []string        `json:"unique,omitempty"`
	Value   json.RawMessage `json:"value"`
	Updated time.Time       `json:"updated"`
}

// DocRef names one Doc by its kind and id.
type DocRef struct {
	Kind string
	ID   string
}

// DocWrite puts or deletes one Doc inside a Change. ExpectVersion 0 means
// "must not exist" for a put; -1 means "any version" (upsert). A put of an
// existing doc with another version, or a Unique tag that another doc of the
// kind already holds, fails the whole Change with ECONFLICT.
type DocWrite struct {
	Doc           Doc
	ExpectVersion int64
	Delete        bool
}

// AnyVersion in DocWrite.ExpectVersion disables the version check.
const AnyVersion = -1

// OutboxJob is a background job written in the same atomic Change as the
// state it follows from. The relay moves due jobs to the queue; a job is
// marked done only after its handler succeeded.
type OutboxJob struct {
	ID        string          `json:"id"`   // also the queue's unique task id
	Type      string          `json:"type"` // noun:verb
	Payload   json.RawMessage `json:"payload"`
	RunAt     time.Time       `json:"run_at"`
	CreatedAt time.Time       `json:"created_at"`
	Done      bool            `json:"done"`
	DoneAt    *time.Time      `json:"done_at,omitempty"`
}

// Change is everything one user action writes. Apply writes all of it or
// nothing: records (each with its revision), docs, audit events (chained in
// order), outbox jobs, and outbox jobs marked done.
type Change struct {
	Records    []RecordWrite
	Docs       []DocWrite
	Audit      []*AuditEvent
	Outbox     []OutboxJob
	OutboxDone []string
	// Lazy lets the store acknowledge the change once the operating system
	// holds it, before it reaches the disk: a crash of the process (kill -9)
	// keeps it, a power cut or a crash of the machine may lose the last such
	// changes. The AuditWriter's batches (the events of reads) are lazy: a
	// disk flush per read was most of a read's time. A backend may ignore it.
	Lazy bool

	// auditVersions, when set, holds for each event of Audit the app's
	// current version as the request that made it resolved it (0: not
	// known), so that the encrypting store learns which fields of the
	// event's form are encrypted without reading the app document again
	// (see EncryptingStore.scrubAudit). Not compared by tests: unexported.
	auditVersions []int
}

// ChangeResult reports what Apply stored: the records as written (with
// their new versions) and the audit events with their sequence and hash.
type ChangeResult struct {
	Records []*Record
	Docs    []Doc
	Audit   []*AuditEvent
}

// SortKey orders records by a field (data key or system field such as
// "_created_at"); the store always adds _id as the last key for stability.
type SortKey struct {
	Field string
	Desc  bool
}

// RecordQuery selects records of one form. Filter is already checked against
// the form and has its variables substituted (see package filter).
type RecordQuery struct {
	App     string
	Form    string
	Filter  filter.Expr // nil: all records
	Sort    []SortKey   // default: _created_at descending; ties by _created_at, then _id, in the last key's direction
	Limit   int         // default 50, at most 1000
	Cursor  string      // opaque, from RecordPage.NextCursor
	Deleted bool        // the recycle bin instead of live records
	// RawData lets the store give each record's data as its stored JSON
	// text (Record.RawData, Data nil) instead of decoding it. A store that
	// does not keep data as JSON text ignores it.
	RawData bool

	// appVersion is the app's current version as the request that makes
	// the query resolved it (0: not known), so that the encrypting store
	// need not read the app document again to learn which fields are
	// encrypted.
	appVersion int
}

// RecordPage is one page of records; NextCursor is empty on the last page.
type RecordPage struct {
	Items      []*Record
	NextCursor string
}

// DocQuery lists docs of a kind, optionally with a tag, ordered by ID.
type DocQuery struct {
	Kind  string
	Tag   string
	After string // ID to start after
	Limit int    // 0: no limit
}

// AuditQuery selects audit events; zero fields do not filter.
type AuditQuery struct {
	Actor  string
	Action string
	App    string
	Form   string
	Object string
	Result string // ResultOK, ResultDenied or ResultFailed
	IP     string
	From   time.Time
	To     time.Time
	Limit  int    // default 100
	Cursor string // opaque
}

// AuditPage is one page of audit events, newest first.
type AuditPage struct {
	Items      []*AuditEvent
	NextCursor string
}

// GroupQuery groups the records of one form and measures each group inside
// the database (dashboards). Filter is already checked against the form,
// with the viewer's scope ANDed in; the engine has refused keys and
// measures the viewer may not read.
type GroupQuery struct {
	App     string
	Form    string
	Filter  filter.Expr // nil: all live records
	By      []GroupBy   // at most MaxGroupKeys; none: one group of every record
	Measure string      // data key whose numbers are summed, averaged…; "": counts only
	Limit   int         // most groups answered (default and at most MaxGroups); more is EINVALID
	// NoBounds says the caller reads no Min and Max: a store may leave
	// them zero, and may then answer from totals it keeps (SQLite's
	// rollups, see FormIndex.Rollup).
	NoBounds bool
}

// GroupBy is one grouping key: a field's value (each element of an array
// field), or a time field cut into hours or days. A field's values are of
// its type, as a form's schema keeps them: a field mixing JSON types
// groups as the backend reads it.
type GroupBy struct {
	Field string  // data key or system field (_unit, _owner, _status, _created_at, _updated_at)
	Cut   TimeCut // "" groups by the value itself
	Each  bool    // an array field: each element is a key (a record counts in each)
	Bool  bool    // a yes/no field (its keys are true and false)
	// Shift, with Cut == CutHour, is added to each time before it is cut:
	// the part of the organisation's UTC offset below a whole hour, so the
	// engine can fold the hours into local days (see FoldGroups).
	Shift time.Duration
}

// TimeCut is how a time key is cut.
type TimeCut string

// Time cuts. A CutHour key is "2006-01-02T15" (UTC plus Shift): times are
// read as RFC 3339 (system times, date-time fields); a CutDay key is
// "2006-01-02", the first ten characters of a date field's value.
const (
	CutHour TimeCut = "hour"
	CutDay  TimeCut = "day"
)

// Group limits: MaxGroupKeys keys (a pivot table's rows and columns), and
// at most MaxGroups groups in one answer.
const (
	MaxGroupKeys = 2
	MaxGroups    = 20000
)

// GroupRow is one group: its key values in By's order (nil for records
// without the field), how many records it holds, and — over the numeric
// values of the measure field — how many there are, their sum, least and
// greatest (all zero when N is 0).
type GroupRow struct {
	Keys  []any
	Count int64
	N     int64
	Sum   float64
	Min   float64
	Max   float64
}

// FormIndex describes the indexes a published form needs.
type FormIndex struct {
	App    string
	Form   string
	Fields []string // data keys with x-index: true
	// Covered are the fields the form's lists are narrowed by most: those
	// its roles' data scopes name (system fields _unit, _owner and _status
	// among them) and its indexed fields. A backend may keep them in each
	// field index after the columns that give its order, so that a walk in
	// one field's order checks the others from the index entry instead of
	// reading and parsing every record it passes (a staff list of
	// store = S1 AND level = gold sorted by -amount read 16 records per
	// record listed). A backend may ignore them.
	Covered []string
	// Prefixes are the field lists roles' data scopes pin by equality (to
	// a constant or to a variable such as the user's unit). A backend may
	// lead a copy of each field index with them, so that a scoped list
	// walks only the records of its scope. A backend may ignore them.
	Prefixes [][]string
	// Choices are those of Fields whose values form a closed set (an
	// enum, a boolean, a select or radio widget): a list is often
	// narrowed to one of them and sorted by another field. A backend may
	// lead an index with a prefix, a choice and another field, so that a
	// scoped list filtered by a choice and sorted by another field reads
	// only the records it lists. A backend may ignore them.
	Choices []string
	// Rollup, when set, is the totals a store may keep of the form's live
	// records for its dashboards (nil leaves what the store keeps as it
	// is; one without sets keeps none).
	Rollup *FormRollup
}

// FormRollup names what a form's totals are kept by: for each of Sets
// (the scalar data keys one chart groups or filters by, with those the
// roles' scopes read), per hour (and day and month) of creation, unit,
// status, owner when Owner is set, and the values of the set's fields,
// the number of records and, for each of Measures (data keys a dashboard
// sums or averages), the number and sum of its numbers. A store that
// keeps them answers a GroupRecords with NoBounds over those keys from
// the smallest set holding its fields.
type FormRollup struct {
	Sets     [][]string
	Measures []string
	// Owner keeps the totals per owner too (a role sees its own records,
	// or a chart groups or filters by owner).
	Owner bool
}

// Store is the one storage interface; engine/store/sqlite and
// engine/store/mongo implement it and engine/store/storetest checks them.
// Methods return *Error with ENOTFOUND, ECONFLICT or EINVALID where noted;
// anything else is internal.
type Store interface {
	// Apply writes a Change atomically. ECONFLICT on a stale version, a
	// duplicate id or unique tag; ENOTFOUND when a record to change is missing.
	Apply(ctx context.Context, c *Change) (*ChangeResult, error)

	// FindRecordByID returns a live record, or with deleted also one in the
	// recycle bin. ENOTFOUND when missing (or purged).
	FindRecordByID(ctx context.Context, app, form, id string, deleted bool) (*Record, error)
	// FindRecords returns one page of records. EINVALID for a bad cursor.
	FindRecords(ctx context.Context, q RecordQuery) (*RecordPage, error)
	// CountRecords counts the records q selects (Sort, Limit and Cursor ignored).
	CountRecords(ctx context.Context, q RecordQuery) (int64, error)
	// FindRevisions returns a record's revisions, oldest first.
	FindRevisions(ctx context.Context, app, form, id string) ([]*Revision, error)
	// EnsureIndexes creates the indexes of a form's x-index fields and
	// drops those of its fields no longer indexed.
	EnsureIndexes(ctx context.Context, ix FormIndex) error
	// GroupRecords groups the live records q selects and measures each
	// group, in the database. Rows come in no particular order. EINVALID
	// for a bad key or more groups than q.Limit.
	GroupRecords(ctx context.Context, q GroupQuery) ([]GroupRow, error)

	// FindDoc returns one doc. ENOTFOUND when missing.
	FindDoc(ctx context.Context, kind, id string) (*Doc, error)
	// FindDocs lists docs of a kind, optionally by tag, ordered by ID.
	FindDocs(ctx context.Context, q DocQuery) ([]*Doc, error)
	// CountDocs counts the docs FindDocs would list for q, reading none of
	// them (Limit ignored).
	CountDocs(ctx context.Context, q DocQuery) (int64, error)
	// DocVersions returns the version of each doc refs names, in refs'
	// order, 0 for one that does not exist, in one read and decoding no
	// value: a cache of decoded docs checks with it that they are current.
	DocVersions(ctx context.Context, refs []DocRef) ([]int64, error)

	// FindAuditEvents returns events newest first. EINVALID for a bad cursor.
	FindAuditEvents(ctx context.Context, q AuditQuery) (*AuditPage, error)
	// WalkAudit calls fn for every event with Seq > after, in chain order.
	WalkAudit(ctx context.Context, after int64, fn func(*AuditEvent) error) error

	// FindOutbox returns pending (not done) jobs due at or before due, oldest first.
	FindOutbox(ctx context.Context, due time.Time, limit int) ([]OutboxJob, error)

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store.
	Close() error
}
