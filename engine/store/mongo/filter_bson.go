package mongo

import (
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"formwork/engine"
	"formwork/engine/filter"
)

// systemFields maps filter system fields to top-level record fields.
var systemFields = map[string]string{
	"_id":         "_id",
	"_unit":       "unit",
	"_owner":      "owner",
	"_status":     "status",
	"_version":    "version",
	"_created_at": "created_at",
	"_updated_at": "updated_at",
}

// dataKey checks a form field key before it becomes part of a BSON path:
// no dots (paths), no leading "$" (operators), no NUL.
func dataKey(key string) (string, error) {
	if key == "" || strings.ContainsAny(key, ".\x00") || strings.HasPrefix(key, "$") {
		return "", engine.Errorf(engine.EINVALID, engine.T("字段名无效："+key, "invalid field key: "+key))
	}
	return "data." + key, nil
}

// fieldPath returns the document path of a filter or sort field.
func fieldPath(key string, system bool) (string, error) {
	if system || strings.HasPrefix(key, "_") {
		p, ok := systemFields[key]
		if !ok {
			return "", engine.Errorf(engine.EINVALID, engine.T("未知系统字段："+key, "unknown system field: "+key))
		}
		return p, nil
	}
	return dataKey(key)
}

// compileFilter turns a checked filter tree into a MongoDB query document.
// Times (TypeTime) are compared as BSON datetimes, which is how the store
// keeps them; everything else is compared as written. The tree is
// checked for safety while compiled (operators from the subset only, scalar
// values, field keys that cannot become paths or operators, safe regex
// patterns), so a tree not built by filter.Parse cannot smuggle anything
// into the query. Type mismatches are not errors here: they match nothing,
// as in the SQLite backend.
func compileFilter(e filter.Expr) (bson.D, error) {
	if e == nil {
		return bson.D{}, nil
	}
	return compile(e)
}

func invalidFilter(msg string) error {
	return engine.Errorf(engine.EINVALID, engine.T("筛选条件无效", "invalid filter: "+msg))
}

// scalar reports whether v is a value a filter may compare with.
func scalar(v any) bool {
	switch v.(type) {
	case nil, string, float64, bool:
		return true
	}
	return false
}

func compile(e filter.Expr) (bson.D, error) {
	switch x := e.(type) {
	case filter.And:
		if len(x.Items) == 0 {
			return bson.D{}, nil
		}
		items, err := compileList(x.Items)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$and", Value: items}}, nil
	case filter.Or:
		if len(x.Items) == 0 {
			// An empty $or is refused by MongoDB; this never matches.
			return bson.D{{Key: "_id", Value: bson.D{{Key: "$exists", Value: false}}}}, nil
		}
		items, err := compileList(x.Items)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$or", Value: items}}, nil
	case filter.Not:
		if x.X == nil {
			return nil, invalidFilter("$not without an operand")
		}
		// MongoDB's $not is field-level; $nor of one item is the document-level not.
		inner, err := compile(x.X)
		if err != nil {
			return nil, err
		}
		return bson.D{{Key: "$nor", Value: bson.A{inner}}}, nil
	case filter.Cmp:
		return compileCmp(x)
	case filter.Exists:
		p, err := fieldPath(x.Field.Key, x.Field.System)
		if err != nil {
			return nil, err
		}
		// "Present and not null", as in the SQLite backend and the filter docs.
		if x.Want {
			return bson.D{{Key: p, Value: bson.D{{Key: "$ne", Value: nil}}}}, nil
		}
		return bson.D{{Key: p, Value: nil}}, nil
	case filter.Regex:
		p, err := fieldPath(x.Field.Key, x.Field.System)
		if err != nil {
			return nil, err
		}
		if err := filter.CheckRegex(x.Pattern); err != nil {
			return nil, invalidFilter(err.En)
		}
		opts := ""
		if x.Fold {
			opts = "i"
		}
		return bson.D{{Key: p, Value: bson.D{{Key: "$regex", Value: x.Pattern}, {Key: "$options", Value: opts}}}}, nil
	case filter.Text:
		return compileText(x)
	}
	return nil, engine.Errorf(engine.EINVALID, engine.T("不支持的筛选条件", fmt.Sprintf("unsupported filter node %T", e)))
}

func compileList(items []filter.Expr) (bson.A, error) {
	out := make(bson.A, 0, len(items))
	for _, it := range items {
		d, err := compile(it)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func compileCmp(x filter.Cmp) (bson.D, error) {
	p, err := fieldPath(x.Field.Key, x.Field.System)
	if err != nil {
		return nil, err
	}
	switch x.Op {
	case filter.OpEq, filter.OpNe, filter.OpGt, filter.OpGte, filter.OpLt, filter.OpLte:
		if !scalar(x.Value) {
			return nil, invalidFilter(fmt.Sprintf("%s needs a single value", x.Op))
		}
	case filter.OpIn, filter.OpNin:
		list, ok := x.Value.([]any)
		if !ok {
			return nil, invalidFilter(fmt.Sprintf("%s needs a list", x.Op))
		}
		for _, it := range list {
			if !scalar(it) {
				return nil, invalidFilter(fmt.Sprintf("%s list items must be single values", x.Op))
			}
		}
	default:
		return nil, invalidFilter("unknown operator " + string(x.Op))
	}
	var v any
	if list, ok := x.Value.([]any); ok {
		a := make(bson.A, len(list))
		for i, it := range list {
			if a[i], err = bsonValue(x.Field, it); err != nil {
				return nil, err
			}
		}
		v = a
	} else if v, err = bsonValue(x.Field, x.Value); err != nil {
		return nil, err
	}
	if x.Op == filter.OpEq {
		if v == nil {
			return bson.D{{Key: p, Value: nil}}, nil
		}
		// Written as $eq so a value can never be read as an operator document.
		return bson.D{{Key: p, Value: scalarOnly(x.Field, bson.D{{Key: "$eq", Value: v}})}}, nil
	}
	if x.Op == filter.OpIn {
		return bson.D{{Key: p, Value: scalarOnly(x.Field, bson.D{{Key: "$in", Value: v}})}}, nil
	}
	return bson.D{{Key: p, Value: bson.D{{Key: string(x.Op), Value: v}}}}, nil
}

// bsonValue converts a filter value to what the store keeps for the field.
func bsonValue(f filter.Field, v any) (any, error) {
	if s, ok := v.(string); ok && f.Type == filter.TypeTime && f.System {
		t, err := time.Parse(filter.TimeFormat, s)
		if err != nil {
			return nil, engine.Errorf(engine.EINVALID, engine.T("时间格式错误", "invalid time in filter: "+s))
		}
		return bson.NewDateTimeFromTime(t), nil
	}
	return v, nil
}

// scalarOnly keeps MongoDB's array matching ($eq and $in match any element of
// an array) away from fields that hold single values: a stray array in a text
// field must not equal one of its elements, as it does not on SQLite.
func scalarOnly(f filter.Field, cond bson.D) bson.D {
	if f.Type == filter.TypeArray || f.System {
		return cond
	}
	return append(cond, bson.E{Key: "$not", Value: bson.D{{Key: "$type", Value: "array"}}})
}
