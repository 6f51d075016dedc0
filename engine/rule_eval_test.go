package engine

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func shopCustomer(tb testing.TB) *CompiledForm {
	tb.Helper()
	raw, err := os.ReadFile("testdata/shop.json")
	if err != nil {
		tb.Fatal(err)
	}
	b, err := LoadBundle(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return b.Compiled("customer")
}

func errorList(errs []FieldError, lang string) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Field+" "+e.Code)
	}
	return out
}

func TestEvaluateShopRules(t *testing.T) {
	cf := shopCustomer(t)
	tests := []struct {
		name     string
		data     map[string]any
		wantErrs []string
		wantData map[string]any // checked keys only
		absent   []string
		visible  map[string]bool
		required map[string]bool
	}{
		{
			name:     "valid normal customer; formula computed, default applied",
			data:     map[string]any{"name": "张伟", "phone": "13800138000", "budget": 1000.0, "discount": 0.1},
			wantData: map[string]any{"final_price": 900.0, "level": "normal"},
			visible:  map[string]bool{"vip_since": false, "name": true},
		},
		{
			name:     "formula value sent by the client is ignored",
			data:     map[string]any{"name": "张伟", "phone": "13800138000", "budget": 100.0, "final_price": 1.0},
			wantData: map[string]any{"final_price": 100.0},
		},
		{
			name:   "hidden field value is dropped and never required",
			data:   map[string]any{"name": "张伟", "phone": "13800138000", "level": "normal", "vip_since": "2025-01-01"},
			absent: []string{"vip_since"},
		},
		{
			name:     "gold makes vip_since visible and required",
			data:     map[string]any{"name": "张伟", "phone": "13800138000", "level": "gold"},
			wantErrs: []string{"/vip_since required"},
			visible:  map[string]bool{"vip_since": true},
			required: map[string]bool{"vip_since": true},
		},
		{
			name:     "static required and pattern",
			data:     map[string]any{"phone": "12345"},
			wantErrs: []string{"/name required", "/phone pattern"},
		},
		{
			name:     "unknown field refused with a pointer",
			data:     map[string]any{"name": "a", "phone": "13800138000", "hack": 1},
			wantErrs: []string{"/hack unknown_field"},
		},
		{
			name:     "type and range errors",
			data:     map[string]any{"name": "a", "phone": "13800138000", "budget": "lots", "discount": 0.9},
			wantErrs: []string{"/budget type", "/discount maximum"},
		},
		{
			name:     "cross-field check",
			data:     map[string]any{"name": "a", "phone": "13800138000", "discount": 0.3, "level": "vip", "vip_since": "2025-01-01"},
			wantErrs: []string{" check"},
		},
		{
			name:     "subform items validated with pointers",
			data:     map[string]any{"name": "a", "phone": "13800138000", "contacts": []any{map[string]any{"who": "x", "tel": "1"}, map[string]any{"who": "y", "x": 1}}},
			wantErrs: []string{"/contacts/0/tel pattern", "/contacts/1/x unknown_key"},
		},
		{
			name:     "formula with a missing input stays empty",
			data:     map[string]any{"name": "a", "phone": "13800138000"},
			absent:   []string{"final_price"},
			wantData: map[string]any{"discount": 0.0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := cf.Evaluate(EvalInput{Data: tt.data, Now: testNow, User: UserEnv{ID: "u1", Unit: "s1"}})
			got := errorList(res.Errors, "en")
			if diff := cmp.Diff(tt.wantErrs, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s\n%v", diff, res.Errors)
			}
			for k, v := range tt.wantData {
				if diff := cmp.Diff(v, res.Data[k]); diff != "" {
					t.Errorf("data[%s] (-want +got):\n%s", k, diff)
				}
			}
			for _, k := range tt.absent {
				if v, ok := res.Data[k]; ok {
					t.Errorf("data[%s] = %v, want absent", k, v)
				}
			}
			for k, v := range tt.visible {
				if res.Fields[k].Visible != v {
					t.Errorf("visible[%s] = %v, want %v", k, res.Fields[k].Visible, v)
				}
			}
			for k, v := range tt.required {
				if res.Fields[k].Required != v {
					t.Errorf("required[%s] = %v, want %v", k, res.Fields[k].Required, v)
				}
			}
		})
	}
}

