package servicetest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// The permission matrix: for every role × form × operation × field of a
// bundle, fixture users in different units of a three-level tree and
// fixture records owned across the tree, what each user gets through the
// Service is compared with what the bundle says (an oracle written from
// FORMAT.md's Roles, independent of resolveAccess), and no raw value the
// user may not see appears in any byte of any response or error.

// matrixCase is one bundle with its users and a value generator per form.
type matrixCase struct {
	bundle string
	users  []fixtureUser
	gen    map[string]func(i int) map[string]any // valid data, distinctive values
	probe  map[string]func(i int) map[string]any // one-field patches for update checks
}

var matrixCases = []matrixCase{
	{
		bundle: "shop.json",
		users: []fixtureUser{
			{Name: "hqadmin", Unit: "hq", Roles: []string{"hq_admin"}},
			{Name: "mgr_east", Unit: "east", Roles: []string{"store_manager"}},
			{Name: "mgr_s1", Unit: "store1", Roles: []string{"store_manager"}},
			{Name: "staff_s1", Unit: "store1", Roles: []string{"staff"}},
			{Name: "staff_s1b", Unit: "store1", Roles: []string{"staff"}},
			{Name: "staff_s3", Unit: "store3", Roles: []string{"staff"}},
			{Name: "analyst", Unit: "hq", Roles: []string{"analyst"}},
			{Name: "staff_analyst", Unit: "store2", Roles: []string{"staff", "analyst"}},
			{Name: "nobody", Unit: "store2", Roles: nil},
		},
		gen: map[string]func(int) map[string]any{
			"company": func(i int) map[string]any { return map[string]any{"name": fmt.Sprintf("Acme%04dCo", i)} },
			"customer": func(i int) map[string]any {
				return map[string]any{"name": fmt.Sprintf("客户甲%04d", i), "phone": fmt.Sprintf("1390000%04d", i), "level": "normal",
					"budget": float64(100000 + i), "discount": 0.05, "rep": fmt.Sprintf("rep%04dx", i)}
			},
		},
		probe: map[string]func(int) map[string]any{
			"company":  func(i int) map[string]any { return map[string]any{"name": fmt.Sprintf("Renamed%04d", i)} },
			"customer": func(i int) map[string]any { return map[string]any{"budget": float64(500 + i)} },
		},
	},
	{
		bundle: "clinic.json",
		users: []fixtureUser{
			{Name: "director", Unit: "hq", Roles: []string{"director"}},
			{Name: "doc_east", Unit: "east", Roles: []string{"doctor"}},
			{Name: "doc_s2", Unit: "store2", Roles: []string{"doctor"}},
			{Name: "nurse_s1", Unit: "store1", Roles: []string{"nurse"}},
			{Name: "nurse_west", Unit: "west", Roles: []string{"nurse"}},
			{Name: "clerk_s1", Unit: "store1", Roles: []string{"clerk"}},
			{Name: "clerk_s3", Unit: "store3", Roles: []string{"clerk"}},
			{Name: "inspector", Unit: "hq", Roles: []string{"inspector"}},
			{Name: "nurse_clerk", Unit: "store2", Roles: []string{"nurse", "clerk"}},
		},
		gen: map[string]func(int) map[string]any{
			"patient": func(i int) map[string]any {
				ward := "general"
				if i%3 == 0 {
					ward = "icu"
				}
				return map[string]any{"name": fmt.Sprintf("病人乙%04d", i), "phone": fmt.Sprintf("1370000%04d", i), "id_number": fmt.Sprintf("11010119900101%04d", i),
					"email": fmt.Sprintf("pat%04d@mail.test", i), "ward": ward, "diagnosis": fmt.Sprintf("diag-%04d-flu", i), "fee": float64(7000 + i)}
			},
			"visit": func(i int) map[string]any {
				return map[string]any{"patient_name": fmt.Sprintf("visitor%04d", i), "note": fmt.Sprintf("note-%04d-ok", i)}
			},
		},
		probe: map[string]func(int) map[string]any{
			"patient": func(i int) map[string]any { return map[string]any{"diagnosis": fmt.Sprintf("probe-%04d", i)} },
			"visit":   func(i int) map[string]any { return map[string]any{"note": fmt.Sprintf("probe-%04d", i)} },
		},
	},
}

