package servicetest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

// serialBundle's orders are numbered per day.
const serialBundle = `{"formwork":"1","app":{"key":"shop","name":"Shop","version":"1.0.0"},
  "roles":[{"key":"staff","name":"Staff","permissions":{"order":{"operations":["create","read","update"],"scope":"all","fields":{"*":"edit"}}}}],
  "forms":[{"x-key":"order","type":"object","properties":{
    "order_no":{"type":"string","x-widget":"serial","x-label":{"zh":"订单号","en":"Order no."},"x-serial":{"prefix":"SO-","date":"YYYYMMDD","digits":4}},
    "item":{"type":"string","x-widget":"text"}}}]}`

// TestSerialNumbersAcrossNodes creates 100 orders at once through two
// services on one SQLite file, as two processes on one store would: every
// order gets a number, each number once, and together they are 0001 to
// 0100. A staff member who sends a number of their own, or changes one,
// changes nothing.
func TestSerialNumbersAcrossNodes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "fw.db")
	clock := &testClock{t: time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)}
	var svcs []*engine.Service
	var staff *engine.Principal
	for i := range 2 {
		st, err := sqlite.Open(path, sqlite.Options{Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		org := engine.NewOrg(st, clock.Now)
		svc := engine.NewService(st, org, engine.ServiceOptions{Clock: clock.Now, TimeZone: time.FixedZone("CST", 8*3600)})
		t.Cleanup(svc.Close)
		svcs = append(svcs, svc)
		if i > 0 {
			continue
		}
		sys := engine.AuditActor{ID: engine.SystemActor}
		if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
			t.Fatal(err)
		}
		admin, err := org.CreateUser(ctx, sys, engine.NewUser{Email: "a@example.com", Name: "A", Unit: "hq", Admin: true, Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := org.CreateUser(ctx, sys, engine.NewUser{Email: "s@example.com", Name: "S", Unit: "hq", Roles: map[string][]string{"shop": {"staff"}}, Password: "correct horse battery staple"})
		if err != nil {
			t.Fatal(err)
		}
		staff = &engine.Principal{User: u}
		if _, err := svc.ImportApp(ctx, &engine.Principal{User: admin}, []byte(serialBundle), engine.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	got := make([]string, 100)
	errs := make([]error, 100)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := svcs[i%2].CreateRecord(ctx, staff, "shop", "order", map[string]any{"item": fmt.Sprint(i), "order_no": "SO-MINE"})
			if err != nil {
				errs[i] = err
				return
			}
			got[i], _ = r.Data["order_no"].(string)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	slices.Sort(got)
	for i, no := range got {
		// 09:00 UTC is 17:00 in the org's zone: still 6 December
		if want := fmt.Sprintf("SO-20261206-%04d", i+1); no != want {
			t.Fatalf("numbers[%d] = %q, want %q (all: %v)", i, no, want, got)
		}
	}
	list, err := svcs[1].ListRecords(ctx, staff, "shop", "order", engine.ListQuery{Filter: []byte(`{"item":"7"}`)})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("order 7: %+v %v", list, err)
	}
	r := list.Items[0]
	up, err := svcs[1].UpdateRecord(ctx, staff, "shop", "order", r.ID, r.Version, map[string]any{"order_no": "SO-20261206-9999", "item": "changed"})
	if err != nil || up.Data["order_no"] != r.Data["order_no"] || up.Data["item"] != "changed" {
		t.Errorf("update that sends another number: %+v %v; want the number kept", up, err)
	}
}