func TestEvaluateMessagesBothLanguages(t *testing.T) {
	cf := shopCustomer(t)
	res := cf.Evaluate(EvalInput{Data: map[string]any{"phone": "12", "discount": 0.9, "level": "gold"}, Now: testNow})
	want := map[string][2]string{
		"/name":      {"请填写姓名", "Name is required"},
		"/vip_since": {"请填写入会日期", "Member since is required"},
	}
	for _, e := range res.Errors {
		if w, ok := want[e.Field]; ok {
			if e.Message.In("zh") != w[0] || e.Message.In("en") != w[1] {
				t.Errorf("%s: got %q / %q, want %q / %q", e.Field, e.Message.In("zh"), e.Message.In("en"), w[0], w[1])
			}
		}
		if e.Field == "/phone" && (e.Message.In("zh") != "手机号格式不正确，应为11位数字" || strings.Contains(e.Message.In("en"), "^1")) {
			t.Errorf("/phone message not in plain words: %+v", e.Message)
		}
		if e.Field == "/discount" && (e.Message.In("zh") != "不能大于 0.5" || e.Message.In("en") != "Must be at most 0.5") {
			t.Errorf("/discount message not in plain words: %+v", e.Message)
		}
	}
}

// widgetBundle builds a bundle whose form "f" has the given properties
// (beside another form, "other").
func widgetBundle(props string, extra string) []byte {
	return []byte(fmt.Sprintf(`{"formwork":"1","app":{"key":"t","name":"T","version":"1.0.0"},
	  "forms":[{"x-key":"other","type":"object","properties":{"title":{"type":"string","x-widget":"text"}}},
	           {"x-key":"f","type":"object","properties":{%s}%s}]}`, props, extra))
}

// widgetForm loads widgetBundle(props, extra) and returns its form "f".
func widgetForm(t *testing.T, props, extra string) *CompiledForm {
	t.Helper()
	b, err := LoadBundle(widgetBundle(props, extra))
	if err != nil {
		t.Fatal(err)
	}
	return b.Compiled("f")
}

