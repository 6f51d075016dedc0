package servicetest_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

func TestPolicyHolds(t *testing.T) {
	mon10 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // a Monday
	for _, tc := range []struct {
		name string
		pol  *engine.AccessPolicy
		now  time.Time
		ip   string
		want bool
	}{
		{"no policy", nil, mon10, "", true},
		{"in hours", &engine.AccessPolicy{Hours: "09:00-21:00"}, mon10, "", true},
		{"before hours", &engine.AccessPolicy{Hours: "09:00-21:00"}, mon10.Add(-2 * time.Hour), "", false},
		{"at end", &engine.AccessPolicy{Hours: "09:00-21:00"}, mon10.Add(11 * time.Hour), "", false},
		{"night shift", &engine.AccessPolicy{Hours: "22:00-06:00"}, mon10.Add(-7 * time.Hour), "", true},
		{"night shift day", &engine.AccessPolicy{Hours: "22:00-06:00"}, mon10, "", false},
		{"weekday", &engine.AccessPolicy{Weekdays: []int{1, 2, 3, 4, 5}}, mon10, "", true},
		{"sunday", &engine.AccessPolicy{Weekdays: []int{1, 2, 3, 4, 5}}, mon10.Add(-24 * time.Hour), "", false},
		{"store network", &engine.AccessPolicy{IP: []string{"10.1.0.0/16"}}, mon10, "10.1.2.3", true},
		{"with port", &engine.AccessPolicy{IP: []string{"10.1.0.0/16"}}, mon10, "10.1.2.3:5555", true},
		{"outside", &engine.AccessPolicy{IP: []string{"10.1.0.0/16"}}, mon10, "192.168.1.1", false},
		{"no address", &engine.AccessPolicy{IP: []string{"10.1.0.0/16"}}, mon10, "", false},
		{"v6", &engine.AccessPolicy{IP: []string{"2001:db8::/32"}}, mon10, "2001:db8::1", true},
	} {
		got, why := engine.PolicyHolds(tc.pol, tc.now, tc.ip)
		if got != tc.want {
			t.Errorf("%s: got %v (%s), want %v", tc.name, got, why, tc.want)
		}
		if !got && why == "" {
			t.Errorf("%s: no reason", tc.name)
		}
	}
}

// withPolicy returns shop.json with a policy on the staff role.
func withPolicy(tb testing.TB, pol string) string {
	tb.Helper()
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatal(err)
	}
	var p any
	if err := json.Unmarshal([]byte(pol), &p); err != nil {
		tb.Fatal(err)
	}
	for _, r := range doc["roles"].([]any) {
		if rm := r.(map[string]any); rm["key"] == "staff" {
			rm["policy"] = p
		}
	}
	out, _ := json.Marshal(doc)
	return string(out)
}

func TestRolePolicyInAccess(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers[:1]})
	ctx := context.Background()
	admin, staff := f.users["admin"], f.users["staff1"]
	if _, err := f.svc.ImportApp(ctx, admin, []byte(withPolicy(t, `{"hours": "09:00-21:00", "ip": ["10.1.0.0/16"]}`)), engine.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	rec, err := f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222"})
	if err != nil {
		t.Fatalf("in hours, from the store network: %v", err)
	}
	away := &engine.Principal{User: staff.User, IP: "203.0.113.9"}
	if _, err := f.svc.GetRecord(ctx, away, "shop", "customer", rec.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("from outside the store network: %v, want not found", err)
	}
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(13 * time.Hour) // 22:00 UTC
	f.clock.mu.Unlock()
	if _, err := f.svc.GetRecord(ctx, staff, "shop", "customer", rec.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("after hours: %v, want not found", err)
	}
	cst := engine.NewService(f.store, f.org, engine.ServiceOptions{Clock: f.clock.Now, TimeZone: time.FixedZone("CST", 8*3600)}) // 06:00 the next day in the org's zone: still outside
	defer cst.Close()
	if _, err := cst.GetRecord(ctx, staff, "shop", "customer", rec.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("after hours (org zone): %v, want not found", err)
	}
	page, err := f.svc.AuditEvents(ctx, admin, engine.AuditQuery{Action: "access.policy", Limit: 10})
	if err != nil || len(page.Items) < 2 {
		t.Fatalf("policy denials audited: %v %v", page, err)
	}
	if r := page.Items[0].Reason; !strings.Contains(r, "outside hours 09:00-21:00") || page.Items[0].Result != engine.ResultDenied {
		t.Errorf("audit reason %q", r)
	}
}

