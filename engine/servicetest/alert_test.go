package servicetest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/workflow"
)

// waitAlerts polls until the watcher raised n alerts (it runs after the
// write, on its own goroutine).
func waitAlerts(tb testing.TB, f *fixture, n int) []*engine.Alert {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		as, err := f.svc.Alerts(context.Background(), f.users["admin"], "")
		if err != nil {
			tb.Fatal(err)
		}
		if len(as) >= n || time.Now().After(deadline) {
			return as
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func setRules(tb testing.TB, f *fixture, rules ...engine.AlertRule) {
	tb.Helper()
	if _, err := f.svc.SetAnomalySettings(context.Background(), f.users["admin"], &engine.AnomalySettings{Rules: rules}); err != nil {
		tb.Fatal(err)
	}
}

func TestAlertMassViewFreezes(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var ids []string
	for i := range 30 {
		r, err := f.svc.CreateRecord(ctx, f.users["staff1"], "shop", "customer", map[string]any{"name": fmt.Sprintf("客户%d", i), "phone": fmt.Sprintf("139%08d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	setRules(t, f, engine.AlertRule{Kind: engine.RuleMassView, Threshold: 30, Window: "PT1M", Action: engine.ActionFreeze, Roles: []string{"store_manager"}})
	m := f.users["manager"]
	for _, id := range ids {
		if _, err := f.svc.GetRecord(ctx, m, "shop", "customer", id); err != nil {
			t.Fatal(err)
		}
	}
	as := waitAlerts(t, f, 1)
	if len(as) != 1 || as[0].Rule != engine.RuleMassView || as[0].User != m.User.ID || as[0].Status != engine.AlertOpen {
		t.Fatalf("alerts = %+v, want one open mass_view alert for the manager", as)
	}
	u, err := f.org.FindUserByID(ctx, m.User.ID)
	if err != nil || !u.Frozen {
		t.Fatalf("manager frozen = %v (%v), want frozen", u != nil && u.Frozen, err)
	}
	if _, err := f.svc.SetAlertStatus(ctx, f.users["admin"], as[0].ID, engine.AlertResolved); err != nil {
		t.Fatal(err)
	}
	open, err := f.svc.Alerts(ctx, f.users["admin"], engine.AlertOpen)
	if err != nil || len(open) != 0 {
		t.Errorf("open alerts after resolve = %v, %v", open, err)
	}
	page, err := f.svc.AuditEvents(ctx, f.users["admin"], engine.AuditQuery{Action: "alert.resolve"})
	if err != nil || len(page.Items) != 1 {
		t.Errorf("alert.resolve audited %v, %v", page, err)
	}
}

func TestAlertOffHoursDoesNotFreeze(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t) // the clock reads 09:00 UTC
	setRules(t, f, engine.AlertRule{Kind: engine.RuleOffHours, Window: "P1D", Action: engine.ActionAlert, Hours: []int{10, 18}, Roles: []string{"staff"}})
	if _, err := f.svc.ListRecords(ctx, f.users["staff2"], "shop", "customer", engine.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	as := waitAlerts(t, f, 1)
	if len(as) == 0 || as[0].Rule != engine.RuleOffHours || as[0].User != f.users["staff2"].User.ID {
		t.Fatalf("alerts = %+v, want an off_hours alert for staff2", as)
	}
	if u, _ := f.org.FindUserByID(ctx, f.users["staff2"].User.ID); u.Frozen {
		t.Error("an alert-only rule froze the user")
	}
}

func TestAlertSettingsRefusedAndValidated(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := auditor(t, f)
	if _, err := f.svc.AnomalySettings(ctx, f.users["staff1"]); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff reads settings: %v, want forbidden", err)
	}
	if _, err := f.svc.SetAnomalySettings(ctx, a, &engine.AnomalySettings{}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("auditor sets settings: %v, want forbidden", err)
	}
	if _, err := f.svc.Alerts(ctx, f.users["manager"], ""); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("manager reads alerts: %v, want forbidden", err)
	}
	if _, err := f.svc.Alerts(ctx, a, engine.AlertOpen); err != nil {
		t.Errorf("auditor reads alerts: %v", err)
	}
	_, err := f.svc.SetAnomalySettings(ctx, f.users["admin"], &engine.AnomalySettings{Rules: []engine.AlertRule{
		{Kind: "bogus", Threshold: 0, Window: "1m", Action: "nuke"}}})
	var got []string
	for _, fe := range engine.ErrorFields(err) {
		got = append(got, fe.Field)
	}
	if diff := cmp.Diff([]string{"/rules/0/kind", "/rules/0/threshold", "/rules/0/window", "/rules/0/action"}, got); diff != "" {
		t.Errorf("field errors (-want +got):\n%s", diff)
	}
}

// TestAlertNotifiesAdminsAndAuditors: with the workflow runtime wired, an
// alert reaches every administrator and auditor as an in-app notification
// and nobody else.
func TestAlertNotifiesAdminsAndAuditors(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := auditor(t, f)
	w := workflow.New(f.svc, nil, workflow.Options{})
	setRules(t, f, engine.AlertRule{Kind: engine.RuleDenials, Threshold: 1, Window: "PT1H", Action: engine.ActionAlert, Roles: []string{"staff"}})
	if _, err := f.svc.AuditEvents(ctx, f.users["staff1"], engine.AuditQuery{}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Fatalf("staff reads the log: %v", err)
	}
	if as := waitAlerts(t, f, 1); len(as) != 1 {
		t.Fatalf("alerts = %v, want one", as)
	}
	for name, p := range map[string]*engine.Principal{"admin": f.users["admin"], "auditor": a, "manager": f.users["manager"]} {
		ns, err := w.Notifications(ctx, p, true, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := 1
		if name == "manager" {
			want = 0
		}
		if len(ns) != want || want == 1 && (ns[0].Kind != "alert" || ns[0].Title.Zh != "异常告警：多次被拒（1 小时内 1 次操作被拒绝）") {
			t.Errorf("%s's unread notifications = %+v, want %d alert", name, ns, want)
		}
	}
}

// TestAlertFailedLogins: wrong passwords (written by the organisation
// service, not the audit writer) are counted for the user they name.
func TestAlertFailedLogins(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	setRules(t, f, engine.AlertRule{Kind: engine.RuleFailedLogins, Threshold: 3, Window: "PT10M", Action: engine.ActionAlert})
	for range 3 {
		if _, err := f.org.Login(ctx, engine.AuditActor{IP: "203.0.113.5"}, "staff1@example.com", "wrong password"); engine.ErrorCode(err) != engine.EUNAUTHORIZED {
			t.Fatalf("wrong password: %v", err)
		}
	}
	as := waitAlerts(t, f, 1)
	if len(as) != 1 || as[0].Rule != engine.RuleFailedLogins || as[0].User != f.users["staff1"].User.ID {
		t.Fatalf("alerts = %+v, want one failed_logins alert for staff1", as)
	}
}

// TestAlertSettingsChangedOnAnotherNode: the watch keeps the rules it read
// while the settings doc's version stays the same; rules an administrator
// sets through another node (another service on the same store) hold from
// the next event on.
func TestAlertSettingsChangedOnAnotherNode(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	setRules(t, f, engine.AlertRule{Kind: engine.RuleDenials, Threshold: 1, Window: "PT1H", Action: engine.ActionAlert, Roles: []string{"staff"}})
	if _, err := f.svc.AuditEvents(ctx, f.users["staff1"], engine.AuditQuery{}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Fatalf("staff reads the audit log: %v, want forbidden", err)
	}
	if as := waitAlerts(t, f, 1); len(as) != 1 || as[0].Rule != engine.RuleDenials {
		t.Fatalf("alerts = %+v, want one denials alert (the watch has read the first rules)", as)
	}
	other := engine.NewService(f.svc.Store(), engine.NewOrg(f.svc.Store(), f.clock.Now), engine.ServiceOptions{Clock: f.clock.Now})
	defer other.Close()
	if _, err := other.SetAnomalySettings(ctx, f.users["admin"], &engine.AnomalySettings{Rules: []engine.AlertRule{
		{Kind: engine.RuleOffHours, Window: "P1D", Action: engine.ActionAlert, Hours: []int{10, 18}, Roles: []string{"staff"}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ListRecords(ctx, f.users["staff2"], "shop", "customer", engine.ListQuery{}); err != nil {
		t.Fatal(err)
	}
	as := waitAlerts(t, f, 2)
	var rules []string
	for _, a := range as {
		rules = append(rules, a.Rule+"/"+a.User)
	}
	want := engine.RuleOffHours + "/" + f.users["staff2"].User.ID
	if !slices.Contains(rules, want) {
		t.Fatalf("alerts %v, want %s: the rules set on the other node were not seen", rules, want)
	}
}
