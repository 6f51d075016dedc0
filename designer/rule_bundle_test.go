package designer_test

import (
	"strings"
	"testing"

	"formwork/designer"
)

// TestCheckRuleBrokenWorkflow: a rule of a form is checked while a
// workflow of the draft is incomplete (a condition branch the manager is
// setting with this check), and against the form's fields while the form
// has a problem elsewhere (an unknown required key).
func TestCheckRuleBrokenWorkflow(t *testing.T) {
	f := newFixture(t)
	admin := f.users["admin"]
	broken := strings.Replace(miniBundle, `"nodes": [{"key": "boss"`,
		`"nodes": [{"key": "route", "type": "condition", "branches": [{"nodes": []}, {"else": true, "nodes": []}]}, {"key": "boss"`, 1)
	d, err := f.d.Save(ctx, admin, "mini", []byte(broken), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) != 1 || d.Problems[0].Pointer != "/workflows/0/nodes/0/branches/0" {
		t.Fatalf("problems of the draft: %+v", d.Problems)
	}
	res, err := f.d.CheckRule(ctx, admin, "mini", designer.RuleCheck{Form: "customer", Want: "boolean",
		Rows: &designer.RuleRows{Conditions: []designer.Condition{{Field: "level", Op: "eq", Value: "a"}}}})
	if err != nil || res.Expr != `level == "a"` || len(res.Problems) != 0 {
		t.Fatalf("rule with a broken workflow: %+v %v", res, err)
	}
	badForm := strings.Replace(broken, `"required": ["name"]`, `"required": ["name", "nope"]`, 1)
	if _, err := f.d.Save(ctx, admin, "mini", []byte(badForm), d.Version); err != nil {
		t.Fatal(err)
	}
	res, err = f.d.CheckRule(ctx, admin, "mini", designer.RuleCheck{Form: "customer", Want: "boolean", Expr: `level == "a"`})
	if err != nil || len(res.Problems) != 0 {
		t.Errorf("rule with a problem elsewhere in the form: %+v %v", res, err)
	}
	if res, err = f.d.CheckRule(ctx, admin, "mini", designer.RuleCheck{Form: "customer", Want: "boolean", Expr: `nope == 1`}); err != nil || len(res.Problems) == 0 {
		t.Errorf("a rule naming no field of the form: %+v %v", res, err)
	}
}