func TestEveryWidget(t *testing.T) {
	tests := []struct {
		widget string
		schema string
		good   any
		bad    any
	}{
		{"text", `{"type":"string","maxLength":5}`, "abc", "abcdefg"},
		{"textarea", `{"type":"string","maxLength":10}`, "line\nline", 5.0},
		{"number", `{"type":"number","minimum":0}`, 1.5, -1.0},
		{"money", `{"type":"number","minimum":0,"multipleOf":0.01}`, 12.34, "12"},
		{"date", `{"type":"string","format":"date"}`, "2026-11-23", "23/11/2026"},
		{"datetime", `{"type":"string","format":"date-time"}`, "2026-11-23T10:00:00Z", "tomorrow"},
		{"select", `{"type":"string","enum":["a","b"],"x-options":{"a":{"zh":"甲","en":"A"}}}`, "a", "c"},
		{"radio", `{"type":"string","enum":["a","b"]}`, "b", "z"},
		{"checkbox", `{"type":"boolean"}`, true, "yes"},
		{"checkbox", `{"type":"array","items":{"type":"string","enum":["x","y"]},"uniqueItems":true}`, []any{"x", "y"}, []any{"x", "q"}},
		{"select", `{"type":"array","items":{"type":"string","enum":["x","y"]}}`, []any{"y"}, []any{"z"}},
		{"phone", `{"type":"string","pattern":"^1[3-9][0-9]{9}$","x-sensitive":"phone"}`, "13900001111", "139"},
		{"email", `{"type":"string","format":"email","x-sensitive":"email"}`, "a@example.com", "not-an-email"},
		{"id_number", `{"type":"string","pattern":"^[0-9]{17}[0-9X]$","x-sensitive":"id_number"}`, "11010119900101123X", "123"},
		{"address", `{"type":"string","maxLength":200,"x-sensitive":"address"}`, "北京市海淀区中关村大街1号", 1.0},
		{"address", `{"type":"object","properties":{"city":{"type":"string","x-widget":"text"}}}`, map[string]any{"city": "北京"}, map[string]any{"zip": "1"}},
		{"attachment", `{"type":"array","items":{"type":"string"},"maxItems":2}`, []any{"a.pdf"}, []any{"a", "b", "c"}},
		{"image", `{"type":"string"}`, "img1", 3.0},
		{"member", `{"type":"string"}`, "u1", 1.0},
		{"unit", `{"type":"string"}`, "hq", false},
		{"relation", `{"type":"string","x-relation":{"form":"other","display":"title"}}`, "r1", 1.0},
		{"subform", `{"type":"array","items":{"type":"object","properties":{"q":{"type":"integer","x-widget":"number"}},"required":["q"]}}`, []any{map[string]any{"q": 2.0}}, []any{map[string]any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.widget+" "+tt.schema, func(t *testing.T) {
			schema := strings.Replace(tt.schema, "{", `{"x-widget":"`+tt.widget+`","x-label":{"zh":"字段","en":"Field"},`, 1)
			b, err := LoadBundle(widgetBundle(`"v":`+schema, ""))
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			cf := b.Compiled("f")
			if res := cf.Evaluate(EvalInput{Data: map[string]any{"v": tt.good}, Now: testNow}); !res.OK() {
				t.Errorf("good value %v refused: %v", tt.good, res.Errors)
			}
			res := cf.Evaluate(EvalInput{Data: map[string]any{"v": tt.bad}, Now: testNow})
			if res.OK() {
				t.Errorf("bad value %v accepted", tt.bad)
			}
			for _, e := range res.Errors {
				if !strings.HasPrefix(e.Field, "/v") {
					t.Errorf("error outside the field: %+v", e)
				}
			}
		})
	}
}

func TestFormulaWidget(t *testing.T) {
	b, err := LoadBundle(widgetBundle(`
	  "qty":{"type":"integer","x-widget":"number"},
	  "price":{"type":"number","x-widget":"money"},
	  "lines":{"type":"array","x-widget":"subform","items":{"type":"object","properties":{"n":{"type":"number","x-widget":"number"},"p":{"type":"number","x-widget":"money"}}}},
	  "total":{"type":"number","x-widget":"formula","x-compute":"qty * price + sum(map(lines, {#.n * #.p}))"},
	  "grand":{"type":"number","x-widget":"formula","x-compute":"total * 1.1"},
	  "label":{"type":"string","x-widget":"formula","x-compute":"qty > 10 ? 'bulk' : 'retail'"},
	  "due":{"type":"string","format":"date","x-widget":"date","x-readonly":"qty > 100","default":"2026-01-01"}`,
		`,"x-checks":[{"expr":"due >= today || qty == 0","message":{"zh":"日期不能早于今天","en":"The date cannot be in the past"},"fields":["due"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	cf := b.Compiled("f")
	res := cf.Evaluate(EvalInput{Data: map[string]any{"qty": 3.0, "price": 2.5, "due": "2026-12-01",
		"lines": []any{map[string]any{"n": 2.0, "p": 1.0}, map[string]any{"n": 1.0}}}, Now: testNow})
	if !res.OK() {
		t.Fatalf("errors: %v", res.Errors)
	}
	want := map[string]any{"total": 9.5, "grand": 10.45, "label": "retail"}
	for k, v := range want {
		if diff := cmp.Diff(v, res.Data[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	// check with today, pointing at the named field
	res = cf.Evaluate(EvalInput{Data: map[string]any{"qty": 1.0, "price": 1.0, "due": "2026-11-01"}, Now: testNow})
	if diff := cmp.Diff([]string{"/due check"}, errorList(res.Errors, "en")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// readonly keeps the stored value on update
	prev := map[string]any{"qty": 200.0, "price": 1.0, "due": "2027-01-01"}
	res = cf.Evaluate(EvalInput{Data: map[string]any{"qty": 200.0, "price": 1.0, "due": "2030-01-01"}, Prev: prev, Now: testNow})
	if res.Data["due"] != "2027-01-01" || !res.Fields["due"].Readonly {
		t.Errorf("readonly not kept: %v %+v", res.Data["due"], res.Fields["due"])
	}
}

func TestRuleSeesUser(t *testing.T) {
	cf := widgetForm(t, `
	  "note":{"type":"string","x-widget":"text","x-visible":"'manager' in user.roles && user.unit == 'hq'"}`, "")
	for _, tt := range []struct {
		user UserEnv
		want bool
	}{{UserEnv{ID: "a", Unit: "hq", Roles: []string{"manager"}}, true}, {UserEnv{ID: "b", Unit: "s1", Roles: []string{"manager"}}, false}, {UserEnv{ID: "c", Unit: "hq"}, false}} {
		res := cf.Evaluate(EvalInput{Data: map[string]any{"note": "x"}, User: tt.user, Now: testNow})
		if res.Fields["note"].Visible != tt.want {
			t.Errorf("%+v: visible = %v", tt.user, res.Fields["note"].Visible)
		}
		if _, kept := res.Data["note"]; kept != tt.want {
			t.Errorf("%+v: value kept = %v", tt.user, kept)
		}
	}
}

func TestRuntimeBudget(t *testing.T) {
	// Work that passes the load-time limits is still bounded at run time.
	cf := widgetForm(t, `
	  "n":{"type":"integer","x-widget":"number"},
	  "big":{"type":"integer","x-widget":"formula","x-compute":"len(map(1..n, {# * 2}))"}`, "")
	res := cf.Evaluate(EvalInput{Data: map[string]any{"n": 50000000.0}, Now: testNow})
	if res.OK() {
		t.Fatalf("unbounded formula ran: %v", res.Data["big"])
	}
	if res.Errors[0].Field != "/big" || res.Errors[0].Code != "rule" {
		t.Errorf("got %+v", res.Errors)
	}
}

// TestDollarEnvRefused: $env would let a rule read fields without naming
// them, past the reference checks and the formula order.
func TestDollarEnvRefused(t *testing.T) {
	raw := []byte(`{"formwork":"1","app":{"key":"a","name":"A","version":"1.0.0"},"forms":[{"x-key":"f","type":"object","properties":{"a":{"type":"string","x-widget":"text"},"b":{"type":"string","x-widget":"text","x-compute":"string($env)"}}}]}`)
	_, err := LoadBundle(raw)
	if err == nil || !strings.Contains(err.Error(), "$env") {
		t.Fatalf("LoadBundle = %v, want an error naming $env", err)
	}
}

// TestReadonlyKeptBeforeFormulas: a value sent for a readonly field is
// replaced by the stored one, and formulas read the stored one; a system
// write (TrustReadonly) keeps what it sets.
func TestReadonlyKeptBeforeFormulas(t *testing.T) {
	cf := widgetForm(t, `
		"amount":{"type":"number","x-widget":"money"},
		"received":{"type":"number","x-widget":"money","x-readonly":"true"},
		"outstanding":{"type":"number","x-widget":"formula","x-compute":"amount - received"}`, "")
	prev := map[string]any{"amount": 100.0, "received": 40.0, "outstanding": 60.0}
	res := cf.Evaluate(EvalInput{Data: map[string]any{"amount": 100.0, "received": 100.0}, Prev: prev, Now: testNow})
	if !res.OK() || res.Data["received"] != 40.0 || res.Data["outstanding"] != 60.0 {
		t.Fatalf("person's write: %v %v, want received 40 and outstanding 60", res.Data, res.Errors)
	}
	res = cf.Evaluate(EvalInput{Data: map[string]any{"amount": 100.0, "received": 100.0}, Prev: prev, Now: testNow, TrustReadonly: true})
	if !res.OK() || res.Data["received"] != 100.0 || res.Data["outstanding"] != 0.0 {
		t.Fatalf("system write: %v %v, want received 100 and outstanding 0", res.Data, res.Errors)
	}
}

// checkInPlace evaluates in (on copies of its data) with and without
// InPlace and fails unless both give the same data and errors, and the
// in-place result is the submitted map itself when it passed, or left the
// submitted map as it was when it failed.
func checkInPlace(t *testing.T, cf *CompiledForm, in EvalInput) {
	t.Helper()
	in.Data = CloneData(in.Data)
	want := cf.Evaluate(in)
	own, in2 := CloneData(in.Data), CloneData(in.Data)
	in.Data, in.InPlace = own, true
	got := cf.Evaluate(in)
	if !reflect.DeepEqual(got.Data, want.Data) || !reflect.DeepEqual(got.Errors, want.Errors) {
		t.Fatalf("in place:\n  data %v\n  errors %v\nwant\n  data %v\n  errors %v", got.Data, got.Errors, want.Data, want.Errors)
	}
	same := reflect.ValueOf(got.Data).UnsafePointer() == reflect.ValueOf(own).UnsafePointer()
	switch {
	case own == nil:
	case got.OK() && !same:
		t.Fatal("InPlace built a new map")
	case !got.OK() && (same || !reflect.DeepEqual(own, in2)):
		t.Fatalf("a failed in-place evaluation changed the submitted map: %v, sent %v", own, in2)
	}
}

// TestEvaluateInPlaceAgrees: an in-place evaluation changes the submitted
// map into exactly the data a normal evaluation returns — empty, hidden,
// unknown and system keys dropped, formulas, defaults and kept readonly
// values written.
func TestEvaluateInPlaceAgrees(t *testing.T) {
	cf := shopCustomer(t)
	prev := map[string]any{"name": "老王", "level": "vip", "vip_since": "2024-01-01", "discount": 0.2}
	for _, d := range []map[string]any{
		nil,
		{},
		{"name": "张伟", "phone": "13800138000", "budget": 1000.0, "discount": 0.1},
		{"name": "张伟", "phone": "13800138000", "budget": 100.0, "final_price": 1.0},
		{"name": "张伟", "phone": "13800138000", "level": "normal", "vip_since": "2025-01-01"},
		{"name": "", "phone": "", "level": "vip", "_id": "r1", "_version": 3.0, "nosuch": 1.0},
		{"name": "张伟", "phone": "13800138000", "_id": "r1", "_version": 2.0, "budget": "", "vip_since": "2025-01-01"},
		{"name": nil, "contacts": []any{map[string]any{"who": "a"}}, "budget": "x"},
	} {
		checkInPlace(t, cf, EvalInput{Data: d, Now: testNow})
		checkInPlace(t, cf, EvalInput{Data: d, Prev: prev, Now: testNow})
	}
	rc := widgetForm(t, `
		"amount":{"type":"number","x-widget":"money"},
		"received":{"type":"number","x-widget":"money","x-readonly":"true","default":5},
		"outstanding":{"type":"number","x-widget":"formula","x-compute":"amount - received"}`, "")
	for _, in := range []EvalInput{
		{Data: map[string]any{"amount": 100.0, "received": 100.0}, Prev: map[string]any{"amount": 100.0, "received": 40.0}},
		{Data: map[string]any{"amount": 100.0, "received": 100.0}},
		{Data: map[string]any{"amount": 100.0}, Prev: map[string]any{"amount": 1.0}},
		{Data: map[string]any{"amount": 100.0, "received": 100.0}, Prev: map[string]any{}, TrustReadonly: true},
	} {
		checkInPlace(t, rc, in)
	}
	big, data := bigBundle(t, 500)
	bb, err := LoadBundle(big)
	if err != nil {
		t.Fatal(err)
	}
	checkInPlace(t, bb.Compiled("big"), EvalInput{Data: data, Now: testNow})
}

// TestFormulaReadsHiddenAsEmpty: a hidden field's value is dropped, so a
// formula reading it computes as if it were empty — the stored formula
// follows from the stored data — while visible inputs still count.
func TestFormulaReadsHiddenAsEmpty(t *testing.T) {
	cf := widgetForm(t, `
		"kind":{"type":"string","x-widget":"select","enum":["plain","vip"]},
		"price":{"type":"number","x-widget":"money"},
		"note":{"type":"string","x-widget":"text","x-visible":"kind == 'vip'"},
		"fee":{"type":"number","x-widget":"money","x-visible":"kind == 'vip'"},
		"label":{"type":"string","x-widget":"formula","x-compute":"kind + ':' + note"},
		"total":{"type":"number","x-widget":"formula","x-compute":"price + fee"},
		"double":{"type":"number","x-widget":"formula","x-compute":"price * 2"}`, "")
	for _, tt := range []struct {
		data map[string]any
		want map[string]any
	}{
		{map[string]any{"kind": "vip", "price": 10.0, "fee": 2.0, "note": "x"},
			map[string]any{"kind": "vip", "price": 10.0, "fee": 2.0, "note": "x", "label": "vip:x", "total": 12.0, "double": 20.0}},
		// fee and note are hidden: dropped, and the formulas read them as empty
		{map[string]any{"kind": "plain", "price": 10.0, "fee": 2.0, "note": "x"},
			map[string]any{"kind": "plain", "price": 10.0, "label": "plain:", "double": 20.0}},
		{map[string]any{"kind": "plain", "price": 10.0},
			map[string]any{"kind": "plain", "price": 10.0, "label": "plain:", "double": 20.0}},
	} {
		res := cf.Evaluate(EvalInput{Data: tt.data, Now: testNow})
		if !res.OK() || !reflect.DeepEqual(res.Data, tt.want) {
			t.Errorf("%v: got %v %v, want %v", tt.data, res.Data, res.Errors, tt.want)
		}
		checkInPlace(t, cf, EvalInput{Data: tt.data, Now: testNow})
		// evaluating the stored data again gives the same data
		if again := cf.Evaluate(EvalInput{Data: res.Data, Prev: res.Data, Now: testNow}); !reflect.DeepEqual(again.Data, res.Data) {
			t.Errorf("%v: evaluated again %v, stored %v", tt.data, again.Data, res.Data)
		}
	}
}
