package designer_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
)

// ruleForm has a field of each kind the builder offers conditions on.
const ruleForm = `{"formwork": "1", "app": {"key": "rules", "name": {"zh": "规则", "en": "Rules"}, "version": "1.0.0"},
 "forms": [{"x-key": "f", "x-title": {"zh": "表", "en": "F"}, "type": "object", "properties": {
   "level": {"type": "string", "enum": ["normal", "vip", "gold"], "x-widget": "select", "x-label": {"zh": "等级", "en": "Level"}},
   "note": {"type": "string", "x-widget": "text", "x-label": {"zh": "备注", "en": "Note"}},
   "amount": {"type": "number", "x-widget": "number", "x-label": {"zh": "金额", "en": "Amount"}},
   "paid": {"type": "boolean", "x-widget": "checkbox", "x-label": {"zh": "已付", "en": "Paid"}},
   "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "x-widget": "checkbox", "x-label": {"zh": "标签", "en": "Tags"}}}}]}`

func TestRuleRows(t *testing.T) {
	b, err := engine.LoadBundle([]byte(ruleForm))
	if err != nil {
		t.Fatal(err)
	}
	f := b.Form("f")
	for _, tc := range []struct {
		name string
		rows designer.RuleRows
		want string
	}{
		{"one choice", designer.RuleRows{Conditions: []designer.Condition{{Field: "level", Op: "eq", Value: "gold"}}}, `level == "gold"`},
		{"all", designer.RuleRows{Join: "all", Conditions: []designer.Condition{{Field: "amount", Op: "ge", Value: 100.0}, {Field: "paid", Op: "eq", Value: false}}},
			`amount >= 100 && paid == false`},
		{"any", designer.RuleRows{Join: "any", Conditions: []designer.Condition{{Field: "level", Op: "in", Value: []any{"vip", "gold"}}, {Field: "note", Op: "contains", Value: `说"急"`}}},
			`level in ["vip", "gold"] || note contains "说\"急\""`},
		{"empty and not", designer.RuleRows{Conditions: []designer.Condition{{Field: "note", Op: "empty"}, {Field: "tags", Op: "not_empty"}}},
			`note == "" && !(len(tags) == 0)`},
		{"has and not in", designer.RuleRows{Conditions: []designer.Condition{{Field: "tags", Op: "has", Value: "a"}, {Field: "level", Op: "not_in", Value: []any{"normal"}}}},
			`"a" in tags && level not in ["normal"]`},
		{"number typed as text", designer.RuleRows{Conditions: []designer.Condition{{Field: "amount", Op: "lt", Value: " -2.5 "}}}, `amount < -2.5`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.rows.Expr(f)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("expr %s, want %s", got, tc.want)
			}
			if _, err := b.Compiled("f").Program(got, "boolean"); err != nil {
				t.Errorf("%s does not compile: %v", got, err)
			}
			back, ok := designer.ParseRows(got)
			if !ok {
				t.Fatalf("%s does not read back into rows", got)
			}
			again, err := back.Expr(f)
			if err != nil || again != got {
				t.Errorf("read back and written again: %q %v, want %q", again, err, got)
			}
		})
	}
	for _, tc := range []struct {
		name string
		rows designer.RuleRows
		ptr  string
	}{
		{"no rows", designer.RuleRows{}, "/conditions"},
		{"bad join", designer.RuleRows{Join: "some", Conditions: []designer.Condition{{Field: "note", Op: "empty"}}}, "/join"},
		{"unknown field", designer.RuleRows{Conditions: []designer.Condition{{Field: "note", Op: "empty"}, {Field: "ghost", Op: "eq", Value: "x"}}}, "/conditions/1/field"},
		{"text for a number", designer.RuleRows{Conditions: []designer.Condition{{Field: "amount", Op: "gt", Value: "many"}}}, "/conditions/0/value"},
		{"size of yes/no", designer.RuleRows{Conditions: []designer.Condition{{Field: "paid", Op: "gt", Value: true}}}, "/conditions/0/op"},
		{"has on text", designer.RuleRows{Conditions: []designer.Condition{{Field: "note", Op: "has", Value: "x"}}}, "/conditions/0/op"},
		{"in nothing", designer.RuleRows{Conditions: []designer.Condition{{Field: "level", Op: "in", Value: []any{}}}}, "/conditions/0/value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.rows.Expr(f)
			var e *engine.Error
			if engine.ErrorCode(err) != engine.EINVALID || !asEngineError(err, &e) || e.Fields[0].Field != tc.ptr {
				t.Errorf("%v, want invalid at %s", err, tc.ptr)
			}
		})
	}
	for _, src := range []string{"amount * 2 > 10", "level == 'a' && amount > 1 || paid", "len(note) > 3", "user.unit == 'hq'"} {
		if rows, ok := designer.ParseRows(src); ok {
			t.Errorf("%s read as rows %+v; it should stay in advanced mode", src, rows)
		}
	}
}

