package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

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
	org    *engine.Org
	svc    *engine.Service
	e      *echo.Echo
	cfg    Config
	users  map[string]*engine.User
	tokens map[string]string
}

func testConfig() Config {
	c := DefaultConfig()
	c.RateIP = RateLimit{}
	c.RateUser = RateLimit{}
	c.RateLogin = RateLimit{}
	return c
}

func newHarness(tb testing.TB, cfg Config) *harness {
	tb.Helper()
	ctx := context.Background()
	dbPath := filepath.Join(tb.TempDir(), "formwork.db")
	st, err := sqlite.Open(dbPath, sqlite.Options{Now: time.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	if _, err := migrations.Apply(ctx, st, time.Now); err != nil {
		tb.Fatal(err)
	}
	org := engine.NewOrg(st, time.Now)
	svc := engine.NewService(st, org, engine.ServiceOptions{Clock: time.Now, TOTP: totp.New()})
	tb.Cleanup(svc.Close)
	h := &harness{tb: tb, store: st, dbPath: dbPath, org: org, svc: svc, users: map[string]*engine.User{}, tokens: map[string]string{}}
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "store1", Name: engine.T("一号店", "Store 1"), Parent: "hq"}); err != nil {
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
		nu, err := org.CreateUser(ctx, sys, engine.NewUser{Email: u.key + "@example.com", Name: u.key, Unit: u.unit, Admin: u.admin, Roles: u.roles, Password: testPassword})
		if err != nil {
			tb.Fatal(err)
		}
		h.users[u.key] = nu
		secret, _, err := org.CreateToken(ctx, sys, nu.ID, "test", nil)
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
		if _, err := svc.ImportApp(ctx, admin, b, engine.ImportOptions{}); err != nil {
			tb.Fatalf("import %s: %v", f, err)
		}
	}
	h.cfg = cfg
	h.e = New(Deps{Store: st, Org: org, Service: svc, Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return h
}

// withWorkflows starts the workflow runtime on the harness's service and
// rebuilds the HTTP app with it, as cmd/formwork wires them.
func (h *harness) withWorkflows(opt workflow.Options) *workflow.Runtime {
	h.tb.Helper()
	w := workflow.New(h.svc, nil, opt)
	h.e = New(Deps{Store: h.store, Org: h.org, Service: h.svc, Workflows: w, Config: h.cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return w
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