// unitsBelow is the fixture tree (shopUnits) as the oracle knows it.
var unitsBelow = map[string][]string{
	"hq":     {"hq", "east", "west", "store1", "store2", "store3"},
	"east":   {"east", "store1", "store2"},
	"west":   {"west", "store3"},
	"store1": {"store1"}, "store2": {"store2"}, "store3": {"store3"},
}

// oracle is what a user may do on a form according to the bundle.
type oracle struct {
	ops     map[string]bool
	fields  map[string]string
	inScope func(r *engine.Record) bool
}

func expectAccess(tb testing.TB, b *engine.Bundle, f *engine.Form, u *engine.User) oracle {
	tb.Helper()
	o := oracle{ops: map[string]bool{}, fields: map[string]string{}}
	var scopes []func(r *engine.Record) bool
	if u.Admin {
		for _, op := range []string{"create", "read", "update", "delete", "export", "import", "print"} {
			o.ops[op] = true
		}
		for _, fd := range f.Fields {
			o.fields[fd.Key] = engine.PermEdit
		}
		o.inScope = func(*engine.Record) bool { return true }
		return o
	}
	rank := map[string]int{"": -1, "hidden": 0, "masked": 1, "read": 2, "edit": 3}
	for _, rk := range u.Roles[b.App.Key] {
		p := b.Role(rk).Permissions[f.Key]
		if p == nil {
			continue
		}
		def := "read"
		for _, op := range p.Operations {
			o.ops[op] = true
			if op == "create" || op == "update" {
				def = "edit"
			}
		}
		if d, ok := p.Fields["*"]; ok {
			def = d
		}
		for _, fd := range f.Fields {
			perm := def
			if v, ok := p.Fields[fd.Key]; ok {
				perm = v
			}
			if rank[perm] > rank[o.fields[fd.Key]] {
				o.fields[fd.Key] = perm
			}
		}
		switch p.Scope.Kind {
		case "all":
			scopes = append(scopes, func(*engine.Record) bool { return true })
		case "own", "":
			scopes = append(scopes, func(r *engine.Record) bool { return r.Owner == u.ID })
		case "unit":
			scopes = append(scopes, func(r *engine.Record) bool { return r.Unit == u.Unit })
		case "unit_and_below":
			scopes = append(scopes, func(r *engine.Record) bool { return slices.Contains(unitsBelow[u.Unit], r.Unit) })
		case "filter":
			var eq map[string]any // the fixtures use plain equality filters
			if err := json.Unmarshal(p.Scope.Filter, &eq); err != nil {
				tb.Fatalf("oracle: filter %s: %v", p.Scope.Filter, err)
			}
			scopes = append(scopes, func(r *engine.Record) bool {
				for k, v := range eq {
					if r.Data[k] != v {
						return false
					}
				}
				return true
			})
		}
	}
	for _, fd := range f.Fields {
		if o.fields[fd.Key] == "" || (o.fields[fd.Key] == "masked" && fd.Sensitive == "") {
			o.fields[fd.Key] = "hidden"
		}
	}
	o.inScope = func(r *engine.Record) bool {
		for _, s := range scopes {
			if s(r) {
				return true
			}
		}
		return false
	}
	return o
}

func TestPermissionMatrix(t *testing.T) {
	for _, mc := range matrixCases {
		t.Run(strings.TrimSuffix(mc.bundle, ".json"), func(t *testing.T) {
			runMatrix(t, mc)
		})
	}
}

// distinctive reports whether a fixture value is unique to one record (enum
// values such as "normal" are shared and prove nothing).
func distinctive(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok && len(s) >= 6 && strings.ContainsAny(s, "0123456789")
}

// leakCheck collects everything a user receives and the raw values they must never see.
type leakCheck struct {
	tb        testing.TB
	user      string
	forbidden map[string]string // raw value → why
}

func (lc *leakCheck) see(what string, v any, err error) {
	lc.tb.Helper()
	b, _ := json.Marshal(v)
	if err != nil {
		e, _ := json.Marshal(err)
		b = append(append(b, e...), []byte(err.Error()+engine.ErrorMessage(err, "en")+engine.ErrorMessage(err, "zh"))...)
	}
	for raw, why := range lc.forbidden {
		if strings.Contains(string(b), raw) {
			lc.tb.Errorf("%s: %s leaks %q (%s): %s", lc.user, what, raw, why, b)
		}
	}
}

