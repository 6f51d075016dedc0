package servicetest_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/store/sqlite"
)

// fakeClock is a settable clock for the tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var admin = engine.AuditActor{ID: "admin1", IP: "127.0.0.1"}

// newOrg returns an Org over a fresh SQLite store with the tree
// hq → east → sh01 → sh01_sales and hq → west.
func newOrg(tb testing.TB) (*engine.Org, engine.Store, *fakeClock) {
	tb.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "formwork.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	o := engine.NewOrg(s, clock.Now)
	for _, u := range []engine.Unit{
		{Key: "hq", Name: engine.T("总部", "Headquarters")},
		{Key: "east", Name: engine.T("华东大区", "East"), Parent: "hq"},
		{Key: "west", Name: engine.T("华西大区", "West"), Parent: "hq"},
		{Key: "sh01", Name: engine.T("上海一店", "Shanghai 1"), Parent: "east"},
		{Key: "sh01_sales", Name: engine.T("销售部", "Sales"), Parent: "sh01"},
	} {
		if _, err := o.CreateUnit(context.Background(), admin, u); err != nil {
			tb.Fatalf("create unit %s: %v", u.Key, err)
		}
	}
	return o, s, clock
}

func keys(us []*engine.Unit) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Key)
	}
	return out
}

func TestUnitTree(t *testing.T) {
	o, _, _ := newOrg(t)
	ctx := context.Background()
	all, err := o.ListUnits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"hq", "east", "sh01", "sh01_sales", "west"}, keys(all)); diff != "" {
		t.Errorf("ListUnits (-want +got):\n%s", diff)
	}
	tests := []struct {
		key       string
		below     []string
		ancestors []string
	}{
		{"hq", []string{"hq", "east", "sh01", "sh01_sales", "west"}, []string{}},
		{"east", []string{"east", "sh01", "sh01_sales"}, []string{"hq"}},
		{"sh01_sales", []string{"sh01_sales"}, []string{"hq", "east", "sh01"}},
		{"west", []string{"west"}, []string{"hq"}},
	}
	for _, tc := range tests {
		below, err := o.UnitsBelow(ctx, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.below, keys(below)); diff != "" {
			t.Errorf("UnitsBelow(%s) (-want +got):\n%s", tc.key, diff)
		}
		anc, err := o.Ancestors(ctx, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.ancestors, keys(anc)); diff != "" {
			t.Errorf("Ancestors(%s) (-want +got):\n%s", tc.key, diff)
		}
	}
	u, err := o.FindUnit(ctx, "sh01")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name.Zh != "上海一店" || u.Parent != "east" {
		t.Errorf("FindUnit(sh01) = %+v", u)
	}
	if _, err := o.UnitsBelow(ctx, "nowhere"); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("UnitsBelow(nowhere): %v, want not_found", err)
	}
}

