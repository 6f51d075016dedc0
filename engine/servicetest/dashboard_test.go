package servicetest_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"formwork/engine"
)

// dashboardFixture is the shop fixture (encrypted at rest, as served) with
// customers filed by staff in three stores: five in store1, two in store2,
// four in store3, spread over levels and budgets.
func dashboardFixture(tb testing.TB) *accessFixture {
	tb.Helper()
	f := newAccessFixture(tb, fixtureOptions{Bundle: "shop.json", Units: shopUnits, Users: shopUsers, Encrypt: true})
	ctx := context.Background()
	rows := []struct {
		by     string
		level  string
		budget float64
	}{
		{"staff1", "vip", 100}, {"staff1", "vip", 200}, {"staff1", "vip", 300}, {"staff1", "gold", 1000}, {"staff1", "normal", 5},
		{"staff2", "normal", 10}, {"staff2", "vip", 20},
		{"staff3", "gold", 7}, {"staff3", "gold", 8}, {"staff3", "gold", 9}, {"staff3", "normal", 1},
	}
	for i, r := range rows {
		data := map[string]any{"name": "客户" + string(rune('A'+i)), "phone": "1390000000" + string(rune('0'+i%10)), "level": r.level, "vip_since": "2025-01-01"}
		rec, err := f.svc.CreateRecord(ctx, f.users[r.by], f.app, "customer", data)
		if err != nil {
			tb.Fatalf("create as %s: %v", r.by, err)
		}
		// staff read budgets but may not set them
		if _, err := f.svc.UpdateRecord(ctx, f.users["admin"], f.app, "customer", rec.ID, rec.Version, map[string]any{"budget": r.budget}); err != nil {
			tb.Fatalf("set budget: %v", err)
		}
	}
	return f
}

// listAll returns every customer p may list.
func listAll(tb testing.TB, f *accessFixture, p *engine.Principal) []*engine.RecordView {
	tb.Helper()
	var out []*engine.RecordView
	cursor := ""
	for {
		l, err := f.svc.ListRecords(context.Background(), p, f.app, "customer", engine.ListQuery{Limit: 500, Cursor: cursor})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, l.Items...)
		if l.NextCursor == "" {
			return out
		}
		cursor = l.NextCursor
	}
}

func chartOf(tb testing.TB, v *engine.DashboardView, key string) *engine.ChartView {
	tb.Helper()
	for _, c := range v.Charts {
		if c.Key == key {
			return c
		}
	}
	tb.Fatalf("no chart %q", key)
	return nil
}

// byKey maps a chart's series to key → value.
func byKey(c *engine.ChartView) map[any]float64 {
	out := map[any]float64{}
	for _, pt := range c.Series {
		out[pt.Key] = pt.Value
	}
	return out
}

