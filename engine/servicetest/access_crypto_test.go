package servicetest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
	"formwork/engine/totp"
)

var shopUsers = []fixtureUser{
	{Name: "staff1", Unit: "store1", Roles: []string{"staff"}},
	{Name: "staff2", Unit: "store2", Roles: []string{"staff"}},
	{Name: "staff3", Unit: "store3", Roles: []string{"staff"}},
	{Name: "manager", Unit: "east", Roles: []string{"store_manager"}},
	{Name: "analyst", Unit: "hq", Roles: []string{"analyst"}},
	{Name: "hqadmin", Unit: "hq", Roles: []string{"hq_admin"}},
}

// encodings returns the byte forms a value could take at rest: UTF-8, JSON
// as Go writes it, and ASCII-only JSON with \uXXXX escapes.
func encodings(s string) [][]byte {
	out := [][]byte{[]byte(s)}
	j, _ := json.Marshal(s)
	out = append(out, bytes.Trim(j, `"`))
	var esc strings.Builder
	for _, r := range s {
		if r < 128 {
			esc.WriteRune(r)
		} else {
			fmt.Fprintf(&esc, "\\u%04x", r)
		}
	}
	return append(out, []byte(esc.String()))
}

// scanDir reports every file under dir holding any encoding of any value.
// scanPageSize is the page size of the stores whose files scanDir reads:
// the scan looks for each value's bytes in one piece, and a value SQLite
// stores across a page boundary (a row longer than its page holds, as a
// user's doc with a TOTP secret is at 2 KiB) is not; at 4 KiB these
// tests' values lie within a page (TestEncryptionAtRestControl finds each
// one stored in clear, so the scan of the encrypted store is not silent
// by accident). What is encrypted does not depend on the page size.
const scanPageSize = 4096

