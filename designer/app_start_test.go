package designer_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/templates"
)

// TestStartFromAndCopy starts apps from a template and as a copy: only
// the app's key and name change (the bytes around them, field order
// included, stay), a taken key or a bad one is refused with the draft
// untouched, and only who may design both apps may copy.
func TestStartFromAndCopy(t *testing.T) {
	f := newFixture(t)
	admin := f.users["admin"]
	crm, err := templates.Get("crm")
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.d.StartFrom(ctx, admin, "crm2", engine.T("客户二", "CRM two"), crm)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Replace(crm, []byte(`"key": "crm", "name": {"zh": "客户管理", "en": "CRM"}`), []byte(`"key": "crm2", "name": {"zh": "客户二", "en": "CRM two"}`), 1)
	sameJSON(t, want, d.Bundle)
	if i, j := bytes.Index(d.Bundle, []byte(`"customer"`)), bytes.Index(d.Bundle, []byte(`"contact"`)); i < 0 || j < i {
		t.Errorf("forms out of order in the started draft")
	}
	if len(d.Problems) != 0 {
		t.Errorf("the template's draft has problems: %v", d.Problems)
	}
	if got := f.audited(t, "draft.start"); !cmp.Equal(got, []string{admin.User.ID + " ok"}) {
		t.Errorf("audited %v", got)
	}

	f.publish(t, miniBundle)
	cp, err := f.d.StartCopy(ctx, admin, "mini", "mini2", engine.Text{})
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		App struct {
			Key  string      `json:"key"`
			Name engine.Text `json:"name"`
		} `json:"app"`
	}
	if err := json.Unmarshal(cp.Bundle, &b); err != nil {
		t.Fatal(err)
	}
	if b.App.Key != "mini2" || b.App.Name != engine.T("小店 副本", "Mini (copy)") {
		t.Errorf("copy is %+v", b.App)
	}
	if !strings.Contains(string(cp.Bundle), `"x-layout"`) {
		t.Error("the copy lost the layout")
	}

	for _, tc := range []struct {
		name, who, src, key, code string
	}{
		{"key taken by a published app", "admin", "mini", "mini", engine.ECONFLICT},
		{"key taken by a draft", "admin", "mini", "crm2", engine.ECONFLICT},
		{"bad key", "admin", "mini", "Mini Two", engine.EINVALID},
		{"never published", "admin", "crm2", "crm3", engine.ENOTFOUND},
		{"a designer of mini may not start another app", "des", "mini", "mini3", engine.EFORBIDDEN},
		{"nor copy what they may not design", "other", "mini", "mini3", engine.EFORBIDDEN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.d.StartCopy(ctx, f.users[tc.who], tc.src, tc.key, engine.Text{})
			if code(err) != tc.code {
				t.Fatalf("StartCopy: %v, want %s", err, tc.code)
			}
		})
	}
	again, err := f.d.Draft(ctx, admin, "crm2")
	if err != nil {
		t.Fatal(err)
	}
	if again.Version != d.Version {
		t.Errorf("a refused start changed crm2's draft: version %d, was %d", again.Version, d.Version)
	}
	if _, _, err := f.d.StartFromSheet(ctx, admin, "mini", engine.T("表", "Sheet"), "a.csv", strings.NewReader("名称\n甲\n")); code(err) != engine.ECONFLICT {
		t.Errorf("a sheet over a published app: %v, want conflict", err)
	}
}
