package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"

	"formwork/engine"
	"formwork/engine/filter"
)

// A form's rollups are the totals of its live records per period of
// creation (an hour, a day and a month, UTC: three grains), unit, status,
// owner (when its roles or charts read it) and the values of a set of the
// fields its dashboards group and filter by (engine.FormRollup: a set per
// chart, so a chart by level is not also split by city): one row of the
// rollups table per set, grain and combination, holding the number of
// records and, for each measured field, the number and sum of its
// numbers. Triggers on records keep them in the transaction of every
// record write (create, update, move to and restore from the recycle bin,
// purge, bulk loads), so they are never behind; EnsureIndexes builds them
// from the records when a form's rollup changes. A chart reads a time
// range as months, the days and hours at its ends, and the records of the
// partial hours: over a million records, a few thousand rows instead of
// every record.

// rollupSlots is how many measured fields a form's rollups keep.
const rollupSlots = 4

// rollupSchema is the backend migration step creating the rollup tables.
const rollupSchema = `
CREATE TABLE rollup_forms (
	app TEXT NOT NULL,
	form TEXT NOT NULL,
	spec TEXT NOT NULL,
	PRIMARY KEY (app, form)
) WITHOUT ROWID;
CREATE TABLE rollups (
	app TEXT NOT NULL,
	form TEXT NOT NULL,
	dims INTEGER NOT NULL,
	grain INTEGER NOT NULL,
	created_at TEXT NOT NULL,
	unit TEXT NOT NULL,
	owner TEXT NOT NULL,
	status TEXT NOT NULL,
	data TEXT NOT NULL,
	c INTEGER NOT NULL,
	n0 INTEGER NOT NULL DEFAULT 0, s0 NOT NULL DEFAULT 0,
	n1 INTEGER NOT NULL DEFAULT 0, s1 NOT NULL DEFAULT 0,
	n2 INTEGER NOT NULL DEFAULT 0, s2 NOT NULL DEFAULT 0,
	n3 INTEGER NOT NULL DEFAULT 0, s3 NOT NULL DEFAULT 0,
	PRIMARY KEY (app, form, dims, grain, created_at, unit, owner, status, data)
) WITHOUT ROWID;
`

// rollupSpec is a form's rollup as rollup_forms keeps it.
type rollupSpec struct {
	Sets     [][]string `json:"sets"`
	Measures []string   `json:"measures"`
	Owner    bool       `json:"owner,omitempty"`
	// Fields and set are those of one set (see view).
	Fields []string `json:"-"`
	set    int
}

// rollupSets is the most sets of fields a form's rollups keep apart;
// more are kept as one set of all their fields.
const rollupSets = 8

// view is sp reading set i.
func (sp rollupSpec) view(i int) rollupSpec {
	sp.Fields, sp.set = sp.Sets[i], i
	return sp
}

// A rollup grain is the period its rows total: grainHour's created_at is
// "2006-01-02T15", grainDay's "2006-01-02", grainMonth's "2006-01" (UTC).
const (
	grainHour = iota
	grainDay
	grainMonth
)

// grainText is the length of a grain's period text and its time layout.
var grainText = [...]struct {
	n      int
	layout string
}{{13, "2006-01-02T15"}, {10, "2006-01-02"}, {7, "2006-01"}}