func scanDir(tb testing.TB, dir string, values []string) []string {
	tb.Helper()
	var hits []string
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		n++
		for _, v := range values {
			for _, e := range encodings(v) {
				if bytes.Contains(b, e) || bytes.Contains(bytes.ToLower(b), bytes.ToLower(e)) {
					hits = append(hits, filepath.Base(p)+": "+v)
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if n == 0 {
		tb.Fatal("nothing to scan")
	}
	return hits
}

// sampleBundle is shop.json with loose spacing around sample_data, so that
// export has exact bytes to give back, and one more sample customer whose
// sensitive values (name, phone, a contact's phone in a subform) appear
// nowhere else.
func sampleBundle(tb testing.TB) []byte {
	tb.Helper()
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		tb.Fatal(err)
	}
	i := bytes.Index(raw, []byte(`"sample_data": {`))
	if i < 0 {
		tb.Fatal("shop.json has no sample_data")
	}
	sample := bytes.Replace(raw[i:], []byte(`"sample_data": {`), []byte("\"sample_data\" :\n\t {"), 1)
	sample = bytes.Replace(sample, []byte(`"customer": [`),
		[]byte(`"customer": [{"name": "诸葛明", "phone": "13511112222", "contacts": [{"who": "wu", "tel": "13522223333"}]}, `), 1)
	return append(append([]byte{}, raw[:i]...), sample...)
}

// sampleSecrets are the sensitive sample values of sampleBundle.
var sampleSecrets = []string{"张伟", "13800138000", "诸葛明", "13511112222", "13522223333"}

// importAndEnrol imports sampleBundle with its sample data as the next
// version of the fixture's app, checks that export gives its bytes back,
// and enrols hqadmin in two-factor authentication; it returns the sample
// values and the enrolment's secret and otpauth URL.
func importAndEnrol(t *testing.T, f *accessFixture) []string {
	t.Helper()
	ctx := context.Background()
	admin, hq := f.users["admin"], f.users["hqadmin"]
	bundle := sampleBundle(t)
	v, err := f.svc.ImportApp(ctx, admin, bundle, engine.ImportOptions{SampleData: true, Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if j, err := f.svc.ImportJob(ctx, admin, v.Job); err != nil || j.State != engine.ImportDone || j.Done != 3 {
		t.Fatalf("sample import: %+v %v", j, err)
	}
	l, err := f.svc.ListRecords(ctx, admin, "shop", "customer", engine.ListQuery{Filter: []byte(`{"phone":"13511112222"}`)})
	if err != nil || len(l.Items) != 1 || l.Items[0].Data["name"] != "诸葛明" {
		t.Fatalf("the sample customer: %+v %v", l, err)
	}
	exported, err := f.svc.ExportApp(ctx, admin, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(exported, bundle) {
		t.Errorf("export differs from the imported bundle:\n%s", cmp.Diff(string(bundle), string(exported)))
	}
	en, err := f.svc.EnrolMFA(ctx, hq)
	if err != nil {
		t.Fatal(err)
	}
	code, err := totp.New().Code(en.Secret, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ConfirmMFA(ctx, hq, code); err != nil {
		t.Fatal(err)
	}
	return append(append([]string{}, sampleSecrets...), en.Secret, en.URL)
}

func TestEncryptionAtRest(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers, Encrypt: true, PageSize: scanPageSize})
	ctx := context.Background()
	st, err := os.Stat(filepath.Join(f.dir, engine.MasterKeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("master key file: %v %v", st, err)
	}
	secrets := []string{"欧阳娜娜", "13912342222", "13655557777", "13700001111", "司马相如", "15811112222"}
	staff, manager, admin := f.users["staff1"], f.users["manager"], f.users["admin"]
	a, err := f.svc.CreateRecord(ctx, staff, "shop", "customer", map[string]any{"name": "欧阳娜娜", "phone": "13912342222",
		"contacts": []any{map[string]any{"who": "lee", "tel": "13700001111"}}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.svc.CreateRecord(ctx, f.users["staff2"], "shop", "customer", map[string]any{"name": "司马相如", "phone": "15811112222"})
	if err != nil {
		t.Fatal(err)
	}
	// an update that changes the phone, one that changes nothing sensitive
	if _, err := f.svc.UpdateRecord(ctx, manager, "shop", "customer", a.ID, 1, map[string]any{"phone": "13655557777"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateRecord(ctx, manager, "shop", "customer", a.ID, 2, map[string]any{"level": "vip", "vip_since": "2026-01-02"}); err != nil {
		t.Fatal(err)
	}
	// reads give the values back
	got, err := f.svc.GetRecord(ctx, admin, "shop", "customer", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"name": "欧阳娜娜", "phone": "13655557777", "contacts": []any{map[string]any{"who": "lee", "tel": "13700001111"}}}
	for k, v := range want {
		if diff := cmp.Diff(v, got.Data[k]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
	for k := range got.Data {
		if strings.HasPrefix(k, "BI_") {
			t.Errorf("blind index %s leaves the store", k)
		}
	}
	if got, _ := f.svc.GetRecord(ctx, staff, "shop", "customer", a.ID); got == nil || got.Data["phone"] != "136****7777" {
		t.Errorf("staff sees %v, want the masked phone", got)
	}
	// revisions: the phone change and nothing spurious
	revs, err := f.svc.Revisions(ctx, admin, "shop", "customer", a.ID)
	if err != nil || len(revs) != 3 {
		t.Fatalf("revisions: %v %v", revs, err)
	}
	if diff := cmp.Diff([]engine.FieldChange{{Field: "phone", Before: "13912342222", After: "13655557777"}}, revs[1].Changes); diff != "" {
		t.Errorf("revision 2 changes (-want +got):\n%s", diff)
	}
	var fields []string
	for _, c := range revs[2].Changes {
		fields = append(fields, c.Field)
	}
	if diff := cmp.Diff([]string{"level", "vip_since"}, fields); diff != "" {
		t.Errorf("revision 3 changed fields (-want +got):\n%s", diff)
	}
	// equality lookup through the blind index, by filter and by the search box
	list := func(p *engine.Principal, q engine.ListQuery) ([]string, error) {
		l, err := f.svc.ListRecords(ctx, p, "shop", "customer", q)
		if err != nil {
			return nil, err
		}
		var ids []string
		for _, it := range l.Items {
			ids = append(ids, it.ID)
		}
		return ids, nil
	}
	for _, tc := range []struct {
		name string
		p    *engine.Principal
		q    engine.ListQuery
		want []string
		code string
	}{
		{"eq phone", manager, engine.ListQuery{Filter: []byte(`{"phone":"13655557777"}`)}, []string{a.ID}, ""},
		{"old phone", manager, engine.ListQuery{Filter: []byte(`{"phone":"13912342222"}`)}, nil, ""},
		{"in phones", admin, engine.ListQuery{Filter: []byte(`{"phone":{"$in":["13655557777","15811112222"]}}`), Sort: "_created_at"}, []string{a.ID, b.ID}, ""},
		{"ne phone", admin, engine.ListQuery{Filter: []byte(`{"phone":{"$ne":"13655557777"}}`)}, []string{b.ID}, ""},
		{"eq name", admin, engine.ListQuery{Filter: []byte(`{"name":"司马相如"}`)}, []string{b.ID}, ""},
		{"search phone", manager, engine.ListQuery{Search: "13655557777"}, []string{a.ID}, ""},
		{"search name", admin, engine.ListQuery{Search: "司马相如"}, []string{b.ID}, ""},
		{"regex refused", admin, engine.ListQuery{Filter: []byte(`{"phone":{"$regex":"^136"}}`)}, nil, engine.EINVALID},
		{"range refused", admin, engine.ListQuery{Filter: []byte(`{"phone":{"$gt":"1"}}`)}, nil, engine.EINVALID},
		{"sort refused", admin, engine.ListQuery{Sort: "phone"}, nil, engine.EINVALID},
		{"masked viewer may not look up", f.users["analyst"], engine.ListQuery{Filter: []byte(`{"phone":"13655557777"}`)}, nil, engine.EFORBIDDEN},
	} {
		ids, err := list(tc.p, tc.q)
		if engine.ErrorCode(err) != tc.code && !(tc.code == "" && err == nil) {
			t.Errorf("%s: error %v, want code %q", tc.name, err, tc.code)
			continue
		}
		if diff := cmp.Diff(tc.want, ids); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// a bundle whose sample data holds sensitive values, and a TOTP secret
	secrets = append(secrets, importAndEnrol(t, f)...)
	// and nothing of it in clear anywhere in the data directory
	if hits := scanDir(t, f.dir, secrets); len(hits) > 0 {
		t.Errorf("raw sensitive values at rest (live files): %v", hits)
	}
	f.svc.Close()
	if err := f.raw.Close(); err != nil {
		t.Fatal(err)
	}
	if hits := scanDir(t, f.dir, secrets); len(hits) > 0 {
		t.Errorf("raw sensitive values at rest (after close): %v", hits)
	}
	// the scan itself is able to find a value: a non-sensitive one is there
	if hits := scanDir(t, f.dir, []string{"2026-01-02"}); len(hits) == 0 {
		t.Errorf("the scan finds nothing, not even a clear field")
	}
}

// TestEncryptionAtRestControl runs the steps of TestEncryptionAtRest that
// store sample data and a TOTP secret on a store without keys: the scan
// finds each value there, so its silence over the encrypted store means
// something.
func TestEncryptionAtRestControl(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers, PageSize: scanPageSize})
	values := importAndEnrol(t, f)
	f.svc.Close()
	if err := f.raw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if hits := scanDir(t, f.dir, []string{v}); len(hits) == 0 {
			t.Errorf("the scan does not find %q stored in clear", v)
		}
	}
}

func TestKeysRotate(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers[:1], Encrypt: true})
	ctx := context.Background()
	var ids []string
	for i := range 5 {
		r, err := f.svc.CreateRecord(ctx, f.users["staff1"], "shop", "customer", map[string]any{"name": fmt.Sprintf("客户%d", i), "phone": fmt.Sprintf("1391234000%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	keyIDs := func() map[string]int {
		t.Helper()
		page, err := f.raw.FindRecords(ctx, engine.RecordQuery{App: "shop", Form: "customer", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, r := range page.Items {
			s, _ := r.Data["phone"].(string)
			if !engine.IsCiphertext(s) {
				t.Fatalf("phone in clear: %q", s)
			}
			out[strings.SplitN(s, ":", 3)[1]]++
		}
		return out
	}
	if diff := cmp.Diff(map[string]int{"1": 5}, keyIDs()); diff != "" {
		t.Errorf("before (-want +got):\n%s", diff)
	}
	// a TOTP secret sealed under the system key; the published bundle's sample data is sealed under the app's
	admin := f.users["admin"]
	code := enrolMFA(t, f, admin)
	sealedKeyIDs := func() map[string]string {
		t.Helper()
		out := map[string]string{}
		for kind, field := range map[string]string{engine.KindAppVersion: "sealed", engine.KindMFA: "sealed"} {
			docs, err := f.raw.FindDocs(ctx, engine.DocQuery{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				var v map[string]json.RawMessage
				if err := json.Unmarshal(d.Value, &v); err != nil {
					t.Fatal(err)
				}
				var ct string
				if kind == engine.KindAppVersion {
					var spans []struct{ Data string }
					_ = json.Unmarshal(v[field], &spans)
					if len(spans) == 1 {
						ct = spans[0].Data
					}
				} else {
					_ = json.Unmarshal(v[field], &ct)
				}
				if !engine.IsCiphertext(ct) {
					t.Fatalf("%s %s: nothing sealed in %s", kind, d.ID, d.Value)
				}
				out[kind] = strings.SplitN(ct, ":", 3)[1]
			}
		}
		return out
	}
	if diff := cmp.Diff(map[string]string{engine.KindAppVersion: "1", engine.KindMFA: "1"}, sealedKeyIDs()); diff != "" {
		t.Errorf("sealed docs before (-want +got):\n%s", diff)
	}
	newMaster := make([]byte, engine.MasterKeySize)
	for i := range newMaster {
		newMaster[i] = byte(i + 7)
	}
	apps, err := f.keys.RotateMaster(ctx, newMaster)
	if err != nil || !cmp.Equal([]string{engine.SystemKeyring, "shop"}, apps) {
		t.Fatalf("rotate: %v %v", apps, err)
	}
	var reports []engine.ReencryptProgress
	pr, err := engine.Reencrypt(ctx, f.store.(*engine.EncryptingStore), "rotate-1", func(p engine.ReencryptProgress) { reports = append(reports, p) })
	if err != nil {
		t.Fatal(err)
	}
	if pr.State != "done" || pr.Total != 5 || pr.Scanned != 5 || pr.Rewritten != 5 || pr.Docs != 2 || len(reports) < 2 {
		t.Errorf("progress %+v after %d reports", pr, len(reports))
	}
	if diff := cmp.Diff(map[string]string{engine.KindAppVersion: "2", engine.KindMFA: "2"}, sealedKeyIDs()); diff != "" {
		t.Errorf("sealed docs after (-want +got):\n%s", diff)
	}
	if again, err := engine.Reencrypt(ctx, f.store.(*engine.EncryptingStore), "rotate-1b", nil); err != nil || again.Rewritten != 0 || again.Docs != 0 {
		t.Errorf("a second run rewrote %+v %v", again, err)
	}
	stored, err := engine.FindReencryptProgress(ctx, f.raw, "rotate-1")
	if err != nil || stored.State != "done" || stored.Rewritten != 5 {
		t.Errorf("stored progress %+v %v", stored, err)
	}
	if diff := cmp.Diff(map[string]int{"2": 5}, keyIDs()); diff != "" {
		t.Errorf("after (-want +got):\n%s", diff)
	}
	// a restarted node holding only the new master key reads records and old revisions
	kr, err := engine.NewKeyring(f.raw, newMaster, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	es := engine.NewEncryptingStore(f.raw, kr, engine.StoreForms(f.raw))
	svc2 := engine.NewService(es, engine.NewOrg(es, f.clock.Now), engine.ServiceOptions{Clock: f.clock.Now, TOTP: totp.New(), Keys: kr})
	defer svc2.Close()
	got, err := svc2.GetRecord(ctx, f.users["admin"], "shop", "customer", ids[3])
	if err != nil || got.Data["phone"] != "13912340003" {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	revs, err := svc2.Revisions(ctx, f.users["admin"], "shop", "customer", ids[3])
	if err != nil || len(revs) != 2 || revs[0].Data["phone"] != "13912340003" || len(revs[1].Changes) != 0 {
		t.Fatalf("revisions after restart: %+v %v", revs, err)
	}
	// ... exports the bundle as imported and checks the TOTP code of the sealed secret
	bundle, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := svc2.ExportApp(ctx, admin, "shop"); err != nil || !bytes.Equal(got, bundle) {
		t.Errorf("export after restart: %v, equal %v", err, bytes.Equal(got, bundle))
	}
	f.clock.mu.Lock()
	f.clock.t = f.clock.t.Add(time.Minute)
	f.clock.mu.Unlock()
	if err := svc2.CheckLoginMFA(ctx, admin, admin.User, code()); err != nil {
		t.Errorf("second factor after restart: %v", err)
	}
	// the old master key alone no longer opens anything
	kr1, _ := engine.NewKeyring(f.raw, make([]byte, engine.MasterKeySize), f.clock.Now)
	es1 := engine.NewEncryptingStore(f.raw, kr1, engine.StoreForms(f.raw))
	if _, err := es1.FindRecordByID(ctx, "shop", "customer", ids[0], false); err == nil {
		t.Errorf("a wrong master key reads the records")
	}
	svc1 := engine.NewService(es1, engine.NewOrg(es1, f.clock.Now), engine.ServiceOptions{Clock: f.clock.Now, TOTP: totp.New(), Keys: kr1})
	defer svc1.Close()
	if _, err := svc1.ExportApp(ctx, admin, "shop"); err == nil {
		t.Errorf("a wrong master key exports the sample data")
	}
	if err := svc1.CheckLoginMFA(ctx, admin, admin.User, code()); err == nil {
		t.Errorf("a wrong master key checks TOTP codes")
	}
}
