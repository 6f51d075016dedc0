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

// TestMFALogin runs enrolment, confirmation and the login's second step on
// a store without keys and on the encrypting store (secrets sealed).
func TestMFALogin(t *testing.T) {
	for _, encrypt := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "encrypted"}[encrypt], func(t *testing.T) { testMFALogin(t, encrypt) })
	}
}

func testMFALogin(t *testing.T, encrypt bool) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers, Encrypt: encrypt})
	ctx := context.Background()
	hq, staff := f.users["hqadmin"], f.users["staff1"]
	fieldCode := func(err error) string {
		t.Helper()
		var e *engine.Error
		if ee, ok := err.(*engine.Error); ok {
			e = ee
		}
		if e == nil || e.Code != engine.EUNAUTHORIZED || len(e.Fields) != 1 {
			t.Fatalf("want an unauthorized error with one field, got %v", err)
		}
		return e.Fields[0].Code
	}
	if err := f.svc.CheckLoginMFA(ctx, staff, staff.User, ""); err != nil {
		t.Errorf("staff needs no second factor: %v", err)
	}
	if got := fieldCode(f.svc.CheckLoginMFA(ctx, hq, hq.User, "123456")); got != "mfa_enrolment_required" {
		t.Errorf("not enrolled: %s", got)
	}
	en, err := f.svc.EnrolMFA(ctx, hq)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.URL, "otpauth://totp/Formwork:hqadmin@example.com?") || !bytes.HasPrefix(en.QRPNG, []byte("\x89PNG")) {
		t.Errorf("enrolment: %s, %d bytes of QR", en.URL, len(en.QRPNG))
	}
	// after a mistyped code the same enrolment is shown again
	again, err := f.svc.PendingMFAEnrolment(ctx, hq)
	if err != nil || again.Secret != en.Secret || again.URL != en.URL || !bytes.HasPrefix(again.QRPNG, []byte("\x89PNG")) {
		t.Errorf("pending enrolment: %+v %v", again, err)
	}
	code := func() string {
		c, err := totp.New().Code(en.Secret, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	wrong := func(c string) string { return string(rune('0'+(c[0]-'0'+1)%10)) + c[1:] }
	if _, err := f.svc.ConfirmMFA(ctx, hq, wrong(code())); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("confirm with a wrong code: %v", err)
	}
	recovery, err := f.svc.ConfirmMFA(ctx, hq, code())
	if err != nil || len(recovery) != 10 {
		t.Fatalf("confirm: %v %v", recovery, err)
	}
	if got := fieldCode(f.svc.CheckLoginMFA(ctx, hq, hq.User, "")); got != "mfa_required" {
		t.Errorf("no code: %s", got)
	}
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(35 * time.Second)
	f.clock.mu.Unlock()
	c := code()
	if got := fieldCode(f.svc.CheckLoginMFA(ctx, hq, hq.User, wrong(c))); got != "invalid" {
		t.Errorf("wrong code: %s", got)
	}
	if err := f.svc.CheckLoginMFA(ctx, hq, hq.User, c); err != nil {
		t.Errorf("valid code: %v", err)
	}
	if got := fieldCode(f.svc.CheckLoginMFA(ctx, hq, hq.User, c)); got != "invalid" {
		t.Errorf("replayed code: %s", got)
	}
	if err := f.svc.CheckLoginMFA(ctx, hq, hq.User, recovery[3]); err != nil {
		t.Errorf("recovery code: %v", err)
	}
	if got := fieldCode(f.svc.CheckLoginMFA(ctx, hq, hq.User, recovery[3])); got != "invalid" {
		t.Errorf("recovery code used twice: %s", got)
	}
	page, err := f.svc.AuditEvents(ctx, f.users["admin"], engine.AuditQuery{Action: "login.mfa", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]int{}
	for _, e := range page.Items {
		results[e.Result]++
	}
	if results[engine.ResultOK] != 2 || results[engine.ResultDenied] != 5 {
		t.Errorf("login.mfa audit: %v", results)
	}

	// with keys the stored enrolment holds the secret only sealed
	d, err := f.raw.FindDoc(ctx, engine.KindMFA, hq.User.ID)
	if err != nil {
		t.Fatal(err)
	}
	if clear := bytes.Contains(d.Value, []byte(en.Secret)); clear == encrypt {
		t.Errorf("secret in clear in the stored enrolment = %v: %s", clear, d.Value)
	}
	// a node without a TOTP implementation lets nobody through the second step
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(60 * time.Second)
	f.clock.mu.Unlock()
	bare := engine.NewService(f.store, f.org, engine.ServiceOptions{Clock: f.clock.Now})
	defer bare.Close()
	if err := bare.CheckLoginMFA(ctx, hq, hq.User, code()); err == nil {
		t.Errorf("a node without TOTP accepted a code")
	}
	if _, err := bare.EnrolMFA(ctx, staff); err == nil {
		t.Errorf("a node without TOTP enrolled a user")
	}
	if err := f.svc.CheckLoginMFA(ctx, hq, hq.User, code()); err != nil {
		t.Errorf("the code the bare node refused: %v", err)
	}
}

// TestMFAEnrolWindow: a user whose role needs a second factor may enrol
// with the password alone only within engine.MFAEnrolWindow of the
// account's creation or of an administrator's reset; after it both login
// paths say to ask an administrator, and the refusal is audited.
func TestMFAEnrolWindow(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers, Encrypt: true})
	ctx := context.Background()
	hq, admin := f.users["hqadmin"], f.users["admin"]
	code := func(err error) string {
		t.Helper()
		if err == nil {
			return ""
		}
		if fe := engine.ErrorFields(err); engine.ErrorCode(err) == engine.EUNAUTHORIZED && len(fe) == 1 {
			return fe[0].Code
		}
		t.Fatalf("want an unauthorized error with one field, got %v", err)
		return ""
	}
	check := func(when, wantAPI, wantHTML string) {
		t.Helper()
		if got := code(f.svc.CheckLoginMFA(ctx, hq, hq.User, "")); got != wantAPI {
			t.Errorf("%s: API login: %q, want %q", when, got, wantAPI)
		}
		if got := code(f.svc.CheckMFAEnrolAtLogin(ctx, hq, hq.User)); got != wantHTML {
			t.Errorf("%s: enrolment at the HTML login: %q, want %q", when, got, wantHTML)
		}
	}
	check("just created", "mfa_enrolment_required", "")
	f.clock.t = f.clock.t.Add(engine.MFAEnrolWindow - time.Minute)
	check("just before the window closes", "mfa_enrolment_required", "")
	f.clock.t = f.clock.t.Add(2 * time.Minute)
	check("after the window", "mfa_reset_required", "mfa_reset_required")
	if err := f.svc.ResetMFA(ctx, hq, hq.User.ID); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("a user resetting their own second factor: %v", err)
	}
	if err := f.svc.ResetMFA(ctx, admin, hq.User.ID); err != nil {
		t.Fatal(err)
	}
	check("after an administrator's reset", "mfa_enrolment_required", "")
	// a reset enrolment starts afresh and confirms as usual
	en, err := f.svc.EnrolMFA(ctx, hq)
	if err != nil {
		t.Fatal(err)
	}
	c, err := totp.New().Code(en.Secret, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConfirmMFA(ctx, hq, c); err != nil {
		t.Fatalf("confirm after a reset: %v", err)
	}
	if err := f.svc.CheckMFAEnrolAtLogin(ctx, hq, hq.User); engine.ErrorCode(err) != engine.ECONFLICT {
		t.Errorf("enrolling again while on: %v, want conflict", err)
	}
	// a second reset, then the window runs out again
	if err := f.svc.ResetMFA(ctx, admin, hq.User.ID); err != nil {
		t.Fatal(err)
	}
	f.clock.t = f.clock.t.Add(engine.MFAEnrolWindow + time.Minute)
	check("after the reset's window", "mfa_reset_required", "mfa_reset_required")
	page, err := f.store.FindAuditEvents(ctx, engine.AuditQuery{Action: "login.mfa", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	closed := 0
	for _, e := range page.Items {
		if e.Result == engine.ResultDenied && e.Reason == "not enrolled, enrolment window closed" {
			closed++
		}
	}
	if closed != 4 {
		t.Errorf("denied logins with the window closed: %d, want 4", closed)
	}
}
