package engine

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// orderBundle is an order form whose lines carry rules: a line total
// (qty × price), a serial number shown and required only for devices,
// and the order total aggregating the line totals.
const orderBundle = `{"formwork":"1","app":{"key":"shop","name":"Shop","version":"1.0.0"},"forms":[
{"x-key":"order","type":"object","properties":{
  "customer":{"type":"string","x-widget":"text"},
  "lines":{"type":"array","x-widget":"subform","maxItems":50,"x-label":{"zh":"明细","en":"Lines"},
    "items":{"type":"object","properties":{
      "kind":{"type":"string","enum":["part","device"],"x-widget":"select"},
      "code":{"type":"string","x-widget":"text","x-label":{"zh":"编码","en":"Code"}},
      "qty":{"type":"number","minimum":0,"x-widget":"number","x-label":{"zh":"数量","en":"Qty"}},
      "price":{"type":"number","minimum":0,"x-widget":"money","x-label":{"zh":"单价","en":"Price"}},
      "total":{"type":"number","x-widget":"formula","x-label":{"zh":"小计","en":"Line total"},"x-compute":"qty * price"},
      "serial":{"type":"string","x-widget":"text","x-label":{"zh":"序列号","en":"Serial no."},
                "x-visible":"kind == 'device'","x-required":"kind == 'device' && qty > 0"},
      "weight":{"type":"integer","x-widget":"number","x-label":{"zh":"件重","en":"Weight"},"x-compute":"code == '' ? 0 : int(code) * 2"}}}},
  "total":{"type":"number","x-widget":"formula","x-compute":"sum(map(lines, #.total))"},
  "notes":{"type":"array","x-widget":"subform","items":{"type":"object","properties":{"text":{"type":"string","x-widget":"text"}}}}
}}]}`

func orderForm(tb testing.TB) *CompiledForm {
	tb.Helper()
	b, err := LoadBundle([]byte(orderBundle))
	if err != nil {
		tb.Fatal(err)
	}
	return b.Compiled("order")
}

func line(kind string, qty, price float64, more ...any) map[string]any {
	m := map[string]any{"kind": kind, "qty": qty, "price": price}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i].(string)] = more[i+1]
	}
	return m
}

