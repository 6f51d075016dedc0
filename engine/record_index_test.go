package engine

import (
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestFormIndexCovers: the fields a role's scope names come first among
// the covered fields (system fields as their names), then the indexed ones;
// the fields a scope pins by equality are prefixes (a unit and those below
// it is not one unit).
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
		Prefixes: [][]string{{"store"}, {"_owner"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("formIndex (-want +got):\n%s", diff)
	}
}
