package servicetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

func TestExplain(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers})
	ctx := context.Background()
	admin, staff := f.users["admin"], f.users["staff1"]
	own, err := f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.svc.CreateRecord(ctx, f.users["staff2"], "shop", "customer", map[string]any{"name": "李四", "phone": "13912343333"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Explain(ctx, staff, "staff1@example.com", "shop", "customer", own.ID, "phone", ""); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff explains: %v", err)
	}
	ex, err := f.svc.Explain(ctx, admin, "staff1@example.com", "shop", "customer", own.ID, "phone", "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		Ops      []string
		InScope  bool
		Perm     string
		Decision string
		Sources  []string
	}
	sum := func(ex *engine.Explanation) summary {
		s := summary{Ops: ex.Operations, Perm: ex.FieldPerm, Decision: ex.Decision}
		if ex.InScope != nil {
			s.InScope = *ex.InScope
		}
		for _, r := range ex.Rules {
			s.Sources = append(s.Sources, r.Source+" "+r.Scope+" "+r.Fields["phone"])
		}
		return s
	}
	want := summary{Ops: []string{"create", "read", "update"}, InScope: true, Perm: "masked",
		Decision: "record: visible through role:staff; field phone: masked", Sources: []string{"role:staff own masked"}}
	if diff := cmp.Diff(want, sum(ex)); diff != "" {
		t.Errorf("own record (-want +got):\n%s", diff)
	}
	ex, err = f.svc.Explain(ctx, admin, staff.User.ID, "shop", "customer", other.ID, "phone", "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	if ex.InScope == nil || *ex.InScope || ex.Decision != "record: not found (outside every scope); field phone: masked" {
		t.Errorf("other store's record: %+v", ex)
	}
	// a grant shows up as a rule and changes the decision
	if _, err := f.svc.CreateGrant(ctx, admin, engine.NewGrant{User: staff.User.ID, App: "shop", Form: "customer", Ops: []string{"read"},
		Fields: map[string]string{"phone": "read"}, Scope: "all", Reason: "audit", ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	ex, err = f.svc.Explain(ctx, admin, staff.User.ID, "shop", "customer", other.ID, "phone", "10.1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	got := sum(ex)
	if !got.InScope || got.Perm != "read" || len(got.Sources) != 2 || got.Sources[1][:6] != "grant:" {
		t.Errorf("with a grant: %+v", got)
	}
	// a frozen user is explained as such
	if _, err := f.org.Freeze(ctx, engine.AuditActor{ID: admin.User.ID}, staff.User.ID); err != nil {
		t.Fatal(err)
	}
	ex, err = f.svc.Explain(ctx, admin, staff.User.ID, "shop", "customer", "", "", "")
	if err != nil || !ex.Frozen {
		t.Errorf("frozen: %+v %v", ex, err)
	}
}
