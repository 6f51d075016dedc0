package servicetest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/totp"
)

// auditor adds a system auditor to the fixture.
func auditor(tb testing.TB, f *fixture) *engine.Principal {
	tb.Helper()
	u, err := f.org.CreateUser(context.Background(), engine.AuditActor{ID: engine.SystemActor}, engine.NewUser{Email: "auditor@example.com",
		Name: "审计员", Unit: "hq", Auditor: true, Password: "correct horse battery staple"})
	if err != nil {
		tb.Fatal(err)
	}
	return &engine.Principal{User: u, IP: "10.1.1.1"}
}

func TestAuditorAccount(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	sys := engine.AuditActor{ID: engine.SystemActor}
	for name, nu := range map[string]engine.NewUser{
		"admin too":  {Admin: true},
		"with roles": {Roles: map[string][]string{"shop": {"staff"}}},
	} {
		nu.Email, nu.Name, nu.Unit, nu.Auditor, nu.Password = "x"+strings.ReplaceAll(name, " ", "")+"@example.com", "x", "hq", true, "correct horse battery staple"
		if _, err := f.org.CreateUser(ctx, sys, nu); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("CreateUser(auditor, %s) = %v, want invalid", name, err)
		}
	}
	a := auditor(t, f)
	if _, err := f.svc.SetUserAppRoles(ctx, f.users["admin"], a.User.ID, "shop", []string{"staff"}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("giving an auditor a role = %v, want invalid", err)
	}
}

