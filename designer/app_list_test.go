package designer_test

import (
	"strings"
	"testing"

	"formwork/designer"
	"formwork/engine"
)

// TestApps: the designer's home list is every app for an administrator,
// a named designer's apps for them, nothing for anyone else, and asking
// writes no denial.
func TestApps(t *testing.T) {
	f := newFixture(t)
	admin := f.users["admin"]
	if _, err := f.d.Save(ctx, admin, "mini", []byte(miniBundle), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Publish(ctx, admin, "mini", designer.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	fresh := strings.Replace(miniBundle, `"key": "mini", "name": {"zh": "小店", "en": "Mini"}`, `"key": "fresh", "name": {"zh": "新店", "en": "Fresh"}`, 1)
	if _, err := f.d.Save(ctx, admin, "fresh", []byte(fresh), 0); err != nil {
		t.Fatal(err)
	}
	keys := func(p *engine.Principal) map[string]designer.AppItem {
		t.Helper()
		apps, err := f.d.Apps(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]designer.AppItem{}
		for _, a := range apps {
			out[a.Key] = a
		}
		return out
	}
	all := keys(admin)
	if a, ok := all["fresh"]; !ok || !a.Draft || a.Name.Zh != "新店" {
		t.Errorf("the admin's list lacks the draft-only app: %+v", all)
	}
	if a, ok := all["mini"]; !ok || a.Draft || a.Name.En != "Mini" {
		t.Errorf("the admin's list: mini %+v", a)
	}
	des := keys(f.users["des"])
	if _, ok := des["mini"]; !ok {
		t.Errorf("the named designer's list lacks mini: %+v", des)
	}
	if _, ok := des["fresh"]; ok {
		t.Errorf("the named designer sees an app they were not named for: %+v", des)
	}
	before, err := f.svc.AuditEvents(ctx, admin, engine.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got := keys(f.users["other"]); len(got) != 0 {
		t.Errorf("another user's list: %+v", got)
	}
	after, err := f.svc.AuditEvents(ctx, admin, engine.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// the only new event is the admin's own read of the log
	if n := len(after.Items) - len(before.Items); n != 1 {
		t.Errorf("listing wrote %d events", n-1)
	}
	if _, err := f.d.Apps(ctx, nil); engine.ErrorCode(err) != engine.EUNAUTHORIZED {
		t.Errorf("nobody: %v", err)
	}
}