// grainStart is the start of the grain g period holding t.
func grainStart(g int, t time.Time) time.Time {
	switch g {
	case grainHour:
		return t.Truncate(time.Hour)
	case grainDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// grainCeil is the first grain g boundary at or after t.
func grainCeil(g int, t time.Time) time.Time {
	s := grainStart(g, t)
	if s.Equal(t) {
		return t
	}
	switch g {
	case grainHour:
		return s.Add(time.Hour)
	case grainDay:
		return s.AddDate(0, 0, 1)
	}
	return s.AddDate(0, 1, 0)
}

func newRollupSpec(r *engine.FormRollup) (rollupSpec, error) {
	sp := rollupSpec{Owner: r.Owner}
	var all []string
	for _, set := range r.Sets {
		fields := []string{}
		for _, f := range set {
			if _, err := jsonPath(f); err != nil {
				return sp, err
			}
			if !slices.Contains(fields, f) {
				fields = append(fields, f)
			}
			if !slices.Contains(all, f) {
				all = append(all, f)
			}
		}
		slices.Sort(fields)
		if !slices.ContainsFunc(sp.Sets, func(s []string) bool { return slices.Equal(s, fields) }) {
			sp.Sets = append(sp.Sets, fields)
		}
	}
	if len(sp.Sets) > rollupSets {
		slices.Sort(all)
		sp.Sets = [][]string{all}
	}
	if len(sp.Sets) == 0 {
		return rollupSpec{}, nil
	}
	for _, f := range r.Measures {
		if _, err := jsonPath(f); err != nil {
			return sp, err
		}
		if !slices.Contains(sp.Measures, f) && len(sp.Measures) < rollupSlots {
			sp.Measures = append(sp.Measures, f)
		}
	}
	return sp, nil
}

func (sp rollupSpec) empty() bool { return len(sp.Sets) == 0 }

// ensureRollup makes app/form's rollups those of r: when they differ from
// the kept ones, it drops them and builds the new ones from the records,
// with their triggers, in one transaction.
func (s *Store) ensureRollup(ctx context.Context, app, form string, r *engine.FormRollup) error {
	sp, err := newRollupSpec(r)
	if err != nil {
		return err
	}
	want := ""
	if !sp.empty() {
		want = string(engine.MustJSON(sp))
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var had string
		err := tx.QueryRowContext(ctx, `SELECT spec FROM rollup_forms WHERE app = ? AND form = ?`, app, form).Scan(&had)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite rollup of %s.%s: %w", app, form, err)
		}
		if had == want {
			return nil
		}
		name := rollupName(app, form)
		stmts := []string{
			`DROP TRIGGER IF EXISTS ` + name + `_i`,
			`DROP TRIGGER IF EXISTS ` + name + `_u`,
			`DROP TRIGGER IF EXISTS ` + name + `_d`,
			`DELETE FROM rollups WHERE app = ` + quote(app) + ` AND form = ` + quote(form),
			`DELETE FROM rollup_forms WHERE app = ` + quote(app) + ` AND form = ` + quote(form),
		}
		if want != "" {
			stmts = append(stmts, `INSERT INTO rollup_forms (app, form, spec) VALUES (`+quote(app)+`, `+quote(form)+`, `+quote(want)+`)`)
			stmts = append(stmts, sp.triggers(name, app, form)...)
			stmts = append(stmts, sp.build(app, form)...)
		}
		for _, st := range stmts {
			if _, err := tx.ExecContext(ctx, st); err != nil {
				return fmt.Errorf("sqlite rollup of %s.%s: %w", app, form, err)
			}
		}
		return nil
	})
}

// rollupName is the stem of the names of a form's rollup triggers.
func rollupName(app, form string) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s", app, form)
	return fmt.Sprintf("rollup_%016x", h.Sum64())
}

// keyExprs are the SQL of a record's grain g rollup key (grain,
// created_at, unit, owner, status, data) read from ref ("new", "old" or
// the records table): the period, the system fields (” for an owner not
// kept), and the rolled fields' values as a JSON object without the
// missing and null ones (which filters and groups read alike: see
// sqlFilter.missing).
func (sp rollupSpec) keyExprs(ref string, g int) []string {
	data := "'{}'"
	if len(sp.Fields) > 0 {
		var kv []string
		for _, f := range sp.Fields {
			p, _ := jsonPath(f)
			// -> keeps the JSON type (json_extract reads true as 1)
			kv = append(kv, quote(f), "json("+ref+".data -> "+p+")")
		}
		data = "json_patch('{}', json_object(" + strings.Join(kv, ", ") + "))"
	}
	owner := "''"
	if sp.Owner {
		owner = ref + ".owner"
	}
	return []string{strconv.Itoa(sp.set), strconv.Itoa(g), "substr(" + ref + ".created_at, 1, " + strconv.Itoa(grainText[g].n) + ")", ref + ".unit", owner, ref + ".status", data}
}

var rollupKeyCols = []string{"dims", "grain", "created_at", "unit", "owner", "status", "data"}

// measureExprs are the SQL of measure i's count and sum for one record
// (1 and the value for a number, as GroupRecords measures; 0 and 0 else).
func (sp rollupSpec) measureExprs(ref string, i int) (n, sum string) {
	p, _ := jsonPath(sp.Measures[i])
	x := "json_extract(" + ref + ".data, " + p + ")"
	num := "typeof(" + x + ") IN ('integer', 'real')"
	return "CASE WHEN " + num + " THEN 1 ELSE 0 END", "CASE WHEN " + num + " THEN " + x + " ELSE 0 END"
}

