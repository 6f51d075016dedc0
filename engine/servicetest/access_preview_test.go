package servicetest_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// TestPreviewFormAs: a bundle not yet published is shown as a role in a
// unit and as a real user: hidden fields absent, masked values masked, the
// rules' states live; nothing is written.
func TestPreviewFormAs(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers})
	ctx := context.Background()
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := engine.LoadBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"name": "王小明", "phone": "13912345678", "level": "gold", "budget": 1000.0, "discount": 0.1}
	before, err := f.svc.AuditEvents(ctx, f.users["admin"], engine.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	staff, err := f.svc.PreviewForm(ctx, b, "customer", engine.PreviewSubject{Role: "staff", Unit: "store1"}, data)
	if err != nil {
		t.Fatal(err)
	}
	perms := map[string]string{}
	for _, fd := range staff.Fields {
		perms[fd.Key] = fd.Perm
	}
	if perms["discount"] != "" || perms["phone"] != engine.PermMasked || perms["budget"] != engine.PermRead || perms["name"] != engine.PermEdit {
		t.Errorf("staff's fields: %v", perms)
	}
	if _, ok := staff.Data["discount"]; ok || staff.Data["phone"] == "13912345678" || staff.Data["name"] != "王小明" {
		t.Errorf("staff's data: %v", staff.Data)
	}
	for _, fd := range staff.Fields {
		if fd.Key == "vip_since" && (!fd.Visible || !fd.Required) {
			t.Errorf("vip_since for a gold customer: %+v, want visible and required", fd.FieldState)
		}
	}
	if diff := cmp.Diff([]string{"create", "read", "update"}, staff.Operations); diff != "" {
		t.Errorf("staff's operations (-want +got):\n%s", diff)
	}
	analyst, err := f.svc.PreviewForm(ctx, b, "customer", engine.PreviewSubject{User: "analyst@example.com"}, data)
	if err != nil {
		t.Fatal(err)
	}
	if analyst.Data["name"] == "王小明" || analyst.Data["phone"] == "13912345678" {
		t.Errorf("the analyst sees name and phone masked: %v", analyst.Data)
	}
	for _, bad := range []struct {
		subject engine.PreviewSubject
		form    string
		field   string
	}{
		{engine.PreviewSubject{Role: "nobody", Unit: "store1"}, "customer", "/as/role"},
		{engine.PreviewSubject{Role: "staff", Unit: "nowhere"}, "customer", "/as/unit"},
		{engine.PreviewSubject{User: "ghost@example.com"}, "customer", "/as/user"},
		{engine.PreviewSubject{Role: "staff", Unit: "store1"}, "nope", "/form"},
	} {
		_, err := f.svc.PreviewForm(ctx, b, bad.form, bad.subject, data)
		var e *engine.Error
		if engine.ErrorCode(err) != engine.EINVALID || !errors.As(err, &e) || len(e.Fields) != 1 || e.Fields[0].Field != bad.field {
			t.Errorf("%+v on %s: %v, want invalid at %s", bad.subject, bad.form, err, bad.field)
		}
	}
	after, err := f.svc.AuditEvents(ctx, f.users["admin"], engine.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// the only new event is the admin's own read of the log
	if n := len(after.Items) - len(before.Items); n != 1 || after.Items[0].Actor != f.users["admin"].User.ID {
		t.Errorf("previews wrote events: %d new, newest %+v; want only the log read", n, after.Items[0])
	}
}
