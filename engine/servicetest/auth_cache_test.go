package servicetest_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"formwork/engine"
)

// TestAuthenticateAcrossNodes: a second Org on the same store (another
// node) keeps what it decoded, and still answers every change made through
// the first as of the very next call — on SQLite and, when
// FORMWORK_MONGO_URI is set, on MongoDB.
func TestAuthenticateAcrossNodes(t *testing.T) {
	for _, backend := range []string{"sqlite", "mongo"} {
		t.Run(backend, func(t *testing.T) {
			f := newAccessFixture(t, fixtureOptions{Bundle: "orders.json", Units: shopUnits, Mongo: backend == "mongo",
				Users: []fixtureUser{{Name: "clerk1", Unit: "store1", Roles: []string{"clerk"}}}})
			testAuthenticateAcrossNodes(t, f)
		})
	}
}

func testAuthenticateAcrossNodes(t *testing.T, f *accessFixture) {
	ctx := context.Background()
	sys := engine.AuditActor{ID: engine.SystemActor}
	a, b := f.org, engine.NewOrg(f.store, f.clock.Now)
	clerk := f.users["clerk1"].User
	tok, _, err := a.CreateToken(ctx, sys, clerk.ID, "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	onB := func(kind, secret string) *engine.Credentials {
		t.Helper()
		c, err := b.Authenticate(ctx, kind, secret)
		if err != nil {
			t.Fatalf("authenticate on B: %v", err)
		}
		return c
	}
	refusedOnB := func(what, kind, secret string) {
		t.Helper()
		if _, err := b.Authenticate(ctx, kind, secret); engine.ErrorCode(err) != engine.ENOTFOUND {
			t.Errorf("%s: %v, want %s", what, err, engine.ENOTFOUND)
		}
	}
	first := onB(engine.KindToken, tok)
	again := onB(engine.KindToken, tok)
	if first.User.ID != clerk.ID || first.Token.UserID != clerk.ID || again.Versions != first.Versions || again.User == first.User {
		t.Fatalf("two reads on B: %+v then %+v (each call its own copy, at the same versions)", first, again)
	}

	// the user doc: roles, a reauth mark, a freeze
	if _, err := a.SetRoles(ctx, sys, clerk.ID, map[string][]string{f.app: {"clerk", "auditor"}}); err != nil {
		t.Fatal(err)
	}
	c := onB(engine.KindToken, tok)
	if len(c.User.Roles[f.app]) != 2 || c.Versions.User == first.Versions.User {
		t.Errorf("roles after the change on A: %v at %+v", c.User.Roles, c.Versions)
	}
	if _, err := a.RequireReauth(ctx, sys, clerk.ID, "test", false); err != nil {
		t.Fatal(err)
	}
	if c := onB(engine.KindToken, tok); !c.User.NeedsReauth(c.Verified()) {
		t.Error("the reauth mark made on A is not seen on B")
	}
	if _, err := a.Freeze(ctx, sys, clerk.ID); err != nil {
		t.Fatal(err)
	}
	if c := onB(engine.KindToken, tok); !c.User.Frozen {
		t.Error("the freeze made on A is not seen on B")
	}
	if _, err := a.Unfreeze(ctx, sys, clerk.ID); err != nil {
		t.Fatal(err)
	}
	refusedOnB("the token after the unfreeze revoked it", engine.KindToken, tok)

	// the epochs: a grant, a unit
	tok, _, err = a.CreateToken(ctx, sys, clerk.ID, "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := onB(engine.KindToken, tok).Versions
	if _, err := f.svc.CreateGrant(ctx, f.users["admin"], engine.NewGrant{User: clerk.ID, App: f.app, Form: "order", Ops: []string{engine.OpRead},
		Scope: engine.ScopeAll, Reason: "test", ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	afterGrant := onB(engine.KindToken, tok).Versions
	if _, err := a.CreateUnit(ctx, sys, engine.Unit{Key: "store1a", Name: engine.T("一店分部", "Store 1a"), Parent: "store1"}); err != nil {
		t.Fatal(err)
	}
	afterUnit := onB(engine.KindToken, tok).Versions
	if afterGrant.Grants == before.Grants || afterGrant.User != before.User || afterUnit.Units == afterGrant.Units || afterUnit.Grants != afterGrant.Grants {
		t.Errorf("versions: %+v, after a grant %+v, after a unit %+v", before, afterGrant, afterUnit)
	}

	// revoked, ended and expired credentials
	if err := a.DeleteToken(ctx, sys, engine.HashSecret(tok)); err != nil {
		t.Fatal(err)
	}
	refusedOnB("the token revoked on A", engine.KindToken, tok)
	sess, _, err := a.CreateSession(ctx, sys, clerk.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	onB(engine.KindSession, sess)
	if err := a.DeleteSession(ctx, sys, sess); err != nil {
		t.Fatal(err)
	}
	refusedOnB("the session ended on A", engine.KindSession, sess)
	exp := f.clock.Now().Add(time.Minute)
	short, _, err := a.CreateToken(ctx, sys, clerk.ID, "short", &exp)
	if err != nil {
		t.Fatal(err)
	}
	onB(engine.KindToken, short)
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(2 * time.Minute)
	f.clock.mu.Unlock()
	refusedOnB("the token past its expiry", engine.KindToken, short)
	refusedOnB("a wrong secret", engine.KindToken, short+"x")
}

// TestAppVersionFromAuthRead: a request in an app reads the app doc's
// version with its credential (Org.AuthenticateIn), and the service takes
// the current version from that read: a version published through
// another node is used from the next request on.
func TestAppVersionFromAuthRead(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	st := f.svc.Store()
	org := engine.NewOrg(st, f.clock.Now)
	node := engine.NewService(st, org, engine.ServiceOptions{Clock: f.clock.Now})
	defer node.Close()
	admin := f.users["admin"]
	tok, _, err := org.CreateToken(ctx, engine.AuditActor{ID: engine.SystemActor}, admin.User.ID, "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	request := func() *engine.Principal {
		t.Helper()
		c, err := org.AuthenticateIn(ctx, engine.KindToken, tok, "shop")
		if err != nil {
			t.Fatal(err)
		}
		if c.AppDoc == nil || c.AppDoc.App != "shop" || c.AppDoc.Version == 0 {
			t.Fatalf("app doc read with the credential: %+v", c.AppDoc)
		}
		return &engine.Principal{User: c.User, IP: "127.0.0.1", Auth: &c.Versions, AppDoc: c.AppDoc}
	}
	formVersion := func(p *engine.Principal) int {
		t.Helper()
		r, err := node.CreateRecord(ctx, p, "shop", "customer", map[string]any{"name": "王小明", "phone": "13912342222"})
		if err != nil {
			t.Fatal(err)
		}
		stored, err := st.FindRecordByID(ctx, "shop", "customer", r.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		return stored.FormVersion
	}
	if v := formVersion(request()); v != 1 {
		t.Fatalf("form version %d, want 1", v)
	}
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		t.Fatal(err)
	}
	next := bytes.Replace(raw, []byte(`"version": "1.0.0"`), []byte(`"version": "1.0.1"`), 1)
	if _, err := f.svc.PublishApp(ctx, admin, next, engine.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := formVersion(request()); v != 2 {
		t.Errorf("after a publish on another node: form version %d, want 2", v)
	}
	if c, err := org.Authenticate(ctx, engine.KindToken, tok); err != nil || c.AppDoc != nil {
		t.Errorf("Authenticate outside an app: app doc %+v, %v", c.AppDoc, err)
	}
}
