package filter

import (
	"encoding/json"
	"regexp"
)

// Match reports whether one record, given by value (a field's value as
// decoded from JSON, nil when absent), satisfies e. It answers in memory
// what a backend's compiled query answers in the database, for a record
// that is not stored yet: the engine checks with it that a write leaves
// the record inside the writer's data scope (PostgreSQL's WITH CHECK).
// Its semantics follow the backends': a value matches only a value of its
// own JSON type, an array field matches when any element does, and a
// missing field is null.
func Match(e Expr, value func(Field) any) bool {
	switch x := e.(type) {
	case nil:
		return true
	case And:
		for _, it := range x.Items {
			if !Match(it, value) {
				return false
			}
		}
		return true
	case *And:
		return Match(*x, value)
	case Or:
		for _, it := range x.Items {
			if Match(it, value) {
				return true
			}
		}
		return false
	case *Or:
		return Match(*x, value)
	case Not:
		return !Match(x.X, value)
	case *Not:
		return !Match(x.X, value)
	case Cmp:
		return matchCmp(x, value(x.Field))
	case *Cmp:
		return matchCmp(*x, value(x.Field))
	case Exists:
		return isNull(value(x.Field)) != x.Want
	case *Exists:
		return isNull(value(x.Field)) != x.Want
	case Regex:
		return matchRegex(x, value(x.Field))
	case *Regex:
		return matchRegex(*x, value(x.Field))
	case Text:
		return matchText(x, value)
	}
	return false // an unknown node never lets a record through
}

func isNull(v any) bool { return v == nil }

// elements is what a comparison looks at: each element of an array field,
// the value itself otherwise.
func elements(f Field, v any) []any {
	if a, ok := v.([]any); ok && f.Type == TypeArray {
		return a
	}
	return []any{v}
}

func matchCmp(c Cmp, v any) bool {
	switch c.Op {
	case OpNe:
		return !matchCmp(Cmp{Field: c.Field, Op: OpEq, Value: c.Value}, v)
	case OpNin:
		return !matchCmp(Cmp{Field: c.Field, Op: OpIn, Value: c.Value}, v)
	case OpEq:
		if c.Value == nil {
			return isNull(v)
		}
		return anyElement(c.Field, v, func(el any) bool { return equal(el, c.Value) })
	case OpIn:
		vals, _ := c.Value.([]any)
		for _, want := range vals {
			if want == nil && isNull(v) {
				return true
			}
		}
		return anyElement(c.Field, v, func(el any) bool {
			for _, want := range vals {
				if want != nil && equal(el, want) {
					return true
				}
			}
			return false
		})
	case OpGt, OpGte, OpLt, OpLte:
		return anyElement(c.Field, v, func(el any) bool {
			n, ok := compare(el, c.Value)
			if !ok {
				return false
			}
			switch c.Op {
			case OpGt:
				return n > 0
			case OpGte:
				return n >= 0
			case OpLt:
				return n < 0
			}
			return n <= 0
		})
	}
	return false
}

func anyElement(f Field, v any, pred func(any) bool) bool {
	if isNull(v) {
		return false
	}
	for _, el := range elements(f, v) {
		if el != nil && pred(el) {
			return true
		}
	}
	return false
}

// number returns v as a float64 when it is a JSON number.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func equal(a, b any) bool {
	if n, ok := compare(a, b); ok {
		return n == 0
	}
	ab, aok := a.(bool)
	bb, bok := b.(bool)
	return aok && bok && ab == bb
}

// compare orders a against b when both are strings or both numbers.
func compare(a, b any) (int, bool) {
	if as, ok := a.(string); ok {
		bs, ok := b.(string)
		if !ok {
			return 0, false
		}
		switch {
		case as < bs:
			return -1, true
		case as > bs:
			return 1, true
		}
		return 0, true
	}
	an, ok := number(a)
	if !ok {
		return 0, false
	}
	bn, ok := number(b)
	if !ok {
		return 0, false
	}
	switch {
	case an < bn:
		return -1, true
	case an > bn:
		return 1, true
	}
	return 0, true
}

func matchRegex(x Regex, v any) bool {
	pat := x.Pattern
	if x.Fold {
		pat = "(?i)" + pat
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return false
	}
	return anyElement(x.Field, v, func(el any) bool {
		s, ok := el.(string)
		return ok && re.MatchString(s)
	})
}
