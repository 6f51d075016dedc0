package filter

import (
	"encoding/json"
	"fmt"
	"time"
)

// Fields lists every field the filter touches, each once, in order of first
// appearance. The access layer refuses filters on fields a caller may not see
// in full.
func Fields(e Expr) []Field {
	var out []Field
	seen := map[string]bool{}
	add := func(f Field) {
		if !seen[f.Key] {
			seen[f.Key] = true
			out = append(out, f)
		}
	}
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case And:
			for _, it := range x.Items {
				walk(it)
			}
		case Or:
			for _, it := range x.Items {
				walk(it)
			}
		case Not:
			walk(x.X)
		case Cmp:
			add(x.Field)
		case Exists:
			add(x.Field)
		case Regex:
			add(x.Field)
		case Text:
			for _, f := range x.Fields {
				add(f)
			}
		}
	}
	walk(e)
	return out
}

// Validate checks the invariants Parse guarantees for a tree built by other
// means (or stored and read back): known node kinds, operators that fit the
// field types, values of the field's type (canonical text for times), lists
// for $in/$nin, safe regex patterns and at most MaxNodes nodes (lists from
// $user.units_below are not limited by MaxIn). Backends may rely on it.
func Validate(e Expr) error {
	n := 0
	return validate(e, &n)
}

func validate(e Expr, n *int) error {
	*n++
	if *n > MaxNodes {
		return fmt.Errorf("filter: more than %d nodes", MaxNodes)
	}
	switch x := e.(type) {
	case And:
		for _, it := range x.Items {
			if err := validate(it, n); err != nil {
				return err
			}
		}
	case Or:
		for _, it := range x.Items {
			if err := validate(it, n); err != nil {
				return err
			}
		}
	case Not:
		if x.X == nil {
			return fmt.Errorf("filter: $not without an operand")
		}
		return validate(x.X, n)
	case Cmp:
		return validateCmp(x)
	case Exists:
		return validateField(x.Field)
	case Regex:
		if err := validateField(x.Field); err != nil {
			return err
		}
		if x.Field.Type != TypeString {
			return fmt.Errorf("filter: $regex on %s field %q", x.Field.Type, x.Field.Key)
		}
		if err := CheckRegex(x.Pattern); err != nil {
			return err
		}
	case Text:
		return validateText(x)
	default:
		return fmt.Errorf("filter: unknown node %T", e)
	}
	return nil
}

func validateField(f Field) error {
	if f.Key == "" || f.Type < TypeString || f.Type > TypeArray {
		return fmt.Errorf("filter: bad field %+v", f)
	}
	return nil
}

func validateCmp(c Cmp) error {
	if err := validateField(c.Field); err != nil {
		return err
	}
	switch c.Op {
	case OpIn, OpNin:
		list, ok := c.Value.([]any)
		if !ok {
			return fmt.Errorf("filter: %s on %q needs a list", c.Op, c.Field.Key)
		}
		for _, v := range list {
			if v == nil {
				return fmt.Errorf("filter: null in %s list of %q", c.Op, c.Field.Key)
			}
			if err := validateValue(c.Field, v); err != nil {
				return err
			}
		}
		return nil
	case OpEq, OpNe:
		if c.Value == nil {
			return nil
		}
	case OpGt, OpGte, OpLt, OpLte:
		if err := checkOrdered(c.Field, c.Op, ""); err != nil {
			return err
		}
		if c.Value == nil {
			return fmt.Errorf("filter: %s null on %q", c.Op, c.Field.Key)
		}
	default:
		return fmt.Errorf("filter: unknown operator %q", c.Op)
	}
	return validateValue(c.Field, c.Value)
}

func validateValue(f Field, v any) error {
	ok := false
	switch x := v.(type) {
	case string:
		switch f.Type {
		case TypeString, TypeArray:
			ok = true
		case TypeTime:
			t, err := time.Parse(TimeFormat, x)
			ok = err == nil && t.Format(TimeFormat) == x
		}
	case float64:
		ok = f.Type == TypeNumber || f.Type == TypeArray
	case bool:
		ok = f.Type == TypeBool || f.Type == TypeArray
	}
	if !ok {
		return fmt.Errorf("filter: value %#v does not fit %s field %q", v, f.Type, f.Key)
	}
	return nil
}

// Encode returns a JSON filter that Parse turns back into e (with the same
// field types): variables appear as the values they were replaced with.
func Encode(e Expr) ([]byte, error) {
	v, err := encode(e)
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// ordered is a JSON object of one key, so encoding never depends on map order.
type ordered [][2]any

func (o ordered) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, kv := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := json.Marshal(kv[0])
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv[1])
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

func encode(e Expr) (any, error) {
	switch x := e.(type) {
	case And:
		if len(x.Items) == 0 {
			return ordered{}, nil
		}
		items, err := encodeList(x.Items)
		return ordered{{"$and", items}}, err
	case Or:
		items, err := encodeList(x.Items)
		return ordered{{"$or", items}}, err
	case Not:
		v, err := encode(x.X)
		return ordered{{"$not", v}}, err
	case Cmp:
		return ordered{{x.Field.Key, ordered{{string(x.Op), x.Value}}}}, nil
	case Exists:
		return ordered{{x.Field.Key, ordered{{"$exists", x.Want}}}}, nil
	case Regex:
		ops := ordered{{"$regex", x.Pattern}}
		if x.Fold {
			ops = append(ops, [2]any{"$options", "i"})
		}
		return ordered{{x.Field.Key, ops}}, nil
	case Text:
		keys := make([]string, len(x.Fields))
		for i, f := range x.Fields {
			keys[i] = f.Key
		}
		return ordered{{"$search", ordered{{"fields", keys}, {"grams", x.Grams}, {"prefixes", x.Prefixes}}}}, nil
	}
	return nil, fmt.Errorf("filter: unknown node %T", e)
}

func encodeList(items []Expr) ([]any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		v, err := encode(it)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Fixed returns the fields e pins to one string or number by a top-level
// $eq (one, or inside an $and): sorting by them orders nothing. A store
// leaves them out of its order (SQLite then walks an index instead of
// sorting every match) and takes the direction of a sort's ties from the
// last sort key not among them, so that both stores order ties alike.
func Fixed(e Expr) map[string]bool {
	out := map[string]bool{}
	var walk func(Expr)
	walk = func(e Expr) {
		switch x := e.(type) {
		case And:
			for _, it := range x.Items {
				walk(it)
			}
		case *And:
			walk(*x)
		case Cmp:
			if x.Op != OpEq || x.Field.Type == TypeArray {
				return
			}
			switch x.Value.(type) {
			case string, float64:
				out[x.Field.Key] = true
			}
		case *Cmp:
			walk(*x)
		}
	}
	walk(e)
	return out
}
