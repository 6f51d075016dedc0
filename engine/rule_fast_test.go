package engine

import (
	"math"
	"reflect"
	"sync"
	"testing"
)

// fastFields are the fields the fast-rule tests compile against: two of
// each scalar type, plus an array that only the VM reads.
var fastFields = []*Field{
	{Key: "s", Type: "string"}, {Key: "t", Type: "string"},
	{Key: "x", Type: "number"}, {Key: "y", Type: "number"},
	{Key: "i", Type: "integer"}, {Key: "j", Type: "integer"},
	{Key: "b", Type: "boolean"}, {Key: "c", Type: "boolean"},
	{Key: "tags", Type: "array"},
}

var (
	fastCompilerOnce sync.Once
	fastCompiler     *exprCompiler
)

// fastAgree compiles src for a field of type want, and when it has a fast
// form, checks that it gives what expr's VM gives on the same values. It
// reports whether src had a fast form.
func fastAgree(tb testing.TB, src, want string, data map[string]any) bool {
	tb.Helper()
	fastCompilerOnce.Do(func() { fastCompiler = newExprCompiler(typeEnv(fastFields)) })
	p, err := fastCompiler.check(src, want)
	if err != nil {
		return false
	}
	pos := map[string]int{}
	for i, fd := range fastFields {
		pos[fd.Key] = i
	}
	fast := compileFastRule(p.prog.Node(), pos, fastFields)
	if fast == nil {
		return false
	}
	cf := &CompiledForm{Form: &Form{Fields: fastFields}, zeros: make([]any, len(fastFields))}
	vals := make([]any, len(fastFields))
	for i, fd := range fastFields {
		cf.zeros[i] = zeroFor(fd)
		vals[i] = cf.zeros[i]
		if v, ok := data[fd.Key]; ok && v != nil {
			vals[i] = envValue(v, fd)
		}
	}
	vmOut, err := runBudgeted(p, cf.buildEnv(data, EvalInput{}))
	if err != nil {
		tb.Fatalf("%s: the VM failed (%v) where the fast form cannot", src, err)
	}
	got := fast(vals)
	if !sameRuleResult(vmOut, got) {
		tb.Fatalf("%s on %v: VM %#v (%T), fast %#v (%T)", src, data, vmOut, vmOut, got, got)
	}
	return true
}

// sameRuleResult compares two rule results by type and value (NaN equals NaN).
func sameRuleResult(a, b any) bool {
	if reflect.TypeOf(a) != reflect.TypeOf(b) {
		return false
	}
	if x, ok := a.(float64); ok {
		return math.Float64bits(x) == math.Float64bits(b.(float64)) || (math.IsNaN(x) && math.IsNaN(b.(float64)))
	}
	return a == b
}

func TestFastRuleAgrees(t *testing.T) {
	data := []map[string]any{
		{},
		{"s": "a", "t": "b", "x": 1.5, "y": -2.0, "i": 3.0, "j": 4.0, "b": true, "c": false},
		{"s": "", "t": "", "x": 0.0, "y": 0.0, "i": 0.0, "j": 0.0},
		{"s": "中", "t": "z", "x": 1e308, "y": 1e308, "i": 9007199254740991.0, "j": -9007199254740991.0, "b": false, "c": true},
		{"x": 0.1, "y": 0.2, "i": -1.0, "j": 0.0},
	}
	tests := []struct {
		src, want string
		fast      bool
	}{
		{"x > 10", "boolean", true},
		{"x * 2 + 1", "number", true},
		{"i * 2 + 1", "integer", true},
		{"i / j", "number", true},
		{"x / y", "number", true},
		{"i + x", "number", true},
		{"i - j * 3", "integer", true},
		{"-x + -i", "number", true},
		{"s != '' && x < 1000", "boolean", true},
		{"s == 'a' || not b", "boolean", true},
		{"!(b and c) or s < t", "boolean", true},
		{"s + t + 'x'", "string", true},
		{"i == x", "boolean", true},
		{"i != j", "boolean", true},
		{"i >= 3 && j <= 4 && x >= 1.5 && y <= -2", "boolean", true},
		{"b ? x : y", "number", true},
		{"b ? s : 'none'", "string", true},
		{"x > 1 ? i : j", "integer", true},
		{"b == c", "boolean", true},
		{"0.1 + 0.2 == x + y", "boolean", true},
		{"1 + 2 * 3", "integer", true},
		{"i % 2", "integer", false},
		{"x ** 2", "number", false},
		{"len(s) > 1", "boolean", false},
		{"'a' in tags", "boolean", false},
		{"user.id == s", "boolean", false},
		{"_id != ''", "boolean", false},
		{"today > s", "boolean", false},
		{"b ? i : x", "", false},
	}
	for _, tt := range tests {
		for _, d := range data {
			if got := fastAgree(t, tt.src, tt.want, d); got != tt.fast {
				t.Errorf("%s: fast form = %v, want %v", tt.src, got, tt.fast)
			}
		}
	}
}

// FuzzFastRule: for any rule with a fast form and any field values, the
// fast form gives exactly what expr's VM gives.
func FuzzFastRule(f *testing.F) {
	for _, s := range []string{"x > 10", "x * 2 + 1", "i / j", "s != '' && x < 1000", "b ? s : t", "-i * j - 3",
		"i + 0.5 > x", "s + t < 'm'", "not (b || c) == (x != y)", "(x - y) * (i + j) / 2"} {
		f.Add(s, "a", 1.5, int64(3), true)
	}
	f.Fuzz(func(t *testing.T, src, s string, x float64, i int64, b bool) {
		data := map[string]any{"s": s, "t": s + "!", "x": x, "y": x / 3, "i": float64(i % (1 << 53)), "j": float64(i / 7), "b": b, "c": !b}
		for _, want := range []string{"", "boolean"} {
			fastAgree(t, src, want, data)
		}
	})
}
