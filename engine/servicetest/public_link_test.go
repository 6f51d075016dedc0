package servicetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// TestPublicLink runs a public form link through the service on SQLite
// and, when FORMWORK_MONGO_URI is set, MongoDB, behind the encrypting
// store: the public fills the owner's creatable fields minus files,
// pickers and unallowed sensitive ones; a submission is the owner's record
// in the link's unit; a form token works once and expires; a field the
// public may not fill is refused; a frozen owner or a revoked link makes
// the link gone.
func TestPublicLink(t *testing.T) {
	for _, backend := range []string{"sqlite", "mongo"} {
		t.Run(backend, func(t *testing.T) {
			f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers[:1], Encrypt: true, Mongo: backend == "mongo"})
			testPublicLink(t, f)
		})
	}
}

func testPublicLink(t *testing.T, f *accessFixture) {
	ctx := context.Background()
	admin, staff := f.users["admin"], f.users["staff1"]
	if _, err := f.svc.CreatePublicLink(ctx, staff, "shop", "customer", engine.PublicLinkInput{}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Fatalf("staff made a link: %v", err)
	}
	l, err := f.svc.CreatePublicLink(ctx, admin, "shop", "customer", engine.PublicLinkInput{Owner: "staff1@example.com", Unit: "store1", Sensitive: []string{"name", "phone"}})
	if err != nil {
		t.Fatal(err)
	}
	pf, err := f.svc.OpenPublicForm(ctx, l.Token, "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	// staff: budget read, discount hidden; rep, company and contacts read
	// stored data or hold a sensitive column
	if diff := cmp.Diff([]string{"name", "phone", "level", "vip_since", "final_price"}, engine.PublicFieldKeys(pf.View)); diff != "" {
		t.Errorf("public fields (-want +got):\n%s", diff)
	}
	submit := func(ft string, data map[string]any) (string, error) {
		return f.svc.SubmitPublic(ctx, engine.PublicSubmission{Token: l.Token, FormToken: ft, Work: engine.SolveWork(ft), IP: "198.51.100.1", Data: data})
	}
	if _, err := submit(pf.FormToken, map[string]any{"name": "乔峰", "phone": "13600001111", "budget": 5}); engine.ErrorCode(err) != engine.EFORBIDDEN || len(engine.ErrorFields(err)) != 1 {
		t.Errorf("a field the public may not fill: %v", err)
	}
	id, err := submit(pf.FormToken, map[string]any{"name": "乔峰", "phone": "13600001111", "level": "normal"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.store.FindRecordByID(ctx, "shop", "customer", id, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Unit != "store1" || r.Owner != staff.User.ID || r.CreatedBy != engine.PublicActor(l.ID) || r.Data["phone"] != "13600001111" {
		t.Errorf("record unit %s owner %s created by %s phone %v", r.Unit, r.Owner, r.CreatedBy, r.Data["phone"])
	}
	if _, err := submit(pf.FormToken, map[string]any{"name": "乔峰", "phone": "13600001111"}); engine.ErrorCode(err) != engine.ECONFLICT {
		t.Errorf("the same form token again: %v", err)
	}
	pf2, err := f.svc.OpenPublicForm(ctx, l.Token, "198.51.100.1")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(engine.PublicFormTTL + time.Minute)
	f.clock.mu.Unlock()
	if _, err := submit(pf2.FormToken, map[string]any{"name": "乔峰", "phone": "13600001111"}); engine.ErrorCode(err) != engine.EGONE {
		t.Errorf("an expired form token: %v", err)
	}
	if _, err := f.org.Freeze(ctx, engine.AuditActor{ID: engine.SystemActor}, staff.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.OpenPublicForm(ctx, l.Token, ""); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("the link of a frozen owner: %v", err)
	}
	if err := f.svc.RevokePublicLink(ctx, admin, "shop", "customer"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.OpenPublicForm(ctx, l.Token, ""); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("a revoked link: %v", err)
	}
	ev, err := f.store.FindAuditEvents(ctx, engine.AuditQuery{Actor: engine.PublicActor(l.ID)})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range ev.Items {
		got[e.Action+"/"+e.Result]++
		if e.IP != "198.51.100.1" {
			t.Errorf("%s audited from %q", e.Action, e.IP)
		}
	}
	if diff := cmp.Diff(map[string]int{"create/ok": 1, "public.submit/denied": 3}, got); diff != "" {
		t.Errorf("audit of the link's submissions (-want +got):\n%s", diff)
	}
}
