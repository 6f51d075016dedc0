package servicetest_test

import (
	"context"
	"testing"

	"formwork/engine"
	"formwork/engine/workflow"
)

// TestWorkflowHandOverTasks: freezing a user offers to hand their open
// approval tasks to someone else, as it does their records. The tasks the
// new approver may decide move, as transfers by the administrator on the
// timeline and in the audit log; the others stay, with the reason; the
// moved ones are then decided as usual. Only administrators hand over, and
// only a frozen user's tasks.
func TestWorkflowHandOverTasks(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()
	admin := e.users["admin"]
	near := e.submit(t, "clerk", map[string]any{"kind": "ret"}) // a1: m1; the store's managers may read it
	far := e.submit(t, "clerk2", map[string]any{"kind": "any"}) // m1 or m2; store2's record, out of the store manager's scope
	diff(t, "before", []string{"m1"}, e.open(t, near.ID))

	if _, err := e.wf.HandOverTasks(ctx, admin, "m1@example.com", "mgr_s1@example.com"); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("handing over an active user's tasks: %v, want invalid", err)
	}
	if _, err := e.svc.FreezeUser(ctx, admin, "m1@example.com"); err != nil {
		t.Fatal(err)
	}
	n, err := e.wf.UserOpenTaskCount(ctx, admin, "m1@example.com")
	if err != nil || n != 2 {
		t.Errorf("open tasks of the frozen user: %d %v, want 2", n, err)
	}
	if _, err := e.wf.HandOverTasks(ctx, e.users["m2"], "m1@example.com", "mgr_s1@example.com"); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("a non-administrator handing over: %v, want forbidden", err)
	}
	for _, to := range []string{"m1@example.com", "nobody@example.com"} {
		if _, err := e.wf.HandOverTasks(ctx, admin, "m1@example.com", to); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("hand over to %s: %v, want invalid", to, err)
		}
	}

	// to the submitter of one of them: that one stays
	got, err := e.wf.HandOverTasks(ctx, admin, "m1@example.com", "clerk@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Moved) != 0 || len(got.Left) != 2 {
		t.Fatalf("to the submitter (who may not read the other record either): moved %d, left %d", len(got.Moved), len(got.Left))
	}
	// to a store manager: the store's record moves, store2's stays
	got, err = e.wf.HandOverTasks(ctx, admin, "m1@example.com", "mgr_s1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Moved) != 1 || got.Moved[0].Record != near.ID || len(got.Left) != 1 || got.Left[0].Record != far.ID ||
		got.Left[0].Reason == nil || got.Left[0].Reason.En == "" {
		t.Fatalf("to the store manager: %+v", got)
	}
	diff(t, "near after", []string{"mgr_s1"}, e.open(t, near.ID))
	diff(t, "far after", []string{"m1", "m2"}, e.open(t, far.ID))
	diff(t, "steps", []string{"start by clerk", "task a1 → m1", "transfer a1 by admin → mgr_s1"}, e.steps(t, near.ID))

	// the moved task is decided as usual
	e.act(t, "mgr_s1", near.ID, workflow.ActionApprove, workflow.TaskInput{})
	diff(t, "next step", []string{"m2"}, e.open(t, near.ID))

	page, err := e.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "workflow.transfer", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]int{}
	for _, ev := range page.Items {
		results[ev.Result]++
	}
	diff(t, "transfer audit", map[string]int{engine.ResultOK: 1, engine.ResultDenied: 3}, results)
	if page, err := e.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "workflow.handover"}); err != nil || len(page.Items) != 3 {
		t.Errorf("hand-over audit events: %v %v, want 3 (two runs, one refusal)", page, err)
	}
}
