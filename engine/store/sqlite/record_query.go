package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"strings"

	"formwork/engine"
	"formwork/engine/filter"
)

// Limits of one page of records.
const (
	DefaultLimit = engine.DefaultRecordLimit
	MaxLimit     = engine.MaxRecordLimit
)

func badCursor() error { return engine.ErrBadCursor() }

// sortCol is one resolved sort key.
type sortCol struct {
	expr    string // SQL expression
	desc    bool
	notNull bool // a NOT NULL column (system fields and id)
}

// cursorValue is one SQL value: exactly one field is set, none for NULL.
type cursorValue struct {
	I *int64   `json:"i,omitempty"`
	F *float64 `json:"f,omitempty"`
	S *string  `json:"s,omitempty"`
}

func toCursorValue(v any) (cursorValue, error) {
	switch x := v.(type) {
	case nil:
		return cursorValue{}, nil
	case int64:
		return cursorValue{I: &x}, nil
	case float64:
		return cursorValue{F: &x}, nil
	case string:
		return cursorValue{S: &x}, nil
	case []byte:
		s := string(x)
		return cursorValue{S: &s}, nil
	}
	return cursorValue{}, fmt.Errorf("sqlite cursor: unexpected sort value %T", v)
}

func (c cursorValue) sql() (any, error) {
	n := 0
	var v any
	if c.I != nil {
		n, v = n+1, *c.I
	}
	if c.F != nil {
		if math.IsNaN(*c.F) || math.IsInf(*c.F, 0) {
			return nil, badCursor()
		}
		n, v = n+1, *c.F
	}
	if c.S != nil {
		n, v = n+1, *c.S
	}
	if n > 1 {
		return nil, badCursor()
	}
	return v, nil
}

// resolveSort maps the query's sort keys to SQL, adding the ties last:
// created_at (unless a key is _created_at) then id, in the direction of the
// last key, so that one index (field, created_at, id) serves both an
// equality on a field with the default order and a sort by the field. Keys
// in fixed are left out.
func resolveSort(keys []engine.SortKey, fixed map[string]bool) ([]sortCol, uint32, error) {
	if len(keys) == 0 {
		keys = []engine.SortKey{{Field: "_created_at", Desc: true}}
	}
	h := fnv.New32a()
	var cols []sortCol
	desc := keys[len(keys)-1].Desc
	created, byID := false, false
	for _, k := range keys {
		if fixed[k.Field] {
			continue
		}
		if k.Field == "_id" {
			desc, byID = k.Desc, true
			break // id is unique: nothing after it matters
		}
		var expr string
		system := strings.HasPrefix(k.Field, "_")
		if system {
			col, ok := systemColumns[k.Field]
			if !ok {
				return nil, 0, engine.Errorf(engine.EINVALID, engine.T("不能按该字段排序："+k.Field, "cannot sort by "+k.Field))
			}
			expr = col
		} else {
			p, err := jsonPath(k.Field)
			if err != nil {
				return nil, 0, err
			}
			expr = "json_extract(data, " + p + ")"
		}
		created = created || k.Field == "_created_at"
		cols = append(cols, sortCol{expr: expr, desc: k.Desc, notNull: system})
		desc = k.Desc
		fmt.Fprintf(h, "%s:%v;", k.Field, k.Desc)
	}
	if !created && !byID {
		cols = append(cols, sortCol{expr: "created_at", desc: desc, notNull: true})
		fmt.Fprintf(h, "~_created_at:%v;", desc)
	}
	fmt.Fprintf(h, "_id:%v", desc)
	cols = append(cols, sortCol{expr: "id", desc: desc, notNull: true})
	return cols, h.Sum32(), nil
}

