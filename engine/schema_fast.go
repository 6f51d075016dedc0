package engine

import (
	"math"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The JSON Schema pass of an evaluation validates every field's value
// against the field's schema. jsonschema's validator is exact and
// localised but slow on the happy path (it formats every number into a
// big.Rat), and a 500-field form spent most of its evaluation there. So
// each field also gets a fast check compiled from the keywords a form may
// use (engine/schema/form.json): it answers "certainly valid" or "not
// sure". Only the fields it is not sure about — an invalid value, or a
// keyword it does not handle — go through jsonschema, against the field's
// own compiled subschema, which also produces the error messages. The fast
// check must never call an invalid value valid: FuzzFastSchema compares it
// with jsonschema.

// fastCheck reports whether v is certainly valid ("false" means "ask
// jsonschema", not "invalid").
type fastCheck func(v any) bool

// fieldSchema is one top-level field's validation.
type fieldSchema struct {
	fast fastCheck          // nil: always ask jsonschema
	full *jsonschema.Schema // the field's subschema of the form's data schema
}

// compileFast builds the fast check of a field schema (decoded JSON), or
// nil when the schema uses a keyword the fast path does not decide.
func compileFast(s map[string]any) fastCheck {
	if c := compileScalar(s); c != nil {
		return c.check
	}
	var checks []fastCheck
	add := func(c fastCheck) { checks = append(checks, c) }
	for k, v := range s {
		switch {
		case strings.HasPrefix(k, "x-"), k == "title", k == "description", k == "default", k == "$comment", k == "examples":
			// annotations
		case k == "type":
			t, ok := v.(string)
			if !ok {
				return nil
			}
			c := typeCheck(t)
			if c == nil {
				return nil
			}
			add(c)
		case k == "enum":
			c := enumCheck(v)
			if c == nil {
				return nil
			}
			add(c)
		case k == "minimum", k == "maximum", k == "exclusiveMinimum", k == "exclusiveMaximum":
			b, ok := v.(float64)
			if !ok {
				return nil
			}
			add(boundCheck(k, b))
		case k == "minLength", k == "maxLength":
			limit, ok := countLimit(v)
			if !ok {
				return nil
			}
			min := k == "minLength"
			add(func(v any) bool {
				str, ok := v.(string)
				if !ok {
					return true
				}
				l := utf8.RuneCountInString(str)
				if min {
					return l >= limit
				}
				return l <= limit
			})
		case k == "pattern":
			p, ok := v.(string)
			if !ok {
				return nil
			}
			re, err := regexp.Compile(p)
			if err != nil {
				return nil
			}
			add(func(v any) bool {
				str, ok := v.(string)
				return !ok || re.MatchString(str)
			})
		case k == "format":
			f, ok := v.(string)
			if !ok {
				return nil
			}
			sch := formatSchema(f)
			if sch == nil {
				return nil
			}
			add(func(v any) bool {
				str, ok := v.(string)
				return !ok || sch.Validate(str) == nil
			})
		case k == "minItems", k == "maxItems":
			limit, ok := countLimit(v)
			if !ok {
				return nil
			}
			min := k == "minItems"
			add(func(v any) bool {
				a, ok := v.([]any)
				if !ok {
					return true
				}
				if min {
					return len(a) >= limit
				}
				return len(a) <= limit
			})
		case k == "uniqueItems":
			u, ok := v.(bool)
			if !ok {
				return nil
			}
			if u {
				add(uniqueCheck)
			}
		case k == "items":
			is, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			ic := compileFast(is)
			if ic == nil {
				return nil
			}
			add(func(v any) bool {
				a, ok := v.([]any)
				if !ok {
					return true
				}
				for _, e := range a {
					if !ic(e) {
						return false
					}
				}
				return true
			})
		case k == "properties":
			c := propertiesCheck(s)
			if c == nil {
				return nil
			}
			add(c)
		case k == "additionalProperties", k == "required":
			// decided together with properties
			if _, ok := s["properties"]; !ok {
				return nil
			}
		default:
			return nil // const, multipleOf and anything else: jsonschema decides
		}
	}
	return func(v any) bool {
		for _, c := range checks {
			if !c(v) {
				return false
			}
		}
		return true
	}
}

// scalarSpec is the fast check of the most common field schemas — a
// scalar type with bounds, lengths or a string enum — as one function
// instead of a chain of closures (a 500-field form runs it 500 times per
// evaluation). It answers exactly as the chain would.
type scalarSpec struct {
	typ                string // string, number, integer or boolean
	bound              [4]float64
	hasBound           [4]bool // minimum, maximum, exclusiveMinimum, exclusiveMaximum
	minLen, maxLen     int     // -1: none
	enum               map[string]bool
	lengths, anyBounds bool
}

var boundKeywords = [4]string{"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}

// compileScalar returns the scalarSpec of s, or nil when s is not of that
// shape (compileFast then builds the general chain).
func compileScalar(s map[string]any) *scalarSpec {
	t, _ := s["type"].(string)
	switch t {
	case "string", "number", "integer", "boolean":
	default:
		return nil
	}
	c := &scalarSpec{typ: t, minLen: -1, maxLen: -1}
	for k, v := range s {
		switch k {
		case "type":
		case "title", "description", "default", "$comment", "examples":
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			b, ok := v.(float64)
			if !ok {
				return nil
			}
			for i, kw := range boundKeywords {
				if kw == k {
					c.bound[i], c.hasBound[i], c.anyBounds = b, true, true
				}
			}
		case "minLength", "maxLength":
			n, ok := countLimit(v)
			if !ok {
				return nil
			}
			if k == "minLength" {
				c.minLen = n
			} else {
				c.maxLen = n
			}
			c.lengths = true
		case "enum":
			if c.enum = stringSet(v); c.enum == nil {
				return nil
			}
		default:
			if !strings.HasPrefix(k, "x-") {
				return nil
			}
		}
	}
	return c
}

func (c *scalarSpec) check(v any) bool {
	switch c.typ {
	case "string":
		str, ok := v.(string)
		if !ok {
			return false
		}
		if c.enum != nil && !c.enum[str] {
			return false
		}
		if c.lengths {
			l := len(str) // bytes: an upper bound of the runes
			if c.maxLen >= 0 && l > c.maxLen || c.minLen > 0 && l >= c.minLen {
				l = utf8.RuneCountInString(str)
			}
			if c.minLen >= 0 && l < c.minLen || c.maxLen >= 0 && l > c.maxLen {
				return false
			}
		}
		return true
	case "boolean":
		_, ok := v.(bool)
		return ok && c.enum == nil
	}
	n, ok := exactFloat(v)
	if !ok || c.typ == "integer" && n != math.Trunc(n) || c.enum != nil {
		return false
	}
	if c.anyBounds {
		b, h := &c.bound, &c.hasBound
		if h[0] && n < b[0] || h[1] && n > b[1] || h[2] && n <= b[2] || h[3] && n >= b[3] {
			return false
		}
	}
	return true
}

func typeCheck(t string) fastCheck {
	switch t {
	case "string":
		return func(v any) bool { _, ok := v.(string); return ok }
	case "boolean":
		return func(v any) bool { _, ok := v.(bool); return ok }
	case "array":
		return func(v any) bool { _, ok := v.([]any); return ok }
	case "object":
		return func(v any) bool { _, ok := v.(map[string]any); return ok }
	case "number":
		return func(v any) bool { _, ok := exactFloat(v); return ok }
	case "integer":
		return func(v any) bool { n, ok := exactFloat(v); return ok && n == math.Trunc(n) }
	}
	return nil
}

// exactFloat returns v as a float64 when jsonschema reads the same number
// from it: float64s (both sides compare the shortest decimal of the
// float, which orders exactly as the floats do) and integers that a
// float64 holds exactly.
func exactFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return 0, false
		}
		return n, true
	case int:
		if n > -1<<53 && n < 1<<53 {
			return float64(n), true
		}
	case int64:
		if n > -1<<53 && n < 1<<53 {
			return float64(n), true
		}
	}
	return 0, false
}

