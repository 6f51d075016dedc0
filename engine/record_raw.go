package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A staff list decoded each record's stored data into a map, dropped the
// fields the user may not see and encoded the map again: a sixth of the
// list's time. A store that keeps data as the JSON text json.Marshal wrote
// (keys sorted, HTML-safe escaping, its number format) can hand that text
// over instead (RecordQuery.RawData), and appendRawData re-encodes it token
// by token: the bytes appendJSONValue writes of the redacted map, without
// the map. Text it cannot be sure of goes the map's way.

// decodeRawData decodes r's stored data text as the store would have.
func decodeRawData(r *Record) (map[string]any, error) {
	var m map[string]any
	if err := json.Unmarshal([]byte(r.RawData), &m); err != nil {
		return nil, fmt.Errorf("record %s data: %w", r.ID, err)
	}
	return m, nil
}

// redactInPlace leaves in data what redact would, changing data itself.
func redactInPlace(f *Form, a *Access, data map[string]any) {
	for k, v := range data {
		if out, ok := redactField(f, a, k, v); ok {
			data[k] = out
		} else {
			delete(data, k)
		}
	}
}

// fieldPlan is what one user may see of each field of a form, in key
// order: appendRawData walks it beside a record's sorted keys instead of
// looking each key up in the form and the access (a third of its time).
// A page's views share one.
type fieldPlan struct {
	form   *Form
	acc    *Access
	fields []plannedField
}

type plannedField struct {
	key  string
	perm string
	fd   *Field
}

func newFieldPlan(f *Form, a *Access) *fieldPlan {
	p := &fieldPlan{form: f, acc: a, fields: make([]plannedField, 0, len(f.byKey))}
	for k, fd := range f.byKey {
		p.fields = append(p.fields, plannedField{key: k, perm: a.Field(k), fd: fd})
	}
	slices.SortFunc(p.fields, func(x, y plannedField) int { return strings.Compare(x.key, y.key) })
	return p
}

// appendViewData appends the data of a view made from stored text (raw)
// as the user may see it: through appendRawData, or when that declines,
// decoded, redacted and encoded as any other view's data.
func appendViewData(b []byte, v *RecordView) ([]byte, error) {
	n := len(b)
	if out, ok := appendRawData(b, v.raw, v.plan); ok {
		return out, nil
	}
	data, err := decodeRawData(&Record{ID: v.ID, RawData: v.raw})
	if err != nil {
		return nil, err
	}
	redactInPlace(v.plan.form, v.plan.acc, data)
	return appendJSONValue(b[:n], data)
}

// rawDepth bounds the nesting appendRawData follows; deeper data goes the
// map's way.
const rawDepth = 64

// appendRawData appends the JSON data object raw redacted by p (fields
// not in the form or hidden left out, masked ones masked) exactly as
// appendJSONValue appends the decoded and redacted map. ok is false (and
// what it appended is to be dropped) when raw is not something it
// re-encodes exactly: not one object, keys of an object not in strictly
// increasing order (a repeated key, text not written by encoding/json),
// malformed JSON, a number float64 does not hold, nesting deeper than
// rawDepth.
func appendRawData(b []byte, raw string, p *fieldPlan) ([]byte, bool) {
	d := rawDec{s: raw}
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != '{' {
		return b, false
	}
	b, ok := d.object(b, 0, p)
	d.ws()
	return b, ok && d.i == len(d.s)
}

// rawDec reads stored JSON text for appendRawData.
type rawDec struct {
	s string
	i int
}

