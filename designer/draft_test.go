package designer_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/designer"
	"formwork/engine"
	"formwork/engine/store/mongo/mongotest"
	"formwork/templates"
)

func TestWhoMayDesign(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	ops := []struct {
		name string
		call func(p *engine.Principal) error
	}{
		{"draft", func(p *engine.Principal) error { _, err := f.d.Draft(ctx, p, "mini"); return err }},
		{"diff", func(p *engine.Principal) error { _, err := f.d.Diff(ctx, p, "mini"); return err }},
		{"versions", func(p *engine.Principal) error { _, err := f.d.Versions(ctx, p, "mini"); return err }},
		{"designers", func(p *engine.Principal) error { _, err := f.d.Designers(ctx, p, "mini"); return err }},
	}
	users := []struct {
		user string
		want string
	}{
		{"admin", ""},
		{"des", ""},
		{"other", engine.EFORBIDDEN},
		{"", engine.EUNAUTHORIZED},
	}
	for _, op := range ops {
		for _, u := range users {
			t.Run(op.name+"/"+u.user, func(t *testing.T) {
				if got := code(op.call(f.users[u.user])); got != u.want {
					t.Errorf("code = %q, want %q", got, u.want)
				}
			})
		}
	}
	// writes: the other user is refused and the refusal is on record
	writes := []struct {
		name, action string
		call         func(p *engine.Principal) error
	}{
		{"save", "draft.save", func(p *engine.Principal) error { _, err := f.d.Save(ctx, p, "mini", []byte(miniBundle), 0); return err }},
		{"patch", "draft.patch", func(p *engine.Principal) error {
			_, err := f.d.Patch(ctx, p, "mini", []byte(`[{"op":"replace","path":"/app/version","value":"1.0.1"}]`), 0)
			return err
		}},
		{"restore", "draft.restore", func(p *engine.Principal) error { _, err := f.d.Restore(ctx, p, "mini", 1); return err }},
		{"publish", "app.publish", func(p *engine.Principal) error {
			_, err := f.d.Publish(ctx, p, "mini", designer.PublishOptions{})
			return err
		}},
	}
	for _, w := range writes {
		t.Run(w.name+"/other", func(t *testing.T) {
			if got := code(w.call(f.users["other"])); got != engine.EFORBIDDEN {
				t.Fatalf("code = %q, want forbidden", got)
			}
			var denied []string
			for _, ev := range f.audited(t, w.action) {
				if strings.HasSuffix(ev, " denied") {
					denied = append(denied, ev)
				}
			}
			want := []string{f.users["other"].User.ID + " denied"}
			if diff := cmp.Diff(want, denied); diff != "" {
				t.Errorf("audit (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("set designers is for admins", func(t *testing.T) {
		if got := code(f.d.SetDesigners(ctx, f.users["des"], "mini", []string{"other@example.com"})); got != engine.EFORBIDDEN {
			t.Errorf("code = %q, want forbidden", got)
		}
		err := f.d.SetDesigners(ctx, f.users["admin"], "mini", []string{"des@example.com", "nobody@example.com"})
		if diff := cmp.Diff([]string{"/1"}, fieldsOf(err)); code(err) != engine.EINVALID || diff != "" {
			t.Errorf("unknown user: %v (-want +got):\n%s", err, diff)
		}
		if err := f.d.SetDesigners(ctx, f.users["admin"], "mini", []string{f.users["other"].User.ID}); err != nil {
			t.Fatal(err)
		}
		got, err := f.d.Designers(ctx, f.users["other"], "mini")
		if diff := cmp.Diff([]string{f.users["other"].User.ID}, got); err != nil || diff != "" {
			t.Errorf("designers: %v (-want +got):\n%s", err, diff)
		}
		if _, err := f.d.Draft(ctx, f.users["des"], "mini"); code(err) != engine.EFORBIDDEN {
			t.Errorf("a designer no longer named: %v", err)
		}
	})
}

func TestDraftSavePatchConflict(t *testing.T) {
	f := newFixture(t)
	des := f.users["des"]
	if _, err := f.d.Draft(ctx, des, "mini"); code(err) != engine.ENOTFOUND {
		t.Fatalf("draft of an unknown app: %v", err)
	}
	// a new app starts with a save at version 0
	d1, err := f.d.Save(ctx, des, "mini", []byte(miniBundle), 0)
	if err != nil {
		t.Fatal(err)
	}
	if d1.Version != 1 || d1.Base != 0 || len(d1.Problems) != 0 || d1.UpdatedBy != des.User.ID {
		t.Errorf("first save: %+v", d1)
	}
	// a stale save conflicts
	if _, err := f.d.Save(ctx, des, "mini", []byte(miniBundle), 0); code(err) != engine.ECONFLICT {
		t.Errorf("stale save: %v", err)
	}
	// an invalid draft is stored with its problems, pointing into the bundle
	bad := strings.Replace(miniBundle, `"required": ["name"]`, `"required": ["nom"]`, 1)
	d2, err := f.d.Save(ctx, des, "mini", []byte(bad), 1)
	if err != nil {
		t.Fatal(err)
	}
	wantProbs := []designer.Problem{{Pointer: "/forms/0/required/0", Code: "reference", Message: engine.T(`必填字段 "nom" 不存在`, `required field "nom" does not exist`)}}
	if diff := cmp.Diff(wantProbs, d2.Problems); diff != "" || d2.Version != 2 {
		t.Errorf("invalid draft v%d (-want +got):\n%s", d2.Version, diff)
	}
	// a patch fixes it
	d3, err := f.d.Patch(ctx, des, "mini", []byte(`[{"op":"replace","path":"/forms/0/required/0","value":"name"}]`), 2)
	if err != nil {
		t.Fatal(err)
	}
	if d3.Version != 3 || len(d3.Problems) != 0 {
		t.Errorf("patched draft: v%d %v", d3.Version, d3.Problems)
	}
	sameJSON(t, []byte(miniBundle), d3.Bundle)
	// a stale patch conflicts and changes nothing
	if _, err := f.d.Patch(ctx, des, "mini", []byte(`[{"op":"replace","path":"/app/version","value":"2.0.0"}]`), 2); code(err) != engine.ECONFLICT {
		t.Errorf("stale patch: %v", err)
	}
	got, err := f.d.Draft(ctx, f.users["admin"], "mini")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 3 || !bytes.Equal(got.Bundle, d3.Bundle) {
		t.Errorf("draft after a stale patch: v%d", got.Version)
	}
	want := []string{des.User.ID + " ok", des.User.ID + " ok"}
	if diff := cmp.Diff(want, f.audited(t, "draft.save")); diff != "" {
		t.Errorf("draft.save audit (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{des.User.ID + " ok"}, f.audited(t, "draft.patch")); diff != "" {
		t.Errorf("draft.patch audit (-want +got):\n%s", diff)
	}
}

func TestDraftOfPublishedApp(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	d, err := f.d.Draft(ctx, f.users["des"], "mini")
	if err != nil {
		t.Fatal(err)
	}
	if d.Version != 0 || d.Base != 1 || string(d.Bundle) != miniBundle || len(d.Problems) != 0 {
		t.Errorf("draft without a draft: v%d base %d %v", d.Version, d.Base, d.Problems)
	}
	// a patch on the published bundle starts the draft
	d2, err := f.d.Patch(ctx, f.users["des"], "mini", []byte(`[{"op":"replace","path":"/forms/0/properties/name/x-label/en","value":"Full name"}]`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Version != 1 || d2.Base != 1 {
		t.Errorf("first patch: v%d base %d", d2.Version, d2.Base)
	}
	// and a patch back gives the original
	d3, err := f.d.Patch(ctx, f.users["des"], "mini", []byte(`[{"op":"replace","path":"/forms/0/properties/name/x-label/en","value":"Name"}]`), 1)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, []byte(miniBundle), d3.Bundle)
}

func TestBadInputLeavesDraftUnchanged(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	des := f.users["des"]
	start, err := f.d.Patch(ctx, des, "mini", []byte(`[{"op":"replace","path":"/app/version","value":"1.1.0"}]`), 0)
	if err != nil {
		t.Fatal(err)
	}
	huge := append([]byte(`{"formwork":"1","app":{"key":"mini"},"x":"`), bytes.Repeat([]byte("a"), designer.MaxDraftSize)...)
	huge = append(huge, `"}`...)
	hugePatch := append([]byte(`[{"op":"add","path":"/x","value":"`), bytes.Repeat([]byte("a"), designer.MaxDraftSize)...)
	hugePatch = append(hugePatch, `"}]`...)
	cases := []struct {
		name   string
		save   string // a whole bundle, or
		patch  string // a patch
		raw    []byte // either, raw
		code   string
		fields []string
	}{
		{name: "malformed JSON", save: `{"formwork":`, code: engine.EBADREQUEST, fields: []string{""}},
		{name: "not an object", save: `[1,2]`, code: engine.EBADREQUEST, fields: []string{""}},
		{name: "malformed patch", patch: `{"op":"add"}`, code: engine.EBADREQUEST, fields: []string{""}},
		{name: "patch without path", patch: `[{"op":"add","value":1}]`, code: engine.EBADREQUEST, fields: []string{"/0/path"}},
		{name: "patch with a bad path", patch: `[{"op":"replace","path":"/app/version","value":"1"},{"op":"add","path":"app","value":1}]`, code: engine.EBADREQUEST, fields: []string{"/1/path"}},
		{name: "patch with an unknown op", patch: `[{"op":"frobnicate","path":"/app"}]`, code: engine.EBADREQUEST, fields: []string{"/0/op"}},
		{name: "patch without value", patch: `[{"op":"replace","path":"/app/version"}]`, code: engine.EBADREQUEST, fields: []string{"/0/value"}},
		{name: "move without from", patch: `[{"op":"move","path":"/app/x"}]`, code: engine.EBADREQUEST, fields: []string{"/0/from"}},
		{name: "pointer that does not exist", patch: `[{"op":"replace","path":"/app/version","value":"1.2.0"},{"op":"replace","path":"/forms/7/x-title","value":"X"}]`, code: engine.EINVALID, fields: []string{"/forms/7/x-title"}},
		{name: "the third of five operations fails", patch: `[{"op":"test","path":"/app/key","value":"mini"},{"op":"add","path":"/app/x","value":1},{"op":"remove","path":"/app/y"},{"op":"remove","path":"/app/x"},{"op":"test","path":"/app/key","value":"mini"}]`, code: engine.EINVALID, fields: []string{"/app/y"}},
		{name: "too many operations", patch: "[" + strings.Repeat(`{"op":"test","path":"/app/key","value":"mini"},`, designer.MaxPatchOps) + `{"op":"test","path":"/app/key","value":"mini"}]`, code: engine.ETOOLARGE},
		{name: "remove what is not there", patch: `[{"op":"remove","path":"/forms/0/properties/nope"}]`, code: engine.EINVALID, fields: []string{"/forms/0/properties/nope"}},
		{name: "failed test", patch: `[{"op":"test","path":"/app/version","value":"9.9.9"}]`, code: engine.EINVALID, fields: []string{"/app/version"}},
		{name: "draft over 10 MB", raw: huge, code: engine.ETOOLARGE},
		{name: "patch over 10 MB", raw: hugePatch, patch: "raw", code: engine.ETOOLARGE},
		{name: "another app's key", save: strings.Replace(miniBundle, `"key": "mini"`, `"key": "maxi"`, 1), code: engine.EINVALID, fields: []string{"/app/key"}},
		{name: "app key replaced", patch: `[{"op":"replace","path":"/app/key","value":"maxi"}]`, code: engine.EINVALID, fields: []string{"/app/key"}},
		{name: "app key moved", patch: `[{"op":"move","from":"/app/key","path":"/app/old_key"}]`, code: engine.EINVALID, fields: []string{"/app/key"}},
		{name: "published field key moved", patch: `[{"op":"move","from":"/forms/0/properties/name","path":"/forms/0/properties/full_name"}]`, code: engine.EINVALID, fields: []string{"/forms/0/properties/name"}},
		{name: "published form key changed", patch: `[{"op":"replace","path":"/forms/0/x-key","value":"client"}]`, code: engine.EINVALID, fields: []string{"/forms/0/x-key"}},
		{name: "published form key changed by save", save: strings.Replace(miniBundle, `"x-key": "customer"`, `"x-key": "client"`, 1), code: engine.EINVALID, fields: []string{"/forms/0/x-key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			switch {
			case c.patch == "raw":
				_, err = f.d.Patch(ctx, des, "mini", c.raw, start.Version)
			case c.raw != nil:
				_, err = f.d.Save(ctx, des, "mini", c.raw, start.Version)
			case c.patch != "":
				_, err = f.d.Patch(ctx, des, "mini", []byte(c.patch), start.Version)
			default:
				_, err = f.d.Save(ctx, des, "mini", []byte(c.save), start.Version)
			}
			if code(err) != c.code {
				t.Fatalf("code = %q, want %q (%v)", code(err), c.code, err)
			}
			if diff := cmp.Diff(c.fields, fieldsOf(err)); diff != "" {
				t.Errorf("field pointers (-want +got):\n%s", diff)
			}
			for _, fe := range engine.ErrorFields(err) {
				if fe.Message.Zh == "" || fe.Message.En == "" {
					t.Errorf("message not bilingual: %+v", fe)
				}
			}
			got, err := f.d.Draft(ctx, des, "mini")
			if err != nil {
				t.Fatal(err)
			}
			if got.Version != start.Version || !bytes.Equal(got.Bundle, start.Bundle) {
				t.Errorf("draft changed: v%d", got.Version)
			}
		})
	}
}

func TestProblemsInPlainWords(t *testing.T) {
	f := newFixture(t)
	bad := strings.Replace(miniBundle, `"key": "staff"`, `"key": "Staff-1"`, 1)
	d, err := f.d.Save(ctx, f.users["des"], "mini", []byte(bad), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) == 0 {
		t.Fatal("no problems")
	}
	for _, p := range d.Problems {
		if strings.Contains(p.Message.En, "[a-z]") || strings.Contains(p.Message.Zh, "[a-z]") {
			t.Errorf("a regular expression shown: %+v", p)
		}
	}
	if p := d.Problems[0]; p.Pointer != "/roles/0/key" || p.Code != "pattern" {
		t.Errorf("first problem: %+v", p)
	}
}

func TestFormReplacedIsNoRename(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	// the published form deleted and another put in its place: not a key
	// change (what it would orphan is the publish's impact to confirm)
	other := strings.Replace(miniBundle, `"x-key": "customer"`, `"x-key": "order"`, 1)
	other = strings.Replace(other, `"name": {"type": "string"`, `"title": {"type": "string"`, 1)
	other = strings.ReplaceAll(other, `["name"`, `["title"`)
	other = strings.ReplaceAll(other, `"customer"`, `"order"`)
	d, err := f.d.Save(ctx, f.users["des"], "mini", []byte(other), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Problems) != 0 {
		t.Errorf("problems: %+v", d.Problems)
	}
	diff, err := f.d.Diff(ctx, f.users["des"], "mini")
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, c := range diff.Changes {
		if c.Kind == "form" {
			ops = append(ops, c.Op+" "+c.Pointer)
		}
	}
	if d := cmp.Diff([]string{"remove /forms/0", "add /forms/0"}, ops); d != "" {
		t.Errorf("form changes (-want +got):\n%s", d)
	}
}

func TestProblemsNoLibraryText(t *testing.T) {
	f := newFixture(t)
	f.publish(t, miniBundle)
	d, err := f.d.Patch(ctx, f.users["des"], "mini", []byte(`[{"op":"replace","path":"/forms/0/properties/level/type","value":"strin"}]`), 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range d.Problems {
		got = append(got, p.Pointer+" "+p.Code)
		if strings.Contains(p.Message.En, "jsonschema") || strings.Contains(p.Message.En, "metaschema") {
			t.Errorf("library text shown: %+v", p)
		}
	}
	if diff := cmp.Diff([]string{"/forms/0/properties/level/type enum"}, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// TestConcurrentSaves: two designers save over the same draft version at
// once; one wins, the other gets a conflict, never a silent overwrite.
func TestConcurrentSaves(t *testing.T) {
	if mongotest.URI() != "" && mongotest.NoTransactions() {
		t.Skip("skipped: MongoDB without transactions makes no atomic compare-and-swap of one doc (FORMWORK_MONGO_TRANSACTIONS=off)")
	}
	f := newFixture(t)
	d, err := f.d.Save(ctx, f.users["des"], "mini", []byte(miniBundle), 0)
	if err != nil {
		t.Fatal(err)
	}
	bundles := []string{
		strings.Replace(miniBundle, `"1.0.0"`, `"1.0.1"`, 1),
		strings.Replace(miniBundle, `"1.0.0"`, `"1.0.2"`, 1),
	}
	users := []*engine.Principal{f.users["des"], f.users["admin"]}
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			_, err := f.d.Save(ctx, users[i], "mini", []byte(bundles[i]), d.Version)
			errs <- err
		}()
	}
	var codes []string
	for range 2 {
		codes = append(codes, code(<-errs))
	}
	slices.Sort(codes)
	if diff := cmp.Diff([]string{"", engine.ECONFLICT}, codes); diff != "" {
		t.Errorf("codes (-want +got):\n%s", diff)
	}
	got, err := f.d.Draft(ctx, f.users["des"], "mini")
	if err != nil || got.Version != d.Version+1 {
		t.Errorf("draft: %v %v", got, err)
	}
}

// TestDraftStoredCompactly: a draft is stored at about its own size, even
// full of characters JSON encoders like to escape.
func TestDraftStoredCompactly(t *testing.T) {
	f := newFixture(t)
	lt := strings.Repeat("<&>", 100000)
	bundle := strings.Replace(miniBundle, `"version": "1.0.0"`, `"version": "1.0.0", "description": "`+lt+`"`, 1)
	if _, err := f.d.Save(ctx, f.users["des"], "mini", []byte(bundle), 0); err != nil {
		t.Fatal(err)
	}
	doc, err := f.svc.Store().FindDoc(ctx, designer.KindDraft, "mini")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Value); n > len(bundle)*3/2 {
		t.Errorf("a %d-byte draft is stored in %d bytes", len(bundle), n)
	}
}

// TestDraftSampleDataSealed: a draft made from the CRM template keeps its
// sample customers only sealed at rest (the published version's are too),
// and reads back exactly as saved.
func TestDraftSampleDataSealed(t *testing.T) {
	f := newFixture(t)
	data, err := templates.Get("crm")
	if err != nil {
		t.Fatal(err)
	}
	var b struct {
		App struct {
			Key string `json:"key"`
		} `json:"app"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Save(ctx, f.users["admin"], b.App.Key, data, 0); err != nil {
		t.Fatal(err)
	}
	doc, err := f.svc.Store().FindDoc(ctx, designer.KindDraft, b.App.Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"13800001001", "customer01@example.com", "测试客户01制造业有限公司"} {
		if !bytes.Contains(data, []byte(secret)) {
			t.Fatalf("the template no longer holds %q; pick another sample value", secret)
		}
		if bytes.Contains(doc.Value, []byte(secret)) {
			t.Errorf("the stored draft holds the sample value %q in clear", secret)
		}
	}
	got, err := f.d.Draft(ctx, f.users["admin"], b.App.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bundle, data) {
		t.Errorf("the draft does not read back as saved")
	}
}

// TestDraftResealedOnRotation: re-encryption after a master key rotation
// seals a draft's sample data anew under the app's fresh data key, keeps
// the draft's other fields, and the draft reads back as saved.
func TestDraftResealedOnRotation(t *testing.T) {
	f := newFixture(t)
	data, err := templates.Get("crm")
	if err != nil {
		t.Fatal(err)
	}
	app := readKeysApp(t, data)
	saved, err := f.d.Save(ctx, f.users["admin"], app, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	before, err := f.svc.Store().FindDoc(ctx, designer.KindDraft, app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.es.Keyring().RotateMaster(ctx, bytes.Repeat([]byte{7}, engine.MasterKeySize)); err != nil {
		t.Fatal(err)
	}
	pr, err := engine.Reencrypt(ctx, f.es, "rotate-test", nil)
	if err != nil || pr.Docs == 0 {
		t.Fatalf("re-encrypt: %+v %v", pr, err)
	}
	after, err := f.svc.Store().FindDoc(ctx, designer.KindDraft, app)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(before.Value, after.Value) {
		t.Fatal("the draft was not sealed anew")
	}
	got, err := f.d.Draft(ctx, f.users["admin"], app)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bundle, data) || got.UpdatedBy != saved.UpdatedBy || got.Base != saved.Base || len(got.Problems) != len(saved.Problems) {
		t.Errorf("the resealed draft reads back as %+v", got)
	}
	again, err := engine.Reencrypt(ctx, f.es, "rotate-test-2", nil)
	if err != nil || again.Docs != 0 {
		t.Errorf("a second re-encryption rewrote %d docs: %v", again.Docs, err)
	}
}
