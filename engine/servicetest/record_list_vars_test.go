package servicetest_test

import (
	"context"
	"slices"
	"testing"

	"formwork/engine"
)

// TestListFilterUnitsBelow: a list filter naming $user.units_below gets
// the units below the user's, also when a \u escape spells the variable
// (the service reads the unit tree only for filters that name it).
func TestListFilterUnitsBelow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var s1, s2 string
	for _, u := range []struct {
		user string
		id   *string
	}{{"staff1", &s1}, {"staff2", &s2}} {
		r, err := f.svc.CreateRecord(ctx, f.users[u.user], "shop", "customer", map[string]any{"name": "客户" + u.user, "phone": "13900000000"})
		if err != nil {
			t.Fatal(err)
		}
		*u.id = r.ID
	}
	admin := f.users["admin"]
	admin.User.Unit = "east"
	for _, raw := range []string{`{"_unit":{"$in":"$user.units_below"}}`, `{"_unit":{"$in":"\u0024user.units_below"}}`} {
		l, err := f.svc.ListRecords(ctx, admin, "shop", "customer", engine.ListQuery{Filter: []byte(raw)})
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		var ids []string
		for _, it := range l.Items {
			ids = append(ids, it.ID)
		}
		if slices.Sort(ids); !slices.Equal(ids, sortedPair(s1, s2)) {
			t.Errorf("%s lists %v, want %s and %s", raw, ids, s1, s2)
		}
	}
	l, err := f.svc.ListRecords(ctx, f.users["staff1"], "shop", "customer", engine.ListQuery{Filter: []byte(`{"_unit":{"$in":"$user.units_below"}}`)})
	if err != nil || len(l.Items) != 1 || l.Items[0].ID != s1 {
		t.Errorf("staff1 lists %+v %v, want only %s", l, err, s1)
	}
}

func sortedPair(a, b string) []string {
	s := []string{a, b}
	slices.Sort(s)
	return s
}
