package web

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"formwork/engine"
)

// ParseForm turns posted form values into record data, by the fields'
// types: the one conversion used for a plain form submit and for the live
// rules the page asks for while fields change. Only fields the user may
// edit are read; formulas and serials are the server's. Values that do not
// parse are reported at their field's pointer.
//
// Date-times (datetime-local inputs carry no zone) are read in the offset
// the page's script posts as _tz (minutes east of UTC), else as UTC; the
// pages render them in UTC and the script shows them in local time.
func ParseForm(lang string, fields []*engine.FieldView, vals url.Values) (map[string]any, []engine.FieldError) {
	loc := ParseTZ(vals.Get("_tz"))
	data := map[string]any{}
	var errs []engine.FieldError
	for _, fv := range fields {
		fd := fv.Field
		if fv.Perm != engine.PermEdit || fd.Widget == engine.WidgetFormula || fd.Widget == engine.WidgetSerial {
			continue
		}
		switch {
		case fd.IsSubform():
			rows, es := parseRows(fd, vals, loc)
			errs = append(errs, es...)
			if len(rows) > 0 {
				data[fd.Key] = rows
			}
		case fd.Type == "array":
			var items []any
			raw := vals[fd.Key]
			if fd.Widget == engine.WidgetAttachment || fd.Widget == engine.WidgetImage || fd.Widget == engine.WidgetTextarea {
				raw = nil
				for _, v := range vals[fd.Key] {
					raw = append(raw, strings.Split(v, "\n")...)
				}
			}
			for _, s := range raw {
				s = strings.TrimSpace(s)
				if s == "" {
					continue
				}
				v, fe := parseScalar(fd.ItemType, fd.Widget, s, loc)
				if fe != "" {
					errs = append(errs, fieldErr(fd.Key, fe))
					continue
				}
				items = append(items, v)
			}
			if items != nil {
				data[fd.Key] = items
			}
		case fd.Type == "boolean":
			s := vals.Get(fd.Key)
			data[fd.Key] = s == "true" || s == "on"
		default:
			s := vals.Get(fd.Key)
			if strings.TrimSpace(s) == "" {
				continue
			}
			v, fe := parseScalar(fd.Type, fd.Widget, s, loc)
			if fe != "" {
				errs = append(errs, fieldErr(fd.Key, fe))
				continue
			}
			data[fd.Key] = v
		}
	}
	return data, errs
}

func fieldErr(key, code string) engine.FieldError {
	msg := engine.T(messages["error."+code][0], messages["error."+code][1])
	return engine.FieldError{Field: engine.JSONPointer(key), Code: "type", Message: msg}
}

// parseScalar converts one posted string; the second result is an error
// code ("number", "integer") when it does not parse.
func parseScalar(typ, widget, s string, loc *time.Location) (any, string) {
	switch typ {
	case "number":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, "number"
		}
		return f, ""
	case "integer":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f != float64(int64(f)) {
			return nil, "integer"
		}
		return f, ""
	case "boolean":
		return s == "true" || s == "on", ""
	}
	if widget == engine.WidgetDatetime {
		if t, ok := ParseLocal(s, loc); ok {
			return t.UTC().Format(time.RFC3339), ""
		}
	}
	return s, ""
}

// parseRows reads a subform's rows, posted as KEY.N.SUB; empty rows are
// dropped and rows keep their order.
func parseRows(fd *engine.Field, vals url.Values, loc *time.Location) ([]any, []engine.FieldError) {
	prefix := fd.Key + "."
	idx := map[int]bool{}
	for name := range vals {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		n, _, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(n)
		if err != nil || i < 0 || i > 1000 {
			continue
		}
		idx[i] = true
	}
	order := make([]int, 0, len(idx))
	for i := range idx {
		order = append(order, i)
	}
	sort.Ints(order)
	var rows []any
	var errs []engine.FieldError
	for _, i := range order {
		row := map[string]any{}
		for _, sub := range fd.Fields {
			if sub.Compute != "" {
				continue // computed on the row by the server
			}
			name := prefix + strconv.Itoa(i) + "." + sub.Key
			s := strings.TrimSpace(vals.Get(name))
			if s == "" {
				continue
			}
			v, fe := parseScalar(sub.Type, sub.Widget, s, loc)
			if fe != "" {
				errs = append(errs, fieldErr(fd.Key, fe))
				continue
			}
			row[sub.Key] = v
		}
		if len(row) > 0 {
			rows = append(rows, row)
		}
	}
	return rows, errs
}

// ParseTZ reads a _tz value, minutes east of UTC (-840 to 840), as a
// fixed zone; anything else is UTC.
func ParseTZ(s string) *time.Location {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < -840 || n > 840 || n == 0 {
		return time.UTC
	}
	return time.FixedZone("", n*60)
}

// ParseLocal reads a datetime-local value (with or without seconds) in loc.
func ParseLocal(s string, loc *time.Location) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