func TestTemporaryGrant(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers})
	ctx := context.Background()
	admin, staff, analyst := f.users["admin"], f.users["staff1"], f.users["analyst"]
	rec, err := f.svc.CreateRecord(ctx, f.users["staff2"], "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222"})
	if err != nil {
		t.Fatal(err)
	}
	// staff1 may not see a store2 customer; the analyst sees the phone masked
	if _, err := f.svc.GetRecord(ctx, staff, "shop", "customer", rec.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Fatalf("before the grant: %v", err)
	}
	if _, err := f.svc.CreateGrant(ctx, staff, engine.NewGrant{User: staff.User.ID, App: "shop", Form: "customer", Ops: []string{"read"}, Scope: "all",
		Reason: "x", ExpiresAt: f.clock.Now().Add(time.Hour)}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff grants themselves: %v", err)
	}
	if _, err := f.svc.CreateGrant(ctx, admin, engine.NewGrant{User: "staff1@example.com", App: "shop", Form: "customer", Ops: []string{"read"}, Scope: "all",
		ExpiresAt: f.clock.Now().Add(time.Hour)}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("grant without a reason: %v", err)
	}
	g, err := f.svc.CreateGrant(ctx, admin, engine.NewGrant{User: "staff1@example.com", App: "shop", Form: "customer", Ops: []string{"read"}, Scope: "unit_and_below",
		Reason: "cover for store 2 today", ExpiresAt: f.clock.Now().Add(8 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	_ = g
	// staff1's unit is store1: unit_and_below from store1 still excludes store2
	if _, err := f.svc.GetRecord(ctx, staff, "shop", "customer", rec.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("grant scope is the grantee's: %v", err)
	}
	g2, err := f.svc.CreateGrant(ctx, admin, engine.NewGrant{User: analyst.User.ID, App: "shop", Form: "customer", Fields: map[string]string{"phone": "read"}, Scope: "all",
		Reason: "call back the customer", ExpiresAt: f.clock.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.GetRecord(ctx, analyst, "shop", "customer", rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]any{"name": "王**", "phone": "13912342222"}, map[string]any{"name": got.Data["name"], "phone": got.Data["phone"]}); diff != "" {
		t.Errorf("with the grant (-want +got):\n%s", diff)
	}
	// expiry is checked at read time, before any job ran
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(time.Hour + time.Second)
	f.clock.mu.Unlock()
	got, err = f.svc.GetRecord(ctx, analyst, "shop", "customer", rec.ID)
	if err != nil || got.Data["phone"] != "139****2222" {
		t.Errorf("after expiry: %v %v", got, err)
	}
	// the scheduled job revokes it (and running twice is harmless)
	jobs, err := f.raw.FindOutbox(ctx, f.clock.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var ran int
	for _, j := range jobs {
		if j.Type == engine.JobGrantExpire && strings.HasSuffix(j.ID, g2.ID) {
			for range 2 {
				if err := f.svc.HandleGrantExpireJob(ctx, j); err != nil {
					t.Fatal(err)
				}
			}
			ran++
		}
	}
	if ran != 1 {
		t.Fatalf("expiry job of %s: %d found among %d due", g2.ID, ran, len(jobs))
	}
	gs, err := f.svc.ListGrants(ctx, admin, analyst.User.Email)
	if err != nil || len(gs) != 1 || gs[0].RevokedAt == nil {
		t.Fatalf("grants after the job: %+v %v", gs, err)
	}
	page, err := f.svc.AuditEvents(ctx, admin, engine.AuditQuery{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range page.Items {
		if strings.HasPrefix(e.Action, "grant.") {
			seen[e.Action+"/"+e.Result]++
		}
	}
	for _, want := range []string{"grant.create/ok", "grant.create/denied", "grant.use/ok", "grant.expire/ok"} {
		if seen[want] == 0 {
			t.Errorf("no %s audit event: %v", want, seen)
		}
	}
	if seen["grant.expire/ok"] != 1 {
		t.Errorf("expiry audited %d times, want 1", seen["grant.expire/ok"])
	}
}

// Freezing through one node takes effect at once on another node sharing the store.
func TestFreezeAcrossNodes(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers[:1]})
	ctx := context.Background()
	staff := f.users["staff1"]
	rec, err := f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222"})
	if err != nil {
		t.Fatal(err)
	}
	// node 2: its own store handle on the same database file, its own Org and Service
	st2, err := sqlite.Open(filepath.Join(f.dir, "formwork.db"), sqlite.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	org2 := engine.NewOrg(st2, f.clock.Now)
	node2 := engine.NewService(st2, org2, engine.ServiceOptions{Clock: f.clock.Now})
	defer node2.Close()
	if _, err := node2.GetRecord(ctx, staff, "shop", "customer", rec.ID); err != nil {
		t.Fatalf("node 2 before the freeze: %v", err)
	}
	if _, err := f.org.Freeze(ctx, engine.AuditActor{ID: f.users["admin"].User.ID}, staff.User.ID); err != nil {
		t.Fatal(err)
	}
	// the principal still carries the user as loaded before the freeze
	for name, svc := range map[string]*engine.Service{"node 1": f.svc, "node 2": node2} {
		if _, err := svc.GetRecord(ctx, staff, "shop", "customer", rec.ID); engine.ErrorCode(err) != engine.ELOCKED {
			t.Errorf("%s get: %v, want locked", name, err)
		}
		if _, err := svc.ListRecords(ctx, staff, "shop", "customer", engine.ListQuery{}); engine.ErrorCode(err) != engine.ELOCKED {
			t.Errorf("%s list: %v, want locked", name, err)
		}
		if _, err := svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "x", "phone": "13912342223"}); engine.ErrorCode(err) != engine.ELOCKED {
			t.Errorf("%s create: %v, want locked", name, err)
		}
	}
}

// TestQuestionsWriteNothing: explaining a user's access and listing the
// apps one may use answer questions, so neither writes an audit event in
// the user's name (a grant's use is audited when the grant is used); a
// read through the grant is audited as grant.use.
func TestQuestionsWriteNothing(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers})
	ctx := context.Background()
	admin, analyst := f.users["admin"], f.users["analyst"]
	rec, err := f.svc.CreateRecord(ctx, f.users["staff2"], "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CreateGrant(ctx, admin, engine.NewGrant{User: analyst.User.ID, App: "shop", Form: "customer", Fields: map[string]string{"phone": "read"}, Scope: "all",
		Reason: "call back the customer", ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	uses := func() int {
		t.Helper()
		page, err := f.svc.AuditEvents(ctx, admin, engine.AuditQuery{Actor: analyst.User.ID, Action: "grant.use", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Items)
	}
	ex, err := f.svc.Explain(ctx, admin, analyst.User.ID, "shop", "customer", rec.ID, "phone", "")
	if err != nil {
		t.Fatal(err)
	}
	if ex.FieldPerm != engine.PermRead {
		t.Fatalf("explain: phone is %q, want read through the grant", ex.FieldPerm)
	}
	if n := uses(); n != 0 {
		t.Errorf("explain wrote %d grant.use events in the analyst's name, want 0", n)
	}
	if _, err := f.svc.ListApps(ctx, analyst); err != nil {
		t.Fatal(err)
	}
	if n := uses(); n != 0 {
		t.Errorf("listing the apps wrote %d grant.use events, want 0", n)
	}
	if _, err := f.svc.GetRecord(ctx, analyst, "shop", "customer", rec.ID); err != nil {
		t.Fatal(err)
	}
	if n := uses(); n != 1 {
		t.Errorf("a read through the grant wrote %d grant.use events, want 1", n)
	}
}