func boundCheck(kw string, b float64) fastCheck {
	return func(v any) bool {
		n, ok := exactFloat(v)
		if !ok {
			switch v.(type) {
			case float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
				return false // a number exactFloat cannot vouch for: ask jsonschema
			}
			return true // bounds apply to numbers only
		}
		switch kw {
		case "minimum":
			return n >= b
		case "maximum":
			return n <= b
		case "exclusiveMinimum":
			return n > b
		default:
			return n < b
		}
	}
}

// countLimit reads a length or item-count keyword's value: a whole,
// non-negative number small enough to be an int on every platform (a
// larger one would overflow the conversion; jsonschema decides then).
func countLimit(v any) (int, bool) {
	n, ok := v.(float64)
	if !ok || n != math.Trunc(n) || n < 0 || n > math.MaxInt32 {
		return 0, false
	}
	return int(n), true
}

// stringSet reads an enum of strings as a set; nil for anything else
// (enums of numbers and others: jsonschema compares).
func stringSet(v any) map[string]bool {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	set := make(map[string]bool, len(list))
	for _, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil
		}
		set[s] = true
	}
	return set
}

func enumCheck(v any) fastCheck {
	set := stringSet(v)
	if set == nil {
		return nil
	}
	return func(v any) bool {
		s, ok := v.(string)
		return ok && set[s]
	}
}

