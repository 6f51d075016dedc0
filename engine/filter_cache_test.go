package engine

import (
	"testing"

	"formwork/engine/filter"

	"github.com/google/go-cmp/cmp"
)

// TestParseRequestFilter: a request's filter that uses no variable is
// parsed once per form and text (its variables are not even made the
// second time) and gives the same tree as a parse; one that uses a
// variable is parsed each time with that request's values; the same text
// over another form (other field types) is parsed for that form; a
// refused filter is refused every time.
func TestParseRequestFilter(t *testing.T) {
	form := func(amountType string) *Form {
		f, err := ParseForm([]byte(`{"x-key": "c", "type": "object", "properties": {
			"level": {"type": "string", "x-widget": "text"}, "owner_id": {"type": "string", "x-widget": "text"},
			"amount": {"type": "`+amountType+`", "x-widget": "text"}}}`), "")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	numbers, texts := form("number"), form("string")
	calls := 0
	vars := func(user string) func() (filter.Vars, error) {
		return func() (filter.Vars, error) { calls++; return filter.Vars{UserID: user}, nil }
	}
	plain := []byte(`{"level": {"$eq": "gold"}, "amount": {"$gt": 5}}`)
	want, err := ParseFilter(numbers, plain, filter.Vars{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got, err := parseRequestFilter(numbers, plain, vars("u1"))
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("parse %d (-want +got):\n%s", i, d)
		}
	}
	if calls != 1 {
		t.Errorf("a filter without variables made its variables %d times in 3 parses, want 1", calls)
	}
	if _, err := parseRequestFilter(texts, plain, vars("u1")); ErrorCode(err) != EINVALID {
		t.Errorf("the same filter over a form whose amount is text: %v, want it refused", err)
	}
	own := []byte(`{"owner_id": {"$eq": "$user.id"}}`)
	for _, u := range []string{"u1", "u2", "u1"} {
		got, err := parseRequestFilter(numbers, own, vars(u))
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := got.(filter.Cmp); !ok || c.Value != u {
			t.Errorf("a filter on $user.id for %s gave %#v", u, got)
		}
	}
	bad := []byte(`{"nothing": {"$eq": 1}}`)
	for range 2 {
		if _, err := parseRequestFilter(numbers, bad, vars("u1")); ErrorCode(err) != EINVALID {
			t.Errorf("a filter on an unknown field: %v, want it refused", err)
		}
	}
}
