package server

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"formwork/designer"
	"formwork/engine"
	"formwork/engine/store/sqlite"
	"formwork/engine/totp"
	"formwork/engine/workflow"
	"formwork/migrations"
)

// testPassword is every test user's password.
const testPassword = "correct-horse-battery"

// harness is a server on a real SQLite store in a temp dir, with the shop
// and visit apps imported and users of several kinds.
type harness struct {
	tb     testing.TB
	store  engine.Store
	dbPath string // the SQLite file, for a second node on the same store
	master []byte // the encrypting store's master key; nil: no encrypting store
	// metrics, when set, receives the HTTP metrics (Deps.Metrics)
	metrics prometheus.Registerer
	cfg     Config
	org     *engine.Org
	svc     *engine.Service
	e       *echo.Echo
	users   map[string]*engine.User
	tokens  map[string]string
}

func testConfig() Config {
	c := DefaultConfig()
	c.RateIP = RateLimit{}
	c.RateUser = RateLimit{}
	c.RateLogin = RateLimit{}
	return c
}

// base is the seeded harness every test starts from, as a SQLite file that
// each newHarness copies. It is a cache: seeding (five password hashes,
// two app imports) was most of a harness's time, and it is built once per
// test process; nothing writes to the file after that.
var base struct {
	once   sync.Once
	dir    string // removed by TestMain
	file   string // "" until built
	users  map[string]*engine.User
	tokens map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if base.dir != "" {
		_ = os.RemoveAll(base.dir)
	}
	os.Exit(code)
}

func newHarness(tb testing.TB, cfg Config) *harness {
	tb.Helper()
	base.once.Do(func() {
		dir, err := os.MkdirTemp("", "formwork-harness-")
		if err != nil {
			tb.Fatal(err)
		}
		base.dir = dir
		h := openHarness(tb, cfg, filepath.Join(dir, "seeded.db"), map[string]*engine.User{}, map[string]string{}, seedHarness)
		file := filepath.Join(dir, "snapshot.db")
		h.snapshotTo(tb, file)
		base.users, base.tokens, base.file = h.users, h.tokens, file
	})
	if base.file == "" {
		tb.Fatal("the seeded harness could not be built: see the first test that asked for it")
	}
	return copyHarness(tb, cfg, base.file, base.users, base.tokens)
}

// openHarness opens the SQLite file at dbPath (creating it if needed) with
// its services, calls seed (if any) before the server is made, and serves
// it. users and tokens are those already in the file.
func openHarness(tb testing.TB, cfg Config, dbPath string, users map[string]*engine.User, tokens map[string]string, seed func(*harness)) *harness {
	tb.Helper()
	return openKeyedHarness(tb, cfg, dbPath, nil, users, tokens, seed)
}

// openKeyedHarness is openHarness with, when master is set, the store
// wrapped in the encrypting store under that master key, as cmd/formwork
// wires every server (it always has a master key).
func openKeyedHarness(tb testing.TB, cfg Config, dbPath string, master []byte, users map[string]*engine.User, tokens map[string]string, seed func(*harness)) *harness {
	tb.Helper()
	sq, err := sqlite.Open(dbPath, sqlite.Options{Now: time.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = sq.Close() })
	if _, err := migrations.Apply(context.Background(), sq, time.Now); err != nil {
		tb.Fatal(err)
	}
	var st engine.Store = sq
	var keys *engine.Keyring
	if master != nil {
		if keys, err = engine.NewKeyring(sq, master, time.Now); err != nil {
			tb.Fatal(err)
		}
		st = engine.NewEncryptingStore(sq, keys, engine.StoreForms(sq))
	}
	org := engine.NewOrg(st, time.Now)
	svc := engine.NewService(st, org, engine.ServiceOptions{Clock: time.Now, TOTP: totp.New(), Keys: keys})
	tb.Cleanup(svc.Close)
	h := &harness{tb: tb, store: st, dbPath: dbPath, master: master, cfg: cfg, org: org, svc: svc, users: users, tokens: tokens}
	if seed != nil {
		seed(h)
	}
	h.e = h.app(nil)
	return h
}

// seedHarness adds store1, the users with their tokens, and the shop and
// visit apps.
func seedHarness(h *harness) {
	tb, ctx := h.tb, context.Background()
	tb.Helper()
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := h.org.CreateUnit(ctx, sys, engine.Unit{Key: "store1", Name: engine.T("一号店", "Store 1"), Parent: "hq"}); err != nil {
		tb.Fatal(err)
	}
	for _, u := range []struct {
		key, unit string
		admin     bool
		roles     map[string][]string
	}{
		{"admin", "hq", true, nil},
		{"staff", "store1", false, map[string][]string{"shop": {"staff"}, "visit": {"staff"}}},
		{"manager", "store1", false, map[string][]string{"shop": {"store_manager"}}},
		{"analyst", "hq", false, map[string][]string{"shop": {"analyst"}}},
		{"nobody", "store1", false, nil},
	} {
		nu, err := h.org.CreateUser(ctx, sys, engine.NewUser{Email: u.key + "@example.com", Name: u.key, Unit: u.unit, Admin: u.admin, Roles: u.roles, Password: testPassword})
		if err != nil {
			tb.Fatal(err)
		}
		h.users[u.key] = nu
		secret, _, err := h.org.CreateToken(ctx, sys, nu.ID, "test", nil)
		if err != nil {
			tb.Fatal(err)
		}
		h.tokens[u.key] = secret
	}
	admin := &engine.Principal{User: h.users["admin"], IP: "127.0.0.1"}
	for _, f := range []string{"shop.json", "visit.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := h.svc.ImportApp(ctx, admin, b, engine.ImportOptions{}); err != nil {
			tb.Fatalf("import %s: %v", f, err)
		}
	}
}