func (d *rawDec) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *rawDec) eat(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// plain returns the end (the closing quote) of the string token opening at
// d.i when appendJSONString would write its value as the token already is:
// no escape, no control byte, no <, > or &, and valid UTF-8 without
// U+2028 or U+2029 (which it escapes). That is most of a record's text,
// Chinese as much as English, whose token is then its own encoding.
func (d *rawDec) plain() (int, bool) {
	n := strings.IndexByte(d.s[d.i+1:], '"')
	if n < 0 {
		return 0, false
	}
	end := d.i + 1 + n
	inner, wide := d.s[d.i+1:end], false
	for _, c := range []byte(inner) {
		if k := jsonPlain[c]; k != plainASCII {
			if k == 0 {
				return 0, false
			}
			wide = true
		}
	}
	if wide && (!utf8.ValidString(inner) || hasLineSeparator(inner)) {
		return 0, false
	}
	return end, true
}

// hasLineSeparator tells whether s (valid UTF-8) holds U+2028 or U+2029,
// E2 80 A8 and E2 80 A9, which appendJSONString escapes.
func hasLineSeparator(s string) bool {
	for {
		i := strings.IndexByte(s, 0xE2)
		if i < 0 || i+2 >= len(s) {
			return false
		}
		if s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
			return true
		}
		s = s[i+1:]
	}
}

// The classes of bytes in a string token's text: plainASCII is copied as
// it is, plainWide (a byte of a multi-byte character) too once the whole
// text is valid UTF-8 without a line or paragraph separator, and 0 (a
// control byte, ", \, <, >, &) is written otherwise by appendJSONString.
const (
	plainASCII = 1
	plainWide  = 2
)

// jsonPlain holds the class of each byte.
var jsonPlain = func() (t [256]uint8) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		if c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			t[c] = plainASCII
		}
	}
	for c := utf8.RuneSelf; c < 256; c++ {
		t[c] = plainWide
	}
	return t
}()

// str reads the string token at d.i and returns its value as
// encoding/json decodes it.
func (d *rawDec) str() (string, bool) {
	if d.i < len(d.s) && d.s[d.i] == '"' {
		if end, ok := d.plain(); ok {
			s := d.s[d.i+1 : end]
			d.i = end + 1
			return s, true
		}
	}
	if d.i >= len(d.s) || d.s[d.i] != '"' {
		return "", false
	}
	v, next, ok := DecodeJSONString(d.s, d.i)
	d.i = next
	return v, ok
}

// DecodeJSONString reads the JSON string token opening at s[i] (a quote)
// as encoding/json decodes it and returns the index after it; ok is false
// when the token is malformed. Without escapes and in valid UTF-8 the value
// is the bytes between the quotes, a substring of s; a token with escapes
// (or invalid UTF-8, which decodes to U+FFFD) is decoded by encoding/json.
func DecodeJSONString(s string, i int) (v string, next int, ok bool) {
	start := i
	i++ // "
	plain := true
	for i < len(s) {
		switch c := s[i]; {
		case c == '"':
			i++
			if inner := s[start+1 : i-1]; plain && utf8.ValidString(inner) {
				return inner, i, true
			}
			var out string
			if json.Unmarshal([]byte(s[start:i]), &out) != nil {
				return "", i, false
			}
			return out, i, true
		case c == '\\':
			plain = false
			i += 2
		case c < 0x20:
			return "", i, false
		default:
			i++
		}
	}
	return "", i, false
}

// value appends the value at d.i as appendJSONValue appends it decoded.
func (d *rawDec) value(b []byte, depth int) ([]byte, bool) {
	if d.i >= len(d.s) || depth > rawDepth {
		return b, false
	}
	switch c := d.s[d.i]; {
	case c == '"':
		if end, ok := d.plain(); ok {
			b = append(b, d.s[d.i:end+1]...)
			d.i = end + 1
			return b, true
		}
		s, ok := d.str()
		if !ok {
			return b, false
		}
		return appendJSONString(b, s), true
	case c == '{':
		return d.object(b, depth, nil)
	case c == '[':
		d.i++
		b = append(b, '[')
		d.ws()
		if d.eat(']') {
			return append(b, ']'), true
		}
		for n := 0; ; n++ {
			if n > 0 {
				b = append(b, ',')
			}
			d.ws()
			var ok bool
			if b, ok = d.value(b, depth+1); !ok {
				return b, false
			}
			if end, ok := d.next(']'); !ok || end {
				return append(b, ']'), ok
			}
		}
	case c == 't':
		return d.lit(b, "true")
	case c == 'f':
		return d.lit(b, "false")
	case c == 'n':
		return d.lit(b, "null")
	case c == '-' || c >= '0' && c <= '9':
		return d.number(b)
	}
	return b, false
}

