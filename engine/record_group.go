package engine

import (
	"strconv"
	"strings"
	"time"
)

// This file holds what both backends share about GroupRecords: the checks
// every backend makes the same way, the meaning of a key (GroupKeys), and
// an in-memory grouping (GroupAccumulator) for a server that lacks the
// aggregation operators a query needs.

// CheckGroupQuery checks the parts of q every backend checks alike and
// sets the default limit.
func CheckGroupQuery(q *GroupQuery) error {
	if len(q.By) > MaxGroupKeys {
		return Errorf(EINVALID, T("最多按两个字段分组", "group by at most two fields"))
	}
	for _, b := range q.By {
		switch b.Cut {
		case "", CutHour, CutDay:
		default:
			return Errorf(EINVALID, T("未知的时间粒度："+string(b.Cut), "unknown time cut: "+string(b.Cut)))
		}
		if b.Field == "" {
			return Errorf(EINVALID, T("分组字段为空", "a group key names no field"))
		}
		if b.Shift <= -time.Hour || b.Shift >= time.Hour {
			return Errorf(EINVALID, T("时间偏移须小于一小时", "a time shift must be under an hour"))
		}
	}
	if q.Limit <= 0 || q.Limit > MaxGroups {
		q.Limit = MaxGroups
	}
	return nil
}

// ErrTooManyGroups is the error of a grouping with more groups than its limit.
func ErrTooManyGroups(limit int) error {
	n := strconv.Itoa(limit)
	return Errorf(EINVALID, T("分组过多（超过 "+n+" 组），请换一个分组字段或加筛选", "too many groups (over "+n+"): group by another field or filter"))
}

// GroupSystemField is a record's system field as a group key value, and
// whether the field is one.
func GroupSystemField(r *Record, field string) (any, bool) {
	switch field {
	case "_unit":
		return r.Unit, true
	case "_owner":
		return r.Owner, true
	case "_status":
		return r.Status, true
	case "_version":
		return float64(r.Version), true
	case "_created_at":
		return r.CreatedAt.UTC().Format(timeText), true
	case "_updated_at":
		return r.UpdatedAt.UTC().Format(timeText), true
	}
	return nil, false
}

// timeText is how system times read as text (as the SQLite store keeps them).
const timeText = "2006-01-02T15:04:05.000Z"

// GroupKeys returns the key values a record has for b: one value, or one
// per element of an array field with Each (nil for a record without the
// field or with an empty array). Values are scalars as decoded from JSON;
// anything else is nil. A time cut gives the hour or day text, nil when
// the value is not a time.
func GroupKeys(r *Record, b GroupBy) []any {
	v, system := GroupSystemField(r, b.Field)
	if !system {
		v = r.Data[b.Field]
	}
	if b.Each {
		if a, ok := v.([]any); ok {
			if len(a) == 0 {
				return []any{nil}
			}
			out := make([]any, len(a))
			for i, x := range a {
				out[i] = groupKey(x, b)
			}
			return out
		}
	}
	return []any{groupKey(v, b)}
}

func groupKey(v any, b GroupBy) any {
	switch x := v.(type) {
	case string:
		switch b.Cut {
		case CutHour:
			return CutHourText(x, b.Shift)
		case CutDay:
			if isDayText(x) {
				return x[:10]
			}
			return nil
		}
		return x
	case float64, bool:
		if b.Cut != "" {
			return nil
		}
		return x
	case int64:
		if b.Cut != "" {
			return nil
		}
		return float64(x)
	}
	return nil
}

// CutHourText is the hour key of an RFC 3339 time text moved by shift, or
// nil when s is not such a time.
func CutHourText(s string, shift time.Duration) any {
	if !isDayText(s) || len(s) < 11 || s[10] != 'T' {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil
	}
	return t.UTC().Add(shift).Format("2006-01-02T15")
}

// isDayText reports whether s starts with a date, yyyy-mm-dd.
func isDayText(s string) bool {
	if len(s) < 10 {
		return false
	}
	for i := 0; i < 10; i++ {
		c := s[i]
		if i == 4 || i == 7 {
			if c != '-' {
				return false
			}
		} else if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// GroupAccumulator groups records in memory, with the meaning GroupRecords
// has in the database: for a backend whose server lacks the operators a
// query needs (the caller streams the records q selects through Add).
type GroupAccumulator struct {
	q    GroupQuery
	rows map[string]*GroupRow
}

// NewGroupAccumulator starts an in-memory grouping for q (checked by
// CheckGroupQuery).
func NewGroupAccumulator(q GroupQuery) *GroupAccumulator {
	return &GroupAccumulator{q: q, rows: map[string]*GroupRow{}}
}

// Add counts one record into its groups (several with Each keys over
// arrays: every combination). EINVALID once there are more groups than
// the query's limit.
func (a *GroupAccumulator) Add(r *Record) error {
	m, isNum := r.Data[a.q.Measure].(float64)
	if a.q.Measure == "" {
		isNum = false
	}
	combos := [][]any{{}}
	for _, b := range a.q.By {
		var next [][]any
		for _, c := range combos {
			for _, k := range GroupKeys(r, b) {
				next = append(next, append(append([]any{}, c...), k))
			}
		}
		combos = next
	}
	for _, keys := range combos {
		var add GroupRow
		add.Keys, add.Count = keys, 1
		if isNum {
			add.N, add.Sum, add.Min, add.Max = 1, m, m, m
		}
		if err := a.merge(add); err != nil {
			return err
		}
	}
	return nil
}

// Merge adds a row another pass produced (a database's group whose keys
// this package reads as the same group, such as an array and a missing
// field, both nil).
func (a *GroupAccumulator) Merge(row GroupRow) error { return a.merge(row) }

func (a *GroupAccumulator) merge(add GroupRow) error {
	id := groupID(add.Keys)
	g, ok := a.rows[id]
	if !ok {
		if len(a.rows) >= a.q.Limit {
			return ErrTooManyGroups(a.q.Limit)
		}
		a.rows[id] = &add
		return nil
	}
	g.add(add)
	return nil
}

// add counts b's records and measured values into g (keys aside).
func (g *GroupRow) add(b GroupRow) {
	g.Count += b.Count
	if b.N > 0 {
		if g.N == 0 {
			g.Min, g.Max = b.Min, b.Max
		} else {
			g.Min, g.Max = min(g.Min, b.Min), max(g.Max, b.Max)
		}
		g.N += b.N
		g.Sum += b.Sum
	}
}

// Rows returns the groups, in no particular order.
func (a *GroupAccumulator) Rows() []GroupRow {
	out := make([]GroupRow, 0, len(a.rows))
	for _, g := range a.rows {
		out = append(out, *g)
	}
	return out
}

// groupID is a map key telling apart every key list GroupKeys can give.
func groupID(keys []any) string {
	var b strings.Builder
	for _, k := range keys {
		switch x := k.(type) {
		case nil:
			b.WriteString("n|")
		case bool:
			b.WriteString("b" + strconv.FormatBool(x) + "|")
		case float64:
			b.WriteString("f" + strconv.FormatFloat(x, 'g', -1, 64) + "|")
		case string:
			b.WriteString("s" + strconv.Itoa(len(x)) + ":" + x + "|")
		}
	}
	return b.String()
}
