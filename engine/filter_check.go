package engine

import (
	"errors"
	"sync"
	"time"

	"formwork/engine/filter"
)

// FilterResolver resolves filter field keys against a form: its top-level
// fields (subforms and objects are not filterable) and the system fields.
func FilterResolver(f *Form) filter.Resolver {
	return func(key string) (filter.Field, bool) {
		switch key {
		case "_id", "_unit", "_owner", "_status":
			return filter.Field{Key: key, Type: filter.TypeString, System: true}, true
		case "_version":
			return filter.Field{Key: key, Type: filter.TypeNumber, System: true}, true
		case "_created_at", "_updated_at":
			return filter.Field{Key: key, Type: filter.TypeTime, System: true}, true
		}
		fd := f.Field(key)
		if fd == nil {
			return filter.Field{}, false
		}
		switch fd.Type {
		case "string":
			return filter.Field{Key: key, Type: filter.TypeString}, true
		case "number", "integer":
			return filter.Field{Key: key, Type: filter.TypeNumber}, true
		case "boolean":
			return filter.Field{Key: key, Type: filter.TypeBool}, true
		case "array":
			if fd.ItemType != "object" {
				return filter.Field{Key: key, Type: filter.TypeArray}, true
			}
		}
		return filter.Field{}, false
	}
}

// ParseFilter parses a filter for form f with variables substituted. A
// refused filter is an EINVALID *Error with the pointer into the filter.
func ParseFilter(f *Form, raw []byte, vars filter.Vars) (filter.Expr, error) {
	e, _, err := parseFilter(f, raw, vars)
	return e, err
}

func parseFilter(f *Form, raw []byte, vars filter.Vars) (filter.Expr, bool, error) {
	e, usedVars, err := filter.ParseVars(raw, FilterResolver(f), vars)
	if err != nil {
		var fe *filter.Error
		if errors.As(err, &fe) {
			return nil, false, &Error{Code: EINVALID, Message: T("过滤条件无效", "the filter is invalid"),
				Fields: []FieldError{{Field: fe.Pointer, Code: fe.Code, Message: Text{Zh: fe.Zh, En: fe.En}}}}
		}
		return nil, false, Errorf(EINVALID, Tf("过滤条件无效：%v", "the filter is invalid: %v", err))
	}
	return e, usedVars, nil
}

// parseRequestFilter is ParseFilter for the filters of a request over a
// published form (a list's filter, a role's scope), which repeat from
// request to request: one that used no variable is kept (filterCache) and
// the same tree given for the same form and text again (parsing was about
// 2.5% of a list's CPU); vars is called only to parse. Trees are never changed once made (a store, or
// the encrypting store, builds new ones from them).
func parseRequestFilter(f *Form, raw []byte, vars func() (filter.Vars, error)) (filter.Expr, error) {
	k := filterKey{f, string(raw)}
	filterCache.Lock()
	e, ok := filterCache.m[k]
	filterCache.Unlock()
	if ok {
		return e, nil
	}
	v, err := vars()
	if err != nil {
		return nil, err
	}
	e, usedVars, err := parseFilter(f, raw, v)
	if err == nil && !usedVars {
		filterCache.Lock()
		if len(filterCache.m) >= filterCacheSize {
			clear(filterCache.m)
		}
		filterCache.m[k] = e
		filterCache.Unlock()
	}
	return e, err
}

// filterCache holds the trees of request filters that used no variable,
// by form (a published version's, never changed, which an entry keeps
// alive) and text; emptied when full.
var filterCache = struct {
	sync.Mutex
	m map[filterKey]filter.Expr
}{m: map[filterKey]filter.Expr{}}

type filterKey struct {
	f   *Form
	raw string
}

const filterCacheSize = 256

// CheckFilter checks a filter of a definition (a role's scope, a view) at
// load time, with placeholder variables.
func CheckFilter(f *Form, raw []byte) error {
	_, err := ParseFilter(f, raw, filter.Vars{UserID: "u", Unit: "u", UnitsBelow: []string{"u"}, Now: time.Unix(0, 0).UTC()})
	return err
}

func filterVarsZero() filter.Vars {
	return filter.Vars{UserID: "-", Unit: "-", UnitsBelow: []string{"-"}, Now: time.Unix(0, 0).UTC()}
}
