package servicetest_test

import (
	"context"
	"testing"

	"formwork/engine"
)

// TestListRecordsJSON: the page ListRecordsJSON encodes while its audit
// event commits (from the records' stored text where it can) is byte for
// byte ListRecords' page (from their decoded data) for a user who sees every
// field and one who sees some masked, with records holding encrypted values
// and records holding none; its event is in the log when it returns, and a
// refusal returns no bytes.
func TestListRecordsJSON(t *testing.T) {
	for _, encrypt := range []bool{true, false} {
		f := newAccessFixture(t, fixtureOptions{Bundle: "orders.json", Units: shopUnits, Encrypt: encrypt,
			Users: []fixtureUser{{Name: "clerk1", Unit: "store1", Roles: []string{"clerk"}}, {Name: "viewer1", Unit: "store1", Roles: []string{"viewer"}}}})
		ctx := context.Background()
		clerk := f.users["clerk1"]
		for i := 0; i < 3; i++ {
			if _, err := f.svc.CreateRecord(ctx, clerk, f.app, "order", map[string]any{"store": "store1", "phone": "1380000000" + string(rune('1'+i)), "amount": float64(i)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.svc.CreateRecord(ctx, clerk, f.app, "order", map[string]any{"store": "store1", "amount": 3.25, "note": "<b>\"王\"</b>\n\u2028 & more"}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateRecord(ctx, clerk, f.app, "order", map[string]any{"store": "store1", "amount": 4.0, "note": "nothing encrypted"}); err != nil {
			t.Fatal(err)
		}
		q := engine.ListQuery{Sort: "-amount", Filter: []byte(`{"amount":{"$gte":0}}`)}
		for _, user := range []string{"clerk1", "viewer1"} {
			p := f.users[user]
			list, err := f.svc.ListRecords(ctx, p, f.app, "order", q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := list.AppendJSON(nil)
			if err != nil {
				t.Fatal(err)
			}
			before := countAudit(t, f, "list")
			got, err := f.svc.ListRecordsJSON(ctx, p, f.app, "order", q, []byte("prefix:"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "prefix:"+string(want) {
				t.Errorf("encrypt=%v %s: ListRecordsJSON = %s\nwant prefix:%s", encrypt, user, got, want)
			}
			if after := countAudit(t, f, "list"); after != before+1 {
				t.Errorf("list events %d after ListRecordsJSON returned, want %d", after, before+1)
			}
		}
		if encrypt {
			continue
		}
		if b, err := f.svc.ListRecordsJSON(ctx, clerk, f.app, "no-such-form", q, nil); err == nil || b != nil {
			t.Errorf("a list of a missing form: %q, %v; want no bytes and an error", b, err)
		}
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

// TestListRecordsJSONEncryptedApp: with encryption at rest, the records of
// a form without encrypted fields are encoded from their stored text, and
// the page is byte for byte ListRecords' page.
func TestListRecordsJSONEncryptedApp(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Encrypt: true,
		Users: []fixtureUser{{Name: "boss", Unit: "hq", Roles: []string{"hq_admin"}}}})
	ctx := context.Background()
	boss := f.users["boss"]
	for _, name := range []string{"Acme <&>", "王氏\n集团", "plain"} {
		if _, err := f.svc.CreateRecord(ctx, boss, f.app, "company", map[string]any{"name": name}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.svc.ListRecords(ctx, boss, f.app, "company", engine.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := list.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.ListRecordsJSON(ctx, boss, f.app, "company", engine.ListQuery{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("ListRecordsJSON = %s\nwant %s", got, want)
	}
}