// after writes the keyset condition "row sorts after vals". SQLite orders
// NULL first ascending and last descending; the comparisons below follow
// that order exactly, so rows with missing sort values page like the rest.
func after(cols []sortCol, vals []any) (string, []any) {
	if c, args, ok := afterRow(cols, vals); ok {
		return c, args
	}
	var ors []string
	var args []any
	for i := range cols {
		var ands []string
		for j := 0; j < i; j++ {
			if vals[j] == nil {
				ands = append(ands, cols[j].expr+" IS NULL")
			} else {
				ands = append(ands, cols[j].expr+" = ?")
				args = append(args, vals[j])
			}
		}
		c, v := cols[i], vals[i]
		switch {
		case !c.desc && v == nil:
			ands = append(ands, c.expr+" IS NOT NULL")
		case !c.desc:
			ands = append(ands, c.expr+" > ?")
			args = append(args, v)
		case c.desc && v == nil:
			ands = append(ands, "0")
		default:
			ands = append(ands, "("+c.expr+" < ? OR "+c.expr+" IS NULL)")
			args = append(args, v)
		}
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// afterRow writes the keyset condition as one row-value comparison,
// "(a, b, id) < (?, ?, ?)", which SQLite turns into a seek on an index
// ending in those columns, so a deep page costs what the first does. It
// applies when every sort column is NOT NULL, has a value and sorts the same
// way (the default order, _created_at then id, among them).
func afterRow(cols []sortCol, vals []any) (string, []any, bool) {
	var exprs, marks []string
	for i, c := range cols {
		if !c.notNull || vals[i] == nil || c.desc != cols[0].desc {
			return "", nil, false
		}
		exprs, marks = append(exprs, c.expr), append(marks, "?")
	}
	op := " > "
	if cols[0].desc {
		op = " < "
	}
	return "((" + strings.Join(exprs, ", ") + ")" + op + "(" + strings.Join(marks, ", ") + "))", vals, true
}

// rangeScan returns the data fields whose range comparisons must not be
// served from an index: when the filter pins a data field by a top-level
// equality, every range on another field (unless it is the first sort key,
// whose index gives the order) is checked row by row. Left to itself, SQLite
// took the range index, read every record in the range and sorted them:
// level = L3 AND amount >= 900 (a tenth each) at 600,000 records took 2.9 s
// warm, against 10 ms walking the level index in order. A range that selects
// very few records among the equality's matches is the case this rule makes
// slower; ANALYZE did not do better (with stat4 SQLite chose the equality
// index for both).
func rangeScan(q engine.RecordQuery) map[string]bool {
	pinned := false
	for k := range filter.Fixed(q.Filter) {
		if !strings.HasPrefix(k, "_") {
			pinned = true
		}
	}
	if !pinned {
		return nil
	}
	out := map[string]bool{}
	var walk func(filter.Expr)
	walk = func(e filter.Expr) {
		switch x := e.(type) {
		case filter.And:
			for _, it := range x.Items {
				walk(it)
			}
		case *filter.And:
			walk(*x)
		case filter.Or:
			for _, it := range x.Items {
				walk(it)
			}
		case *filter.Or:
			walk(*x)
		case filter.Not:
			walk(x.X)
		case *filter.Not:
			walk(x.X)
		case filter.Cmp:
			switch x.Op {
			case filter.OpGt, filter.OpGte, filter.OpLt, filter.OpLte:
				if !x.Field.System && !strings.HasPrefix(x.Field.Key, "_") && (len(q.Sort) == 0 || q.Sort[0].Field != x.Field.Key) {
					out[x.Field.Key] = true
				}
			}
		case *filter.Cmp:
			walk(*x)
		}
	}
	walk(q.Filter)
	return out
}

// where builds the WHERE clause common to FindRecords and CountRecords.
func recordWhere(q engine.RecordQuery) (string, []any, error) {
	return recordWhereBy(q, false)
}

// recordWhereBy is recordWhere; byText (a search with few matches, see
// fewTextMatches) keeps SQLite from walking the form's records in list
// order to probe each against the matches: the unary + on app, form and
// deleted hides the list indexes, so the matches' ids drive through the
// primary key and the page is sorted from them.
func recordWhereBy(q engine.RecordQuery, byText bool) (string, []any, error) {
	// app, form and deleted are literals, not parameters: SQLite uses a
	// partial index (EnsureIndexes) only when the query's terms imply the
	// index's WHERE at prepare time.
	deleted := "0"
	if q.Deleted {
		deleted = "1"
	}
	plus := ""
	if byText {
		plus = "+"
	}
	w := plus + "app = " + quote(q.App) + " AND " + plus + "form = " + quote(q.Form) + " AND " + plus + "deleted = " + deleted
	var args []any
	if q.Filter != nil {
		f, fargs, err := compileFilter(q.Filter, rangeScan(q))
		if err != nil {
			return "", nil, err
		}
		w += " AND " + f
		args = append(args, fargs...)
	}
	return w, args, nil
}

// FindRecords returns one page of records in keyset order.
func (s *Store) FindRecords(ctx context.Context, q engine.RecordQuery) (*engine.RecordPage, error) {
	limit := engine.RecordPageLimit(q.Limit)
	cols, fp, err := resolveSort(q.Sort, filter.Fixed(q.Filter))
	if err != nil {
		return nil, err
	}
	byText, err := s.fewTextMatches(ctx, q.Filter)
	if err != nil {
		return nil, err
	}
	where, args, err := recordWhereBy(q, byText)
	if err != nil {
		return nil, err
	}
	if q.Cursor != "" {
		vals, err := engine.DecodeRecordCursor(q.Cursor, fp, len(cols), cursorValue.sql)
		if err != nil {
			return nil, err
		}
		cond, cargs := after(cols, vals)
		where += " AND " + cond
		args = append(args, cargs...)
	}
	var order, sel []string
	for i, c := range cols {
		dir := " ASC"
		if c.desc {
			dir = " DESC"
		}
		order = append(order, c.expr+dir)
		if i < len(cols)-1 && c.expr != "created_at" { // the row has it (listScan.created)
			sel = append(sel, c.expr)
		}
	}
	query := `SELECT ` + listCols
	if len(sel) > 0 {
		query += ", " + strings.Join(sel, ", ")
	}
	query += ` FROM records WHERE ` + where + ` ORDER BY ` + strings.Join(order, ", ") + ` LIMIT ?`
	args = append(args, limit+1)
	rc, done := s.warmReader()
	defer done()
	// The page's query runs detached from the request (detachCtx), like a
	// read by id: the two goroutines database/sql and the driver start to
	// watch a statement's context, and their wakes, cost a list at one
	// client more than its audit event's commit. A request whose context
	// ends stops at the next row, not inside SQLite: a sort of a form's
	// rows by a field no index serves runs to its first row regardless.
	rows, err := rc.query(detachCtx(ctx), query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite find records: %w", err)
	}
	defer rows.Close()
	page := &engine.RecordPage{}
	rs := newListScan(q.App, q.Form, len(sel))
	rs.raw = q.RawData
	more := false
	for rows.Next() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(page.Items) == limit {
			more = true // the row after the page is not read
			break
		}
		r, err := rs.scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite scan record: %w", err)
		}
		page.Items = append(page.Items, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite find records: %w", err)
	}
	if more {
		var cvals []cursorValue
		vals := rs.sortVals // the page's last row's
		for _, c := range cols[:len(cols)-1] {
			if c.expr == "created_at" {
				cvals = append(cvals, cursorValue{S: &rs.created})
				continue
			}
			cv, err := toCursorValue(vals[0])
			if err != nil {
				return nil, err
			}
			cvals, vals = append(cvals, cv), vals[1:]
		}
		page.NextCursor = engine.EncodeRecordCursor(fp, cvals, page.Items[limit-1].ID)
	}
	return page, nil
}

// listCols is the one column a page of records reads of each: the scalar
// columns (but app and form, which the query pins) as a JSON array, then
// data. Read through database/sql each column costs a type probe, a read
// and, for text, a string and its boxing; one column costs one of each, and
// the values are substrings of it. The array is the row's head, which its
// writes keep (migration 12), when head_v says it is the current
// version's; else it is built from the columns.
const listCols = `CASE WHEN head_v = version THEN head ELSE ` + listHead + ` END || data`

// listHead builds a row's head from its columns.
const listHead = `json_array(id, form_version, unit, owner, status, version, created_at, created_by, updated_at, updated_by, deleted_at)`

// listScan reads the rows of a page (listCols, then the sort values) into
// Records through one set of destinations made once per page, not per row.
type listScan struct {
	app, form string
	raw       bool // data left as its text (RecordQuery.RawData)
	row       string
	created   string // the last row's created_at as stored
	sortVals  []any  // the last row's sort columns but created_at
	dest      []any
	recs      []engine.Record // where the next rows' Records are made
	chunk     int             // len of recs when last made
}

func newListScan(app, form string, sortCols int) *listScan {
	s := &listScan{app: app, form: form, sortVals: make([]any, sortCols)}
	s.dest = append(make([]any, 0, 1+sortCols), &s.row)
	for i := range s.sortVals {
		s.dest = append(s.dest, &s.sortVals[i])
	}
	return s
}

func (s *listScan) scan(rows *sql.Rows) (*engine.Record, error) {
	if err := rows.Scan(s.dest...); err != nil {
		return nil, err
	}
	if len(s.recs) == 0 { // made in growing chunks: one allocation for a page of one, four for fifty
		s.chunk = min(max(4, 2*s.chunk), 64)
		s.recs = make([]engine.Record, s.chunk)
	}
	r := &s.recs[0]
	s.recs = s.recs[1:]
	var err error
	s.created, err = readListRowCreated(r, s.app, s.form, s.row, s.raw)
	return r, err
}

// readListRow reads into r a record of app and form read as listCols;
// with raw its data is left as text (Record.RawData).
func readListRow(r *engine.Record, app, form, row string, raw bool) error {
	_, err := readListRowCreated(r, app, form, row, raw)
	return err
}

// readListRowCreated is readListRow, returning the record's created_at as
// stored (a substring of row): a cursor's tie, which the query then does
// not select again for every row.
func readListRowCreated(r *engine.Record, app, form, row string, raw bool) (string, error) {
	var f [11]string
	var null [11]bool
	d := jsonDec{b: row}
	if !d.scalars(f[:], null[:]) {
		return "", errors.New("sqlite record row: its columns are not a JSON array of scalars") // the row is not quoted: it holds data
	}
	fv, err := strconv.Atoi(f[1])
	if err != nil {
		return "", fmt.Errorf("sqlite record %s form_version: %w", f[0], err)
	}
	v, err := strconv.ParseInt(f[5], 10, 64)
	if err != nil {
		return "", fmt.Errorf("sqlite record %s version: %w", f[0], err)
	}
	*r = engine.Record{ID: f[0], App: app, Form: form, FormVersion: fv, Unit: f[2], Owner: f[3], Status: f[4], Version: v,
		CreatedAt: parseTime(f[6]), CreatedBy: f[7], UpdatedAt: parseTime(f[8]), UpdatedBy: f[9]}
	if !null[10] {
		t := parseTime(f[10])
		r.DeletedAt = &t
	}
	if raw {
		r.RawData = row[d.i:]
	} else if r.Data, err = decodeData(row[d.i:]); err != nil {
		return "", fmt.Errorf("sqlite record %s data: %w", r.ID, err)
	}
	return f[6], nil
}

// CountRecords counts the records q selects. Without a filter it reads
// the form's counter in record_counts.
func (s *Store) CountRecords(ctx context.Context, q engine.RecordQuery) (int64, error) {
	if q.Filter == nil {
		deleted := 0
		if q.Deleted {
			deleted = 1
		}
		var n int64
		err := s.rc.queryRow(ctx, `SELECT coalesce(sum(n), 0) FROM record_counts WHERE app = ? AND form = ? AND deleted = ?`, q.App, q.Form, deleted).Scan(&n)
		if err != nil {
			return 0, fmt.Errorf("sqlite count records: %w", err)
		}
		return n, nil
	}
	byText, err := s.fewTextMatches(ctx, q.Filter)
	if err != nil {
		return 0, err
	}
	where, args, err := recordWhereBy(q, byText)
	if err != nil {
		return 0, err
	}
	var n int64
	if err := s.rc.queryRow(ctx, `SELECT count(*) FROM records WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite count records: %w", err)
	}
	return n, nil
}

// indexName is the stem of the names of a field's indexes.
func indexName(app, form, field string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", app, form, field)
	return fmt.Sprintf("rx_%016x", h.Sum64())
}

// maxChoiceIndexes bounds the combination indexes EnsureIndexes makes of
// a form (prefix, choice, other field): each is one more index every write
// of a record updates.
const maxChoiceIndexes = 6

// EnsureIndexes creates, for each x-index field, an expression index on
// json_extract(data, '$.field') scoped by app and form, in the order
// (field, created_at, id): it serves an equality filter on the field with
// the default order and a sort by the field, whose ties go by created_at
// and id (resolveSort). Each index then holds the form's covered fields
// (ix.Covered, but those it leads with): walking one field's order, a
// condition on them is checked from the index entry, and only the records
// that pass are read. For each of ix.Prefixes (the fields a role's scope
// pins), the field indexes and the default order are made again led by
// those fields, so a scoped list walks only its scope; and for each of
// ix.Choices not in the prefix, one led by the prefix and the choice per
// other field (up to maxChoiceIndexes), so a scoped list filtered by a
// choice and sorted by another field reads only the records it lists.
// Index names are derived from app, form and columns, so repeated calls
// are no-ops; the form's indexes no longer named (a field that lost
// x-index, a different set of covered fields, an order of an earlier
// version) are dropped. With ix.Rollup it makes the form's rollups those
// (see ensureRollup).
func (s *Store) EnsureIndexes(ctx context.Context, ix engine.FormIndex) error {
	if ix.Rollup != nil {
		if err := s.ensureRollup(ctx, ix.App, ix.Form, ix.Rollup); err != nil {
			return err
		}
	}
	col := func(k string) (string, error) {
		if c, ok := systemColumns[k]; ok {
			return c, nil
		}
		p, err := jsonPath(k)
		if err != nil {
			return "", err
		}
		return "json_extract(data, " + p + ")", nil
	}
	cols := func(keys []string) ([]string, error) {
		var out []string
		for _, k := range keys {
			c, err := col(k)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	cover, err := cols(ix.Covered)
	if err != nil {
		return err
	}
	scope := ` WHERE app = ` + quote(ix.App) + ` AND form = ` + quote(ix.Form)
	keep := map[string]bool{}
	var stmts []string
	// add makes the index named after key (the stem of its name) on lead,
	// then created_at and id, then the covered columns but lead; the name
	// ends with a hash of those.
	add := func(key string, lead []string, suffix string) {
		name := indexName(ix.App, ix.Form, key)
		t := ""
		for _, c := range cover {
			if !slices.Contains(lead, c) {
				t += ", " + c
			}
		}
		if t != "" {
			h := fnv.New32a()
			h.Write([]byte(t))
			name += fmt.Sprintf("_%08x", h.Sum32())
		}
		name += suffix
		keep[name] = true
		stmts = append(stmts, `CREATE INDEX IF NOT EXISTS `+name+` ON records(app, form, deleted, `+strings.Join(lead, ", ")+`, created_at, id`+t+`)`+scope)
	}
	fields, err := cols(ix.Fields)
	if err != nil {
		return err
	}
	choices, err := cols(ix.Choices)
	if err != nil {
		return err
	}
	for i, f := range ix.Fields {
		add(f, fields[i:i+1], "_c") // as named before the ties by created_at: the same columns
	}
	combos := 0
	for _, p := range ix.Prefixes {
		lead, err := cols(p)
		if err != nil {
			return err
		}
		stem := "@" + strings.Join(p, ",")
		if len(p) > 1 || !slices.Contains(ix.Fields, p[0]) { // else the field's own index
			add(stem, lead, "_l")
		}
		for i, f := range ix.Fields {
			if !slices.Contains(lead, fields[i]) {
				add(stem+"@"+f, append(slices.Clip(lead), fields[i]), "_q")
			}
		}
		for j, e := range ix.Choices {
			ec := choices[j]
			if slices.Contains(lead, ec) {
				continue
			}
			for i, f := range ix.Fields {
				if f == e || slices.Contains(lead, fields[i]) || combos == maxChoiceIndexes {
					continue
				}
				combos++
				add(stem+"@"+e+"@"+f, append(slices.Clip(lead), ec, fields[i]), "_e")
			}
		}
	}
	for _, st := range stmts {
		if _, err := s.w.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("sqlite ensure indexes of %s.%s: %w", ix.App, ix.Form, err)
		}
	}
	return s.dropStaleIndexes(ctx, scope, keep)
}

// dropStaleIndexes drops the field indexes whose partial-index WHERE is
// scope (one form's) and whose names are not in keep.
func (s *Store) dropStaleIndexes(ctx context.Context, scope string, keep map[string]bool) error {
	rows, err := s.w.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND name LIKE 'rx\_%' ESCAPE '\'`)
	if err != nil {
		return fmt.Errorf("sqlite list indexes: %w", err)
	}
	var stale []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite list indexes: %w", err)
		}
		if !keep[name] && strings.HasSuffix(def, scope) {
			stale = append(stale, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite list indexes: %w", err)
	}
	for _, name := range stale {
		if _, err := s.w.ExecContext(ctx, `DROP INDEX IF EXISTS `+name); err != nil {
			return fmt.Errorf("sqlite drop index %s: %w", name, err)
		}
	}
	return nil
}

// quote returns s as an SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
