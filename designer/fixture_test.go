package designer_test

import (
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
	"formwork/engine/store/teststore"
)

// fixture is a Designer on a real store (SQLite, or MongoDB when
// FORMWORK_MONGO_URI is set) behind the encrypting store
// (so published sample data is sealed), with an administrator, a user
// named designer of the app "mini" and "shop", and a user who is neither.
type fixture struct {
	svc   *engine.Service
	es    *engine.EncryptingStore // the store under svc, for key rotation
	d     *designer.Designer
	users map[string]*engine.Principal
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

var ctx = context.Background()

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	clock := &testClock{t: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	st := teststore.Open(tb, clock.Now)
	master, _, err := engine.LoadMasterKey(func(string) string { return "" }, dir)
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := engine.NewKeyring(st, master, clock.Now)
	if err != nil {
		tb.Fatal(err)
	}
	store := engine.NewEncryptingStore(st, keys, engine.StoreForms(st))
	org := engine.NewOrg(store, clock.Now)
	sys := engine.AuditActor{ID: engine.SystemActor}
	if _, err := org.CreateUnit(ctx, sys, engine.Unit{Key: "hq", Name: engine.T("总部", "HQ")}); err != nil {
		tb.Fatal(err)
	}
	svc := engine.NewService(store, org, engine.ServiceOptions{Clock: clock.Now, Keys: keys})
	tb.Cleanup(svc.Close)
	f := &fixture{svc: svc, es: store, d: designer.New(svc), users: map[string]*engine.Principal{}}
	for _, name := range []string{"admin", "des", "other"} {
		u, err := org.CreateUser(ctx, sys, engine.NewUser{Email: name + "@example.com", Name: name, Unit: "hq", Admin: name == "admin",
			Password: "correct horse battery staple"})
		if err != nil {
			tb.Fatal(err)
		}
		f.users[name] = &engine.Principal{User: u, IP: "10.0.0.1"}
	}
	for _, app := range []string{"mini", "shop"} {
		if err := f.d.SetDesigners(ctx, f.users["admin"], app, []string{"des@example.com"}); err != nil {
			tb.Fatal(err)
		}
	}
	return f
}

// miniBundle is a small valid app: one form, one role, one workflow.
const miniBundle = `{
  "formwork": "1",
  "app": {"key": "mini", "name": {"zh": "小店", "en": "Mini"}, "version": "1.0.0"},
  "roles": [{"key": "staff", "name": {"zh": "店员", "en": "Staff"},
    "permissions": {"customer": {"operations": ["create", "read"], "scope": "own", "fields": {"*": "edit"}}}}],
  "forms": [{"x-key": "customer", "x-title": {"zh": "客户", "en": "Customer"}, "type": "object",
    "properties": {
      "name": {"type": "string", "x-widget": "text", "x-label": {"zh": "姓名", "en": "Name"}},
      "level": {"type": "string", "enum": ["a", "b"], "x-widget": "select", "x-label": {"zh": "等级", "en": "Level"}}
    },
    "required": ["name"],
    "x-layout": [{"fields": ["name", "level"]}]}],
  "workflows": [{"key": "check", "form": "customer", "name": {"zh": "审核", "en": "Check"}, "trigger": {"on": ["create"]},
    "nodes": [{"key": "boss", "type": "approval", "name": {"zh": "店长", "en": "Boss"}, "assignees": {"roles": ["staff"]}, "mode": "any"}]}]
}`

// publish imports bundle as the admin (the way apps exist before the designer).
func (f *fixture) publish(tb testing.TB, bundle string) {
	tb.Helper()
	if _, err := f.svc.ImportApp(ctx, f.users["admin"], []byte(bundle), engine.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// decoded parses JSON for comparisons that ignore spacing and member order.
func decoded(tb testing.TB, data []byte) any {
	tb.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatalf("not JSON: %v\n%s", err, data)
	}
	return v
}

func sameJSON(tb testing.TB, want, got []byte) {
	tb.Helper()
	if diff := cmp.Diff(decoded(tb, want), decoded(tb, got)); diff != "" {
		tb.Errorf("bundle differs (-want +got):\n%s", diff)
	}
}

// code returns err's engine code ("" for nil).
func code(err error) string { return engine.ErrorCode(err) }

// fieldsOf returns the pointers of err's field errors.
func fieldsOf(err error) []string {
	var out []string
	for _, fe := range engine.ErrorFields(err) {
		out = append(out, fe.Field)
	}
	return out
}

// audited returns the results of the audit events of action on app, oldest first.
func (f *fixture) audited(tb testing.TB, action string) []string {
	tb.Helper()
	page, err := f.svc.AuditEvents(ctx, f.users["admin"], engine.AuditQuery{Action: action, Limit: 1000})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for i := len(page.Items) - 1; i >= 0; i-- {
		ev := page.Items[i]
		out = append(out, ev.Actor+" "+ev.Result)
	}
	return out
}

func TestMiniBundleLoads(t *testing.T) {
	if _, err := engine.LoadBundle([]byte(miniBundle)); err != nil {
		t.Fatal(err)
	}
}

func readKeysApp(tb testing.TB, data []byte) string {
	tb.Helper()
	var b struct {
		App struct {
			Key string `json:"key"`
		} `json:"app"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		tb.Fatal(err)
	}
	return b.App.Key
}

func mustTitle(tb testing.TB, data []byte) json.RawMessage {
	tb.Helper()
	var b struct {
		Forms []struct {
			Title json.RawMessage `json:"x-title"`
		} `json:"forms"`
	}
	if err := json.Unmarshal(data, &b); err != nil || len(b.Forms) == 0 {
		tb.Fatalf("no form title: %v", err)
	}
	return b.Forms[0].Title
}