func runMatrix(t *testing.T, mc matrixCase) {
	f := newAccessFixture(t, fixtureOptions{Bundle: mc.bundle, Units: shopUnits, Users: mc.users, Encrypt: true})
	ctx := context.Background()
	raw, err := os.ReadFile(filepath.Join("../testdata", mc.bundle))
	if err != nil {
		t.Fatal(err)
	}
	b, err := engine.LoadBundle(raw)
	if err != nil {
		t.Fatal(err)
	}
	admin := f.users["admin"]
	names := make([]string, 0, len(f.users))
	for n := range f.users {
		names = append(names, n)
	}
	sort.Strings(names)

	// fixture records: one per user per form, owned by that user in their unit
	seq := 0
	records := map[string][]*engine.Record{} // form → stored records as the admin sees them
	insert := func(form string, owner *engine.User) *engine.Record {
		t.Helper()
		seq++
		r := &engine.Record{ID: engine.NewID(f.clock.Now()), App: f.app, Form: form, FormVersion: 1, Unit: owner.Unit, Owner: owner.ID,
			Status: engine.StatusActive, Data: mc.gen[form](seq), CreatedBy: owner.ID, UpdatedBy: owner.ID}
		res, err := f.store.Apply(ctx, &engine.Change{Records: []engine.RecordWrite{{Op: engine.WriteCreate, Record: r, Actor: owner.ID, At: f.clock.Now()}}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Records[0]
	}
	for _, fm := range b.Forms {
		for _, n := range names {
			records[fm.Key] = append(records[fm.Key], insert(fm.Key, f.users[n].User))
		}
	}

	// reads first: form view, list, get, revisions for every user × form × record
	for _, n := range names {
		p := f.users[n]
		for _, fm := range b.Forms {
			o := expectAccess(t, b, fm, p.User)
			lc := &leakCheck{tb: t, user: n + "/" + fm.Key, forbidden: map[string]string{}}
			for _, r := range records[fm.Key] {
				for k, v := range r.Data {
					s, ok := distinctive(v)
					if !ok {
						continue
					}
					if !o.ops["read"] || !o.inScope(r) {
						lc.forbidden[s] = "out of scope or no read"
					} else if perm := o.fields[k]; perm == "hidden" || perm == "masked" {
						lc.forbidden[s] = k + " is " + perm
					}
				}
			}
			// operations and field permissions of the form definition
			fv, err := f.svc.FormView(ctx, p, f.app, fm.Key)
			lc.see("form view", fv, err)
			if !o.ops["read"] && !o.ops["create"] {
				if engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("%s: form view of %s: %v, want not found", n, fm.Key, err)
				}
			} else if err != nil {
				t.Errorf("%s: form view of %s: %v", n, fm.Key, err)
			} else {
				var wantOps []string
				for _, op := range []string{"create", "read", "update", "delete", "export", "import", "print"} {
					if o.ops[op] {
						wantOps = append(wantOps, op)
					}
				}
				if diff := cmp.Diff(wantOps, fv.Operations); diff != "" {
					t.Errorf("%s: %s operations (-want +got):\n%s", n, fm.Key, diff)
				}
				wantFields := map[string]string{}
				for k, perm := range o.fields {
					if perm != "hidden" {
						wantFields[k] = perm
					}
				}
				if diff := cmp.Diff(wantFields, fv.Perms); diff != "" {
					t.Errorf("%s: %s field permissions (-want +got):\n%s", n, fm.Key, diff)
				}
				for k, perm := range o.fields {
					if perm == "hidden" && strings.Contains(string(fv.Schema), `"`+k+`"`) {
						t.Errorf("%s: hidden field %s in the form definition", n, k)
					}
				}
			}
			// the list holds exactly the records in scope, each redacted
			var wantIDs []string
			byID := map[string]*engine.Record{}
			for _, r := range records[fm.Key] {
				byID[r.ID] = r
				if o.ops["read"] && o.inScope(r) {
					wantIDs = append(wantIDs, r.ID)
				}
			}
			sort.Strings(wantIDs)
			l, err := f.svc.ListRecords(ctx, p, f.app, fm.Key, engine.ListQuery{Limit: 500})
			lc.see("list", l, err)
			if !o.ops["read"] {
				if engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("%s: list %s: %v, want not found", n, fm.Key, err)
				}
			} else if err != nil {
				t.Errorf("%s: list %s: %v", n, fm.Key, err)
			} else {
				var got []string
				for _, it := range l.Items {
					got = append(got, it.ID)
					checkView(t, n, fm, o, byID[it.ID], it)
				}
				sort.Strings(got)
				if diff := cmp.Diff(wantIDs, got); diff != "" {
					t.Errorf("%s: list %s ids (-want +got):\n%s", n, fm.Key, diff)
				}
			}
			// every record by id: in scope → the redacted view, else 404
			for _, r := range records[fm.Key] {
				v, err := f.svc.GetRecord(ctx, p, f.app, fm.Key, r.ID)
				lc.see("get", v, err)
				if !o.ops["read"] || !o.inScope(r) {
					if engine.ErrorCode(err) != engine.ENOTFOUND {
						t.Errorf("%s: get %s out of scope: %v, want not found", n, r.ID, err)
					}
					continue
				}
				if err != nil {
					t.Errorf("%s: get %s: %v", n, r.ID, err)
					continue
				}
				checkView(t, n, fm, o, r, v)
				revs, err := f.svc.Revisions(ctx, p, f.app, fm.Key, r.ID)
				lc.see("revisions", revs, err)
				if err != nil || len(revs) != 1 {
					t.Errorf("%s: revisions of %s: %v %v", n, r.ID, revs, err)
				}
			}
			// filtering and sorting on a field not visible in full is refused
			for _, fd := range fm.Fields {
				if !o.ops["read"] || fd.Type != "string" {
					continue
				}
				val := records[fm.Key][0].Data[fd.Key]
				if val == nil {
					continue
				}
				fl, _ := json.Marshal(map[string]any{fd.Key: val})
				l, err := f.svc.ListRecords(ctx, p, f.app, fm.Key, engine.ListQuery{Filter: fl})
				lc.see("filter", l, err)
				perm := o.fields[fd.Key]
				if perm == "hidden" || perm == "masked" {
					if engine.ErrorCode(err) != engine.EFORBIDDEN {
						t.Errorf("%s: filter on %s field %s: %v, want forbidden", n, perm, fd.Key, err)
					}
					_, err = f.svc.ListRecords(ctx, p, f.app, fm.Key, engine.ListQuery{Sort: fd.Key})
					if engine.ErrorCode(err) != engine.EFORBIDDEN {
						t.Errorf("%s: sort on %s field %s: %v, want forbidden", n, perm, fd.Key, err)
					}
				} else if err != nil {
					t.Errorf("%s: filter on %s: %v", n, fd.Key, err)
				}
			}
		}
	}

	// then writes: create, update (per field), delete
	for _, n := range names {
		p := f.users[n]
		for _, fm := range b.Forms {
			o := expectAccess(t, b, fm, p.User)
			lc := &leakCheck{tb: t, user: n + "/" + fm.Key + " (writes)", forbidden: map[string]string{}}
			for _, r := range records[fm.Key] {
				if !o.inScope(r) || !o.ops["read"] {
					for _, v := range r.Data {
						if s, ok := distinctive(v); ok {
							lc.forbidden[s] = "out of scope"
						}
					}
				}
			}
			seq++
			data := mc.gen[fm.Key](seq)
			editable := map[string]any{}
			var notEditable []string
			for k, v := range data {
				if perm := o.fields[k]; perm == "edit" || perm == "masked" {
					editable[k] = v
				} else {
					notEditable = append(notEditable, k)
				}
			}
			created, err := f.svc.CreateRecord(ctx, p, f.app, fm.Key, editable)
			lc.see("create", created, err)
			switch {
			case !o.ops["create"] && !o.ops["read"]:
				if engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("%s: create %s: %v, want not found", n, fm.Key, err)
				}
			case !o.ops["create"]:
				if engine.ErrorCode(err) != engine.EFORBIDDEN {
					t.Errorf("%s: create %s: %v, want forbidden", n, fm.Key, err)
				}
			default:
				missing := false
				for _, k := range fm.Required {
					if _, ok := editable[k]; !ok {
						missing = true
					}
				}
				if missing && engine.ErrorCode(err) != engine.EINVALID {
					t.Errorf("%s: create %s without required fields: %v", n, fm.Key, err)
				}
				if !missing && err != nil {
					t.Errorf("%s: create %s: %v", n, fm.Key, err)
				}
				if len(notEditable) > 0 {
					_, err := f.svc.CreateRecord(ctx, p, f.app, fm.Key, data)
					if engine.ErrorCode(err) != engine.EFORBIDDEN {
						t.Errorf("%s: create %s with non-editable %v: %v, want forbidden", n, fm.Key, notEditable, err)
					}
				}
			}
			// update each probe field on the first record in scope; out of scope is 404
			var in, out *engine.Record
			for _, r := range records[fm.Key] {
				if o.inScope(r) && in == nil {
					in = r
				}
				if !o.inScope(r) && out == nil {
					out = r
				}
			}
			seq++
			patch := mc.probe[fm.Key](seq)
			if out != nil {
				_, err := f.svc.UpdateRecord(ctx, p, f.app, fm.Key, out.ID, 0, patch)
				lc.see("update out of scope", nil, err)
				if engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("%s: update out of scope %s: %v, want not found", n, out.ID, err)
				}
				err = f.svc.DeleteRecord(ctx, p, f.app, fm.Key, out.ID, 0)
				lc.see("delete out of scope", nil, err)
				if engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("%s: delete out of scope %s: %v, want not found", n, out.ID, err)
				}
			}
			if in != nil {
				v, err := f.svc.UpdateRecord(ctx, p, f.app, fm.Key, in.ID, 0, patch)
				lc.see("update", v, err)
				allEdit := true
				for k := range patch {
					if o.fields[k] != "edit" {
						allEdit = false
					}
				}
				switch {
				case !o.ops["read"]:
					if engine.ErrorCode(err) != engine.ENOTFOUND {
						t.Errorf("%s: update %s without read: %v, want not found", n, fm.Key, err)
					}
				case !o.ops["update"] || !allEdit:
					if engine.ErrorCode(err) != engine.EFORBIDDEN {
						t.Errorf("%s: update %s %v: %v, want forbidden", n, fm.Key, patch, err)
					}
				case err != nil:
					t.Errorf("%s: update %s %v: %v", n, fm.Key, patch, err)
				}
				if err == nil {
					in.Data = mergeData(in.Data, patch)
					in.Version = v.Version
				}
			}
			// delete: a fresh record of the user's own, in their unit
			own := insert(fm.Key, p.User)
			err = f.svc.DeleteRecord(ctx, p, f.app, fm.Key, own.ID, 0)
			lc.see("delete", nil, err)
			switch {
			case !o.ops["read"] || !o.inScope(own):
				if engine.ErrorCode(err) != engine.ENOTFOUND {
					t.Errorf("%s: delete %s: %v, want not found", n, fm.Key, err)
				}
			case !o.ops["delete"]:
				if engine.ErrorCode(err) != engine.EFORBIDDEN {
					t.Errorf("%s: delete %s: %v, want forbidden", n, fm.Key, err)
				}
			case err != nil:
				t.Errorf("%s: delete %s: %v", n, fm.Key, err)
			}
		}
	}
	_ = admin
}

func mergeData(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// checkView compares a record view with the stored record under the oracle's field permissions.
func checkView(tb testing.TB, user string, fm *engine.Form, o oracle, r *engine.Record, v *engine.RecordView) {
	tb.Helper()
	if r == nil {
		tb.Errorf("%s: %s returned a record that is not a fixture", user, fm.Key)
		return
	}
	for _, fd := range fm.Fields {
		got, present := v.Data[fd.Key]
		raw, stored := r.Data[fd.Key]
		switch o.fields[fd.Key] {
		case "hidden":
			if present {
				tb.Errorf("%s: %s.%s is hidden but present: %v", user, fm.Key, fd.Key, got)
			}
		case "masked":
			if stored && !cmp.Equal(engine.Mask(fd.Sensitive, raw), got) {
				tb.Errorf("%s: %s.%s masked: got %v, want %v", user, fm.Key, fd.Key, got, engine.Mask(fd.Sensitive, raw))
			}
		default:
			if stored && !cmp.Equal(raw, got) {
				tb.Errorf("%s: %s.%s: got %v, want %v", user, fm.Key, fd.Key, got, raw)
			}
		}
	}
}
