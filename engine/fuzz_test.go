package engine

import (
	"encoding/json"
	"os"
	"testing"
)

// FuzzLoadBundle: any byte string either loads or yields an EINVALID /
// ETOOLARGE error with pointers; it never panics.
func FuzzLoadBundle(f *testing.F) {
	shop, err := os.ReadFile("testdata/shop.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shop)
	f.Add([]byte(`{"formwork":"1","app":{"key":"a","name":"A","version":"1.0.0"},"forms":[{"x-key":"f","type":"object","properties":{"x":{"type":"string","x-widget":"text","x-visible":"x == 'a'"}}}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := LoadBundle(data)
		if err != nil {
			if c := ErrorCode(err); c != EINVALID && c != ETOOLARGE {
				t.Fatalf("unexpected error code %s: %v", c, err)
			}
			return
		}
		if b.App.Key == "" || len(b.Forms) == 0 {
			t.Fatalf("loaded bundle without app key or forms")
		}
	})
}

// FuzzCompileExpr: any expression source compiles or is refused; a compiled
// one runs within its budget without panicking.
func FuzzCompileExpr(f *testing.F) {
	for _, s := range []string{"level in ['vip', 'gold']", "budget * (1 - discount)", "len(repeat('x', 1000000000))",
		"now.Year()", "sum(map(1..100, {# * 2}))", "user.unit == 'hq' && 'x' in user.roles", "today > '2026-01-01'",
		"let x = 1; x + budget", "filter(tags, {# == 'a'})", "1..1000000"} {
		f.Add(s)
	}
	fields := []*Field{{Key: "level", Type: "string"}, {Key: "budget", Type: "number"}, {Key: "discount", Type: "number"},
		{Key: "n", Type: "integer"}, {Key: "ok", Type: "boolean"}, {Key: "tags", Type: "array"}}
	env := typeEnv(fields)
	f.Fuzz(func(t *testing.T, src string) {
		p, err := compileExpr(src, env, "")
		if err != nil {
			return
		}
		cf := &CompiledForm{Form: &Form{Fields: fields, byKey: map[string]*Field{}}, env: env, zeros: make([]any, len(fields))}
		for i, fd := range fields {
			cf.Form.byKey[fd.Key] = fd
			cf.zeros[i] = zeroFor(fd)
		}
		run := cf.buildEnv(map[string]any{"level": "vip", "budget": 10.0, "n": 3.0, "tags": []any{"a"}}, EvalInput{})
		_, _ = runBudgeted(p, run)
	})
}

// FuzzEvaluate: any submitted data (decoded JSON) is evaluated against the
// shop customer form without panicking, and every error has a pointer.
func FuzzEvaluate(f *testing.F) {
	raw, err := os.ReadFile("testdata/shop.json")
	if err != nil {
		f.Fatal(err)
	}
	b, err := LoadBundle(raw)
	if err != nil {
		f.Fatal(err)
	}
	cf := b.Compiled("customer")
	f.Add([]byte(`{"name":"张伟","phone":"13800138000","level":"gold","discount":0.3}`))
	f.Add([]byte(`{"contacts":[{"who":1,"tel":null},"x"],"budget":-1}`))
	f.Add([]byte(`{"final_price":"x","vip_since":[]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[string]any
		if json.Unmarshal(data, &m) != nil {
			return
		}
		res := cf.Evaluate(EvalInput{Data: CloneData(m), Now: testNow})
		checkInPlace(t, cf, EvalInput{Data: m, Now: testNow})
		checkInPlace(t, cf, EvalInput{Data: m, Prev: map[string]any{"level": "vip", "discount": 0.5, "name": "x"}, Now: testNow})
		for _, e := range res.Errors {
			if e.Message.Zh == "" || e.Message.En == "" {
				t.Fatalf("error without both languages: %+v", e)
			}
		}
		if res.OK() {
			if _, ok := res.Data["name"]; !ok {
				t.Fatalf("valid result without the required name: %v", res.Data)
			}
		}
	})
}
