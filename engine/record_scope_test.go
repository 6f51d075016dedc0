package engine

import (
	"os"
	"testing"

	"formwork/engine/filter"
)

// TestMatchesInMemory: findInScope checks a scope on the record read by
// id only where filter.Match answers as the store does; a scope that
// searches text, reads a field encrypted at rest or one the form does not
// have goes to the store's query.
func TestMatchesInMemory(t *testing.T) {
	raw, err := os.ReadFile("testdata/orders.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	f := b.Form("order")
	store := filter.Cmp{Field: filter.Field{Key: "store", Type: filter.TypeString}, Op: filter.OpEq, Value: "s1"}
	phone := filter.Cmp{Field: filter.Field{Key: "phone", Type: filter.TypeString}, Op: filter.OpEq, Value: "13900000000"}
	owner := filter.Cmp{Field: filter.Field{Key: "_owner", System: true, Type: filter.TypeString}, Op: filter.OpEq, Value: "u1"}
	text, ok := filter.NewText([]filter.Field{{Key: "note", Type: filter.TypeString}}, "late delivery")
	if !ok {
		t.Fatal("no text search")
	}
	for _, c := range []struct {
		name  string
		scope filter.Expr
		want  bool
	}{
		{"plain field", store, true},
		{"system field", owner, true},
		{"any of them", filter.Or{Items: []filter.Expr{owner, filter.Not{X: store}}}, true},
		{"regex and presence", filter.And{Items: []filter.Expr{
			filter.Regex{Field: filter.Field{Key: "note", Type: filter.TypeString}, Pattern: "^a"},
			filter.Exists{Field: filter.Field{Key: "amount", Type: filter.TypeNumber}, Want: true}}}, true},
		{"encrypted field", phone, false},
		{"encrypted field inside", filter.Or{Items: []filter.Expr{owner, filter.And{Items: []filter.Expr{store, phone}}}}, false},
		{"text search", filter.And{Items: []filter.Expr{store, text}}, false},
		{"unknown field", filter.Cmp{Field: filter.Field{Key: "gone", Type: filter.TypeString}, Op: filter.OpEq, Value: "x"}, false},
		{"pointer node", &filter.And{Items: []filter.Expr{store}}, false},
	} {
		if got := matchesInMemory(f, c.scope); got != c.want {
			t.Errorf("%s: matchesInMemory = %v, want %v", c.name, got, c.want)
		}
	}
}
