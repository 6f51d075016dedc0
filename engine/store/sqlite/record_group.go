package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"formwork/engine"
)

// GroupRecords groups in one SQL statement: the form's matching records
// (the same WHERE as FindRecords, so the scope and list indexes serve it),
// each key as its normalised JSON type and value, GROUP BY both, and the
// measure's numbers counted, summed and bounded per group.
func (s *Store) GroupRecords(ctx context.Context, q engine.GroupQuery) ([]engine.GroupRow, error) {
	if err := engine.CheckGroupQuery(&q); err != nil {
		return nil, err
	}
	where, args, err := recordWhere(engine.RecordQuery{App: q.App, Form: q.Form, Filter: q.Filter})
	if err != nil {
		return nil, err
	}
	var sel, group, joins []string
	for i, b := range q.By {
		t, v, join, err := groupKeySQL(i, b)
		if err != nil {
			return nil, err
		}
		sel = append(sel, t, v)
		group = append(group, "k"+strconv.Itoa(i)+"t", "k"+strconv.Itoa(i)+"v")
		if join != "" {
			joins = append(joins, join)
		}
	}
	m := "NULL"
	if q.Measure != "" {
		p, err := jsonPath(q.Measure)
		if err != nil {
			return nil, err
		}
		m = "CASE WHEN json_type(r.data, " + p + ") IN ('integer', 'real') THEN json_extract(r.data, " + p + ") END"
	}
	inner := "SELECT " + strings.Join(append(sel, m+" AS m"), ", ") +
		" FROM (SELECT data, unit, owner, status, version, created_at, updated_at FROM records WHERE " + where + ") AS r " + strings.Join(joins, " ")
	query := "SELECT " + strings.Join(append(group, "count(*)", "count(m)", "coalesce(sum(m), 0)", "coalesce(min(m), 0)", "coalesce(max(m), 0)"), ", ") +
		" FROM (" + inner + ")"
	if len(group) > 0 {
		query += " GROUP BY " + strings.Join(group, ", ")
	}
	query += " LIMIT ?"
	args = append(args, q.Limit+1)
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite group records: %w", err)
	}
	defer rows.Close()
	var out []engine.GroupRow
	for rows.Next() {
		if len(out) == q.Limit {
			return nil, engine.ErrTooManyGroups(q.Limit)
		}
		row, err := scanGroupRow(rows, len(q.By))
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite group records: %w", err)
	}
	if len(q.By) == 0 && len(out) == 1 && out[0].Count == 0 {
		return nil, nil // an aggregate over no rows is one row of zeros
	}
	return out, nil
}

// groupKeySQL returns the SQL of key i's type and value columns, and the
// json_each join an Each key reads its elements from. Types are
// normalised to 'text', 'number', 'true', 'false' or 'null' (anything that
// is not a scalar, with a NULL value), so 1 and true stay apart and 1 and
// 1.0 fall together, as in engine.GroupKeys.
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
			t, v = "json_type(r.data, "+p+")", "json_extract(r.data, "+p+")"
		}
	}
	norm := "CASE WHEN " + t + " IN ('integer', 'real') THEN 'number' WHEN " + t + " IN ('text', 'true', 'false') THEN " + t + " ELSE 'null' END"
	switch b.Cut {
	case "":
		val = "CASE WHEN " + t + " IN ('integer', 'real', 'text', 'true', 'false') THEN " + v + " END"
		return norm + " AS k" + n + "t", val + " AS k" + n + "v", join, nil
	case engine.CutHour:
		// A time text starts yyyy-mm-ddT; SQLite's own date parsing would
		// also read other shapes, which engine.CutHourText does not.
		ok := t + " = 'text' AND " + v + " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T*'"
		cut := "strftime('%Y-%m-%dT%H', " + v + ")"
		if b.Shift != 0 {
			cut = "strftime('%Y-%m-%dT%H', " + v + ", '" + strconv.FormatInt(int64(b.Shift.Seconds()), 10) + " seconds')"
		}
		val = "CASE WHEN " + ok + " THEN " + cut + " END"
	case engine.CutDay:
		ok := t + " = 'text' AND " + v + " GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*'"
		val = "CASE WHEN " + ok + " THEN substr(" + v + ", 1, 10) END"
	}
	return "CASE WHEN (" + val + ") IS NULL THEN 'null' ELSE 'text' END AS k" + n + "t", val + " AS k" + n + "v", join, nil
}

// scanGroupRow reads one group: nkeys (type, value) pairs, then the count,
// the measure's count, sum, min and max.
func scanGroupRow(rows *sql.Rows, nkeys int) (engine.GroupRow, error) {
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
		row.Keys[i] = groupValue(t, vals[i])
	}
	return row, nil
}

// groupValue turns a normalised type and an SQL value into the key value
// engine.GroupKeys gives.
func groupValue(t string, v any) any {
	switch t {
	case "true":
		return true
	case "false":
		return false
	case "text":
		switch x := v.(type) {
		case string:
			return x
		case []byte:
			return string(x)
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
