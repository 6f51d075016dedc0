package servicetest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"formwork/engine"
	"formwork/engine/store/mongo/mongotest"
	"formwork/engine/store/sqlite"
	"formwork/engine/store/teststore"
	"formwork/engine/totp"
)

// accessFixture is a Service on a real SQLite store in its own data
// directory, optionally behind the encrypting store, with a unit tree,
// users and one imported bundle.
type accessFixture struct {
	dir   string
	raw   *sqlite.Store // nil on MongoDB
	base  engine.Store  // the store under the encrypting one (raw, or MongoDB)
	store engine.Store
	svc   *engine.Service
	org   *engine.Org
	keys  *engine.Keyring
	clock *testClock
	users map[string]*engine.Principal
	app   string
}

// fixtureUser is one user of an access fixture.
type fixtureUser struct {
	Name  string
	Unit  string
	Admin bool
	Roles []string
}

type fixtureOptions struct {
	Bundle  string        // path under testdata
	Units   []engine.Unit // parents first; "hq" exists
	Users   []fixtureUser
	Encrypt bool
	// Mongo runs the fixture on a fresh database at FORMWORK_MONGO_URI
	// instead of SQLite (the test skips when none is configured).
	Mongo bool
	// PageSize is the SQLite file's (0: the store's default).
	PageSize int
}

// shopUnits is a three-level tree: hq → east → store1/store2, hq → west → store3.
var shopUnits = []engine.Unit{
	{Key: "east", Name: engine.T("华东", "East"), Parent: "hq"},
	{Key: "west", Name: engine.T("华西", "West"), Parent: "hq"},
	{Key: "store1", Name: engine.T("一店", "Store 1"), Parent: "east"},
	{Key: "store2", Name: engine.T("二店", "Store 2"), Parent: "east"},
	{Key: "store3", Name: engine.T("三店", "Store 3"), Parent: "west"},
}

func newAccessFixture(tb testing.TB, opt fixtureOptions) *accessFixture {
	tb.Helper()
	ctx := context.Background()
	f := &accessFixture{dir: tb.TempDir(), clock: &testClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}, users: map[string]*engine.Principal{}}
	var st engine.Store
	if opt.Mongo {
		if mongotest.URI() == "" {
			tb.Skip("FORMWORK_MONGO_URI is not set")
		}
		st = teststore.Mongo(tb, f.clock.Now)
	} else {
		ss, err := sqlite.Open(filepath.Join(f.dir, "formwork.db"), sqlite.Options{Now: f.clock.Now, PageSize: opt.PageSize})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { ss.Close() })
		f.raw, st = ss, ss
	}
	f.base, f.store = st, st
	if opt.Encrypt {
		master, src, err := engine.LoadMasterKey(func(string) string { return "" }, f.dir)
		if err != nil || !src.Generated {
			tb.Fatalf("master key: %v %+v", err, src)
		}
		if f.keys, err = engine.NewKeyring(st, master, f.clock.Now); err != nil {
			tb.Fatal(err)
		}
		f.store = engine.NewEncryptingStore(st, f.keys, engine.StoreForms(st))
	}
	f.org = engine.NewOrg(f.store, f.clock.Now)
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := f.org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
		tb.Fatal(err)
	}
	for _, u := range opt.Units {
		if _, err := f.org.CreateUnit(ctx, sys, u); err != nil {
			tb.Fatal(err)
		}
	}
	f.svc = engine.NewService(f.store, f.org, engine.ServiceOptions{Clock: f.clock.Now, TOTP: totp.New(), Keys: f.keys})
	tb.Cleanup(f.svc.Close)
	raw, err := os.ReadFile(filepath.Join("../testdata", opt.Bundle))
	if err != nil {
		tb.Fatal(err)
	}
	b, err := engine.LoadBundle(raw)
	if err != nil {
		tb.Fatal(err)
	}
	f.app = b.App.Key
	users := append([]fixtureUser{{Name: "admin", Unit: "hq", Admin: true}}, opt.Users...)
	for _, fu := range users {
		u, err := f.org.CreateUser(ctx, sys, engine.NewUser{Email: fu.Name + "@example.com", Name: fu.Name, Unit: fu.Unit, Admin: fu.Admin,
			Roles: map[string][]string{f.app: fu.Roles}, Password: "correct horse battery staple"})
		if err != nil {
			tb.Fatal(err)
		}
		f.users[fu.Name] = &engine.Principal{User: u, IP: "10.1.2.3"}
	}
	if _, err := f.svc.ImportApp(ctx, f.users["admin"], raw, engine.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
	return f
}
