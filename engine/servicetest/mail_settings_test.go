package servicetest_test

import (
	"context"
	"strings"
	"testing"

	"formwork/engine"
)

// TestMailSettings: an administrator stores the SMTP settings; the
// password is sealed in the store (the raw doc does not hold it), never
// read back out, kept when a save leaves it empty and forgotten on
// request; the email plugin's MailConfig opens it. Staff may neither read
// nor write them; bad settings are refused field by field and nothing is
// written; every save is audited without the password. On SQLite and,
// when FORMWORK_MONGO_URI is set, on MongoDB.
func TestMailSettings(t *testing.T) {
	for _, backend := range []string{"sqlite", "mongo"} {
		t.Run(backend, func(t *testing.T) {
			testMailSettings(t, newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers, Encrypt: true, Mongo: backend == "mongo"}))
		})
	}
}

func testMailSettings(t *testing.T, f *accessFixture) {
	ctx := context.Background()
	admin, staff := f.users["admin"], f.users["staff1"]
	const secret = "s3cret-smtp-pass"

	if m, err := f.svc.MailSettings(ctx, admin); err != nil || m != nil {
		t.Fatalf("settings before any save: %+v %v, want none", m, err)
	}
	if c, err := f.svc.MailConfig(ctx); err != nil || c != nil {
		t.Fatalf("config before any save: %+v %v, want none (the environment applies)", c, err)
	}
	in := &engine.MailSettings{Host: "smtp.example.com", Port: 587, Security: engine.MailStartTLS, Username: "mailer", Password: secret, From: "noreply@example.com"}
	out, err := f.svc.SetMailSettings(ctx, admin, in)
	if err != nil {
		t.Fatal(err)
	}
	if out.Password != "" || !out.PasswordSet {
		t.Errorf("saved settings as returned: password %q set %v", out.Password, out.PasswordSet)
	}
	d, err := f.base.FindDoc(ctx, engine.KindSettings, engine.SettingsMail)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(d.Value), secret) || !strings.Contains(string(d.Value), `"sealed"`) {
		t.Errorf("the stored doc holds the password in clear or not sealed: %s", d.Value)
	}
	m, err := f.svc.MailSettings(ctx, admin)
	if err != nil || m == nil {
		t.Fatalf("read back: %v", err)
	}
	diff(t, "read back", []any{"smtp.example.com", 587, "starttls", "mailer", "noreply@example.com", "", true},
		[]any{m.Host, m.Port, m.Security, m.Username, m.From, m.Password, m.PasswordSet})
	c, err := f.svc.MailConfig(ctx)
	if err != nil || c == nil || c.Password != secret || c.Addr() != "smtp.example.com:587" {
		t.Fatalf("the plugin's config: %+v %v", c, err)
	}

	// a save without a password keeps it; clear_password forgets it
	if _, err := f.svc.SetMailSettings(ctx, admin, &engine.MailSettings{Host: "mail.example.com", Port: 465, Security: engine.MailTLS, Username: "mailer", From: "noreply@example.com"}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.svc.MailConfig(ctx); c == nil || c.Password != secret || c.Host != "mail.example.com" {
		t.Errorf("after a save without a password: %+v", c)
	}
	if _, err := f.svc.SetMailSettings(ctx, admin, &engine.MailSettings{Host: "mail.example.com", Port: 25, Security: engine.MailPlain, From: "noreply@example.com", ClearPass: true}); err != nil {
		t.Fatal(err)
	}
	if c, _ := f.svc.MailConfig(ctx); c == nil || c.Password != "" {
		t.Errorf("after clearing the password: %+v", c)
	}

	// staff: refused, audited as denied
	if _, err := f.svc.MailSettings(ctx, staff); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff reads the mail settings: %v", err)
	}
	if _, err := f.svc.SetMailSettings(ctx, staff, in); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("staff writes the mail settings: %v", err)
	}

	// bad settings: every problem named, nothing written
	before, _ := f.base.FindDoc(ctx, engine.KindSettings, engine.SettingsMail)
	_, err = f.svc.SetMailSettings(ctx, admin, &engine.MailSettings{Host: "smtp example", Port: 70000, Security: "ssl3", From: "not an address", Username: "a\r\nRCPT TO:<x@y>"})
	if engine.ErrorCode(err) != engine.EINVALID {
		t.Fatalf("bad settings: %v, want EINVALID", err)
	}
	var fields []string
	for _, fe := range engine.ErrorFields(err) {
		fields = append(fields, fe.Field)
		if fe.Message.Zh == "" || fe.Message.En == "" || strings.Contains(fe.Message.Zh, "^") {
			t.Errorf("field %s: message %+v is not in both languages' plain words", fe.Field, fe.Message)
		}
	}
	diff(t, "refused fields", []string{"/host", "/port", "/security", "/from", "/username"}, fields)
	if after, _ := f.base.FindDoc(ctx, engine.KindSettings, engine.SettingsMail); after.Version != before.Version {
		t.Errorf("a refused save wrote the settings (version %d → %d)", before.Version, after.Version)
	}

	page, err := f.base.FindAuditEvents(ctx, engine.AuditQuery{Action: "settings.mail", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ok, denied int
	for _, ev := range page.Items {
		if strings.Contains(string(ev.Detail), secret) {
			t.Errorf("an audit event holds the password: %s", ev.Detail)
		}
		switch ev.Result {
		case engine.ResultOK:
			ok++
		case engine.ResultDenied:
			denied++
		}
	}
	diff(t, "settings.mail events (ok, denied)", []int{3, 1}, []int{ok, denied})
}