// uniqueCheck decides arrays of strings and of numbers; others ask.
func uniqueCheck(v any) bool {
	a, ok := v.([]any)
	if !ok {
		return true
	}
	if len(a) < 2 {
		return true
	}
	switch a[0].(type) {
	case string:
		seen := make(map[string]bool, len(a))
		for _, e := range a {
			s, ok := e.(string)
			if !ok || seen[s] {
				return false
			}
			seen[s] = true
		}
		return true
	case float64:
		seen := make(map[float64]bool, len(a))
		for _, e := range a {
			n, ok := e.(float64)
			if !ok || seen[n] || n != n {
				return false
			}
			seen[n] = true
		}
		return true
	}
	return false
}

// propertiesCheck decides an object schema with properties (a subform's
// row): only known keys when additionalProperties is false, the required
// keys present, and every present property valid.
func propertiesCheck(s map[string]any) fastCheck {
	props, ok := s["properties"].(map[string]any)
	if !ok {
		return nil
	}
	closed := false
	if ap, set := s["additionalProperties"]; set {
		b, ok := ap.(bool)
		if !ok {
			return nil
		}
		closed = !b
	}
	var required []string
	if r, set := s["required"]; set {
		list, ok := r.([]any)
		if !ok {
			return nil
		}
		for _, e := range list {
			k, ok := e.(string)
			if !ok {
				return nil
			}
			required = append(required, k)
		}
	}
	checks := make(map[string]fastCheck, len(props))
	for k, p := range props {
		ps, ok := p.(map[string]any)
		if !ok {
			return nil
		}
		c := compileFast(ps)
		if c == nil {
			return nil
		}
		checks[k] = c
	}
	return func(v any) bool {
		m, ok := v.(map[string]any)
		if !ok {
			return true
		}
		for _, k := range required {
			if _, ok := m[k]; !ok {
				return false
			}
		}
		for k, e := range m {
			c, known := checks[k]
			if !known {
				if closed {
					return false
				}
				continue
			}
			if !c(e) {
				return false
			}
		}
		return true
	}
}

// formatSchemas caches one compiled schema per format name: formats are a
// fixed set and compiling a schema costs more than checking a value.
var formatSchemas sync.Map // format name → *jsonschema.Schema (nil when unknown)

// formatSchema is a schema asserting just one format, so the fast path
// checks formats exactly as jsonschema does.
func formatSchema(name string) *jsonschema.Schema {
	if s, ok := formatSchemas.Load(name); ok {
		return s.(*jsonschema.Schema)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	url := "urn:formwork:format:" + name
	var sch *jsonschema.Schema
	if err := c.AddResource(url, map[string]any{"format": name}); err == nil {
		if s, err := c.Compile(url); err == nil {
			sch = s
		}
	}
	formatSchemas.Store(name, sch)
	return sch
}
