package engine

import (
	"errors"
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
	e, err := filter.Parse(raw, FilterResolver(f), vars)
	if err != nil {
		var fe *filter.Error
		if errors.As(err, &fe) {
			return nil, &Error{Code: EINVALID, Message: T("过滤条件无效", "the filter is invalid"),
				Fields: []FieldError{{Field: fe.Pointer, Code: fe.Code, Message: Text{Zh: fe.Zh, En: fe.En}}}}
		}
		return nil, Errorf(EINVALID, Tf("过滤条件无效：%v", "the filter is invalid: %v", err))
	}
	return e, nil
}

// CheckFilter checks a filter of a definition (a role's scope, a view) at
// load time, with placeholder variables.
func CheckFilter(f *Form, raw []byte) error {
	_, err := ParseFilter(f, raw, filter.Vars{UserID: "u", Unit: "u", UnitsBelow: []string{"u"}, Now: time.Unix(0, 0).UTC()})
	return err
}

func filterVarsZero() filter.Vars {
	return filter.Vars{UserID: "-", Unit: "-", UnitsBelow: []string{"-"}, Now: time.Unix(0, 0).UTC()}
}
