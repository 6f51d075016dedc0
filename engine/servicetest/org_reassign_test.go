package servicetest_test

import (
	"context"
	"sync"
	"testing"

	"formwork/engine"
)

// TestReassignOnOffboarding freezes a user, moves their records to a
// colleague through the background job, and delivers the job twice (one
// after the other, then two at once): every record moves exactly once, with
// a revision and an audit event each, and the progress ends exact.
func TestReassignOnOffboarding(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers, Encrypt: true})
	ctx := context.Background()
	admin, leaver, heir := f.users["admin"], f.users["staff1"], f.users["staff2"]
	const n = 60 // more than two batches
	var ids []string
	for i := range n {
		r, err := f.svc.CreateRecord(ctx, leaver, "shop", "customer", map[string]any{"name": "客户" + string(rune('A'+i%26)), "phone": "13912342222"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	other, err := f.svc.CreateRecord(ctx, f.users["staff3"], "shop", "customer", map[string]any{"name": "别人", "phone": "13912343333"})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := f.svc.StartReassign(ctx, leaver, leaver.User.ID, heir.User.ID); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("a non-admin starts a reassignment: %v", err)
	}
	if _, err := f.svc.StartReassign(ctx, admin, leaver.User.ID, heir.User.ID); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("reassigning an active user's records: %v", err)
	}
	if _, err := f.svc.FreezeUser(ctx, admin, leaver.User.Email); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.StartReassign(ctx, admin, leaver.User.ID, leaver.User.ID); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("reassigning to the same user: %v", err)
	}
	if c, err := f.svc.CountOwnedRecords(ctx, admin, leaver.User.ID); err != nil || c != n {
		t.Errorf("owned before: %d %v", c, err)
	}
	r, err := f.svc.StartReassign(ctx, admin, leaver.User.Email, heir.User.Email)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != n || r.Status != engine.ReassignPending || r.Percent() != 0 {
		t.Errorf("started: %+v", r)
	}
	if _, err := f.svc.StartReassign(ctx, admin, leaver.User.ID, heir.User.ID); engine.ErrorCode(err) != engine.ECONFLICT {
		t.Errorf("a second run while the first is pending: %v", err)
	}
	jobs, err := f.store.FindOutbox(ctx, f.clock.Now(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var job *engine.OutboxJob
	for i := range jobs {
		if jobs[i].Type == engine.JobReassign {
			job = &jobs[i]
		}
	}
	if job == nil {
		t.Fatalf("no %s job in the outbox: %+v", engine.JobReassign, jobs)
	}
	// two deliveries at once, then a third after they finished
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Go(func() { errs[i] = f.svc.HandleReassignJob(ctx, *job) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("delivery: %v", err)
		}
	}
	if err := f.svc.HandleReassignJob(ctx, *job); err != nil {
		t.Errorf("third delivery: %v", err)
	}
	got, err := f.svc.LatestReassignment(ctx, admin, leaver.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != engine.ReassignDone || got.Moved != n || got.Total != n || got.Percent() != 100 || got.FinishedAt == nil {
		t.Errorf("progress at the end: %+v", got)
	}
	for _, id := range ids {
		rec, err := f.store.FindRecordByID(ctx, "shop", "customer", id, false)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Owner != heir.User.ID || rec.Version != 2 || rec.Unit != "store1" {
			t.Errorf("record %s: owner %s version %d unit %s", id, rec.Owner, rec.Version, rec.Unit)
		}
		revs, err := f.store.FindRevisions(ctx, "shop", "customer", id)
		if err != nil || len(revs) != 2 || revs[1].Owner != heir.User.ID || revs[0].Owner != leaver.User.ID {
			t.Errorf("revisions of %s: %d %v", id, len(revs), err)
		}
	}
	if rec, _ := f.store.FindRecordByID(ctx, "shop", "customer", other.ID, false); rec.Owner != f.users["staff3"].User.ID || rec.Version != 1 {
		t.Errorf("someone else's record was touched: %+v", rec)
	}
	page, err := f.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "record.reassign", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, ev := range page.Items {
		seen[ev.Object]++
		if ev.Actor != admin.User.ID {
			t.Errorf("audit actor %s, want the admin who started it", ev.Actor)
		}
	}
	if len(seen) != n {
		t.Errorf("%d records audited, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("record %s audited %d times", id, c)
		}
	}
	// the heir now sees the records through the own scope
	if _, err := f.svc.GetRecord(ctx, heir, "shop", "customer", ids[0]); err != nil {
		t.Errorf("the new owner reads a moved record: %v", err)
	}
	// a new run after the first finished is allowed and moves nothing
	if _, err := f.svc.UnfreezeUser(ctx, admin, leaver.User.ID); err != nil {
		t.Fatal(err)
	}
	if u, _ := f.org.FindUserByID(ctx, leaver.User.ID); u.Frozen {
		t.Error("still frozen after unfreeze")
	}
}