func TestCreateUnitErrors(t *testing.T) {
	o, _, _ := newOrg(t)
	tests := []struct {
		name      string
		unit      engine.Unit
		wantCode  string
		wantField string
	}{
		{"bad key", engine.Unit{Key: "Bad-Key", Name: engine.T("x", "x"), Parent: "hq"}, engine.EINVALID, "/key"},
		{"key starts with a digit", engine.Unit{Key: "1abc", Name: engine.T("x", "x"), Parent: "hq"}, engine.EINVALID, "/key"},
		{"key too long", engine.Unit{Key: "a" + strings.Repeat("b", 63), Name: engine.T("x", "x"), Parent: "hq"}, engine.EINVALID, "/key"},
		{"no name", engine.Unit{Key: "north", Parent: "hq"}, engine.EINVALID, "/name"},
		{"unknown parent", engine.Unit{Key: "north", Name: engine.T("x", "x"), Parent: "nowhere"}, engine.EINVALID, "/parent"},
		{"second root", engine.Unit{Key: "north", Name: engine.T("x", "x")}, engine.EINVALID, "/parent"},
		{"duplicate key", engine.Unit{Key: "east", Name: engine.T("x", "x"), Parent: "hq"}, engine.ECONFLICT, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := o.CreateUnit(context.Background(), admin, tc.unit)
			if got := engine.ErrorCode(err); got != tc.wantCode {
				t.Fatalf("code = %q (%v), want %q", got, err, tc.wantCode)
			}
			if tc.wantField != "" {
				var fields []string
				for _, f := range engine.ErrorFields(err) {
					fields = append(fields, f.Field)
				}
				if diff := cmp.Diff([]string{tc.wantField}, fields); diff != "" {
					t.Errorf("fields (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func newUser(tb testing.TB, o *engine.Org, email, unit string) *engine.User {
	tb.Helper()
	u, err := o.CreateUser(context.Background(), admin, engine.NewUser{
		Email: email, Name: "张三", Unit: unit, Password: "correct horse battery",
		Roles: map[string][]string{"crm": {"sales", "manager"}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

func TestCreateUserAndFind(t *testing.T) {
	o, _, _ := newOrg(t)
	ctx := context.Background()
	u := newUser(t, o, "  Zhang.San@Example.COM ", "sh01")
	if u.Email != "zhang.san@example.com" {
		t.Errorf("email = %q, want it lower-cased and trimmed", u.Email)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash = %q, want a PHC argon2id string", u.PasswordHash)
	}
	byEmail, err := o.FindUserByEmail(ctx, "ZHANG.SAN@example.com")
	if err != nil {
		t.Fatal(err)
	}
	byID, err := o.FindUserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Version" }, cmp.Ignore())
	if diff := cmp.Diff(u, byEmail, ignore); diff != "" {
		t.Errorf("FindUserByEmail (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(u, byID, ignore); diff != "" {
		t.Errorf("FindUserByID (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"crm": {"manager", "sales"}}, byID.Roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	if _, err := o.FindUserByEmail(ctx, "nobody@example.com"); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("FindUserByEmail(nobody): %v, want not_found", err)
	}
	// The same email in another case is taken.
	_, err = o.CreateUser(ctx, admin, engine.NewUser{Email: "ZHANG.SAN@example.com", Name: "x", Unit: "hq", Password: "another long secret"})
	if engine.ErrorCode(err) != engine.ECONFLICT {
		t.Errorf("duplicate email: %v, want conflict", err)
	}
	users, err := o.ListUsers(ctx, "sh01")
	if err != nil || len(users) != 1 || users[0].ID != u.ID {
		t.Errorf("ListUsers(sh01) = %v, %v", users, err)
	}
}

func TestCreateUserValidation(t *testing.T) {
	o, _, _ := newOrg(t)
	tests := []struct {
		name   string
		in     engine.NewUser
		fields []string
	}{
		{"bad email", engine.NewUser{Email: "not-an-email", Name: "n", Unit: "hq", Password: "a fine long password"}, []string{"/email"}},
		{"email with display name", engine.NewUser{Email: "Bob <bob@example.com>", Name: "n", Unit: "hq", Password: "a fine long password"}, []string{"/email"}},
		{"no name", engine.NewUser{Email: "a@example.com", Unit: "hq", Password: "a fine long password"}, []string{"/name"}},
		{"unknown unit", engine.NewUser{Email: "a@example.com", Name: "n", Unit: "nowhere", Password: "a fine long password"}, []string{"/unit"}},
		{"short password", engine.NewUser{Email: "a@example.com", Name: "n", Unit: "hq", Password: "short9"}, []string{"/password"}},
		{"password is the email", engine.NewUser{Email: "longname@example.com", Name: "n", Unit: "hq", Password: "LongName@example.com"}, []string{"/password"}},
		{"password is the local part", engine.NewUser{Email: "longname12@example.com", Name: "n", Unit: "hq", Password: "longname12"}, []string{"/password"}},
		{"common password", engine.NewUser{Email: "a@example.com", Name: "n", Unit: "hq", Password: "Password123"}, []string{"/password"}},
		{"bad role key", engine.NewUser{Email: "a@example.com", Name: "n", Unit: "hq", Password: "a fine long password", Roles: map[string][]string{"crm": {"a/b"}}}, []string{"/roles/crm"}},
		{"everything wrong", engine.NewUser{Email: "x", Unit: "", Password: "1234567890"}, []string{"/email", "/name", "/unit", "/password"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := o.CreateUser(context.Background(), admin, tc.in)
			if engine.ErrorCode(err) != engine.EINVALID {
				t.Fatalf("err = %v, want invalid", err)
			}
			var fields []string
			for _, f := range engine.ErrorFields(err) {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(tc.fields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	o, _, clock := newOrg(t)
	ctx := context.Background()
	u := newUser(t, o, "li.si@example.com", "east")
	tests := []struct {
		name, email, password, wantCode string
	}{
		{"right", "LI.SI@example.com", "correct horse battery", ""},
		{"wrong password", "li.si@example.com", "correct horse battery!", engine.EUNAUTHORIZED},
		{"unknown email", "nobody@example.com", "correct horse battery", engine.EUNAUTHORIZED},
		{"empty password", "li.si@example.com", "", engine.EUNAUTHORIZED},
	}
	for _, tc := range tests {
		got, err := o.CheckPassword(ctx, tc.email, tc.password)
		if code := engine.ErrorCode(err); code != tc.wantCode {
			t.Errorf("%s: code %q (%v), want %q", tc.name, code, err, tc.wantCode)
		}
		if tc.wantCode == "" && (got == nil || got.ID != u.ID) {
			t.Errorf("%s: user = %v, want %s", tc.name, got, u.ID)
		}
	}
	// Unknown email and wrong password give the same message.
	_, e1 := o.CheckPassword(ctx, "li.si@example.com", "wrong wrong wrong")
	_, e2 := o.CheckPassword(ctx, "nobody@example.com", "wrong wrong wrong")
	if e1.Error() != e2.Error() {
		t.Errorf("errors differ: %q vs %q", e1, e2)
	}
	if _, err := o.Freeze(ctx, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if _, err := o.CheckPassword(ctx, "li.si@example.com", "correct horse battery"); engine.ErrorCode(err) != engine.ELOCKED {
		t.Errorf("frozen user: %v, want locked", err)
	}
}

func TestVerifyPasswordRejectsMalformedHashes(t *testing.T) {
	h, err := engine.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := engine.HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	for _, bad := range []string{"", "$argon2id$", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", "plain", h[:len(h)-4]} {
		if engine.VerifyPassword(bad, "correct horse battery") {
			t.Errorf("VerifyPassword(%q) = true", bad)
		}
	}
	if !engine.VerifyPassword(h, "correct horse battery") {
		t.Error("VerifyPassword(good) = false")
	}
}

func TestSessionsTokensAndFreeze(t *testing.T) {
	o, s, clock := newOrg(t)
	ctx := context.Background()
	u := newUser(t, o, "wang.wu@example.com", "west")

	secret, sess, err := o.CreateSession(ctx, engine.AuditActor{ID: u.ID, IP: "10.0.0.1"}, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if sess.ID != engine.HashSecret(secret) || strings.Contains(sess.ID, secret) {
		t.Errorf("session id %q must be the hash of the secret", sess.ID)
	}
	d, err := s.FindDoc(ctx, engine.KindSession, sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(d.Value), secret) {
		t.Error("the stored session contains its secret")
	}
	got, err := o.FindSession(ctx, secret)
	if err != nil || got.UserID != u.ID || got.CSRF == "" {
		t.Fatalf("FindSession = %+v, %v", got, err)
	}
	if _, err := o.FindSession(ctx, secret+"x"); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("FindSession(wrong secret): %v, want not_found", err)
	}

	tokSecret, tok, err := o.CreateToken(ctx, admin, u.ID, "ci", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tokSecret, "fwt_") || tok.ID != engine.HashSecret(tokSecret) {
		t.Errorf("token secret %q / id %q", tokSecret, tok.ID)
	}
	if got, err := o.FindToken(ctx, tokSecret); err != nil || got.UserID != u.ID {
		t.Fatalf("FindToken = %+v, %v", got, err)
	}
	exp := clock.Now().Add(time.Minute)
	shortSecret, _, err := o.CreateToken(ctx, admin, u.ID, "short", &exp)
	if err != nil {
		t.Fatal(err)
	}

	// Expiry.
	clock.Add(2 * time.Minute)
	if _, err := o.FindToken(ctx, shortSecret); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("expired token: %v, want not_found", err)
	}
	clock.Add(time.Hour)
	if _, err := o.FindSession(ctx, secret); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("expired session: %v, want not_found", err)
	}

	// Logout.
	secret2, _, err := o.CreateSession(ctx, engine.AuditActor{ID: u.ID}, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.DeleteSession(ctx, engine.AuditActor{ID: u.ID}, secret2); err != nil {
		t.Fatal(err)
	}
	if _, err := o.FindSession(ctx, secret2); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("after logout: %v, want not_found", err)
	}

	// Freeze keeps the sessions and tokens (the server answers 423 for
	// them while the user is frozen) and refuses new ones.
	secret3, _, err := o.CreateSession(ctx, engine.AuditActor{ID: u.ID}, u.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok2Secret, _, err := o.CreateToken(ctx, admin, u.ID, "ci2", nil)
	if err != nil {
		t.Fatal(err)
	}
	frozen, err := o.Freeze(ctx, admin, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !frozen.Frozen {
		t.Error("Freeze returned a user that is not frozen")
	}
	if got, err := o.FindSession(ctx, secret3); err != nil || got.UserID != u.ID {
		t.Errorf("session after freeze: %+v %v, want kept", got, err)
	}
	if got, err := o.FindToken(ctx, tok2Secret); err != nil || got.UserID != u.ID {
		t.Errorf("token after freeze: %+v %v, want kept", got, err)
	}
	if _, _, err := o.CreateSession(ctx, engine.AuditActor{ID: u.ID}, u.ID, time.Hour); engine.ErrorCode(err) != engine.ELOCKED {
		t.Errorf("new session for a frozen user: %v, want locked", err)
	}
	if _, _, err := o.CreateToken(ctx, admin, u.ID, "x", nil); engine.ErrorCode(err) != engine.ELOCKED {
		t.Errorf("new token for a frozen user: %v, want locked", err)
	}
	if again, err := o.Freeze(ctx, admin, u.ID); err != nil || again.Version != frozen.Version {
		t.Errorf("freezing again: %v, version %d → %d, want a no-op", err, frozen.Version, again.Version)
	}

	// Unfreeze revokes everything issued before, in the same write.
	thawed, err := o.Unfreeze(ctx, admin, u.ID)
	if err != nil || thawed.Frozen {
		t.Fatalf("Unfreeze = %+v, %v", thawed, err)
	}
	if _, err := o.FindSession(ctx, secret3); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("session after unfreeze: %v, want not_found", err)
	}
	if _, err := o.FindToken(ctx, tok2Secret); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("token after unfreeze: %v, want not_found", err)
	}
	if _, _, err := o.CreateSession(ctx, engine.AuditActor{ID: u.ID}, u.ID, time.Hour); err != nil {
		t.Errorf("new session after unfreeze: %v", err)
	}
}

func TestChangesAreAudited(t *testing.T) {
	o, s, _ := newOrg(t)
	ctx := context.Background()
	u := newUser(t, o, "zhao.liu@example.com", "sh01")
	if _, err := o.UpdateUnitHead(ctx, admin, "sh01", u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := o.SetRoles(ctx, admin, u.ID, map[string][]string{"dealer": {"advisor"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Freeze(ctx, admin, u.ID); err != nil {
		t.Fatal(err)
	}
	type ev struct{ Actor, IP, Action, Object, Result string }
	var got []ev
	if err := s.WalkAudit(ctx, 0, func(e *engine.AuditEvent) error {
		got = append(got, ev{e.Actor, e.IP, e.Action, e.Object, e.Result})
		if strings.Contains(string(e.Detail), "argon2") || strings.Contains(string(e.Detail), "horse") {
			t.Errorf("event %d detail leaks the password: %s", e.Seq, e.Detail)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []ev{
		{"admin1", "127.0.0.1", "unit.create", "hq", "ok"},
		{"admin1", "127.0.0.1", "unit.create", "east", "ok"},
		{"admin1", "127.0.0.1", "unit.create", "west", "ok"},
		{"admin1", "127.0.0.1", "unit.create", "sh01", "ok"},
		{"admin1", "127.0.0.1", "unit.create", "sh01_sales", "ok"},
		{"admin1", "127.0.0.1", "user.create", u.ID, "ok"},
		{"admin1", "127.0.0.1", "unit.update", "sh01", "ok"},
		{"admin1", "127.0.0.1", "user.roles", u.ID, "ok"},
		{"admin1", "127.0.0.1", "user.freeze", u.ID, "ok"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
	n, brk, err := engine.VerifyAudit(ctx, s)
	if err != nil || brk != nil || n != int64(len(want)) {
		t.Errorf("VerifyAudit = %d, %+v, %v", n, brk, err)
	}
	unit, _ := o.FindUnit(ctx, "sh01")
	if unit.Head != u.ID {
		t.Errorf("head = %q, want %q", unit.Head, u.ID)
	}
	if _, err := o.UpdateUnitHead(ctx, admin, "sh01", "nobody"); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("unknown head: %v, want invalid", err)
	}
	user, _ := o.FindUserByID(ctx, u.ID)
	if diff := cmp.Diff(map[string][]string{"dealer": {"advisor"}}, user.Roles); diff != "" {
		t.Errorf("roles after SetRoles (-want +got):\n%s", diff)
	}
}

func TestLoginCountsFailuresAndLocksOut(t *testing.T) {
	o, s, clock := newOrg(t)
	ctx := context.Background()
	u := newUser(t, o, "sun.qi@example.com", "east")
	client := engine.AuditActor{IP: "10.1.2.3"}

	if _, err := o.Login(ctx, client, "sun.qi@example.com", "wrong password!"); engine.ErrorCode(err) != engine.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	if got, err := o.Login(ctx, client, "sun.qi@example.com", "correct horse battery"); err != nil || got.FailedLogins != 0 {
		t.Fatalf("right password: %+v, %v; want the failure count reset", got, err)
	}
	for i := 0; i < engine.MaxFailedLogins; i++ {
		want := engine.EUNAUTHORIZED
		if i == engine.MaxFailedLogins-1 {
			want = engine.ELOCKED // the failure that locks says so
		}
		if _, err := o.Login(ctx, client, "sun.qi@example.com", "wrong password!"); engine.ErrorCode(err) != want {
			t.Fatalf("failure %d: %v, want %s", i+1, err, want)
		}
	}
	if _, err := o.Login(ctx, client, "sun.qi@example.com", "wrong password!"); engine.ErrorCode(err) != engine.ELOCKED {
		t.Fatalf("wrong password while locked: %v, want locked", err)
	}
	if _, err := o.Login(ctx, client, "sun.qi@example.com", "correct horse battery"); engine.ErrorCode(err) != engine.ELOCKED {
		t.Fatalf("right password while locked: %v, want locked", err)
	}
	clock.Add(engine.LockoutDuration + time.Second)
	if _, err := o.Login(ctx, client, "sun.qi@example.com", "correct horse battery"); err != nil {
		t.Fatalf("after the lock-out: %v", err)
	}
	if _, err := o.Login(ctx, client, "ghost@example.com", "whatever it is"); engine.ErrorCode(err) != engine.EUNAUTHORIZED {
		t.Fatalf("unknown email: %v", err)
	}

	type ev struct{ Action, Actor, IP, Object, Result string }
	var got []ev
	_ = s.WalkAudit(ctx, 0, func(e *engine.AuditEvent) error {
		if e.Action == "login" || e.Action == "login.failed" || e.Action == "user.lock" {
			got = append(got, ev{e.Action, e.Actor, e.IP, e.Object, e.Result})
		}
		return nil
	})
	failed := ev{"login.failed", "anonymous", "10.1.2.3", u.ID, "failed"}
	ok := ev{"login", "anonymous", "10.1.2.3", u.ID, "ok"}
	denied := ev{"login", "anonymous", "10.1.2.3", u.ID, "denied"}
	want := []ev{failed, ok, failed, failed, failed, failed, {"user.lock", "anonymous", "10.1.2.3", u.ID, "failed"},
		denied, denied, ok, {"login", "anonymous", "10.1.2.3", "ghost@example.com", "failed"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("login events (-want +got):\n%s", diff)
	}
}
