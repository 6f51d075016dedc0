package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"formwork/engine"
)

// GroupRecords groups in one SQL statement: the form's matching records
// (the same WHERE as FindRecords, so the scope and list indexes serve it),
// each key as its normalised JSON type and value, GROUP BY both, and the
// measure's numbers counted, summed and bounded per group. A query the
// form's rollups answer (see groupRollup) reads them instead, and the
// records only for the partial hours at the ends of its time range.
func (s *Store) GroupRecords(ctx context.Context, q engine.GroupQuery) ([]engine.GroupRow, error) {
	if err := engine.CheckGroupQuery(&q); err != nil {
		return nil, err
	}
	// Groups the SQL tells apart but a key does not (arrays, read as no
	// key) fall together here, as do a rollup's groups and the records'.
	acc := engine.NewGroupAccumulator(q)
	if err := s.textFresh(ctx, q.Filter); err != nil {
		return nil, err
	}
	// One read transaction: the rollup's definition, its rows and the
	// records at the ends of a range are read from the same snapshot.
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite group records: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read only: nothing to keep
	rolled, found, err := s.groupRollup(ctx, tx, q, acc)
	if err != nil {
		return nil, err
	}
	if !rolled {
		if found, err = s.groupRaw(ctx, tx, q, acc); err != nil {
			return nil, err
		}
	}
	if !found {
		return nil, nil
	}
	rows := acc.Rows()
	if rolled { // the records of the partial hours had theirs
		for i := range rows {
			rows[i].Min, rows[i].Max = 0, 0
		}
	}
	return rows, nil
}

// groupRaw groups the records q selects into acc; found is false when
// there were none.
func (s *Store) groupRaw(ctx context.Context, db querier, q engine.GroupQuery, acc *engine.GroupAccumulator) (found bool, err error) {
	where, args, err := recordWhere(engine.RecordQuery{App: q.App, Form: q.Form, Filter: q.Filter})
	if err != nil {
		return false, err
	}
	keys, err := groupKeys(q.By)
	if err != nil {
		return false, err
	}
	m := "NULL"
	if q.Measure != "" {
		p, err := jsonPath(q.Measure)
		if err != nil {
			return false, err
		}
		x := "json_extract(r.data, " + p + ")"
		m = "CASE WHEN typeof(" + x + ") IN ('integer', 'real') THEN " + x + " END"
	}
	aggs := []string{"count(*)", "count(m)", "coalesce(sum(m), 0)", "coalesce(min(m), 0)", "coalesce(max(m), 0)"}
	var query string
	if len(keys.joins) == 0 {
		// One level, so the planner sees the keys' expressions against the
		// table and its indexes (a key an index holds is read from it).
		for i := range aggs {
			aggs[i] = strings.ReplaceAll(aggs[i], "(m)", "("+m+")")
		}
		query = "SELECT " + strings.Join(append(keys.sel, aggs...), ", ") + " FROM records AS r WHERE " + where
	} else {
		// json_each's columns (id among them) would clash with the
		// filter's: the records are selected first.
		inner := "SELECT " + strings.Join(append(keys.sel, m+" AS m"), ", ") +
			" FROM (SELECT data, unit, owner, status, version, created_at, updated_at FROM records WHERE " + where + ") AS r " + strings.Join(keys.joins, " ")
		query = "SELECT " + strings.Join(append(keys.group, aggs...), ", ") + " FROM (" + inner + ")"
	}
	return runGroup(ctx, db, q, acc, query+keys.groupBy(), args)
}

// querier reads: the read pool, or a transaction on it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// groupSQL is the SQL of a query's keys: the selected (type, value)
// columns, their names, the names grouped by and the json_each joins.
type groupSQL struct {
	sel, group, by, joins []string
}

func groupKeys(by []engine.GroupBy) (groupSQL, error) {
	var g groupSQL
	for i, b := range by {
		t, v, join, err := groupKeySQL(i, b)
		if err != nil {
			return g, err
		}
		g.sel = append(g.sel, t, v)
		g.group = append(g.group, "k"+strconv.Itoa(i)+"t", "k"+strconv.Itoa(i)+"v")
		if !strings.HasPrefix(t, "'") { // a constant type column groups nothing
			g.by = append(g.by, "k"+strconv.Itoa(i)+"t")
		}
		g.by = append(g.by, "k"+strconv.Itoa(i)+"v")
		if join != "" {
			g.joins = append(g.joins, join)
		}
	}
	return g, nil
}

// groupBy is the GROUP BY clause ("" without keys).
func (g groupSQL) groupBy() string {
	if len(g.group) == 0 {
		return ""
	}
	return " GROUP BY " + strings.Join(g.by, ", ")
}

// runGroup runs a grouping query and merges its groups into acc; found is
// false when it counted no record.
func runGroup(ctx context.Context, db querier, q engine.GroupQuery, acc *engine.GroupAccumulator, query string, args []any) (found bool, err error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("sqlite group records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		row, err := scanGroupRow(rows, q.By)
		if err != nil {
			return false, err
		}
		if row.Count == 0 {
			continue // an aggregate over no rows is one row of zeros
		}
		if err := acc.Merge(row); err != nil {
			return false, err
		}
		found = true
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("sqlite group records: %w", err)
	}
	return found, nil
}

