package designer_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
)

// TestRuleRowsFilter writes builder rows as a role's data scope and reads
// the filter back into the same rows; a row a filter cannot say, or a
// value of the wrong kind, is refused at its pointer.
func TestRuleRowsFilter(t *testing.T) {
	b, err := engine.LoadBundle([]byte(ruleForm))
	if err != nil {
		t.Fatal(err)
	}
	f := b.Form("f")
	for _, tc := range []struct {
		name string
		rows designer.RuleRows
		want string
		back []designer.Condition // the rows read back, when not rows'
	}{
		{"one choice", designer.RuleRows{Join: "all", Conditions: []designer.Condition{{Field: "level", Op: "eq", Value: "gold"}}}, `{"level":{"$eq":"gold"}}`, nil},
		{"all", designer.RuleRows{Join: "all", Conditions: []designer.Condition{{Field: "amount", Op: "ge", Value: 100.0}, {Field: "paid", Op: "eq", Value: false}}},
			`{"$and":[{"amount":{"$gte":100}},{"paid":{"$eq":false}}]}`, nil},
		{"any", designer.RuleRows{Join: "any", Conditions: []designer.Condition{{Field: "level", Op: "in", Value: []any{"vip", "gold"}}, {Field: "note", Op: "contains", Value: "a.b"}}},
			`{"$or":[{"level":{"$in":["vip","gold"]}},{"note":{"$regex":"a\\.b"}}]}`, nil},
		{"empty, not empty, not in", designer.RuleRows{Join: "all", Conditions: []designer.Condition{{Field: "note", Op: "empty"}, {Field: "amount", Op: "not_empty"},
			{Field: "level", Op: "not_in", Value: []any{"normal"}}}},
			`{"$and":[{"note":{"$exists":false}},{"amount":{"$exists":true}},{"level":{"$nin":["normal"]}}]}`, nil},
		{"a number typed as text", designer.RuleRows{Join: "all", Conditions: []designer.Condition{{Field: "amount", Op: "lt", Value: "5"}}}, `{"amount":{"$lt":5}}`,
			[]designer.Condition{{Field: "amount", Op: "lt", Value: 5.0}}},
		{"the person looking", designer.RuleRows{Join: "all", Conditions: []designer.Condition{{Field: "note", Op: "eq", Value: "$user.unit"}}}, `{"note":{"$eq":"$user.unit"}}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.rows.Filter(f)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("filter %s, want %s", got, tc.want)
			}
			back, ok := designer.FilterRows(got)
			if !ok {
				t.Fatalf("%s does not read back", got)
			}
			want := tc.rows
			if tc.back != nil {
				want.Conditions = tc.back
			}
			if diff := cmp.Diff(want, back); diff != "" {
				t.Errorf("rows read back (-want +got):\n%s", diff)
			}
		})
	}
	for _, tc := range []struct {
		name string
		rows designer.RuleRows
		ptr  string
	}{
		{"unknown field", designer.RuleRows{Conditions: []designer.Condition{{Field: "nope", Op: "eq", Value: "x"}}}, "/conditions/0/field"},
		{"not a number", designer.RuleRows{Conditions: []designer.Condition{{Field: "level", Op: "eq", Value: "a"}, {Field: "amount", Op: "gt", Value: "many"}}}, "/conditions/1/value"},
		{"no rows", designer.RuleRows{}, "/conditions"},
		{"has on text", designer.RuleRows{Conditions: []designer.Condition{{Field: "note", Op: "has", Value: "a"}}}, "/conditions/0/op"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.rows.Filter(f)
			if got := engine.ErrorFields(err); engine.ErrorCode(err) != engine.EINVALID || len(got) != 1 || got[0].Field != tc.ptr {
				t.Errorf("Filter: %v %v, want invalid at %s", err, got, tc.ptr)
			}
		})
	}
	for _, raw := range []string{`{"$and":[{"level":{"$eq":"a","$ne":"b"}}]}`, `{"level":{"$regex":"^a"}}`, `{"$not":{"level":{"$eq":"a"}}}`, `[]`} {
		if rows, ok := designer.FilterRows(json.RawMessage(raw)); ok {
			t.Errorf("%s read as rows %+v; the page must keep it as written", raw, rows)
		}
	}
}

// TestCheckRuleScope asks the rule API for a data scope: rows give the
// filter a role's scope takes, a stored filter gives its rows back.
func TestCheckRuleScope(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	res, err := f.d.CheckRule(ctx, f.users["des"], "mini", designer.RuleCheck{Form: "customer", Want: designer.WantFilter,
		Rows: &designer.RuleRows{Join: "any", Conditions: []designer.Condition{{Field: "level", Op: "eq", Value: "a"}, {Field: "name", Op: "not_empty"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Filter) != `{"$or":[{"level":{"$eq":"a"}},{"name":{"$exists":true}}]}` || res.Rows == nil || len(res.Problems) != 0 {
		t.Errorf("scope check: filter %s, rows %v, problems %v", res.Filter, res.Rows, res.Problems)
	}
	back, err := f.d.CheckRule(ctx, f.users["des"], "mini", designer.RuleCheck{Form: "customer", Want: designer.WantFilter, Filter: res.Filter})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(res.Rows, back.Rows); diff != "" {
		t.Errorf("rows of the stored filter (-want +got):\n%s", diff)
	}
	if _, err := f.d.CheckRule(ctx, f.users["other"], "mini", designer.RuleCheck{Form: "customer", Want: designer.WantFilter, Filter: res.Filter}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("someone who may not design mini: %v", err)
	}
}
