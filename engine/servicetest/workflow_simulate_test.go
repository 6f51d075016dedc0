package servicetest_test

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/workflow"
)

// TestSimulateWorkflow: the shop's discount approval, simulated on sample
// values of an unpublished bundle: the trigger, the branch a big discount
// takes, who each step reaches, what the action sets; nothing written.
func TestSimulateWorkflow(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers})
	ctx := context.Background()
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := engine.LoadBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	manager, hq := f.users["manager"].User, f.users["hqadmin"].User
	if _, err := f.org.UpdateUnitHead(ctx, engine.AuditActor{ID: engine.SystemActor}, "store1", manager.ID); err != nil {
		t.Fatal(err)
	}
	submitter, _, err := f.svc.PreviewUser(ctx, b, engine.PreviewSubject{User: "staff1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	data := func(discount float64) map[string]any {
		return map[string]any{"name": "王小明", "phone": "13912345678", "level": "normal", "budget": 1000.0, "discount": discount, "rep": manager.ID}
	}
	type step struct {
		Node   string
		Users  []string
		Branch int
	}
	brief := func(sim *workflow.Simulation) []step {
		var out []step
		for _, s := range sim.Steps {
			st := step{Node: s.Node, Branch: -2}
			for _, u := range s.Users {
				st.Users = append(st.Users, u.Name)
			}
			if s.Branch != nil {
				st.Branch = *s.Branch
			}
			out = append(out, st)
		}
		return out
	}
	big, err := workflow.Simulate(ctx, f.svc, b, "discount_approval", submitter, data(0.4))
	if err != nil {
		t.Fatal(err)
	}
	want := []step{
		{Node: "manager", Users: []string{manager.Name}, Branch: -2},
		{Node: "route", Branch: 0},
		{Node: "hq", Users: []string{hq.Name}, Branch: -2},
		{Node: "tell_rep", Users: []string{manager.Name}, Branch: -2},
		{Node: "mark", Branch: -2},
	}
	if diff := cmp.Diff(want, brief(big)); !big.Starts || diff != "" {
		t.Errorf("a 40%% discount (starts %v) (-want +got):\n%s", big.Starts, diff)
	}
	if s := big.Steps[2]; s.Mode != workflow.ModeAll {
		t.Errorf("hq step mode %q, want all (会签)", s.Mode)
	}
	if s := big.Steps[4]; len(s.Sets) != 1 || s.Sets[0] != "level" {
		t.Errorf("action sets %v", s.Sets)
	}
	small, err := workflow.Simulate(ctx, f.svc, b, "discount_approval", submitter, data(0.2))
	if err != nil {
		t.Fatal(err)
	}
	if got := brief(small); len(got) != 4 || got[1].Branch != 1 || got[2].Node != "tell_rep" {
		t.Errorf("a 20%% discount takes the else branch: %+v", got)
	}
	none, err := workflow.Simulate(ctx, f.svc, b, "discount_approval", submitter, data(0.05))
	if err != nil || none.Starts || len(none.Steps) != 0 {
		t.Errorf("a 5%% discount starts nothing: %+v %v", none, err)
	}
	// nobody heads store2: its staff's approval would go to the administrators
	other, _, err := f.svc.PreviewUser(ctx, b, engine.PreviewSubject{Role: "staff", Unit: "store2"})
	if err != nil {
		t.Fatal(err)
	}
	esc, err := workflow.Simulate(ctx, f.svc, b, "discount_approval", other, data(0.2))
	if err != nil || !esc.Steps[0].Escalated || len(esc.Steps[0].Users) != 1 || esc.Steps[0].Users[0].ID != f.users["admin"].User.ID {
		t.Errorf("no unit head: %+v %v", esc, err)
	}
	if _, err := workflow.Simulate(ctx, f.svc, b, "nope", submitter, data(0.4)); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("unknown workflow: %v", err)
	}
	n, err := f.store.CountDocs(ctx, engine.DocQuery{Kind: workflow.KindWorkflowInstance})
	if err != nil || n != 0 {
		t.Errorf("simulations started %d instances (%v)", n, err)
	}
}