// object appends the object at d.i; with p (the data's top level) only
// the fields p's user may see, redacted as redactField does.
func (d *rawDec) object(b []byte, depth int, p *fieldPlan) ([]byte, bool) {
	d.i++ // {
	b = append(b, '{')
	d.ws()
	if d.eat('}') {
		return append(b, '}'), true
	}
	kept, prev, j := 0, "", 0
	for n := 0; ; n++ {
		d.ws()
		k, ok := d.str()
		if !ok || n > 0 && k <= prev {
			return b, false
		}
		prev = k
		d.ws()
		if !d.eat(':') {
			return b, false
		}
		d.ws()
		mark := len(b)
		if kept > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		val, valStart := len(b), d.i
		if b, ok = d.value(b, depth+1); !ok {
			return b, false
		}
		perm := PermEdit
		var fd *Field
		if p != nil {
			for j < len(p.fields) && p.fields[j].key < k {
				j++
			}
			if j < len(p.fields) && p.fields[j].key == k {
				perm, fd = p.fields[j].perm, p.fields[j].fd
			} else {
				perm = PermHidden // not in the form
			}
		}
		switch perm {
		case PermEdit, PermRead:
			kept++
		case PermMasked:
			var v any
			if json.Unmarshal([]byte(d.s[valStart:d.i]), &v) != nil {
				return b, false
			}
			var err error
			if b, err = appendJSONValue(b[:val], Mask(fd.Sensitive, v)); err != nil {
				return b, false
			}
			kept++
		default: // read only to check it
			b = b[:mark]
		}
		if end, ok := d.next('}'); !ok || end {
			return append(b, '}'), ok
		}
	}
}

// next reads what follows a member of an object or array: end is true
// after its closing byte, false after a comma.
func (d *rawDec) next(closing byte) (end, ok bool) {
	d.ws()
	if d.eat(closing) {
		return true, true
	}
	return false, d.eat(',')
}

func (d *rawDec) lit(b []byte, w string) ([]byte, bool) {
	if len(d.s)-d.i < len(w) || d.s[d.i:d.i+len(w)] != w {
		return b, false
	}
	d.i += len(w)
	return append(b, w...), true
}

// number reads a number token in JSON's grammar and appends it as the
// float64 it decodes to. A token without exponent of at most 15
// significant digits, no trailing zero after the point and at least 1e-6
// is that already: float64 tells such decimals apart, so the shortest
// decimal of its float is the token itself, in the same notation.
func (d *rawDec) number(b []byte) ([]byte, bool) {
	start := d.i
	d.eat('-')
	digits := func() int {
		n := 0
		for d.i < len(d.s) && d.s[d.i] >= '0' && d.s[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	intStart := d.i
	if d.eat('0') {
		// no more digits may follow a leading zero
	} else if digits() == 0 {
		return b, false
	}
	ip := d.s[intStart:d.i]
	fr := ""
	if d.eat('.') {
		fracStart := d.i
		if digits() == 0 {
			return b, false
		}
		fr = d.s[fracStart:d.i]
	}
	exp := false
	if d.eat('e') || d.eat('E') {
		if !d.eat('+') {
			d.eat('-')
		}
		if digits() == 0 {
			return b, false
		}
		exp = true
	}
	tok := d.s[start:d.i]
	if !exp {
		sig := len(ip) + len(fr)
		if ip == "0" && fr != "" {
			lz := len(fr) - len(strings.TrimLeft(fr, "0"))
			sig = len(fr) - lz
			if lz > 5 {
				sig = 16 // below 1e-6: written with an exponent
			}
		}
		if sig <= 15 && (fr == "" || fr[len(fr)-1] != '0') {
			return append(b, tok...), true
		}
	}
	f, err := strconv.ParseFloat(tok, 64)
	if err != nil {
		return b, false
	}
	return appendJSONFloat(b, f), true
}
