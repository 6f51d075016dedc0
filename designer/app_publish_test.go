package designer_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
	"formwork/templates"
)

func TestPublishInvalidDraft(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	d, err := f.d.Patch(ctx, f.users["des"], "mini", []byte(`[{"op":"add","path":"/forms/0/properties/level/x-visible","value":"nope >"}]`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) == 0 {
		t.Fatal("a rule that does not compile is no problem")
	}
	_, err = f.d.Publish(ctx, f.users["des"], "mini", designer.PublishOptions{Confirm: true})
	if code(err) != engine.EINVALID || len(engine.ErrorFields(err)) == 0 {
		t.Fatalf("publish of an invalid draft: %v", err)
	}
	if got := fieldsOf(err)[0]; got != d.Problems[0].Pointer {
		t.Errorf("field error at %q, problem at %q", got, d.Problems[0].Pointer)
	}
	after, err := f.d.Draft(ctx, f.users["des"], "mini")
	if err != nil || after.Version != d.Version || after.Base != 1 {
		t.Errorf("draft after a refused publish: %+v %v", after, err)
	}
	if _, err := f.d.Publish(ctx, f.users["des"], "shop", designer.PublishOptions{}); code(err) != engine.ENOTFOUND {
		t.Errorf("publish without a draft: %v", err)
	}
}

func TestPublishWithImpactNeedsConfirm(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	des := f.users["des"]
	for _, level := range []string{"a", "b"} {
		if _, err := f.svc.CreateRecord(ctx, f.users["admin"], "mini", "customer", map[string]any{"name": "Li", "level": level}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := f.d.Patch(ctx, des, "mini", []byte(`[
	  {"op":"remove","path":"/forms/0/properties/level"},
	  {"op":"replace","path":"/forms/0/x-layout/0/fields","value":["name"]},
	  {"op":"replace","path":"/app/version","value":"1.1.0"}]`), 0)
	if err != nil || len(d.Problems) > 0 {
		t.Fatalf("patch: %v %v", err, d)
	}
	diff, err := f.d.Diff(ctx, des, "mini")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]designer.Impact{{Form: "customer", Field: "level", Records: 2}}, diff.Impact); d != "" {
		t.Errorf("impact (-want +got):\n%s", d)
	}
	_, err = f.d.Publish(ctx, des, "mini", designer.PublishOptions{})
	if code(err) != engine.ECONFLICT || cmp.Diff([]string{"/forms/0/properties/level"}, fieldsOf(err)) != "" {
		t.Fatalf("publish without confirm: %v", err)
	}
	if after, _ := f.d.Draft(ctx, des, "mini"); after.Version != d.Version {
		t.Errorf("draft changed by a refused publish: v%d", after.Version)
	}
	v, err := f.d.Publish(ctx, des, "mini", designer.PublishOptions{Confirm: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&engine.AppVersion{Key: "mini", Version: 2, AppVersion: "1.1.0"}, v); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	// the draft is gone: Draft gives the published bundle, as saved
	now, err := f.d.Draft(ctx, des, "mini")
	if err != nil {
		t.Fatal(err)
	}
	if now.Version != 0 || now.Base != 2 || !bytes.Equal(now.Bundle, d.Bundle) {
		t.Errorf("draft after publish: v%d base %d", now.Version, now.Base)
	}
	want := []string{f.users["admin"].User.ID + " ok", des.User.ID + " ok"}
	if diff := cmp.Diff(want, f.audited(t, "app.publish")); diff != "" {
		t.Errorf("app.publish audit (-want +got):\n%s", diff)
	}
}

func TestVersionsAndRestore(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	des := f.users["des"]
	if _, err := f.d.Patch(ctx, des, "mini", []byte(`[
	  {"op":"replace","path":"/app/version","value":"1.1.0"},
	  {"op":"replace","path":"/forms/0/properties/name/x-label/en","value":"Full name"}]`), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Publish(ctx, des, "mini", designer.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	vs, err := f.d.Versions(ctx, des, "mini")
	if err != nil {
		t.Fatal(err)
	}
	want := []designer.Version{
		{Version: 2, AppVersion: "1.1.0", By: des.User.ID,
			Summary: engine.T("版本号 1.0.0 → 1.1.0；修改了字段「姓名」的名称", "version 1.0.0 → 1.1.0; renamed field Name to Full name")},
		{Version: 1, AppVersion: "1.0.0", By: f.users["admin"].User.ID, Summary: engine.T("首次发布", "first published")},
	}
	for i := range vs {
		if vs[i].At.IsZero() {
			t.Errorf("version %d has no time", vs[i].Version)
		}
		vs[i].At = want[i].At
	}
	if diff := cmp.Diff(want, vs); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
	// a version of more than three changes is counted
	if _, err := f.d.Patch(ctx, des, "mini", []byte(`[
	  {"op":"replace","path":"/app/version","value":"1.2.0"},
	  {"op":"replace","path":"/app/name","value":"Mini 2"},
	  {"op":"replace","path":"/forms/0/x-title","value":"Client"},
	  {"op":"replace","path":"/roles/0/name","value":"Clerk"}]`), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Publish(ctx, des, "mini", designer.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	vs, err = f.d.Versions(ctx, des, "mini")
	if err != nil || len(vs) != 3 || vs[0].Summary != engine.T("4 处改动", "4 changes") {
		t.Errorf("versions after a third publish: %+v %v", vs, err)
	}
	d, err := f.d.Restore(ctx, des, "mini", 1)
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 1 || d.Base != 3 || string(d.Bundle) != miniBundle {
		t.Errorf("restored draft: v%d base %d", d.Version, d.Base)
	}
	if diff := cmp.Diff([]string{des.User.ID + " ok"}, f.audited(t, "draft.restore")); diff != "" {
		t.Errorf("draft.restore audit (-want +got):\n%s", diff)
	}
	if _, err := f.d.Restore(ctx, des, "mini", 9); code(err) != engine.ENOTFOUND {
		t.Errorf("restore of a version that does not exist: %v", err)
	}
	if _, err := f.d.Versions(ctx, des, "shop"); code(err) != engine.ENOTFOUND {
		t.Errorf("versions of an app never published: %v", err)
	}
}

// TestLossless: every bundle the engine accepts, saved and published
// without changes, comes back the same.
func TestLossless(t *testing.T) {
	bundles := map[string][]byte{"shop": readFile(t, "testdata/shop.json")}
	for _, name := range templates.Names() {
		b, err := templates.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		bundles[name] = b
	}
	for name, data := range bundles {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			admin := f.users["admin"]
			app := readKeysApp(t, data)
			// a new app: save, publish, read back
			if _, err := f.d.Save(ctx, admin, app, data, 0); err != nil {
				t.Fatal(err)
			}
			if _, err := f.d.Publish(ctx, admin, app, designer.PublishOptions{}); err != nil {
				t.Fatal(err)
			}
			d, err := f.d.Draft(ctx, admin, app)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, data, d.Bundle)
			// an unchanged draft of the published app publishes the same bundle
			if _, err := f.d.Save(ctx, admin, app, d.Bundle, 0); err != nil {
				t.Fatal(err)
			}
			if diff, err := f.d.Diff(ctx, admin, app); err != nil || len(diff.Changes) != 0 || len(diff.Impact) != 0 {
				t.Errorf("diff of an unchanged draft: %+v %v", diff, err)
			}
			v, err := f.d.Publish(ctx, admin, app, designer.PublishOptions{})
			if err != nil || v.Version != 2 {
				t.Fatalf("second publish: %+v %v", v, err)
			}
			d2, err := f.d.Draft(ctx, admin, app)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, data, d2.Bundle)
			// a label changed by a patch and changed back
			label := `[{"op":"replace","path":"/forms/0/x-title","value":{"zh":"改","en":"Changed"}}]`
			if _, err := f.d.Patch(ctx, admin, app, []byte(label), 0); err != nil {
				t.Fatal(err)
			}
			back := `[{"op":"replace","path":"/forms/0/x-title","value":` + string(mustTitle(t, data)) + `}]`
			d3, err := f.d.Patch(ctx, admin, app, []byte(back), 1)
			if err != nil {
				t.Fatal(err)
			}
			sameJSON(t, data, d3.Bundle)
		})
	}
}

// TestPublishOverNewerVersion: a draft begun from version 1, while an
// import publishes version 2, does not silently undo version 2.
func TestPublishOverNewerVersion(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	des := f.users["des"]
	d, err := f.d.Patch(ctx, des, "mini", []byte(`[{"op":"replace","path":"/app/version","value":"1.1.0"}]`), 0)
	if err != nil || len(d.Problems) > 0 {
		t.Fatalf("patch: %v %v", err, d)
	}
	f.publish(t, strings.Replace(miniBundle, `"version": "1.0.0"`, `"version": "1.0.1"`, 1))
	diff, err := f.d.Diff(ctx, des, "mini")
	if err != nil {
		t.Fatal(err)
	}
	if !diff.Stale() || diff.Base != 1 || diff.Published != 2 {
		t.Errorf("diff over a newer version: base %d published %d", diff.Base, diff.Published)
	}
	_, err = f.d.Publish(ctx, des, "mini", designer.PublishOptions{})
	if code(err) != engine.ECONFLICT || len(engine.ErrorFields(err)) != 1 || engine.ErrorFields(err)[0].Code != "stale_base" {
		t.Fatalf("publish over a newer version without confirm: %v", err)
	}
	if after, _ := f.d.Draft(ctx, des, "mini"); after.Version != d.Version {
		t.Errorf("draft changed by a refused publish: v%d", after.Version)
	}
	v, err := f.d.Publish(ctx, des, "mini", designer.PublishOptions{Confirm: true})
	if err != nil || v.Version != 3 || v.AppVersion != "1.1.0" {
		t.Fatalf("confirmed publish: %+v %v", v, err)
	}
	if diff, err := f.d.Diff(ctx, des, "mini"); err != nil || diff.Stale() {
		t.Errorf("no draft, yet stale: %+v %v", diff, err)
	}
}
