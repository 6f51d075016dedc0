package servicetest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

// fixture is a service on a real SQLite store with the shop app imported,
// a unit tree hq → east → store1/store2 and users in it.
type fixture struct {
	svc   *engine.Service
	org   *engine.Org
	users map[string]*engine.Principal
	clock *testClock
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureWith(tb, engine.ServiceOptions{})
}

// newFixtureWith is newFixture with the service's options (its clock is the fixture's).
func newFixtureWith(tb testing.TB, opt engine.ServiceOptions) *fixture {
	tb.Helper()
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	st, err := sqlite.Open(filepath.Join(tb.TempDir(), "fw.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	org := engine.NewOrg(st, clock.Now)
	sys := engine.AuditActor{ID: engine.SystemActor}
	for _, u := range []engine.Unit{{Key: "hq", Name: engine.T("总部", "HQ")}, {Key: "east", Name: engine.T("华东", "East"), Parent: "hq"},
		{Key: "store1", Name: engine.T("一店", "Store 1"), Parent: "east"}, {Key: "store2", Name: engine.T("二店", "Store 2"), Parent: "east"}} {
		if _, err := org.CreateUnit(ctx, sys, u); err != nil {
			tb.Fatal(err)
		}
	}
	opt.Clock = clock.Now
	svc := engine.NewService(st, org, opt)
	tb.Cleanup(svc.Close)
	f := &fixture{svc: svc, org: org, users: map[string]*engine.Principal{}, clock: clock}
	mk := func(name, unit string, admin bool, roles ...string) {
		u, err := org.CreateUser(ctx, sys, engine.NewUser{Email: name + "@example.com", Name: name, Unit: unit, Admin: admin,
			Roles: map[string][]string{"shop": roles}, Password: "correct horse battery staple"})
		if err != nil {
			tb.Fatal(err)
		}
		f.users[name] = &engine.Principal{User: u, IP: "127.0.0.1"}
	}
	mk("admin", "hq", true)
	mk("staff1", "store1", false, "staff")
	mk("staff2", "store2", false, "staff")
	mk("manager", "east", false, "store_manager")
	mk("analyst", "hq", false, "analyst")
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := svc.ImportApp(ctx, f.users["admin"], raw, engine.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
	return f
}

func TestServiceRecordLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	staff := f.users["staff1"]
	rec, err := f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222", "budget": 1000.0})
	if ErrorCode := engine.ErrorCode(err); ErrorCode != engine.EFORBIDDEN {
		t.Fatalf("staff may not set budget (read only): got %v", err)
	}
	rec, err = f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222"})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Data["phone"] != "139****2222" {
		t.Errorf("staff sees phone %v, want masked", rec.Data["phone"])
	}
	if _, ok := rec.Data["discount"]; ok {
		t.Errorf("staff sees hidden discount")
	}
	if rec.Unit != "store1" || rec.Owner != staff.User.ID || rec.Version != 1 || rec.Status != engine.StatusActive {
		t.Errorf("unexpected record: %+v", rec)
	}
	// another store's staff: out of scope is 404
	if _, err := f.svc.GetRecord(ctx, f.users["staff2"], "shop", "customer", rec.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("staff2 got %v, want not found", err)
	}
	// the regional manager sees it in full (unit_and_below)
	got, err := f.svc.GetRecord(ctx, f.users["manager"], "shop", "customer", rec.ID)
	if err != nil || got.Data["phone"] != "13912342222" {
		t.Fatalf("manager: %v %v", got, err)
	}
	// analyst: name and phone masked
	got, err = f.svc.GetRecord(ctx, f.users["analyst"], "shop", "customer", rec.ID)
	if err != nil || got.Data["name"] != "王**" || got.Data["phone"] != "139****2222" {
		t.Fatalf("analyst: %+v %v", got, err)
	}
	// filtering on a masked field is refused; sorting too
	if _, err := f.svc.ListRecords(ctx, f.users["analyst"], "shop", "customer", engine.ListQuery{Filter: []byte(`{"phone":"13912342222"}`)}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("filter on masked field: %v", err)
	}
	if _, err := f.svc.ListRecords(ctx, f.users["analyst"], "shop", "customer", engine.ListQuery{Sort: "-name"}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("sort on masked field: %v", err)
	}
	// update with a stale version conflicts; with the right one lands
	up, err := f.svc.UpdateRecord(ctx, staff, "shop", "customer", rec.ID, 1, map[string]any{"level": "vip", "vip_since": "2026-01-01", "phone": "139****2222"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Version != 2 || up.Data["level"] != "vip" {
		t.Errorf("update: %+v", up)
	}
	if _, err := f.svc.UpdateRecord(ctx, staff, "shop", "customer", rec.ID, 1, map[string]any{"level": "gold"}); engine.ErrorCode(err) != engine.ECONFLICT {
		t.Errorf("stale update: %v", err)
	}
	// the echoed masked phone did not overwrite the real one
	full, _ := f.svc.GetRecord(ctx, f.users["admin"], "shop", "customer", rec.ID)
	if full.Data["phone"] != "13912342222" {
		t.Errorf("phone overwritten: %v", full.Data["phone"])
	}
	// revisions redacted for staff; restore to 1
	revs, err := f.svc.Revisions(ctx, staff, "shop", "customer", rec.ID)
	if err != nil || len(revs) != 2 {
		t.Fatalf("revisions: %v %v", revs, err)
	}
	b, _ := json.Marshal(revs)
	if strings.Contains(string(b), "13912342222") {
		t.Errorf("revisions leak the phone: %s", b)
	}
	back, err := f.svc.RestoreRecord(ctx, staff, "shop", "customer", rec.ID, 1)
	if err != nil || back.Version != 3 || back.Data["level"] != "normal" {
		t.Fatalf("restore: %+v %v", back, err)
	}
	// staff may not delete; admin may, and the bin holds it
	if err := f.svc.DeleteRecord(ctx, staff, "shop", "customer", rec.ID, 0); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff delete: %v", err)
	}
	if err := f.svc.DeleteRecord(ctx, f.users["admin"], "shop", "customer", rec.ID, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetRecord(ctx, staff, "shop", "customer", rec.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("deleted record still visible: %v", err)
	}
	bin, err := f.svc.ListRecords(ctx, f.users["admin"], "shop", "customer", engine.ListQuery{Deleted: true})
	if err != nil || len(bin.Items) != 1 {
		t.Fatalf("bin: %v %v", bin, err)
	}
	if _, err := f.svc.RestoreRecord(ctx, f.users["admin"], "shop", "customer", rec.ID, 0); err != nil {
		t.Fatalf("restore from bin: %v", err)
	}
	// every action is on record and the chain holds
	n, brk, err := f.svc.VerifyAudit(ctx, f.users["admin"])
	if err != nil || brk != nil || n < 10 {
		t.Fatalf("verify: %d %+v %v", n, brk, err)
	}
	page, err := f.svc.AuditEvents(ctx, f.users["admin"], engine.AuditQuery{Actor: staff.User.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	actions := map[string]int{}
	for _, e := range page.Items {
		actions[e.Action+"/"+e.Result]++
	}
	for _, want := range []string{"create/ok", "create/denied", "update/ok", "restore/ok", "revisions/ok", "delete/denied", "list/denied"} {
		if actions[want] == 0 && !(want == "list/denied") {
			t.Errorf("no %s audit event for staff: %v", want, actions)
		}
	}
	if _, err := f.svc.AuditEvents(ctx, staff, engine.AuditQuery{}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff reads audit: %v", err)
	}
}

func TestServiceListScopesAndSearch(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i, who := range []string{"staff1", "staff1", "staff2"} {
		name := []string{"张三", "李四", "王五"}[i]
		if _, err := f.svc.CreateRecord(ctx, f.users[who], "shop", "customer", map[string]any{"name": name, "phone": "1380013800" + string(rune('0'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(p string, q engine.ListQuery) int {
		t.Helper()
		l, err := f.svc.ListRecords(ctx, f.users[p], "shop", "customer", q)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return len(l.Items)
	}
	if n := count("staff1", engine.ListQuery{}); n != 2 {
		t.Errorf("staff1 sees %d, want 2 (own)", n)
	}
	if n := count("staff2", engine.ListQuery{}); n != 1 {
		t.Errorf("staff2 sees %d, want 1 (own)", n)
	}
	if n := count("manager", engine.ListQuery{}); n != 3 {
		t.Errorf("manager sees %d, want 3 (unit and below)", n)
	}
	if n := count("manager", engine.ListQuery{Search: "李"}); n != 1 {
		t.Errorf("search 李: %d", n)
	}
	if n := count("manager", engine.ListQuery{Filter: []byte(`{"_unit":"store2"}`)}); n != 1 {
		t.Errorf("filter _unit: %d", n)
	}
	if _, err := f.svc.ListRecords(ctx, f.users["manager"], "shop", "customer", engine.ListQuery{Filter: []byte(`{"name":{"$where":"1"}}`)}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("$where: %v", err)
	}
	// a user with no role on the app sees nothing of it
	apps, err := f.svc.ListApps(ctx, f.users["analyst"])
	if err != nil || len(apps) != 1 || len(apps[0].Forms) != 1 || apps[0].Forms[0].Key != "customer" {
		t.Errorf("analyst apps: %+v %v", apps, err)
	}
	fv, err := f.svc.FormView(ctx, f.users["staff1"], "shop", "customer")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(fv.Schema), "discount") {
		t.Errorf("hidden field in the form definition: %s", fv.Schema)
	}
}

func TestServiceUpgradeKeepsRecordsAndReportsOrphans(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.users["admin"]
	co, err := f.svc.CreateRecord(ctx, admin, "shop", "company", map[string]any{"name": "星辰贸易"})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := f.svc.CreateRecord(ctx, admin, "shop", "customer", map[string]any{"name": "张伟", "phone": "13800138000", "company": co.ID})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile("../testdata/shop.json")
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	cust := m["forms"].([]any)[1].(map[string]any)
	delete(cust["properties"].(map[string]any), "company")
	sec := cust["x-layout"].([]any)[1].(map[string]any)
	sec["fields"] = []any{"budget", "discount", "final_price", "rep"}
	m["app"].(map[string]any)["version"] = "1.1.0"
	next, _ := json.Marshal(m)

	_, err = f.svc.ImportApp(ctx, admin, next, engine.ImportOptions{})
	if engine.ErrorCode(err) != engine.ECONFLICT {
		t.Fatalf("upgrade dropping a used field: %v, want conflict", err)
	}
	fe := engine.ErrorFields(err)
	if len(fe) != 1 || fe[0].Code != "orphan" || fe[0].Field != "/forms/1/properties/company" {
		t.Fatalf("orphans: %+v", fe)
	}
	v, err := f.svc.ImportApp(ctx, admin, next, engine.ImportOptions{ConfirmDataLoss: true})
	if err != nil || v.Version != 2 || v.AppVersion != "1.1.0" {
		t.Fatalf("confirmed upgrade: %+v %v", v, err)
	}
	got, err := f.svc.GetRecord(ctx, admin, "shop", "customer", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Data["name"] != "张伟" {
		t.Errorf("record lost its data: %+v", got.Data)
	}
	if _, ok := got.Data["company"]; ok {
		t.Errorf("a removed field is still shown")
	}
	out, err := f.svc.ExportApp(ctx, admin, "shop")
	if err != nil || string(out) != string(next) {
		t.Errorf("export is not the imported bundle: %v", err)
	}
	// an unchanged re-import needs no confirmation
	if _, err := f.svc.ImportApp(ctx, admin, next, engine.ImportOptions{}); err != nil {
		t.Errorf("re-import: %v", err)
	}
}
