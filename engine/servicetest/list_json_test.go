package servicetest_test

import (
	"context"
	"testing"

	"formwork/engine"
)

// TestListRecordsJSON: the page ListRecordsJSON encodes while its audit
// event commits is byte for byte ListRecords' page, its event is in the
// log when it returns, and a refusal returns no bytes.
func TestListRecordsJSON(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "orders.json", Units: shopUnits, Encrypt: true,
		Users: []fixtureUser{{Name: "clerk1", Unit: "store1", Roles: []string{"clerk"}}}})
	ctx := context.Background()
	clerk := f.users["clerk1"]
	for i := 0; i < 3; i++ {
		if _, err := f.svc.CreateRecord(ctx, clerk, f.app, "order", map[string]any{"store": "store1", "phone": "1380000000" + string(rune('1'+i)), "amount": float64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	q := engine.ListQuery{Sort: "-amount", Filter: []byte(`{"amount":{"$gte":0}}`)}
	list, err := f.svc.ListRecords(ctx, clerk, f.app, "order", q)
	if err != nil {
		t.Fatal(err)
	}
	want, err := list.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	before := countAudit(t, f, "list")
	got, err := f.svc.ListRecordsJSON(ctx, clerk, f.app, "order", q, []byte("prefix:"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "prefix:"+string(want) {
		t.Errorf("ListRecordsJSON = %s\nwant prefix:%s", got, want)
	}
	if after := countAudit(t, f, "list"); after != before+1 {
		t.Errorf("list events %d after ListRecordsJSON returned, want %d", after, before+1)
	}
	if b, err := f.svc.ListRecordsJSON(ctx, clerk, f.app, "no-such-form", q, nil); err == nil || b != nil {
		t.Errorf("a list of a missing form: %q, %v; want no bytes and an error", b, err)
	}
}

func countAudit(t *testing.T, f *accessFixture, action string) int {
	t.Helper()
	page, err := f.store.FindAuditEvents(context.Background(), engine.AuditQuery{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}