// TestDashboardScopes checks that each viewer's numbers are those of the
// records they may list: a store manager's equal their own stores' records,
// HQ's the sum over every store.
func TestDashboardScopes(t *testing.T) {
	f := dashboardFixture(t)
	ctx := context.Background()
	for _, who := range []string{"hqadmin", "manager", "admin"} {
		t.Run(who, func(t *testing.T) {
			p := f.users[who]
			v, err := f.svc.Dashboard(ctx, p, f.app, "sales", engine.DashboardQuery{})
			if err != nil {
				t.Fatal(err)
			}
			recs := listAll(t, f, p)
			wantUnits, wantLevels := map[any]float64{}, map[any]float64{}
			for _, r := range recs {
				wantUnits[r.Unit] += r.Data["budget"].(float64)
				wantLevels[r.Data["level"]]++
			}
			if got := chartOf(t, v, "customers").Series[0].Value; got != float64(len(recs)) {
				t.Errorf("customers = %v, want %d (the records %s may list)", got, len(recs), who)
			}
			if diff := cmp.Diff(wantUnits, byKey(chartOf(t, v, "budget_by_unit"))); diff != "" {
				t.Errorf("budget by unit (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantLevels, byKey(chartOf(t, v, "by_level"))); diff != "" {
				t.Errorf("by level (-want +got):\n%s", diff)
			}
			pivot := map[any]float64{}
			for _, pt := range chartOf(t, v, "unit_level").Series {
				pivot[pt.Key] += pt.Value
			}
			cnt := map[any]float64{}
			for _, r := range recs {
				cnt[r.Unit]++
			}
			if diff := cmp.Diff(cnt, pivot); diff != "" {
				t.Errorf("pivot rows (-want +got):\n%s", diff)
			}
		})
	}
	hq, _ := f.svc.Dashboard(ctx, f.users["hqadmin"], f.app, "sales", engine.DashboardQuery{})
	mgr, _ := f.svc.Dashboard(ctx, f.users["manager"], f.app, "sales", engine.DashboardQuery{})
	if got := byKey(chartOf(t, mgr, "budget_by_unit")); len(got) != 2 || got["store1"] != 1605 || got["store2"] != 30 {
		t.Errorf("manager of east sees budget by unit %v, want store1 1605 and store2 30 only", got)
	}
	if got := chartOf(t, hq, "customers").Series[0].Value; got != 11 {
		t.Errorf("HQ customers = %v, want 11 (5 + 2 + 4)", got)
	}
	// A unit picked over the dashboard narrows it to that unit and below.
	east, err := f.svc.Dashboard(ctx, f.users["hqadmin"], f.app, "sales", engine.DashboardQuery{Unit: "east"})
	if err != nil {
		t.Fatal(err)
	}
	if got := chartOf(t, east, "customers").Series[0].Value; got != 7 {
		t.Errorf("HQ with unit east: customers = %v, want 7", got)
	}
}

// TestDashboardMaskedViewers checks what a viewer who sees some of the form
// masked gets: small groups folded into "other", and no chart over a field
// they may not read.
func TestDashboardMaskedViewers(t *testing.T) {
	f := dashboardFixture(t)
	ctx := context.Background()
	v, err := f.svc.Dashboard(ctx, f.users["staff1"], f.app, "sales", engine.DashboardQuery{})
	if err != nil {
		t.Fatal(err)
	}
	// staff1 sees their own five: vip 3, gold 1, normal 1 → vip 3, other 2.
	levels := chartOf(t, v, "by_level")
	if diff := cmp.Diff(map[any]float64{"vip": 3, engine.OtherKey: 2}, byKey(levels)); diff != "" {
		t.Errorf("staff by level (-want +got):\n%s", diff)
	}
	if !levels.Other {
		t.Error("by_level: Other not set though groups were folded")
	}
	for _, pt := range levels.Series {
		if pt.Key == engine.OtherKey && pt.Filter != nil {
			t.Errorf("the other group has a list filter %s: it would name the folded groups", pt.Filter)
		}
	}
	if c := chartOf(t, v, "discount"); c.Refused == nil || len(c.Series) != 0 {
		t.Errorf("staff may not read discount, yet the chart over it answered %+v", c)
	}
	// An administrator sees every group, however small.
	a, err := f.svc.Dashboard(ctx, f.users["admin"], f.app, "sales", engine.DashboardQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[any]float64{"vip": 4, "gold": 4, "normal": 3}, byKey(chartOf(t, a, "by_level"))); diff != "" {
		t.Errorf("admin by level (-want +got):\n%s", diff)
	}
}

// TestDashboardWhoSees checks that a dashboard limited to roles is not
// found by others (auditors read no record data at all).
func TestDashboardWhoSees(t *testing.T) {
	f := dashboardFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Dashboard(ctx, f.users["staff1"], f.app, "hq", engine.DashboardQuery{}); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("staff opening the HQ dashboard: %v, want not found", err)
	}
	if _, err := f.svc.Dashboard(ctx, f.users["staff1"], f.app, "nope", engine.DashboardQuery{}); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("an unknown dashboard: %v, want not found", err)
	}
	v, err := f.svc.Dashboard(ctx, f.users["hqadmin"], f.app, "hq", engine.DashboardQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := chartOf(t, v, "vip").Series[0].Value; got != 8 {
		t.Errorf("HQ vip and gold = %v, want 8", got)
	}
	list, err := f.svc.Dashboards(ctx, f.users["staff1"], f.app)
	if err != nil || len(list) != 1 || list[0].Key != "sales" {
		t.Errorf("staff's dashboards = %v, %v; want sales only", list, err)
	}
	aud, err := f.org.CreateUser(ctx, engine.AuditActor{ID: engine.SystemActor}, engine.NewUser{Email: "aud@example.com", Name: "审计员", Unit: "hq", Auditor: true, Password: "correct horse battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Dashboard(ctx, &engine.Principal{User: aud}, f.app, "sales", engine.DashboardQuery{}); engine.ErrorCode(err) != engine.ENOTFOUND {
		t.Errorf("an auditor opening a dashboard: %v, want not found", err)
	}
}

// TestDashboardPeriods checks months and the previous period of a number.
func TestDashboardPeriods(t *testing.T) {
	f := dashboardFixture(t) // eleven customers on 2026-11-23
	ctx := context.Background()
	f.clock.mu.Lock()
	f.clock.t = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	f.clock.mu.Unlock()
	for i := 0; i < 3; i++ {
		if _, err := f.svc.CreateRecord(ctx, f.users["staff3"], f.app, "customer", map[string]any{"name": "十二月", "phone": "13900000000", "level": "vip"}); err != nil {
			t.Fatal(err)
		}
	}
	p := f.users["hqadmin"]
	v, err := f.svc.Dashboard(ctx, p, f.app, "sales", engine.DashboardQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[any]float64{"2026-11": 11, "2026-12": 3}, byKey(chartOf(t, v, "by_month"))); diff != "" {
		t.Errorf("by month (-want +got):\n%s", diff)
	}
	dec := engine.DashboardQuery{From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	v, err = f.svc.Dashboard(ctx, p, f.app, "sales", dec)
	if err != nil {
		t.Fatal(err)
	}
	n := chartOf(t, v, "customers")
	if n.Series[0].Value != 3 || n.Previous == nil || *n.Previous != 11 {
		t.Errorf("December customers = %v (previous %v), want 3 against 11 in the 31 days before", n.Series[0].Value, n.Previous)
	}
	// The point's filter opens the list of exactly its records.
	for _, pt := range chartOf(t, v, "by_level").Series {
		l, err := f.svc.ListRecords(ctx, p, f.app, "customer", engine.ListQuery{Filter: pt.Filter, Limit: 500})
		if err != nil {
			t.Fatalf("list with %s: %v", pt.Filter, err)
		}
		if int64(len(l.Items)) != pt.Count {
			t.Errorf("point %v: the list filter %s selects %d records, the chart counts %d", pt.Key, pt.Filter, len(l.Items), pt.Count)
		}
	}
	if _, err := f.svc.Dashboard(ctx, p, f.app, "sales", engine.DashboardQuery{From: dec.To, To: dec.From}); engine.ErrorCode(err) != engine.EINVALID {
		t.Errorf("a range ending before it starts: %v, want invalid", err)
	}
}

// TestDashboardRangeNames checks each named period a dashboard offers on a
// Monday, 2026-11-23, in UTC: From included, To excluded.
func TestDashboardRangeNames(t *testing.T) {
	f := newAccessFixture(t, fixtureOptions{Bundle: "shop.json", Units: shopUnits})
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for name, want := range map[string][2]time.Time{
		"today":        {day(2026, 11, 23), day(2026, 11, 24)},
		"this_week":    {day(2026, 11, 23), day(2026, 11, 30)},
		"last_week":    {day(2026, 11, 16), day(2026, 11, 23)},
		"this_month":   {day(2026, 11, 1), day(2026, 12, 1)},
		"last_month":   {day(2026, 10, 1), day(2026, 11, 1)},
		"last_30_days": {day(2026, 10, 25), day(2026, 11, 24)},
		"this_year":    {day(2026, 1, 1), day(2027, 1, 1)},
		"last_year":    {day(2025, 1, 1), day(2026, 1, 1)},
	} {
		q, err := f.svc.DashboardRangeQuery(name, "", "", "")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !q.From.Equal(want[0]) || !q.To.Equal(want[1]) {
			t.Errorf("%s = [%v, %v), want [%v, %v)", name, q.From, q.To, want[0], want[1])
		}
	}
	for _, name := range []string{"yesterday", "last_7_days", "forever"} {
		if _, err := f.svc.DashboardRangeQuery(name, "", "", ""); engine.ErrorCode(err) != engine.EINVALID {
			t.Errorf("%s: %v, want invalid (not a dashboard period)", name, err)
		}
	}
}

// TestDashboardRollups checks that the totals the store keeps for the
// shop's dashboards (kept since the import, through every create and
// update) answer what the records do, for HQ and for a store manager:
// the dashboards are computed with them, without them (dropped), and with
// them built again at start-up (EnsureAppIndexes), and again after more
// writes and a delete.
func TestDashboardRollups(t *testing.T) {
	f := dashboardFixture(t)
	ctx := context.Background()
	kept, err := f.raw.Rollup(ctx, f.app, "customer")
	if err != nil {
		t.Fatal(err)
	}
	// staff see their own records: the owner is kept
	// (a set per chart's fields: none, or the level)
	want := &engine.FormRollup{Sets: [][]string{{}, {"level"}}, Measures: []string{"budget", "discount"}, Owner: true}
	if diff := cmp.Diff(want, kept); diff != "" {
		t.Fatalf("rollup of customer (-want +got):\n%s", diff)
	}
	views := func() map[string]*engine.DashboardView {
		out := map[string]*engine.DashboardView{}
		for _, who := range []string{"hqadmin", "manager", "staff1"} {
			for _, key := range []string{"sales", "hq"} {
				v, err := f.svc.Dashboard(ctx, f.users[who], f.app, key, engine.DashboardQuery{})
				if engine.ErrorCode(err) == engine.ENOTFOUND {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				out[who+"/"+key] = v
			}
		}
		return out
	}
	rolled := views()
	if err := f.raw.EnsureIndexes(ctx, engine.FormIndex{App: f.app, Form: "customer", Rollup: &engine.FormRollup{}}); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.raw.Rollup(ctx, f.app, "customer"); r != nil {
		t.Fatalf("rollup still kept after dropping: %+v", r)
	}
	if diff := cmp.Diff(views(), rolled); diff != "" {
		t.Fatalf("dashboards from the records (-) and from the rollups (+):\n%s", diff)
	}
	if err := f.svc.EnsureAppIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.raw.Rollup(ctx, f.app, "customer"); r == nil {
		t.Fatal("EnsureAppIndexes did not build the rollup again")
	}
	if diff := cmp.Diff(rolled, views()); diff != "" {
		t.Fatalf("dashboards before (-) and after the rollups were built again (+):\n%s", diff)
	}
	// more writes: a new customer, one deleted
	if _, err := f.svc.CreateRecord(ctx, f.users["staff2"], f.app, "customer", map[string]any{"name": "客户Z", "phone": "13900000099", "level": "gold", "vip_since": "2025-01-01"}); err != nil {
		t.Fatal(err)
	}
	first := listAll(t, f, f.users["hqadmin"])[0]
	if err := f.svc.DeleteRecord(ctx, f.users["admin"], f.app, "customer", first.ID, first.Version); err != nil {
		t.Fatal(err)
	}
	after := views()
	if err := f.raw.EnsureIndexes(ctx, engine.FormIndex{App: f.app, Form: "customer", Rollup: &engine.FormRollup{}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(views(), after); diff != "" {
		t.Fatalf("after writes, dashboards from the records (-) and from the rollups (+):\n%s", diff)
	}
}