// TestAuditorReadsButChangesNothing: an auditor reads the log, a record's
// history and explain, and every write (and every record read) is refused
// and leaves the data as it was.
func TestAuditorReadsButChangesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := auditor(t, f)
	rec, err := f.svc.CreateRecord(ctx, f.users["staff1"], "shop", "customer", map[string]any{"name": "钱七", "phone": "13912347777"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetRecord(ctx, f.users["manager"], "shop", "customer", rec.ID); err != nil {
		t.Fatal(err)
	}

	page, err := f.svc.AuditEvents(ctx, a, engine.AuditQuery{Object: rec.ID, Result: engine.ResultOK})
	if err != nil || len(page.Items) == 0 {
		t.Fatalf("auditor AuditEvents = %v, %v", page, err)
	}
	hist, err := f.svc.AuditEvents(ctx, a, engine.AuditQuery{App: "shop", Form: "customer", Object: rec.ID})
	if err != nil {
		t.Fatal(err)
	}
	var who []string
	for _, e := range hist.Items {
		who = append(who, e.Action+" "+e.Actor)
	}
	if want := "view " + f.users["manager"].User.ID; !strings.Contains(strings.Join(who, ","), want) {
		t.Errorf("record history %v lacks %q", who, want)
	}
	if _, err := f.svc.Explain(ctx, a, "staff1@example.com", "shop", "customer", rec.ID, "", ""); err != nil {
		t.Errorf("auditor Explain: %v", err)
	}
	var csv bytes.Buffer
	if err := f.svc.ExportAudit(ctx, a, engine.AuditQuery{Object: rec.ID}, &csv); err != nil || !strings.Contains(csv.String(), rec.ID) {
		t.Errorf("auditor ExportAudit = %v, %q", err, csv.String())
	}
	if _, err := f.svc.AuditEvents(ctx, a, engine.AuditQuery{Result: "maybe"}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("result=maybe: %v, want invalid", err)
	}

	refused := map[string]func() error{
		"read record": func() error { _, err := f.svc.GetRecord(ctx, a, "shop", "customer", rec.ID); return err },
		"list records": func() error {
			_, err := f.svc.ListRecords(ctx, a, "shop", "customer", engine.ListQuery{})
			return err
		},
		"create record": func() error {
			_, err := f.svc.CreateRecord(ctx, a, "shop", "customer", map[string]any{"name": "x", "phone": "13900000000"})
			return err
		},
		"update record": func() error {
			_, err := f.svc.UpdateRecord(ctx, a, "shop", "customer", rec.ID, 0, map[string]any{"level": "vip"})
			return err
		},
		"delete record":  func() error { return f.svc.DeleteRecord(ctx, a, "shop", "customer", rec.ID, 0) },
		"restore record": func() error { _, err := f.svc.RestoreRecord(ctx, a, "shop", "customer", rec.ID, 1); return err },
		"purge record":   func() error { return f.svc.PurgeRecord(ctx, a, "shop", "customer", rec.ID, "") },
		"revisions":      func() error { _, err := f.svc.Revisions(ctx, a, "shop", "customer", rec.ID); return err },
		"export": func() error {
			_, err := f.svc.RequestExport(ctx, a, "shop", "customer", engine.ExportRequest{Format: "csv"}, nil)
			return err
		},
		"create user": func() error {
			_, err := f.svc.CreateUser(ctx, a, engine.NewUser{Email: "n@example.com", Name: "n", Unit: "hq", Password: "correct horse battery staple"})
			return err
		},
		"set roles": func() error {
			_, err := f.svc.SetUserAppRoles(ctx, a, "staff1@example.com", "shop", []string{"store_manager"})
			return err
		},
		"freeze": func() error { _, err := f.svc.FreezeUser(ctx, a, "staff1@example.com"); return err },
		"create unit": func() error {
			_, err := f.svc.CreateUnit(ctx, a, engine.Unit{Key: "x", Name: engine.T("x", "x"), Parent: "hq"})
			return err
		},
		"reset mfa": func() error { return f.svc.ResetMFA(ctx, a, "staff1@example.com") },
		"import app": func() error {
			_, err := f.svc.ImportApp(ctx, a, []byte(`{}`), engine.ImportOptions{})
			return err
		},
		"design": func() error { return f.svc.AuthorizeDesign(ctx, a, "shop", "draft.save") },
		"reassign": func() error {
			_, err := f.svc.StartReassign(ctx, a, "staff1@example.com", "staff2@example.com")
			return err
		},
	}
	for name, fn := range refused {
		t.Run(name, func(t *testing.T) {
			err := fn()
			if c := engine.ErrorCode(err); c != engine.EFORBIDDEN && c != engine.ENOTFOUND {
				t.Errorf("auditor %s = %v, want forbidden or not found", name, err)
			}
		})
	}
	got, err := f.svc.GetRecord(ctx, f.users["admin"], "shop", "customer", rec.ID)
	if err != nil || got.Version != 1 {
		t.Errorf("the record changed: %+v, %v", got, err)
	}
	if _, err := f.svc.AuditEvents(ctx, f.users["staff1"], engine.AuditQuery{}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff AuditEvents = %v, want forbidden", err)
	}
	if _, err := f.svc.AuditEvents(ctx, f.users["manager"], engine.AuditQuery{Object: rec.ID}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("manager AuditEvents = %v, want forbidden", err)
	}
}

func TestRecycleBin(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	staff, admin := f.users["staff1"], f.users["admin"]
	var ids []string
	for _, n := range []string{"孙一", "孙二"} {
		r, err := f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": n, "phone": "13912340000"})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteRecord(ctx, admin, "shop", "customer", r.ID, 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	bin, err := f.svc.ListRecords(ctx, admin, "shop", "customer", engine.ListQuery{Deleted: true})
	if err != nil || len(bin.Items) != 2 || bin.Items[0].DeletedBy != admin.User.ID || bin.Items[0].DeletedAt == nil {
		t.Fatalf("bin = %+v, %v", bin, err)
	}
	if err := f.svc.PurgeRecord(ctx, f.users["manager"], "shop", "customer", ids[0], ""); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("manager purge = %v, want forbidden", err)
	}
	live, err := f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "孙三", "phone": "13912340000"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.PurgeRecord(ctx, admin, "shop", "customer", live.ID, ""); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("purging a live record = %v, want not found", err)
	}
	if err := f.svc.PurgeRecord(ctx, admin, "shop", "customer", ids[0], ""); err != nil {
		t.Fatalf("admin purge: %v", err)
	}
	if _, err := f.svc.RestoreRecord(ctx, admin, "shop", "customer", ids[0], 0); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("restoring a purged record = %v, want not found", err)
	}
	page, err := f.svc.AuditEvents(ctx, admin, engine.AuditQuery{Action: "purge", Object: ids[0], Result: engine.ResultOK})
	if err != nil || len(page.Items) != 1 || page.Items[0].Actor != admin.User.ID {
		t.Errorf("purge audit = %+v, %v", page, err)
	}

	// retention: nothing is young enough to stay after 30 days
	if n, err := f.svc.PurgeExpired(ctx, 30*24*time.Hour); err != nil || n != 0 {
		t.Errorf("PurgeExpired(30 days) right away = %d, %v; want 0", n, err)
	}
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(31 * 24 * time.Hour)
	f.clock.mu.Unlock()
	// the collector's hourly run applies the retention it was scheduled with
	if err := f.svc.ScheduleBlobGC(ctx, engine.BlobGCOptions{BinRetention: 30 * 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	jobs, err := f.svc.Store().FindOutbox(ctx, f.clock.Now().Add(2*time.Hour), 10)
	if err != nil || len(jobs) != 1 || jobs[0].Type != engine.JobBlobGC {
		t.Fatalf("the collector's job: %+v, %v", jobs, err)
	}
	if err := f.svc.HandleBlobGCJob(ctx, jobs[0]); err != nil {
		t.Fatal(err)
	}
	page, err = f.svc.AuditEvents(ctx, admin, engine.AuditQuery{Action: "purge", Object: ids[1]})
	if err != nil || len(page.Items) != 1 || page.Items[0].Actor != engine.SystemActor {
		t.Errorf("the retention purge's audit: %+v, %v", page, err)
	}
	if bin, _ := f.svc.ListRecords(ctx, admin, "shop", "customer", engine.ListQuery{Deleted: true}); len(bin.Items) != 0 {
		t.Errorf("bin after retention: %d records", len(bin.Items))
	}
}

// TestPurgeAsksTheSecondFactorAgain: an administrator who enrolled a
// second factor purges only with a fresh code; one without purges at once.
func TestPurgeAsksTheSecondFactorAgain(t *testing.T) {
	ctx := context.Background()
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers})
	admin := f.users["admin"]
	var ids []string
	for _, n := range []string{"周一", "周二"} {
		r, err := f.svc.CreateRecord(ctx, admin, f.app, "customer", map[string]any{"name": n, "phone": "13912340000"})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteRecord(ctx, admin, f.app, "customer", r.ID, 0); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	code := enrolMFA(t, f, admin)
	for _, c := range []string{"", "000000"} {
		if err := f.svc.PurgeRecord(ctx, admin, f.app, "customer", ids[0], c); engine.ErrorCode(err) != engine.EUNAUTHORIZED {
			t.Errorf("purge with code %q = %v, want unauthorized", c, err)
		}
	}
	if _, err := f.store.FindRecordByID(ctx, f.app, "customer", ids[0], true); err != nil {
		t.Fatalf("a refused purge removed the record: %v", err)
	}
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(35 * time.Second) // the confirming code is spent
	f.clock.mu.Unlock()
	if err := f.svc.PurgeRecord(ctx, admin, f.app, "customer", ids[0], code()); err != nil {
		t.Fatalf("purge with a fresh code: %v", err)
	}
	if _, err := f.store.FindRecordByID(ctx, f.app, "customer", ids[0], true); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("after the purge: %v", err)
	}
}

// enrolMFA enrols p in two-factor login, confirms it with a code, and
// returns what makes the current code at the fixture's clock.
func enrolMFA(tb testing.TB, f *accessFixture, p *engine.Principal) func() string {
	tb.Helper()
	en, err := f.svc.EnrolMFA(context.Background(), p)
	if err != nil {
		tb.Fatal(err)
	}
	code := func() string {
		tb.Helper()
		c, err := totp.New().Code(en.Secret, f.clock.Now())
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	if _, err := f.svc.ConfirmMFA(context.Background(), p, code()); err != nil {
		tb.Fatal(err)
	}
	return code
}