// groupKeySQL returns the SQL of key i's type and value columns, and the
// json_each join an Each key reads its elements from. A data field's value
// is json_extract of it alone, the expression its index (x-index, or a
// dashboard's group) holds, so a GROUP BY over it reads the index, not the
// records; its type is read in Go from the SQL value (see groupValue). An
// element's type comes from json_each.
func groupKeySQL(i int, b engine.GroupBy) (typ, val, join string, err error) {
	n := strconv.Itoa(i)
	var t, v string
	if col, ok := systemColumns[b.Field]; ok && col != "id" {
		t, v = "'text'", "r."+col
		if col == "version" {
			t = "'integer'"
		}
	} else if strings.HasPrefix(b.Field, "_") {
		return "", "", "", engine.Errorf(engine.EINVALID, engine.T("不能按该字段分组："+b.Field, "cannot group by "+b.Field))
	} else {
		p, err := jsonPath(b.Field)
		if err != nil {
			return "", "", "", err
		}
		if b.Each {
			join = "LEFT JOIN json_each(r.data, " + p + ") AS g" + n
			t, v = "g"+n+".type", "g"+n+".atom"
		} else {
			t, v = "'value'", "json_extract(r.data, "+p+")"
		}
	}
	switch b.Cut {
	case "":
		if t == "'value'" || t == "'text'" || t == "'integer'" {
			return t + " AS k" + n + "t", v + " AS k" + n + "v", join, nil
		}
		norm := "CASE WHEN " + t + " IN ('integer', 'real') THEN 'number' WHEN " + t + " IN ('text', 'true', 'false') THEN " + t + " ELSE 'null' END"
		val = "CASE WHEN " + t + " IN ('integer', 'real', 'text', 'true', 'false') THEN " + v + " END"
		return norm + " AS k" + n + "t", val + " AS k" + n + "v", join, nil
	case engine.CutHour:
		// A time text starts yyyy-mm-ddT; SQLite's own date parsing would
		// also read other shapes, which engine.CutHourText does not.
		ok := v + " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*'"
		cut := "substr(" + v + ", 1, 13)"
		if t != "'text'" || b.Shift != 0 { // a data field's time may carry an offset: strftime reads it in UTC
			cut = "strftime('%Y-%m-%dT%H', " + v + ", '" + strconv.FormatInt(int64(b.Shift.Seconds()), 10) + " seconds')"
		}
		val = "CASE WHEN " + ok + " THEN " + cut + " END"
	case engine.CutDay:
		ok := v + " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"
		val = "CASE WHEN " + ok + " THEN substr(" + v + ", 1, 10) END"
	}
	return "'text' AS k" + n + "t", val + " AS k" + n + "v", join, nil
}

// scanGroupRow reads one group: nkeys (type, value) pairs, then the count,
// the measure's count, sum, min and max.
func scanGroupRow(rows *sql.Rows, by []engine.GroupBy) (engine.GroupRow, error) {
	nkeys := len(by)
	dest := make([]any, 2*nkeys+5)
	types := make([]string, nkeys)
	vals := make([]any, nkeys)
	for i := 0; i < nkeys; i++ {
		dest[2*i], dest[2*i+1] = &types[i], &vals[i]
	}
	var row engine.GroupRow
	dest[2*nkeys], dest[2*nkeys+1] = &row.Count, &row.N
	dest[2*nkeys+2], dest[2*nkeys+3], dest[2*nkeys+4] = &row.Sum, &row.Min, &row.Max
	if err := rows.Scan(dest...); err != nil {
		return row, fmt.Errorf("sqlite scan group: %w", err)
	}
	row.Keys = make([]any, nkeys)
	for i, t := range types {
		row.Keys[i] = groupValue(t, vals[i], by[i].Bool)
	}
	return row, nil
}

// groupValue turns a key's type and SQL value into the key value
// engine.GroupKeys gives. A data field's value ("value") is typed by its
// SQL value: text holding a JSON array or object (json_extract's answer for
// one) is no key, and with isBool 1 and 0 are true and false.
func groupValue(t string, v any, isBool bool) any {
	if b, ok := v.([]byte); ok {
		v = string(b)
	}
	switch t {
	case "value":
		switch x := v.(type) {
		case string:
			if (strings.HasPrefix(x, "[") || strings.HasPrefix(x, "{")) && json.Valid([]byte(x)) {
				return nil
			}
			return x
		case int64:
			if isBool {
				return x != 0
			}
			return float64(x)
		case float64:
			return x
		}
	case "true":
		return true
	case "false":
		return false
	case "text":
		if x, ok := v.(string); ok {
			return x
		}
	case "number", "integer":
		switch x := v.(type) {
		case int64:
			return float64(x)
		case float64:
			return x
		}
	}
	return nil
}
