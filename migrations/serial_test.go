package migrations

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// serialBundle is an app whose orders have a serial number per unit and day.
const serialBundle = `{"formwork":"1","app":{"key":"shop","name":"Shop","version":"1.0.0"},
  "roles":[{"key":"staff","name":"Staff","permissions":{"order":{"operations":["create","read"],"scope":"all","fields":{"*":"edit"}}}}],
  "forms":[{"x-key":"order","type":"object","properties":{
    "order_no":{"type":"string","x-widget":"serial","x-label":{"zh":"订单号","en":"Order no."},"x-serial":{"prefix":"SO-","date":"YYYYMMDD","digits":4,"per":"unit"}},
    "item":{"type":"string","x-widget":"text"}}}]}`

// TestSerialMigrationNumbersOldRecords writes orders as the engine did
// before it numbered them (no number), then migrates: they get numbers in
// the order they were created, dated in the organisation's zone, and a
// second run numbers nothing again.
func TestSerialMigrationNumbersOldRecords(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := apply(ctx, s, clock, steps(time.UTC)[:1]); err != nil { // the store as it was
		t.Fatal(err)
	}
	org := engine.NewOrg(s, clock)
	admin, err := org.CreateUser(ctx, engine.AuditActor{ID: engine.SystemActor}, engine.NewUser{Email: "a@example.com", Name: "A", Unit: "hq", Admin: true, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	svc := engine.NewService(s, org, engine.ServiceOptions{Clock: clock})
	t.Cleanup(svc.Close)
	if _, err := svc.ImportApp(ctx, &engine.Principal{User: admin}, []byte(serialBundle), engine.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	// 23:30 UTC on 1 March is 2 March in Shanghai
	late := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
	old := []struct{ id, unit string }{{"o1", "hq"}, {"o2", "hq"}, {"o3", "s1"}}
	for i, o := range old {
		r := &engine.Record{ID: o.id, App: "shop", Form: "order", FormVersion: 1, Unit: o.unit, Owner: admin.ID, Data: map[string]any{"item": o.id}}
		if _, err := s.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: admin.ID, At: late.Add(time.Duration(i) * time.Minute)}}}); err != nil {
			t.Fatal(err)
		}
	}
	// one written since, numbered at create
	created, err := svc.CreateRecord(ctx, &engine.Principal{User: admin}, "shop", "order", map[string]any{"item": "new", "order_no": "SO-FAKE"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Data["order_no"] != "SO-20260301-0001" {
		t.Fatalf("created order_no = %v, want SO-20260301-0001 (what was sent is ignored)", created.Data["order_no"])
	}
	shanghai := time.FixedZone("CST", 8*3600)
	applied, err := ApplyIn(ctx, s, clock, shanghai)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"0002_serial_numbers"}, applied); d != "" {
		t.Errorf("applied (-want +got):\n%s", d)
	}
	want := map[string]string{"o1": "SO-20260302-0001", "o2": "SO-20260302-0002", "o3": "SO-20260302-0001", created.ID: "SO-20260301-0001"}
	got := map[string]string{}
	for id := range want {
		r, err := s.FindRecordByID(ctx, "shop", "order", id, false)
		if err != nil {
			t.Fatal(err)
		}
		got[id] = fmt.Sprint(r.Data["order_no"])
		if id != created.ID && (r.Version != 2 || r.Data["item"] != id) {
			t.Errorf("%s: version %d, data %v; want version 2 with its data kept", id, r.Version, r.Data)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("numbers (-want +got):\n%s", d)
	}
	// the back-fill is on record: a revision and an audit event per record
	page, err := s.FindAuditEvents(ctx, engine.AuditQuery{Object: "o2", Action: "update"})
	if err != nil || len(page.Items) != 1 || page.Items[0].Actor != engine.SystemActor {
		t.Errorf("audit of o2's back-fill: %+v, %v", page, err)
	}
	// restoring o1 as it was before it had a number keeps the number
	restored, err := svc.RestoreRecord(ctx, &engine.Principal{User: admin}, "shop", "order", "o1", 1)
	if err != nil || restored.Data["order_no"] != "SO-20260302-0001" || restored.Version != 3 {
		t.Errorf("o1 restored to revision 1: %+v %v; want its number kept", restored, err)
	}
	// running the back-fill again numbers nothing
	if n, err := engine.BackfillSerials(ctx, s, shanghai, clock); n != 0 || err != nil {
		t.Errorf("second back-fill numbered %d (%v), want 0", n, err)
	}
}