func TestCheckRule(t *testing.T) {
	f := newFixture(t)
	admin := f.users["admin"]
	if _, err := f.d.Save(ctx, admin, "rules", []byte(ruleForm), 0); err != nil {
		t.Fatal(err)
	}
	res, err := f.d.CheckRule(ctx, admin, "rules", designer.RuleCheck{Form: "f", Want: "boolean",
		Rows: &designer.RuleRows{Conditions: []designer.Condition{{Field: "level", Op: "eq", Value: "gold"}}}, Data: map[string]any{"level": "gold"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Expr != `level == "gold"` || res.Rows == nil || res.Value != true || len(res.Problems) != 0 {
		t.Errorf("rows: %+v", res)
	}
	res, err = f.d.CheckRule(ctx, admin, "rules", designer.RuleCheck{Form: "f", Want: "number", Expr: "amount * 2 + 1", Data: map[string]any{"amount": 20.0}})
	if err != nil || res.Value != 41.0 || res.Rows != nil {
		t.Errorf("formula on the sample: %+v %v", res, err)
	}
	res, err = f.d.CheckRule(ctx, admin, "rules", designer.RuleCheck{Form: "f", Want: "boolean", Expr: "nme == 'x'"})
	if err != nil || len(res.Problems) != 1 {
		t.Fatalf("unknown name: %+v %v", res, err)
	}
	if diff := cmp.Diff("没有名为「nme」的字段或函数（第 1 个字符）", res.Problems[0].Message.Zh); diff != "" {
		t.Errorf("message in plain words (-want +got):\n%s", diff)
	}
	if _, err := f.d.CheckRule(ctx, f.users["other"], "rules", designer.RuleCheck{Form: "f", Expr: "true"}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("a user who may not design: %v", err)
	}

	// a draft with a problem (a rule half typed, a formula that does not
	// compile) still checks rules against the form's fields
	d, err := f.d.Draft(ctx, admin, "rules")
	if err != nil {
		t.Fatal(err)
	}
	d, err = f.d.Patch(ctx, admin, "rules", []byte(`[{"op":"add","path":"/forms/0/properties/note/x-visible","value":"level == "},
		{"op":"add","path":"/forms/0/properties/total","value":{"type":"number","x-widget":"formula","x-compute":"amount *"}},
		{"op":"add","path":"/forms/0/x-checks","value":[{"expr":"amount >","message":"x"}]}]`), d.Version)
	if err != nil || len(d.Problems) == 0 {
		t.Fatalf("a draft with problems: %+v %v", d, err)
	}
	res, err = f.d.CheckRule(ctx, admin, "rules", designer.RuleCheck{Form: "f", Want: "number", Expr: "amount * 3", Data: map[string]any{"amount": 2.0}})
	if err != nil || res.Value != 6.0 || len(res.Problems) != 0 {
		t.Errorf("a formula checked in a draft with problems: %+v %v", res, err)
	}
	res, err = f.d.CheckRule(ctx, admin, "rules", designer.RuleCheck{Form: "f", Want: "boolean", Expr: "total > 1"})
	if err != nil || len(res.Problems) != 0 {
		t.Errorf("a rule on the formula field in a draft with problems: %+v %v", res, err)
	}
	if _, err := f.d.CheckRule(ctx, admin, "rules", designer.RuleCheck{Form: "nope", Expr: "true"}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("no such form in a draft with problems: %v", err)
	}
}

// FuzzParseRows: any expression reads back into rows or is left alone;
// rows read back write an expression that reads back the same.
func FuzzParseRows(f *testing.F) {
	for _, s := range []string{`level == "gold"`, `a >= 1 && b in ["x"]`, `!(n == "")`, `"a" in tags || x contains "y"`, `len(t) == 0`, `A contains !""`, `x contains 1`} {
		f.Add(s)
	}
	b, err := engine.LoadBundle([]byte(ruleForm))
	if err != nil {
		f.Fatal(err)
	}
	form := b.Form("f")
	f.Fuzz(func(t *testing.T, src string) {
		rows, ok := designer.ParseRows(src)
		if !ok {
			return
		}
		out, err := rows.Expr(form)
		if err != nil {
			return // a field or value the form does not have
		}
		back, ok := designer.ParseRows(out)
		if !ok {
			t.Fatalf("%q → %q does not read back", src, out)
		}
		again, err := back.Expr(form)
		if err != nil || again != out {
			t.Fatalf("%q → %q → %q (%v)", src, out, again, err)
		}
	})
}

func asEngineError(err error, e **engine.Error) bool { return errors.As(err, e) }
