package designer

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"formwork/engine"
)

// WantFilter asks CheckRule for a record filter (a role's custom data
// scope) instead of an expression: rows about one record become a
// condition on a set of records, which the store evaluates.
const WantFilter = "filter"

// filterOps maps builder comparisons to the filter language's operators.
var filterOps = map[string]string{"eq": "$eq", "ne": "$ne", "gt": "$gt", "ge": "$gte", "lt": "$lt", "le": "$lte", "in": "$in", "not_in": "$nin"}

// filterVars are the values a row may compare with that stand for the
// person looking: their id (a member field) and their unit (a unit field).
var filterVars = map[string]bool{"$user.id": true, "$user.unit": true}

// Filter writes the rows as a record filter over f's fields, checked as
// the engine checks a role's scope. EINVALID, with the row's pointer
// (/conditions/N/…), as for Expr, or for a condition a filter cannot say.
func (r RuleRows) Filter(f *engine.Form) (json.RawMessage, error) {
	key := "$and"
	switch r.Join {
	case "all", "":
	case "any":
		key = "$or"
	default:
		return nil, rowError("/join", "join", "条件之间须为「全部满足」或「任一满足」", "conditions are joined by all or any")
	}
	if len(r.Conditions) == 0 {
		return nil, rowError("/conditions", "required", "请至少添加一个条件", "add at least one condition")
	}
	items := make([]any, 0, len(r.Conditions))
	for i, c := range r.Conditions {
		m, err := c.filter(f)
		if err != nil {
			var e *engine.Error
			if errors.As(err, &e) && len(e.Fields) == 1 {
				e.Fields[0].Field = fmt.Sprintf("/conditions/%d%s", i, e.Fields[0].Field)
			}
			return nil, err
		}
		items = append(items, m)
	}
	var out any = map[string]any{key: items}
	if len(items) == 1 {
		out = items[0]
	}
	raw := engine.MustJSON(out)
	if err := engine.CheckFilter(f, raw); err != nil {
		return nil, err
	}
	return raw, nil
}

// filter is one condition as a filter on one field.
func (c Condition) filter(f *engine.Form) (map[string]any, error) {
	fd := f.Field(c.Field)
	if fd == nil || !engine.KeyPattern.MatchString(c.Field) {
		return nil, rowError("/field", "field", "请选择一个字段", "choose a field")
	}
	val := func(v any) (any, error) {
		if s, ok := v.(string); ok && filterVars[s] {
			return s, nil
		}
		lit, err := literal(fd, v)
		if err != nil {
			return nil, err
		}
		var out any
		if err := json.Unmarshal([]byte(lit), &out); err != nil { // a Go-quoted string is valid JSON but for rare escapes
			return v, nil
		}
		return out, nil
	}
	on := func(op string, v any) map[string]any { return map[string]any{c.Field: map[string]any{op: v}} }
	switch c.Op {
	case "eq", "ne", "gt", "ge", "lt", "le":
		v, err := val(c.Value)
		if err != nil {
			return nil, err
		}
		return on(filterOps[c.Op], v), nil
	case "in", "not_in":
		vs, ok := c.Value.([]any)
		if !ok || len(vs) == 0 {
			return nil, rowError("/value", "value", "请选择至少一个值", "choose at least one value")
		}
		items := make([]any, len(vs))
		for i, v := range vs {
			var err error
			if items[i], err = val(v); err != nil {
				return nil, err
			}
		}
		return on(filterOps[c.Op], items), nil
	case "contains":
		s, ok := c.Value.(string)
		if fd.Type != "string" || !ok || s == "" {
			return nil, rowError("/value", "value", "请填写要包含的文字", "give the text to look for")
		}
		return on("$regex", regexp.QuoteMeta(s)), nil
	case "empty":
		return on("$exists", false), nil
	case "not_empty":
		return on("$exists", true), nil
	case "has":
		if fd.Type != "array" {
			return nil, rowError("/op", "op", "只有多选字段可以用「包含选项」", "only a multiple-choice field can hold an option")
		}
		s, err := literal(&engine.Field{Type: fd.ItemType}, c.Value)
		if err != nil {
			return nil, err
		}
		var v any
		_ = json.Unmarshal([]byte(s), &v)
		return on("$in", []any{v}), nil
	}
	return nil, rowError("/op", "op", "请选择一个条件", "choose a condition")
}

// FilterRows reads a record filter back into builder rows when it has
// their shape (one operator on one field per condition, joined by $and or
// $or); ok is false otherwise, and the roles page keeps the scope as
// written.
func FilterRows(raw json.RawMessage) (RuleRows, bool) {
	var top map[string]any
	if json.Unmarshal(raw, &top) != nil || len(top) == 0 {
		return RuleRows{}, false
	}
	join, items := "all", []any{top}
	if len(top) == 1 {
		for k, v := range top {
			if k == "$and" || k == "$or" {
				list, ok := v.([]any)
				if !ok || len(list) == 0 {
					return RuleRows{}, false
				}
				items = list
				if k == "$or" {
					join = "any"
				}
			}
		}
	}
	rows := RuleRows{Join: join}
	for _, it := range items {
		c, ok := filterCondition(it)
		if !ok {
			return RuleRows{}, false
		}
		rows.Conditions = append(rows.Conditions, c)
	}
	return rows, true
}

// filterCondition recognises one builder row in a filter item.
func filterCondition(it any) (Condition, bool) {
	m, ok := it.(map[string]any)
	if !ok || len(m) != 1 {
		return Condition{}, false
	}
	for field, v := range m {
		ops, ok := v.(map[string]any)
		if !ok || len(ops) != 1 || strings.HasPrefix(field, "$") {
			return Condition{}, false
		}
		for op, arg := range ops {
			for row, fop := range filterOps {
				if fop == op {
					return Condition{Field: field, Op: row, Value: arg}, true
				}
			}
			switch op {
			case "$exists":
				b, ok := arg.(bool)
				if !ok {
					return Condition{}, false
				}
				if b {
					return Condition{Field: field, Op: "not_empty"}, true
				}
				return Condition{Field: field, Op: "empty"}, true
			case "$regex":
				s, ok := arg.(string)
				plain := unquoteMeta(s)
				if !ok || regexp.QuoteMeta(plain) != s {
					return Condition{}, false
				}
				return Condition{Field: field, Op: "contains", Value: plain}, true
			}
		}
	}
	return Condition{}, false
}

// unquoteMeta undoes regexp.QuoteMeta.
func unquoteMeta(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// checkScope is CheckRule for a data scope: the filter the rows make (or
// the filter given, read back into rows), its problems in plain words.
func checkScope(f *engine.Form, in RuleCheck) (*RuleResult, error) {
	out := &RuleResult{Problems: []Problem{}, Filter: in.Filter}
	if in.Rows != nil {
		raw, err := in.Rows.Filter(f)
		if err != nil {
			var e *engine.Error
			if !errors.As(err, &e) || len(e.Fields) == 0 || strings.HasPrefix(e.Fields[0].Field, "/conditions") || strings.HasPrefix(e.Fields[0].Field, "/join") {
				return nil, err
			}
			out.Problems = append(out.Problems, Problem{Pointer: "/filter" + e.Fields[0].Field, Code: e.Fields[0].Code, Message: e.Fields[0].Message})
			return out, nil
		}
		out.Filter = raw
	}
	if len(out.Filter) > 0 {
		if rows, ok := FilterRows(out.Filter); ok {
			out.Rows = &rows
		}
	}
	return out, nil
}