// add is the statement counting record ref into its grain g rollup row.
func (sp rollupSpec) add(ref, cond string, g int) string {
	cols := append([]string{"app", "form"}, rollupKeyCols...)
	vals := append([]string{ref + ".app", ref + ".form"}, sp.keyExprs(ref, g)...)
	cols, vals = append(cols, "c"), append(vals, "1")
	set := []string{"c = c + 1"}
	for i := range sp.Measures {
		n, sum := sp.measureExprs(ref, i)
		k := strconv.Itoa(i)
		cols, vals = append(cols, "n"+k, "s"+k), append(vals, n, sum)
		set = append(set, "n"+k+" = n"+k+" + excluded.n"+k, "s"+k+" = s"+k+" + excluded.s"+k)
	}
	return "INSERT INTO rollups (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(vals, ", ") + " WHERE " + cond +
		" ON CONFLICT (app, form, " + strings.Join(rollupKeyCols, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
}

// sub is the statements taking record ref out of its grain g rollup row,
// and the row out when it counts no record any more (a sum whose numbers
// are all gone is 0 again, whatever rounding was left).
func (sp rollupSpec) sub(ref, cond string, g int) []string {
	match := []string{"app = " + ref + ".app", "form = " + ref + ".form"}
	for i, e := range sp.keyExprs(ref, g) {
		match = append(match, rollupKeyCols[i]+" = "+e)
	}
	where := strings.Join(match, " AND ") + " AND " + cond
	set := []string{"c = c - 1"}
	for i := range sp.Measures {
		n, sum := sp.measureExprs(ref, i)
		k := strconv.Itoa(i)
		set = append(set, "n"+k+" = n"+k+" - "+n, "s"+k+" = CASE WHEN n"+k+" - "+n+" = 0 THEN 0 ELSE s"+k+" - "+sum+" END")
	}
	return []string{
		"UPDATE rollups SET " + strings.Join(set, ", ") + " WHERE " + where,
		"DELETE FROM rollups WHERE " + where + " AND c <= 0",
	}
}

// triggers are the statements creating the triggers that keep a form's
// rollups with its live records.
func (sp rollupSpec) triggers(name, app, form string) []string {
	of := func(ref string) string {
		return ref + ".app = " + quote(app) + " AND " + ref + ".form = " + quote(form)
	}
	body := func(stmts ...string) string { return " BEGIN " + strings.Join(stmts, "; ") + "; END" }
	var ins, upd, del, updAdd []string
	for i := range sp.Sets {
		v := sp.view(i)
		for g := range grainText {
			ins = append(ins, v.add("new", "1", g))
			upd = append(upd, v.sub("old", of("old")+" AND old.deleted = 0", g)...)
			updAdd = append(updAdd, v.add("new", of("new")+" AND new.deleted = 0", g))
			del = append(del, v.sub("old", "1", g)...)
		}
	}
	upd = append(upd, updAdd...)
	return []string{
		"CREATE TRIGGER " + name + "_i AFTER INSERT ON records WHEN " + of("new") + " AND new.deleted = 0" + body(ins...),
		"CREATE TRIGGER " + name + "_u AFTER UPDATE ON records WHEN ((" + of("old") + ") OR (" + of("new") + ")) AND (" + sp.changed() + ")" + body(upd...),
		"CREATE TRIGGER " + name + "_d AFTER DELETE ON records WHEN " + of("old") + " AND old.deleted = 0" + body(del...),
	}
}

// changed is the SQL of "the update from old to new moves the record in
// the rollups": an edit of other fields leaves them be.
func (sp rollupSpec) changed() string {
	conds := []string{}
	for _, c := range []string{"app", "form", "deleted", "created_at", "unit", "owner", "status"} {
		conds = append(conds, "old."+c+" IS NOT new."+c)
	}
	var keys []string
	for _, set := range sp.Sets {
		keys = append(keys, set...)
	}
	for _, k := range append(keys, sp.Measures...) {
		p, _ := jsonPath(k)
		if c := "old.data -> " + p + " IS NOT new.data -> " + p; !slices.Contains(conds, c) {
			conds = append(conds, c)
		}
	}
	return strings.Join(conds, " OR ")
}

// build is the statements computing a form's rollups from its live
// records: one pass over the records totals them per hour by every set's
// fields at once (a temporary table), each set's hours are read from
// those, and each coarser grain from the one below it.
func (sp rollupSpec) build(app, form string) []string {
	all := sp
	all.Fields = nil
	for _, set := range sp.Sets {
		for _, f := range set {
			if !slices.Contains(all.Fields, f) {
				all.Fields = append(all.Fields, f)
			}
		}
	}
	slices.Sort(all.Fields)
	sel := all.keyExprs("r", grainHour)[2:] // created_at, unit, owner, status, data
	for i := range sel {
		sel[i] += " AS " + rollupKeyCols[i+2]
	}
	sel = append(sel, "count(*) AS c")
	cols := append(append([]string{"app", "form"}, rollupKeyCols...), "c")
	sums := []string{"sum(c)"}
	for i := range sp.Measures {
		n, sum := sp.measureExprs("r", i)
		k := strconv.Itoa(i)
		sel = append(sel, "sum("+n+") AS n"+k, "sum("+sum+") AS s"+k)
		cols = append(cols, "n"+k, "s"+k)
		sums = append(sums, "sum(n"+k+")", "sum(s"+k+")")
	}
	out := []string{
		"DROP TABLE IF EXISTS temp.rollup_build",
		"CREATE TEMP TABLE rollup_build AS SELECT " + strings.Join(sel, ", ") + " FROM records AS r WHERE r.app = " + quote(app) +
			" AND r.form = " + quote(form) + " AND r.deleted = 0 GROUP BY 1, 2, 3, 4, 5",
	}
	insert := "INSERT INTO rollups (" + strings.Join(cols, ", ") + ") SELECT " + quote(app) + ", " + quote(form) + ", "
	group := " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"
	for i := range sp.Sets {
		v := sp.view(i)
		out = append(out, insert+strings.Join(append(v.keyExprs("r", grainHour), sums...), ", ")+" FROM temp.rollup_build AS r"+group)
		for g := grainDay; g < len(grainText); g++ {
			keys := []string{"r.dims", strconv.Itoa(g), "substr(r.created_at, 1, " + strconv.Itoa(grainText[g].n) + ")", "r.unit", "r.owner", "r.status", "r.data"}
			out = append(out, insert+strings.Join(append(keys, sums...), ", ")+" FROM rollups AS r WHERE r.app = "+quote(app)+
				" AND r.form = "+quote(form)+" AND r.dims = "+strconv.Itoa(i)+" AND r.grain = "+strconv.Itoa(g-1)+group)
		}
	}
	return append(out, "DROP TABLE temp.rollup_build")
}

// findRollup returns app/form's rollup; false when the form has none.
func findRollup(ctx context.Context, db querier, app, form string) (rollupSpec, bool, error) {
	var sp rollupSpec
	var text string
	err := db.QueryRowContext(ctx, `SELECT spec FROM rollup_forms WHERE app = ? AND form = ?`, app, form).Scan(&text)
	if errors.Is(err, sql.ErrNoRows) {
		return sp, false, nil
	}
	if err != nil {
		return sp, false, fmt.Errorf("sqlite rollup of %s.%s: %w", app, form, err)
	}
	if err := json.Unmarshal([]byte(text), &sp); err != nil {
		return sp, false, fmt.Errorf("sqlite rollup of %s.%s: %w", app, form, err)
	}
	return sp, true, nil
}

// groupRollup answers q from its form's rollups when they can: q reads no
// Min and Max, groups by rolled fields, unit, status, owner (when kept) or
// the creation time cut into UTC hours or days, measures a rolled field,
// and filters by rolled fields, unit, status and owner, and by the
// creation time only as a range over the whole filter. The range is read
// as whole months, days and hours (only hours when grouped by time) and
// the records of the partial hours at its ends (see rollupPlan). rolled is
// false when q is not such a query (nothing is read then); found is false
// when no record counted.
func (s *Store) groupRollup(ctx context.Context, db querier, q engine.GroupQuery, acc *engine.GroupAccumulator) (rolled, found bool, err error) {
	if !q.NoBounds {
		return false, false, nil
	}
	sp, ok, err := findRollup(ctx, db, q.App, q.Form)
	if err != nil || !ok {
		return false, false, err
	}
	slot := -1
	if q.Measure != "" {
		if slot = slices.Index(sp.Measures, q.Measure); slot < 0 {
			return false, false, nil
		}
	}
	top := grainMonth
	for _, b := range q.By {
		if b.Field == "_created_at" {
			top = grainHour
		}
	}
	lo, hi, rest, ok := splitCreated(q.Filter)
	if !ok {
		return false, false, nil
	}
	// the smallest set holding every field q reads
	pick := -1
	for i, set := range sp.Sets {
		v := sp.view(i)
		if (pick < 0 || len(set) < len(sp.Sets[pick])) && v.filters(rest) && !slices.ContainsFunc(q.By, func(b engine.GroupBy) bool { return !v.groups(b) }) {
			pick = i
		}
	}
	if pick < 0 {
		return false, false, nil
	}
	if !lo.IsZero() && !hi.IsZero() && !grainCeil(grainHour, lo).Before(grainStart(grainHour, hi)) {
		return false, false, nil // under two hours: the records are few
	}
	keys, err := rollupKeys(q.By)
	if err != nil {
		return false, false, err
	}
	var cond string
	var cargs []any
	if rest != nil {
		if cond, cargs, err = compileFilter(rest, nil); err != nil {
			return false, false, err
		}
	}
	aggs := []string{"coalesce(sum(c), 0)", "0", "0", "0", "0"}
	if slot >= 0 {
		k := strconv.Itoa(slot)
		aggs[1], aggs[2] = "coalesce(sum(n"+k+"), 0)", "coalesce(sum(s"+k+"), 0)"
	}
	for _, seg := range rollupPlan(lo, hi, top) {
		var more bool
		if seg.grain < 0 {
			eq := q
			items := []filter.Expr{createdCmp(filter.OpGte, seg.from), createdCmp(filter.OpLt, seg.to)}
			if rest != nil {
				items = append(items, rest)
			}
			eq.Filter = filter.And{Items: items}
			more, err = s.groupRaw(ctx, db, eq, acc)
		} else {
			where := "app = " + quote(q.App) + " AND form = " + quote(q.Form) + " AND dims = " + strconv.Itoa(pick) + " AND grain = " + strconv.Itoa(seg.grain)
			var args []any
			layout := grainText[seg.grain].layout
			if !seg.from.IsZero() {
				where += " AND created_at >= ?"
				args = append(args, seg.from.Format(layout))
			}
			if !seg.to.IsZero() {
				where += " AND created_at < ?"
				args = append(args, seg.to.Format(layout))
			}
			if cond != "" {
				where += " AND " + cond
				args = append(args, cargs...)
			}
			query := "SELECT " + strings.Join(append(keys.sel, aggs...), ", ") + " FROM rollups AS r WHERE " + where + keys.groupBy()
			more, err = runGroup(ctx, db, q, acc, query, args)
		}
		if err != nil {
			return true, false, err
		}
		found = found || more
	}
	return true, found, nil
}

// rollupKeys is groupKeys over the rollups: the creation time's cuts read
// a period text, always one.
func rollupKeys(by []engine.GroupBy) (groupSQL, error) {
	g, err := groupKeys(by)
	if err != nil {
		return g, err
	}
	for i, b := range by {
		if b.Field != "_created_at" {
			continue
		}
		n := strconv.Itoa(i)
		v := "r.created_at"
		if b.Cut == engine.CutDay {
			v = "substr(r.created_at, 1, 10)"
		}
		g.sel[2*i+1] = v + " AS k" + n + "v"
	}
	return g, nil
}

// rollupSegment is a part of a time range read at one grain (-1: from the
// records); zero times are unbounded.
type rollupSegment struct {
	grain    int
	from, to time.Time
}

// rollupPlan cuts [lo, hi) into the fewest rows to read: the records up
// to the first whole hour, hours up to the first whole day, days up to
// the first whole month, the months, and the same down again at the other
// end; no grain above top.
func rollupPlan(lo, hi time.Time, top int) []rollupSegment {
	var plan func(lo, hi time.Time, g int) []rollupSegment
	plan = func(lo, hi time.Time, g int) []rollupSegment {
		if g == top {
			return []rollupSegment{{g, lo, hi}}
		}
		a, b := lo, hi
		if !lo.IsZero() {
			a = grainCeil(g+1, lo)
		}
		if !hi.IsZero() {
			b = grainStart(g+1, hi)
		}
		if !lo.IsZero() && !hi.IsZero() && !a.Before(b) {
			return []rollupSegment{{g, lo, hi}}
		}
		var out []rollupSegment
		if lo.Before(a) {
			out = append(out, rollupSegment{g, lo, a})
		}
		out = append(out, plan(a, b, g+1)...)
		if b.Before(hi) {
			out = append(out, rollupSegment{g, b, hi})
		}
		return out
	}
	return plan(lo, hi, -1)
}

func createdCmp(op filter.Op, t time.Time) filter.Cmp {
	return filter.Cmp{Field: filter.Field{Key: "_created_at", Type: filter.TypeTime, System: true}, Op: op, Value: filter.FormatTime(t)}
}

// groups reports whether the rollups hold key b.
func (sp rollupSpec) groups(b engine.GroupBy) bool {
	switch {
	case b.Each:
		return false
	case b.Field == "_created_at":
		return b.Cut == engine.CutDay || b.Cut == engine.CutHour && b.Shift == 0
	case b.Field == "_unit" || b.Field == "_status":
		return true
	case b.Field == "_owner":
		return sp.Owner
	}
	return slices.Contains(sp.Fields, b.Field)
}

// filters reports whether e reads only what the rollups hold.
func (sp rollupSpec) filters(e filter.Expr) bool {
	field := func(f filter.Field) bool {
		switch f.Key {
		case "_unit", "_status":
			return true
		case "_owner":
			return sp.Owner
		}
		return !f.System && f.Type != filter.TypeArray && slices.Contains(sp.Fields, f.Key)
	}
	switch x := e.(type) {
	case nil:
		return true
	case filter.And:
		return !slices.ContainsFunc(x.Items, func(e filter.Expr) bool { return !sp.filters(e) })
	case *filter.And:
		return sp.filters(*x)
	case filter.Or:
		return !slices.ContainsFunc(x.Items, func(e filter.Expr) bool { return !sp.filters(e) })
	case *filter.Or:
		return sp.filters(*x)
	case filter.Not:
		return sp.filters(x.X)
	case *filter.Not:
		return sp.filters(x.X)
	case filter.Cmp:
		return field(x.Field)
	case *filter.Cmp:
		return field(x.Field)
	case filter.Exists:
		return field(x.Field)
	case *filter.Exists:
		return field(x.Field)
	case filter.Regex:
		return field(x.Field)
	case *filter.Regex:
		return field(x.Field)
	}
	return false
}

// splitCreated takes the creation-time bounds out of e's top-level
// conjunction: the records created in [lo, hi) (zero: unbounded), and the
// rest of the filter. false when e reads the creation time otherwise (or
// with a value not in the stored form, which compares as text).
func splitCreated(e filter.Expr) (lo, hi time.Time, rest filter.Expr, ok bool) {
	var items []filter.Expr
	var flatten func(filter.Expr) bool
	flatten = func(e filter.Expr) bool {
		var c filter.Cmp
		switch x := e.(type) {
		case filter.And:
			for _, it := range x.Items {
				if !flatten(it) {
					return false
				}
			}
			return true
		case *filter.And:
			return flatten(*x)
		case filter.Cmp:
			c = x
		case *filter.Cmp:
			c = *x
		default:
			items = append(items, e)
			return true
		}
		if c.Field.Key != "_created_at" {
			items = append(items, c)
			return true
		}
		v, isText := c.Value.(string)
		t, exact := parseStoredTime(v)
		if !isText || !exact {
			return false
		}
		switch c.Op {
		case filter.OpGt:
			t = t.Add(time.Millisecond) // stored times are whole milliseconds
			fallthrough
		case filter.OpGte:
			if lo.IsZero() || t.After(lo) {
				lo = t
			}
		case filter.OpLte:
			t = t.Add(time.Millisecond)
			fallthrough
		case filter.OpLt:
			if hi.IsZero() || t.Before(hi) {
				hi = t
			}
		default:
			return false
		}
		return true
	}
	if !flatten(e) {
		return lo, hi, nil, false
	}
	return lo, hi, filter.AllOf(items), true
}

// Rollup returns what app/form's totals are kept by (nil when none are).
func (s *Store) Rollup(ctx context.Context, app, form string) (*engine.FormRollup, error) {
	sp, ok, err := findRollup(ctx, s.r, app, form)
	if err != nil || !ok {
		return nil, err
	}
	return &engine.FormRollup{Sets: sp.Sets, Measures: sp.Measures, Owner: sp.Owner}, nil
}
