package servicetest_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// TestWriteStaysInScope is the WITH CHECK of data scopes: a create or
// update whose result would fall outside the writer's scope is refused
// (403, audited as denied), in-scope writes go through, and what the
// engine lets through is what the store then lists in the writer's scope.
// It runs on SQLite and, when FORMWORK_MONGO_URI is set, on MongoDB, both
// behind the encrypting store (the form has a sensitive field).
func TestWriteStaysInScope(t *testing.T) {
	for _, backend := range []string{"sqlite", "mongo"} {
		t.Run(backend, func(t *testing.T) {
			f := newAccessFixture(t, fixtureOptions{Bundle: "orders.json", Units: shopUnits, Encrypt: true, Mongo: backend == "mongo",
				Users: []fixtureUser{{Name: "clerk1", Unit: "store1", Roles: []string{"clerk"}}, {Name: "insp", Unit: "east", Roles: []string{"auditor"}}}})
			testWriteStaysInScope(t, f)
		})
	}
}

func testWriteStaysInScope(t *testing.T, f *accessFixture) {
	ctx := context.Background()
	clerk, insp, admin := f.users["clerk1"], f.users["insp"], f.users["admin"]
	create := func(p *engine.Principal, data map[string]any) (*engine.RecordView, error) {
		return f.svc.CreateRecord(ctx, p, f.app, "order", data)
	}
	update := func(p *engine.Principal, id string, patch map[string]any) error {
		_, err := f.svc.UpdateRecord(ctx, p, f.app, "order", id, 0, patch)
		return err
	}
	wantForbidden := func(what string, err error) {
		t.Helper()
		if engine.ErrorCode(err) != engine.EFORBIDDEN {
			t.Errorf("%s: %v, want %s", what, err, engine.EFORBIDDEN)
		}
	}
	ok := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// a clerk of store 1 files orders for store 1 only
	mine, err := create(clerk, map[string]any{"store": "store1", "phone": "13800000001", "amount": 10.0})
	ok("create in scope", err)
	_, err = create(clerk, map[string]any{"store": "store2", "phone": "13800000002"})
	wantForbidden("create for another store", err)
	if diff := cmp.Diff([]string{"/store out_of_scope"}, fieldCodes(err)); diff != "" {
		t.Errorf("the refusal names the field the scope reads (-want +got):\n%s", diff)
	}

	// and may change an order but not move it out of store 1
	ok("update in scope", update(clerk, mine.ID, map[string]any{"note": "called back"}))
	wantForbidden("update moving the record out", update(clerk, mine.ID, map[string]any{"store": "store2"}))
	wantForbidden("update removing the scope's field", update(clerk, mine.ID, map[string]any{"store": nil}))
	got, err := f.svc.GetRecord(ctx, admin, f.app, "order", mine.ID)
	ok("admin reads", err)
	if got.Data["store"] != "store1" || got.Data["note"] != "called back" {
		t.Errorf("record after refused moves: %v, want store1 with the note", got.Data)
	}

	// a scope with a range: the region's stores, amounts under 10,000
	big, err := create(insp, map[string]any{"store": "store2", "amount": 500.0})
	ok("inspector creates in scope", err)
	_, err = create(insp, map[string]any{"store": "store3", "amount": 1.0})
	wantForbidden("inspector creates in another region", err)
	_, err = create(insp, map[string]any{"store": "store1", "amount": 10000.0})
	wantForbidden("inspector creates above the range", err)
	wantForbidden("inspector raises the amount out of scope", update(insp, big.ID, map[string]any{"amount": 20000.0}))
	ok("inspector raises the amount within scope", update(insp, big.ID, map[string]any{"amount": 9999.0}))

	// an administrator's scope is everything
	_, err = create(admin, map[string]any{"store": "store3"})
	ok("admin creates anywhere", err)

	// the store agrees: each writer's list holds what their scope covers
	for _, c := range []struct {
		p    *engine.Principal
		want []string
	}{{clerk, []string{mine.ID}}, {insp, []string{big.ID, mine.ID}}} {
		l, err := f.svc.ListRecords(ctx, c.p, f.app, "order", engine.ListQuery{Limit: 100})
		ok("list", err)
		var ids []string
		for _, it := range l.Items {
			ids = append(ids, it.ID)
		}
		if diff := cmp.Diff(c.want, ids); diff != "" {
			t.Errorf("%s's list (-want +got):\n%s", c.p.User.Name, diff)
		}
	}

	// every refusal is on record as denied, with why
	denied := map[string]int{}
	for _, action := range []string{"create", "update"} {
		page, err := f.store.FindAuditEvents(ctx, engine.AuditQuery{Action: action, Limit: 100})
		ok("audit", err)
		for _, e := range page.Items {
			if e.Result == engine.ResultDenied && e.Reason == "result outside data scope" {
				denied[action]++
			}
		}
	}
	if diff := cmp.Diff(map[string]int{"create": 3, "update": 3}, denied); diff != "" {
		t.Errorf("denied writes in the audit log (-want +got):\n%s", diff)
	}
}

// fieldCodes lists an error's field errors as "field code".
func fieldCodes(err error) []string {
	var out []string
	for _, fe := range engine.ErrorFields(err) {
		out = append(out, fe.Field+" "+fe.Code)
	}
	return out
}
