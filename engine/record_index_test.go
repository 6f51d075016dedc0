package engine

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFormIndexCovers: the fields a role's scope names come first among
// the covered fields (system fields as their names), then the indexed ones;
// the fields a scope pins by equality are prefixes (a unit and those below
// it is not one unit); level, an enum shown as a select, is a choice.
func TestFormIndexCovers(t *testing.T) {
	raw, err := os.ReadFile("../server/testdata/customers.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	b.Roles = append(b.Roles, &Role{Key: "below", Permissions: map[string]*FormPermission{"customers": {Operations: []string{"read"}, Scope: Scope{Kind: ScopeUnitAndBelow}}}},
		&Role{Key: "mine", Permissions: map[string]*FormPermission{"customers": {Operations: []string{"read"}, Scope: Scope{Kind: ScopeOwn}}}})
	got := formIndex(b, b.Form("customers"))
	want := FormIndex{App: "bench", Form: "customers", Fields: []string{"store", "level", "amount"}, Covered: []string{"_owner", "_unit", "store", "level", "amount"},
		Prefixes: [][]string{{"store"}, {"_owner"}}, Choices: []string{"level"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("formIndex (-want +got):\n%s", diff)
	}
}

// TestIsChoice: a field whose values form a closed set is a choice; a
// free text, a number and an array of options are not.
func TestIsChoice(t *testing.T) {
	for _, tc := range []struct {
		f    Field
		want bool
	}{
		{Field{Type: "string", Options: []Option{{Value: "a"}}}, true},
		{Field{Type: "boolean", Widget: WidgetCheckbox}, true},
		{Field{Type: "string", Widget: WidgetRadio}, true},
		{Field{Type: "string", Widget: WidgetSelect}, true},
		{Field{Type: "string", Widget: WidgetText}, false},
		{Field{Type: "number", Widget: WidgetMoney}, false},
		{Field{Type: "array", ItemType: "string", Widget: WidgetCheckbox, Options: []Option{{Value: "a"}}}, false},
	} {
		if got := isChoice(&tc.f); got != tc.want {
			t.Errorf("isChoice(%+v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}
