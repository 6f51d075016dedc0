package engine

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// Records leave the API as JSON many at a time, and encoding/json spent a
// third of a staff list's time on them: reflection over RecordView, a sort
// of each data map's keys through reflect.Value, a second pass compacting
// what MarshalJSON returned. The appenders below write the same bytes as
// encoding/json (HTML-safe escaping, its number format, keys sorted)
// directly; a value of a type they do not know goes through json.Marshal.

// AppendJSON appends v as encoding/json would encode it.
func (v *RecordView) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, v.ID)
	b = append(b, `,"app":`...)
	b = appendJSONString(b, v.App)
	b = append(b, `,"form":`...)
	b = appendJSONString(b, v.Form)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, v.Version, 10)
	b = append(b, `,"status":`...)
	b = appendJSONString(b, v.Status)
	b = append(b, `,"unit":`...)
	b = appendJSONString(b, v.Unit)
	b = append(b, `,"owner":`...)
	b = appendJSONString(b, v.Owner)
	var err error
	b = append(b, `,"created_at":`...)
	if b, err = appendJSONTime(b, v.CreatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendJSONTime(b, v.UpdatedAt); err != nil {
		return nil, err
	}
	if v.DeletedAt != nil {
		b = append(b, `,"deleted_at":`...)
		if b, err = appendJSONTime(b, *v.DeletedAt); err != nil {
			return nil, err
		}
	}
	if v.DeletedBy != "" {
		b = append(b, `,"deleted_by":`...)
		b = appendJSONString(b, v.DeletedBy)
	}
	b = append(b, `,"data":`...)
	if v.raw != "" {
		if b, err = appendViewData(b, v); err != nil {
			return nil, err
		}
	} else if b, err = appendJSONValue(b, v.Data); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// MarshalJSON encodes v through AppendJSON.
func (v *RecordView) MarshalJSON() ([]byte, error) { return v.AppendJSON(nil) }

// AppendJSON appends l as encoding/json would encode it, items an array
// even when empty.
func (l *RecordList) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"items":[`...)
	for i, it := range l.Items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if it == nil {
			b = append(b, "null"...)
		} else if b, err = it.AppendJSON(b); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"next_cursor":`...)
	b = appendJSONString(b, l.NextCursor)
	return append(b, '}'), nil
}

// MarshalJSON encodes l through AppendJSON.
func (l *RecordList) MarshalJSON() ([]byte, error) { return l.AppendJSON(nil) }

// listDetail is the detail of a list's audit event, the bytes MustJSON
// writes of {"count", "filter", "search", "sort"} without its reflection
// over a map made for it.
func listDetail(count int, filter, search, sort string) json.RawMessage {
	b := make([]byte, 0, 48+len(filter)+len(search)+len(sort))
	b = append(b, `{"count":`...)
	b = strconv.AppendInt(b, int64(count), 10)
	b = append(b, `,"filter":`...)
	b = appendJSONString(b, filter)
	b = append(b, `,"search":`...)
	b = appendJSONString(b, search)
	b = append(b, `,"sort":`...)
	b = appendJSONString(b, sort)
	return append(b, '}')
}

// appendJSONValue appends decoded JSON data (and any other value, through
// json.Marshal).
func appendJSONValue(b []byte, v any) ([]byte, error) {
	var err error
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			break // json.Marshal's error
		}
		return appendJSONFloat(b, x), nil
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		var arr [16]string // a record's data fits: no allocation for its keys
		keys := arr[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if b, err = appendJSONValue(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendJSONValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	m, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, m...), nil
}

// appendJSONFloat formats f as encoding/json does (ES6 number to string).
func appendJSONFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// appendJSONTime appends t as time.Time's MarshalJSON does. A time in UTC
// (every stored one) is written digit by digit: AppendFormat interpreting
// the RFC 3339 layout was most of a list's time on its timestamps.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		m, err := t.MarshalJSON()
		if err != nil {
			return nil, err
		}
		return append(b, m...), nil
	}
	b = append(b, '"')
	if t.Location() != time.UTC {
		b = t.AppendFormat(b, time.RFC3339Nano)
		return append(b, '"'), nil
	}
	h, mi, sec := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append2(b, int(mo), '-')
	b = append2(b, d, 'T')
	b = append2(b, h, ':')
	b = append2(b, mi, ':')
	b = append2(b, sec, '.')
	if ns := t.Nanosecond(); ns != 0 {
		var frac [9]byte
		for i := 8; i >= 0; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 9
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	} else {
		b = b[:len(b)-1] // no fraction: no point
	}
	return append(b, 'Z', '"'), nil
}

// append2 appends v (0 to 99) as two digits, then sep.
func append2(b []byte, v int, sep byte) []byte {
	return append(b, byte('0'+v/10), byte('0'+v%10), sep)
}

const jsonHex = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json does with HTML
// escaping: <, > and & as \u00XX, invalid UTF-8 as \ufffd, U+2028 and
// U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if i+8 <= len(s) && jsonSafe8(s[i:i+8]) {
			i += 8
			continue
		}
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// jsonSafe8 reports whether the eight bytes of w are all ASCII that
// appendJSONString copies as they are (0x20 to 0x7f but for ", \, <, > and
// &), eight at a time: text is mostly such runs.
func jsonSafe8(w string) bool {
	const ones, high = 0x0101010101010101, 0x8080808080808080
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	if (x|(x-0x20*ones))&high != 0 { // a byte of 0x80 or more, or one below 0x20
		return false
	}
	has := func(c uint64) uint64 { // a byte equal to c (exact: x has no top bits set)
		v := x ^ (c * ones)
		return (v - ones) &^ v & high
	}
	return has('"')|has('\\')|has('<')|has('>')|has('&') == 0
}
