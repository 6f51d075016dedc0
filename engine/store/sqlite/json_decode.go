package sqlite

import (
	"encoding/json"
	"strconv"
	"strings"

	"formwork/engine"
)

// decodeData decodes a record's stored data as json.Unmarshal into a
// map[string]any does. A list decodes fifty records, and encoding/json
// (a validating pass, then reflection per value) was a sixth of its time.
// The stored text is what json.Marshal wrote, so the fast path below meets
// plain objects, strings, numbers, booleans and nulls; anything it does not
// read exactly so (an escape other than the simple ones, invalid UTF-8, a
// malformed document) goes to encoding/json: for the whole document when
// the structure is in doubt, for one string token when only its escapes
// are. The data is read as a string so that the keys and string values of
// the result are substrings of it, not copies (a list's records hold a
// dozen each).
func decodeData(b string) (map[string]any, error) {
	d := jsonDec{b: b}
	d.ws()
	if d.i < len(b) && b[d.i] == '{' {
		if m, ok := d.object(); ok {
			if d.ws(); d.i == len(b) {
				return m, nil
			}
		}
	}
	var m map[string]any
	err := json.Unmarshal([]byte(b), &m)
	return m, err
}

type jsonDec struct {
	b string
	i int
}

func (d *jsonDec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// object reads {...} at d.i; ok is false when the input is not what the
// fast path reads.
func (d *jsonDec) object() (map[string]any, bool) {
	d.i++ // {
	m := map[string]any{}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return m, true
	}
	for {
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != '"' {
			return nil, false
		}
		k, ok := d.str()
		if !ok {
			return nil, false
		}
		d.ws()
		if d.i >= len(d.b) || d.b[d.i] != ':' {
			return nil, false
		}
		d.i++
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		m[k] = v
		if end, ok := d.after('}'); !ok || end {
			return m, ok
		}
	}
}

// after reads the comma or the closing byte after a member; end is true at
// the close, ok false at anything else.
func (d *jsonDec) after(close byte) (end, ok bool) {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ',' && d.b[d.i] != close {
		return false, false
	}
	d.i++
	return d.b[d.i-1] == close, true
}

func (d *jsonDec) array() ([]any, bool) {
	d.i++ // [
	out := []any{}
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return out, true
	}
	for {
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if end, ok := d.after(']'); !ok || end {
			return out, ok
		}
	}
}

func (d *jsonDec) value() (any, bool) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.str()
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	for _, lit := range [...]struct {
		text string
		v    any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if len(d.b)-d.i >= len(lit.text) && d.b[d.i:d.i+len(lit.text)] == lit.text {
			d.i += len(lit.text)
			return lit.v, true
		}
	}
	return nil, false
}

// scalars reads a JSON array of len(out) strings, numbers and nulls (what
// SQLite's json_array writes of a row's columns): each string decoded, each
// number as its text, a null as null[k]. It is false for anything else;
// d is left after the array.
func (d *jsonDec) scalars(out []string, null []bool) bool {
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != '[' {
		return false
	}
	d.i++
	for k := range out {
		if k > 0 {
			if d.ws(); d.i >= len(d.b) || d.b[d.i] != ',' {
				return false
			}
			d.i++
		}
		if d.ws(); d.i >= len(d.b) {
			return false
		}
		var ok bool
		switch c := d.b[d.i]; {
		case c == '"':
			out[k], ok = d.str()
		case c == 'n':
			ok = strings.HasPrefix(d.b[d.i:], "null")
			d.i += 4
			null[k] = true
		default:
			out[k], ok = d.numberText()
		}
		if !ok {
			return false
		}
	}
	if d.ws(); d.i >= len(d.b) || d.b[d.i] != ']' {
		return false
	}
	d.i++
	return true
}

// number reads a JSON number as float64.
func (d *jsonDec) number() (any, bool) {
	t, ok := d.numberText()
	if !ok {
		return nil, false
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return nil, false // out of range: encoding/json reports it
	}
	return f, true
}

// numberText reads a JSON number's token:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *jsonDec) numberText() (string, bool) {
	if d.i >= len(d.b) {
		return "", false
	}
	start := d.i
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.b[d.i] == '-' {
		d.i++
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return "", false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return "", false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return "", false
		}
	}
	return d.b[start:d.i], true
}

// str reads a string token. Without escapes and in valid UTF-8 it is the
// bytes between the quotes; a token with escapes (or invalid UTF-8) is
// decoded by encoding/json alone.
func (d *jsonDec) str() (string, bool) {
	// Most are printable ASCII without escapes: find the closing quote at
	// once and check the bytes before it eight at a time.
	if n := strings.IndexByte(d.b[d.i+1:], '"'); n >= 0 {
		if inner := d.b[d.i+1 : d.i+1+n]; printableASCII(inner) && strings.IndexByte(inner, '\\') < 0 {
			d.i += n + 2
			return inner, true
		}
	}
	v, next, ok := engine.DecodeJSONString(d.b, d.i)
	d.i = next
	return v, ok
}

// printableASCII reports whether every byte of s is in 0x20..0x7f.
func printableASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// A byte of 0x80 or more sets its top bit in x; one below 0x20 (the
		// lowest such, when there is no larger one) sets it in x-0x20...
		if (x|(x-0x2020202020202020))&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return true
}
