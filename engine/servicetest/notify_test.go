package servicetest_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/workflow"
)

// TestCCReadsTheRecord: a user a CC step copied in, who holds no role in
// the app, may read that record (the page's form view too, with nothing
// to do on it) and its history, audited as a view with the CC as reason;
// they may not change or delete it, nor read another record, and before
// the CC they could not read it either.
func TestCCReadsTheRecord(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{})
	ctx := context.Background()
	m3 := e.users["m3"]
	r := e.submit(t, "clerk", map[string]any{"kind": "par", "title": "共享的申请", "amount": 50.0, "approver": m3.User.ID})
	other := e.submit(t, "clerk", map[string]any{"kind": "any", "title": "别人的申请"})
	if _, err := e.svc.GetRecord(ctx, m3, "wft", "req", r.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Fatalf("m3 reads the record before the CC: %v, want ENOTFOUND", err)
	}
	e.act(t, "m1", r.ID, workflow.ActionApprove, workflow.TaskInput{})
	e.act(t, "m2", r.ID, workflow.ActionApprove, workflow.TaskInput{})
	if !slices.Contains(e.steps(t, r.ID), "cc tell → m3") {
		t.Fatalf("no cc to m3: %v", e.steps(t, r.ID))
	}

	got, err := e.svc.GetRecord(ctx, m3, "wft", "req", r.ID)
	if err != nil {
		t.Fatalf("m3 reads the record they were CC'd on: %v", err)
	}
	diff(t, "shared record", []any{"共享的申请", 50.0}, []any{got.Data["title"], got.Data["amount"]})
	fv, err := e.svc.RecordFormView(ctx, m3, "wft", "req", r.ID)
	if err != nil {
		t.Fatalf("the record page's form for m3: %v", err)
	}
	diff(t, "operations offered", 0, len(fv.Operations))
	for k, perm := range fv.Perms {
		if perm == engine.PermEdit {
			t.Errorf("field %s is editable for a CC", k)
		}
	}
	if revs, err := e.svc.Revisions(ctx, m3, "wft", "req", r.ID); err != nil || len(revs) == 0 {
		t.Errorf("m3's history of the record: %d revisions, %v", len(revs), err)
	}
	page, err := e.store.FindAuditEvents(ctx, engine.AuditQuery{Actor: m3.User.ID, Action: "view", Object: r.ID, Limit: 10})
	if err != nil || len(page.Items) == 0 || !strings.HasPrefix(page.Items[0].Reason, "cc ") || page.Items[0].Result != engine.ResultOK {
		t.Errorf("the CC's view is not audited with its reason: %+v %v", page, err)
	}

	// reading is all a CC gives
	if _, err := e.svc.UpdateRecord(ctx, m3, "wft", "req", r.ID, got.Version, map[string]any{"title": "改了"}); err == nil {
		t.Error("a CC changed the record")
	}
	if err := e.svc.DeleteRecord(ctx, m3, "wft", "req", r.ID, got.Version); err == nil {
		t.Error("a CC deleted the record")
	}
	if rec := e.record(t, r.ID); rec.Data["title"] != "共享的申请" || rec.DeletedAt != nil {
		t.Errorf("the record changed: %v deleted %v", rec.Data["title"], rec.DeletedAt)
	}
	if _, err := e.svc.ListRecords(ctx, m3, "wft", "req", engine.ListQuery{}); err == nil {
		t.Error("a CC lists the form's records")
	}
	if _, err := e.svc.GetRecord(ctx, m3, "wft", "req", other.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("m3 reads a record they were not CC'd on: %v", err)
	}
	if _, err := e.svc.RecordFormView(ctx, m3, "wft", "req", other.ID); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("m3 opens the page of a record they were not CC'd on: %v", err)
	}
}

// TestCCSeesSensitiveFieldsMasked: the shop's CC node names no field, so
// the rep it copies in sees the customer's name and phone masked.
func TestCCSeesSensitiveFieldsMasked(t *testing.T) {
	e := newWfEnv(t, readShop(t), workflow.Options{})
	ctx := context.Background()
	mk := func(name, unit string, roles ...string) *engine.Principal {
		u := &engine.User{ID: engine.NewID(e.clock.Now()), Email: name + "@shop.example", Name: name, Unit: unit, CreatedAt: e.clock.Now()}
		if len(roles) > 0 {
			u.Roles = map[string][]string{"shop": roles}
		}
		if err := engine.PutUserRecord(ctx, e.store, u); err != nil {
			t.Fatal(err)
		}
		return &engine.Principal{User: u}
	}
	seller, head, rep := mk("seller", "store", "store_manager"), mk("head", "store", "store_manager"), mk("rep", "store2")
	if _, err := e.org.UpdateUnitHead(ctx, engine.AuditActor{ID: engine.SystemActor}, "store", head.User.ID); err != nil {
		t.Fatal(err)
	}
	c, err := e.svc.CreateRecord(ctx, seller, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222", "discount": 0.15, "rep": rep.User.ID})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := e.wf.Tasks(ctx, head, workflow.TaskQuery{Status: "open"})
	if err != nil || len(ts.Items) != 1 {
		t.Fatalf("head's tasks: %v %v", ts, err)
	}
	if _, err := e.wf.Act(ctx, head, ts.Items[0].ID, workflow.ActionApprove, workflow.TaskInput{}); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.GetRecord(ctx, rep, "shop", "customer", c.ID)
	if err != nil {
		t.Fatalf("the rep reads the customer they were CC'd on: %v", err)
	}
	raw, _ := json.Marshal(got.Data)
	if strings.Contains(string(raw), "王小明") || strings.Contains(string(raw), "13912342222") {
		t.Errorf("the CC shows sensitive values in full: %s", raw)
	}
	if got.Data["phone"] != "139****2222" {
		t.Errorf("phone %v, want it masked", got.Data["phone"])
	}
}

// TestMarkAllReadWhileDelivering: "mark all read" while the channel
// deliveries of the same notifications record themselves: both finish,
// every notification ends read and delivered.
func TestMarkAllReadWhileDelivering(t *testing.T) {
	e := newWfEnv(t, wfBundle(), workflow.Options{Channels: []string{"recorder"}})
	ctx := context.Background()
	for range 15 {
		e.submit(t, "clerk", map[string]any{"kind": "any", "title": "并发"})
	}
	jobs, err := e.store.FindOutbox(ctx, e.clock.Now().Add(time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(jobs)+1)
	for _, j := range jobs {
		if j.Type != workflow.JobNotifyDeliver {
			continue
		}
		wg.Go(func() { errs <- e.wf.HandleJob(ctx, j) })
	}
	m1 := e.users["m1"]
	wg.Go(func() { errs <- e.wf.MarkRead(ctx, m1) })
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.wf.UnreadCount(ctx, m1); err != nil || n != 0 {
		t.Errorf("m1 has %d unread after marking all read (%v)", n, err)
	}
	ns, err := e.wf.Notifications(ctx, m1, false, 100)
	if err != nil || len(ns) != 15 {
		t.Fatalf("m1's notifications: %d %v", len(ns), err)
	}
	for _, n := range ns {
		if !n.Read || !n.Delivered["recorder"] {
			t.Errorf("notification %s: read %v delivered %v", n.ID, n.Read, n.Delivered)
		}
	}
}
