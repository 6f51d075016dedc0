package servicetest_test

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"formwork/engine"
)

// withPrint upgrades the fixture's shop app to one where role also holds
// the print operation on customers.
func withPrint(tb testing.TB, f *fixture, role string) {
	tb.Helper()
	raw, err := os.ReadFile("../testdata/shop.json")
	if err != nil {
		tb.Fatal(err)
	}
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		tb.Fatal(err)
	}
	for _, r := range b["roles"].([]any) {
		if m := r.(map[string]any); m["key"] == role {
			perm := m["permissions"].(map[string]any)["customer"].(map[string]any)
			perm["operations"] = append(perm["operations"].([]any), "print")
		}
	}
	delete(b, "sample_data")
	if _, err := f.svc.ImportApp(context.Background(), f.users["admin"], engine.MustJSON(b), engine.ImportOptions{}); err != nil {
		tb.Fatal(err)
	}
}

// printEvents are the results of the print audit events on a record.
func printEvents(tb testing.TB, f *fixture, id string) []string {
	tb.Helper()
	page, err := f.svc.AuditEvents(context.Background(), f.users["admin"], engine.AuditQuery{Action: "print", Object: id, Limit: 20})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, ev := range page.Items {
		out = append(out, ev.Actor+" "+ev.Result)
	}
	return out
}

func TestServicePrintRecord(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	withPrint(t, f, "staff")
	mine, err := f.svc.CreateRecord(ctx, f.users["staff1"], "shop", "customer", map[string]any{"name": "赵六", "phone": "13912345678", "level": "normal"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdateRecord(ctx, f.users["manager"], "shop", "customer", mine.ID, 0, map[string]any{"discount": 0.05}); err != nil {
		t.Fatal(err)
	}
	theirs, err := f.svc.CreateRecord(ctx, f.users["staff2"], "shop", "customer", map[string]any{"name": "钱七", "phone": "13987654321", "level": "normal"})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("allowed", func(t *testing.T) {
		pr, err := f.svc.PrintRecord(ctx, f.users["staff1"], "shop", "customer", mine.ID)
		if err != nil {
			t.Fatal(err)
		}
		if pr.Record.Data["phone"] != "139****5678" || pr.Record.Data["name"] != "赵六" {
			t.Errorf("printed data %v: want the phone masked and the name in full", pr.Record.Data)
		}
		if _, ok := pr.Record.Data["discount"]; ok {
			t.Errorf("printed data holds the hidden discount: %v", pr.Record.Data)
		}
		if pr.By.ID != f.users["staff1"].User.ID || pr.At.IsZero() {
			t.Errorf("printed by %v at %v", pr.By, pr.At)
		}
		if got := printEvents(t, f, mine.ID); !slices.Equal(got, []string{f.users["staff1"].User.ID + " " + engine.ResultOK}) {
			t.Errorf("audit %v, want one print by staff1", got)
		}
	})
	for _, tc := range []struct {
		name, user, id string
		code           string
	}{
		{"refused without print", "analyst", mine.ID, engine.EFORBIDDEN},
		{"out of scope is not found", "staff1", theirs.ID, engine.ENOTFOUND},
		{"no such record", "staff1", "nope", engine.ENOTFOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(printEvents(t, f, tc.id))
			_, err := f.svc.PrintRecord(ctx, f.users[tc.user], "shop", "customer", tc.id)
			if engine.ErrorCode(err) != tc.code {
				t.Fatalf("error %v, want %s", err, tc.code)
			}
			got := printEvents(t, f, tc.id)
			if len(got) != before+1 || got[0] != f.users[tc.user].User.ID+" "+engine.ResultDenied {
				t.Errorf("audit %v: want a denied print by %s first", got, tc.user)
			}
		})
	}
	t.Run("revisions withhold hidden fields", func(t *testing.T) {
		revs, err := f.svc.Revisions(ctx, f.users["staff1"], "shop", "customer", mine.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := revs[len(revs)-1]
		if !last.Withheld || len(last.Changes) != 0 {
			t.Errorf("staff1's view of the discount change: withheld %v, changes %v", last.Withheld, last.Changes)
		}
		revs, err = f.svc.Revisions(ctx, f.users["manager"], "shop", "customer", mine.ID)
		if err != nil {
			t.Fatal(err)
		}
		if last := revs[len(revs)-1]; last.Withheld || len(last.Changes) != 1 || last.Changes[0].Field != "discount" {
			t.Errorf("the manager's view of the discount change: withheld %v, changes %v", last.Withheld, last.Changes)
		}
	})
}