func TestEvaluateRowRules(t *testing.T) {
	cf := orderForm(t)
	tests := []struct {
		name      string
		lines     []any
		wantLines []any
		wantTotal any
		wantErrs  []string
		rows      []map[string]FieldState
	}{
		{
			name:      "line totals and the order total; a total sent is the server's",
			lines:     []any{line("part", 2, 10.5), line("part", 3, 1.1, "total", 999.0)},
			wantLines: []any{line("part", 2, 10.5, "total", 21.0, "weight", 0.0), line("part", 3, 1.1, "total", 3.3, "weight", 0.0)},
			wantTotal: 24.3,
			rows: []map[string]FieldState{
				{"total": {Visible: true, Readonly: true, Computed: true}, "serial": {Visible: false}, "weight": {Visible: true, Readonly: true, Computed: true}},
				{"total": {Visible: true, Readonly: true, Computed: true}, "serial": {Visible: false}, "weight": {Visible: true, Readonly: true, Computed: true}},
			},
		},
		{
			name:      "a hidden cell's value is dropped; a shown required one left empty is an error on its row",
			lines:     []any{line("part", 1, 5, "serial", "X1"), line("device", 1, 100)},
			wantLines: []any{line("part", 1, 5, "total", 5.0, "weight", 0.0), line("device", 1, 100, "total", 100.0, "weight", 0.0)},
			wantTotal: 105.0,
			wantErrs:  []string{"/lines/1/serial required 第 2 行：请填写序列号"},
		},
		{
			name:      "an empty number leaves the line total empty",
			lines:     []any{map[string]any{"kind": "part", "qty": 2.0}},
			wantLines: []any{map[string]any{"kind": "part", "qty": 2.0, "weight": 0.0}},
			wantTotal: 0.0,
		},
		{
			name:      "a rule failing on a row's value is an error on that row in plain words",
			lines:     []any{line("part", 1, 1, "code", "12"), line("part", 1, 1, "code", "abc")},
			wantLines: []any{line("part", 1, 1, "code", "12", "total", 1.0, "weight", 24.0), line("part", 1, 1, "code", "abc", "total", 1.0)},
			wantTotal: 2.0,
			wantErrs:  []string{"/lines/1/weight rule 第 2 行：件重无法计算，请检查这一行填写的值"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := map[string]any{"customer": "A", "lines": CloneValue(tt.lines)}
			sent := CloneValue(in)
			res := cf.Evaluate(EvalInput{Data: in, Now: testNow})
			var errs []string
			for _, e := range res.Errors {
				errs = append(errs, e.Field+" "+e.Code+" "+e.Message.Zh)
			}
			if diff := cmp.Diff(tt.wantErrs, errs); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLines, res.Data["lines"]); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
			if got := res.Data["total"]; got != tt.wantTotal {
				t.Errorf("total = %v, want %v", got, tt.wantTotal)
			}
			if diff := cmp.Diff(sent, any(in)); diff != "" {
				t.Errorf("the submitted data was changed (-before +after):\n%s", diff)
			}
			if tt.rows != nil {
				if diff := cmp.Diff(tt.rows, res.Rows["lines"]); diff != "" {
					t.Errorf("row states (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestEvaluateRowRulesInPlace checks that an in-place evaluation (as the
// services write) stores the rows the rules made.
func TestEvaluateRowRulesInPlace(t *testing.T) {
	cf := orderForm(t)
	data := map[string]any{"lines": []any{line("part", 2, 3)}}
	res := cf.Evaluate(EvalInput{Data: data, Now: testNow, InPlace: true, NoFieldMap: true})
	if !res.OK() {
		t.Fatal(res.Errors)
	}
	want := map[string]any{"lines": []any{line("part", 2, 3, "total", 6.0, "weight", 0.0)}, "total": 6.0}
	if diff := cmp.Diff(want, data); diff != "" {
		t.Errorf("stored (-want +got):\n%s", diff)
	}
	if res.Rows != nil {
		t.Errorf("row states with NoFieldMap: %v", res.Rows)
	}
}

func TestEvaluateTooManyRows(t *testing.T) {
	cf := orderForm(t)
	for _, tt := range []struct {
		field string
		n     int
		want  string
	}{
		{"lines", 51, "/lines maxItems 最多 50 行（现在 51 行）"},
		// a subform without maxItems gets MaxSubformRows
		{"notes", 10000, "/notes maxItems 最多 1000 行（现在 10000 行）"},
	} {
		rows := make([]any, tt.n)
		for i := range rows {
			if tt.field == "lines" {
				rows[i] = line("device", 1, 1)
			} else {
				rows[i] = map[string]any{"text": "x"}
			}
		}
		res := cf.Evaluate(EvalInput{Data: map[string]any{tt.field: rows}, Now: testNow})
		var errs []string
		for _, e := range res.Errors {
			errs = append(errs, e.Field+" "+e.Code+" "+e.Message.Zh)
		}
		// one error for the whole subform, none per row
		if diff := cmp.Diff([]string{tt.want}, errs); diff != "" {
			t.Errorf("%s: errors (-want +got):\n%s", tt.field, diff)
		}
	}
}

func TestLoadColumnRules(t *testing.T) {
	for _, tt := range []struct {
		name, col, want string
	}{
		{"a read-only rule", `"x-readonly":"true"`, "/forms/0/properties/lines/items/properties/c/x-readonly rule"},
		{"an unknown column", `"x-visible":"nope > 1"`, "/forms/0/properties/lines/items/properties/c/x-visible expr"},
		{"a top-level field", `"x-required":"customer != ''"`, "/forms/0/properties/lines/items/properties/c/x-required expr"},
		{"a cycle", `"x-compute":"d + 1"`, "/forms/0/properties/lines/items/properties/c/x-compute cycle"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := `{"formwork":"1","app":{"key":"a","name":"A","version":"1.0.0"},"forms":[{"x-key":"f","type":"object","properties":{
				"customer":{"type":"string","x-widget":"text"},
				"lines":{"type":"array","x-widget":"subform","items":{"type":"object","properties":{
					"c":{"type":"number","x-widget":"number",` + tt.col + `},
					"d":{"type":"number","x-widget":"number","x-compute":"c + 1"}}}}}}]}`
			_, err := LoadBundle([]byte(b))
			var got []string
			for _, fe := range ErrorFields(err) {
				got = append(got, fe.Field+" "+fe.Code)
			}
			if !strings.Contains(strings.Join(got, "\n"), tt.want) {
				t.Errorf("errors %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzEvaluateRows feeds any JSON as an order's lines: evaluation never
// panics, never changes what was sent, and a passing result's lines hold
// the server's line totals.
func FuzzEvaluateRows(f *testing.F) {
	for _, s := range []string{
		`[{"kind":"part","qty":2,"price":3}]`,
		`[{"kind":"device","qty":1,"price":1,"serial":"x","total":5}]`,
		`[1, "a", null, {}, []]`,
		`[{"code":"abc","qty":"2"}]`,
		`{"qty":1}`,
	} {
		f.Add([]byte(s))
	}
	cf := orderForm(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var lines any
		if json.Unmarshal(b, &lines) != nil {
			return
		}
		in := map[string]any{"lines": lines}
		sent := CloneValue(in)
		res := cf.Evaluate(EvalInput{Data: in, Now: testNow})
		if !cmp.Equal(sent, any(in)) {
			t.Fatalf("the submitted data was changed: %v", in)
		}
		if !res.OK() {
			return
		}
		rows, _ := res.Data["lines"].([]any)
		for _, r := range rows {
			m := r.(map[string]any)
			q, qok := m["qty"].(float64)
			p, pok := m["price"].(float64)
			if qok && pok && m["total"] != normaliseComputed(q*p, cf.Form.Field("lines").Sub("total")) {
				t.Fatalf("line %v: total %v, want qty × price", m, m["total"])
			}
		}
		res = cf.Evaluate(EvalInput{Data: CloneData(in), Now: testNow, InPlace: true, NoFieldMap: true})
		if !res.OK() {
			t.Fatalf("in place: %v", res.Errors)
		}
	})
}
