package servicetest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/workflow"
)

// TestGrantRequestThroughWorkflow: a clerk (own scope) asks for read
// access to every request for a week; the task reaches the administrators
// (nobody holds access_approver), the admin approves, the grant plugin job
// (delivered twice) creates exactly one grant as the approver, audited,
// and the clerk then reads a colleague's record. A rejected request grants
// nothing; bad requests are refused with their fields.
func TestGrantRequestThroughWorkflow(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()
	clerk, admin := e.users["clerk"], e.users["admin"]
	other := e.submit(t, "clerk2", map[string]any{"kind": "none", "title": "colleague's"})
	if _, err := e.svc.GetRecord(ctx, clerk, "wft", "req", other.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Fatalf("before the grant the clerk reads another's record: %v", err)
	}

	week := e.clock.Now().Add(7 * 24 * time.Hour)
	for name, in := range map[string]workflow.GrantRequestInput{
		"no reason":             {App: "wft", Form: "req", Ops: []string{"read"}, Scope: "all", ExpiresAt: week},
		"too long":              {App: "wft", Form: "req", Ops: []string{"read"}, Scope: "all", Reason: "x", ExpiresAt: week.Add(40 * 24 * time.Hour)},
		"unknown form":          {App: "wft", Form: "nope", Ops: []string{"read"}, Scope: "all", Reason: "x", ExpiresAt: week},
		"unknown op":            {App: "wft", Form: "req", Ops: []string{"fly"}, Scope: "all", Reason: "x", ExpiresAt: week},
		"nothing asked":         {App: "wft", Form: "req", Scope: "all", Reason: "x", ExpiresAt: week},
		"bad field":             {App: "wft", Form: "req", Fields: map[string]string{"ghost": "read"}, Scope: "all", Reason: "x", ExpiresAt: week},
		"the access app itself": {App: workflow.AccessApp, Form: workflow.AccessRequestForm, Ops: []string{"read"}, Scope: "all", Reason: "x", ExpiresAt: week},
	} {
		if _, err := e.wf.RequestGrant(ctx, clerk, in); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}

	req, err := e.wf.RequestGrant(ctx, clerk, workflow.GrantRequestInput{App: "wft", Form: "req", Ops: []string{"read"}, Scope: "all",
		Reason: "month-end audit", ExpiresAt: week})
	if err != nil {
		t.Fatal(err)
	}
	if req.Status != engine.StatusInReview {
		t.Fatalf("request status %s", req.Status)
	}
	diff(t, "approvers", []string{"admin"}, e.open(t, req.ID))
	mine, err := e.wf.GrantRequests(ctx, clerk)
	if err != nil || len(mine) != 1 || mine[0].ID != req.ID || mine[0].Reason != "month-end audit" {
		t.Fatalf("own requests: %+v %v", mine, err)
	}
	if theirs, _ := e.wf.GrantRequests(ctx, e.users["clerk2"]); len(theirs) != 0 {
		t.Errorf("another user's requests: %+v", theirs)
	}
	// the approver sees the request on the task page
	d, err := e.wf.Task(ctx, admin, e.task(t, "admin", req.ID).ID)
	if err != nil || d.Record.Data["reason"] != "month-end audit" || d.Record.Data["scope"] != "all" {
		t.Fatalf("task detail: %+v %v", d, err)
	}
	e.act(t, "admin", req.ID, workflow.ActionApprove, workflow.TaskInput{Comment: "ok for a week"})
	if n := e.runDue(t, true); n == 0 {
		t.Fatal("no plugin job ran")
	}
	grants, err := e.svc.ListGrants(ctx, admin, clerk.User.ID)
	if err != nil || len(grants) != 1 {
		t.Fatalf("grants after approval (job delivered twice): %+v %v", grants, err)
	}
	g := grants[0]
	if g.GrantedBy != admin.User.ID || g.Scope != "all" || !strings.Contains(g.Reason, req.ID) || !g.ExpiresAt.Equal(week.UTC().Truncate(time.Second)) {
		t.Errorf("grant: %+v", g)
	}
	if got, err := e.store.FindRecordByID(ctx, workflow.AccessApp, workflow.AccessRequestForm, req.ID, false); err != nil || got.Status != engine.StatusApproved || got.Data["grant"] != g.ID {
		t.Errorf("request after approval: %+v %v", got, err)
	}
	if _, err := e.svc.GetRecord(ctx, clerk, "wft", "req", other.ID); err != nil {
		t.Errorf("with the grant the clerk cannot read a colleague's record: %v", err)
	}
	page, err := e.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "grant.create", Limit: 10})
	if err != nil || len(page.Items) != 1 || page.Items[0].Actor != admin.User.ID || page.Items[0].Object != clerk.User.ID {
		t.Errorf("grant audit: %+v %v", page, err)
	}
	if page, err := e.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "grant.request", Limit: 10}); err != nil || len(page.Items) != 1 {
		t.Errorf("request audit: %+v %v", page, err)
	}

	// a rejected request grants nothing
	req2, err := e.wf.RequestGrant(ctx, e.users["clerk2"], workflow.GrantRequestInput{App: "wft", Form: "req", Ops: []string{"update"}, Scope: "unit",
		Reason: "cover a colleague", ExpiresAt: week})
	if err != nil {
		t.Fatal(err)
	}
	e.act(t, "admin", req2.ID, workflow.ActionReject, workflow.TaskInput{Comment: "no"})
	e.runDue(t, false)
	if grants, _ := e.svc.ListGrants(ctx, admin, e.users["clerk2"].User.ID); len(grants) != 0 {
		t.Errorf("a rejected request granted %+v", grants)
	}
}
