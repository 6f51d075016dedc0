package engine

import (
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fastVsFull reports the fast check's and jsonschema's verdicts on one
// value; ok is false when either side cannot be built.
func fastVsFull(t testing.TB, schemaJSON, valueJSON string) (fast, full, ok bool) {
	var s map[string]any
	if json.Unmarshal([]byte(schemaJSON), &s) != nil || s == nil {
		return false, false, false
	}
	var v any
	if json.Unmarshal([]byte(valueJSON), &v) != nil {
		return false, false, false
	}
	fc := compileFast(s)
	if fc == nil {
		return false, false, false
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if c.AddResource("urn:fuzz", s) != nil {
		return false, false, false
	}
	sch, err := c.Compile("urn:fuzz")
	if err != nil {
		return false, false, false
	}
	return fc(v), sch.Validate(v) == nil, true
}

var fastSeeds = []struct {
	schema, value string
	valid         bool
}{
	{`{"type":"number","minimum":0,"maximum":10}`, `5`, true},
	{`{"type":"number","minimum":0,"maximum":10}`, `10.000000001`, false},
	{`{"type":"number","exclusiveMinimum":0.1}`, `0.1`, false},
	{`{"type":"number","exclusiveMinimum":0.1}`, `0.10000000000000002`, true},
	{`{"type":"integer"}`, `3.0`, true},
	{`{"type":"integer"}`, `3.5`, false},
	{`{"type":"string","minLength":2,"maxLength":3}`, `"欧阳"`, true},
	{`{"type":"string","maxLength":3}`, `"欧阳娜娜"`, false},
	{`{"type":"string","pattern":"^1[3-9]\\d{9}$"}`, `"13912342222"`, true},
	{`{"type":"string","pattern":"^1[3-9]\\d{9}$"}`, `"2391234222"`, false},
	{`{"type":"string","format":"date"}`, `"2026-02-30"`, false},
	{`{"type":"string","format":"date"}`, `"2026-02-28"`, true},
	{`{"type":"string","format":"email"}`, `"a@example.com"`, true},
	{`{"type":"string","format":"email"}`, `"not an email"`, false},
	{`{"type":"string","enum":["a","b"]}`, `"c"`, false},
	{`{"type":"array","items":{"type":"string","enum":["a","b"]},"uniqueItems":true,"maxItems":2}`, `["a","b"]`, true},
	{`{"type":"array","items":{"type":"string","enum":["a","b"]},"uniqueItems":true}`, `["a","a"]`, false},
	{`{"type":"array","minItems":1,"items":{"type":"object","additionalProperties":false,"required":["qty"],"properties":{"qty":{"type":"integer","minimum":1},"name":{"type":"string"}}}}`, `[{"qty":2,"name":"x"}]`, true},
	{`{"type":"array","items":{"type":"object","additionalProperties":false,"required":["qty"],"properties":{"qty":{"type":"integer","minimum":1}}}}`, `[{"qty":2,"extra":1}]`, false},
	{`{"type":"array","items":{"type":"object","additionalProperties":false,"required":["qty"],"properties":{"qty":{"type":"integer","minimum":1}}}}`, `[{"name":"x"}]`, false},
	{`{"type":"boolean"}`, `"true"`, false},
	{`{"type":"string","maxLength":3}`, `"欧阳娜"`, true},
	{`{"type":"string","minLength":3}`, `"欧阳"`, false},
	{`{"type":"string","minLength":0,"maxLength":0}`, `""`, true},
	{`{"type":"string","enum":["是","否"],"maxLength":1,"x-widget":"select"}`, `"是"`, true},
	{`{"type":"integer","exclusiveMaximum":10,"minimum":-3}`, `-3`, true},
	{`{"type":"integer","exclusiveMaximum":10}`, `10`, false},
	{`{"type":"number","maximum":1e308,"exclusiveMinimum":-1}`, `-1`, false},
	{`{"type":"boolean","enum":["true"]}`, `true`, false},
	{`{"type":"number","enum":["1"]}`, `1`, false},
	{`{"type":"object","additionalProperties":false,"properties":{"a":{"type":"string"}}}`, `{"a":"x"}`, true},
}

// TestFastSchemaAgrees: the fast check accepts what jsonschema accepts on
// the seeds, and never accepts what jsonschema refuses.
func TestFastSchemaAgrees(t *testing.T) {
	for _, c := range fastSeeds {
		fast, full, ok := fastVsFull(t, c.schema, c.value)
		if !ok {
			t.Fatalf("%s: could not build", c.schema)
		}
		if full != c.valid {
			t.Errorf("%s on %s: jsonschema says %v, the table says %v", c.schema, c.value, full, c.valid)
		}
		if fast && !full {
			t.Errorf("%s on %s: the fast check accepts what jsonschema refuses", c.schema, c.value)
		}
		if full && !fast {
			t.Errorf("%s on %s: the fast check sends a valid value to jsonschema (slow path)", c.schema, c.value)
		}
	}
}

// TestFastSchemaDefers: keywords the fast path does not decide give no
// fast check, so jsonschema decides.
func TestFastSchemaDefers(t *testing.T) {
	for _, s := range []string{`{"type":"number","multipleOf":0.01}`, `{"const":"a"}`, `{"type":"number","enum":[1,2]}`, `{"type":["string","null"]}`, `{"type":"string","minLength":1e20}`, `{"type":"array","maxItems":1e20}`} {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		if compileFast(m) != nil {
			t.Errorf("%s: got a fast check, want none", s)
		}
	}
}

// FuzzFastSchema: for any schema the fast path builds and any value, the
// fast check never accepts a value jsonschema refuses.
func FuzzFastSchema(f *testing.F) {
	for _, c := range fastSeeds {
		f.Add(c.schema, c.value)
	}
	f.Fuzz(func(t *testing.T, schemaJSON, valueJSON string) {
		fast, full, ok := fastVsFull(t, schemaJSON, valueJSON)
		if ok && fast && !full {
			t.Fatalf("the fast check accepts %s under %s; jsonschema refuses it", valueJSON, schemaJSON)
		}
	})
}
