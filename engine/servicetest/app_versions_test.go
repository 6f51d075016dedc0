package servicetest_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// TestDesignSeams: who may design an app (admins, named designers), and
// what the designer's engine calls give them.
func TestDesignSeams(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	admin, staff, manager := f.users["admin"], f.users["staff1"], f.users["manager"]
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    *engine.Principal
		want string
	}{{admin, ""}, {staff, engine.EFORBIDDEN}, {nil, engine.EUNAUTHORIZED}} {
		if got := engine.ErrorCode(f.svc.AuthorizeDesign(ctx, c.p, "shop", "test.design")); got != c.want {
			t.Errorf("%s: %q, want %q", c.p.Actor(), got, c.want)
		}
	}
	if err := f.svc.SetAppDesigners(ctx, staff, "shop", []string{"staff1@example.com"}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("a designer named by a non-admin: %v", err)
	}
	if err := f.svc.SetAppDesigners(ctx, admin, "shop", []string{"manager@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.AuthorizeDesign(ctx, manager, "shop", "test.design"); err != nil {
		t.Errorf("named designer: %v", err)
	}
	if err := f.svc.AuthorizeDesign(ctx, manager, "other", "test.design"); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Errorf("designer of another app: %v", err)
	}
	// the version's bytes are the import's
	data, v, err := f.svc.AppVersionBundle(ctx, manager, "shop", 0)
	if err != nil || v != 1 || !bytes.Equal(data, raw) {
		t.Fatalf("version bundle: v%d %v", v, err)
	}
	// a designer publishes; a stale doc write in With fails the whole publish
	next := bytes.Replace(raw, []byte(`"version": "1.0.0"`), []byte(`"version": "1.0.1"`), 1)
	stale := engine.DocWrite{Doc: engine.Doc{Kind: "test_doc", ID: "x", Value: []byte(`{}`)}, ExpectVersion: 7}
	if _, err := f.svc.PublishApp(ctx, manager, next, engine.ImportOptions{With: []engine.DocWrite{stale}}); engine.ErrorCode(err) != engine.ECONFLICT {
		t.Fatalf("publish with a stale write: %v", err)
	}
	if _, err := f.svc.PublishApp(ctx, staff, next, engine.ImportOptions{}); engine.ErrorCode(err) != engine.EFORBIDDEN {
		t.Fatalf("publish by a non-designer: %v", err)
	}
	if _, err := f.svc.PublishApp(ctx, manager, next, engine.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	vs, err := f.svc.AppVersions(ctx, manager, "shop")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.AppVersion+" by "+v.PublishedBy)
	}
	if diff := cmp.Diff([]string{"1.0.1 by " + manager.User.ID, "1.0.0 by " + admin.User.ID}, got); diff != "" {
		t.Errorf("versions (-want +got):\n%s", diff)
	}
}