// addUser adds a user key (email key@example.com, name key-name) in unit
// with roles in app, and a token for it.
func (h *harness) addUser(key, unit, app string, roles ...string) {
	h.tb.Helper()
	ctx := context.Background()
	sys := engine.AuditActor{ID: engine.SystemActor}
	u, err := h.org.CreateUser(ctx, sys, engine.NewUser{Email: key + "@example.com", Name: key + "-name", Unit: unit,
		Roles: map[string][]string{app: roles}, Password: testPassword})
	if err != nil {
		h.tb.Fatal(err)
	}
	secret, _, err := h.org.CreateToken(ctx, sys, u.ID, "test", nil)
	if err != nil {
		h.tb.Fatal(err)
	}
	h.users[key], h.tokens[key] = u, secret
}

// snapshot writes a consistent copy of the harness's SQLite file and
// returns its path.
func (h *harness) snapshot(tb testing.TB) string {
	tb.Helper()
	dst := filepath.Join(tb.TempDir(), "snapshot.db")
	h.snapshotTo(tb, dst)
	return dst
}

// snapshotTo writes a consistent copy of the harness's SQLite file to dst.
// VACUUM INTO reads through SQLite's own locking, so the copy is whole
// even while the store writes.
func (h *harness) snapshotTo(tb testing.TB, dst string) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+h.dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("VACUUM INTO ?", dst); err != nil {
		tb.Fatalf("snapshot %s: %v", h.dbPath, err)
	}
}

// fork is a new harness on its own copy of a snapshot of h: the same
// data, users, tokens and config, its own store, services and server, so
// what it writes no other test or scenario sees. What lives only in memory
// (workflow runtimes, rate limiters) is not carried over.
func (h *harness) fork(tb testing.TB, snapshot string) *harness {
	tb.Helper()
	return copyKeyedHarness(tb, h.cfg, snapshot, h.master, h.users, h.tokens)
}

// copyHarness opens a harness on a copy of the SQLite file snapshot, whose
// users and tokens are given (copied, so the harness may change them).
func copyHarness(tb testing.TB, cfg Config, snapshot string, users map[string]*engine.User, tokens map[string]string) *harness {
	tb.Helper()
	return copyKeyedHarness(tb, cfg, snapshot, nil, users, tokens)
}

// copyKeyedHarness is copyHarness of a snapshot written under the master
// key master (see openKeyedHarness).
func copyKeyedHarness(tb testing.TB, cfg Config, snapshot string, master []byte, users map[string]*engine.User, tokens map[string]string) *harness {
	tb.Helper()
	b, err := os.ReadFile(snapshot)
	if err != nil {
		tb.Fatal(err)
	}
	dbPath := filepath.Join(tb.TempDir(), "formwork.db")
	if err := os.WriteFile(dbPath, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	us := make(map[string]*engine.User, len(users))
	for k, u := range users {
		c := *u
		us[k] = &c
	}
	return openKeyedHarness(tb, cfg, dbPath, master, us, maps.Clone(tokens), nil)
}

// withWorkflows starts the workflow runtime on the harness's service and
// rebuilds the HTTP app with it, as cmd/formwork wires them.
func (h *harness) withWorkflows(opt workflow.Options) *workflow.Runtime {
	h.tb.Helper()
	w := workflow.New(h.svc, nil, opt)
	h.e = h.app(w)
	return w
}

// app builds the HTTP app over the harness's store and service, as
// cmd/formwork wires it (a designer always; the workflow runtime when w is
// not nil).
func (h *harness) app(w *workflow.Runtime) *echo.Echo {
	return New(Deps{Store: h.store, Org: h.org, Service: h.svc, Workflows: w, Designer: designer.New(h.svc), Config: h.cfg,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Metrics: h.metrics})
}

// do sends one request as user ("" = anonymous) and returns the response.
func (h *harness) do(method, path, user, body string, headers map[string]string) *httptest.ResponseRecorder {
	h.tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	req.RemoteAddr = "192.0.2.10:5555"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+h.tokens[user])
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.e.ServeHTTP(rec, req)
	return rec
}

// createCustomer stores a customer as staff and returns its id.
func (h *harness) createCustomer(user, name string) *engine.RecordView {
	h.tb.Helper()
	r, err := h.svc.CreateRecord(context.Background(), &engine.Principal{User: h.users[user], IP: "127.0.0.1"}, "shop", "customer",
		map[string]any{"name": name, "phone": "13912345678", "level": "normal"})
	if err != nil {
		h.tb.Fatal(err)
	}
	return r
}

var _ = http.StatusOK
