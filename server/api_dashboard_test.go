package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"formwork/engine"
)

// dealerDashboard is the dealership template with two stores' leads:
// three filed in store1, four in store2 (no group smaller than the
// smallest group masked viewers see, so no store folds into "other").
func dealerDashboard(t *testing.T) *tplWorld {
	w := newTplWorld(t, "dealership")
	if _, err := w.org.CreateUnit(context.Background(), engine.AuditActor{ID: engine.SystemActor}, engine.Unit{Key: "store2", Name: engine.T("二号店", "Store 2"), Parent: "hq"}); err != nil {
		t.Fatal(err)
	}
	w.user("hqview", "hq", "group_hq")
	w.user("smgr1", "store1", "sales_manager")
	w.user("smgr2", "store2", "sales_manager")
	w.user("cons1", "store1", "sales_consultant")
	w.user("cons2", "store2", "sales_consultant")
	for i, who := range []string{"cons1", "cons1", "cons1", "cons2", "cons2", "cons2", "cons2"} {
		w.create("a lead", who, "lead", w.sampleWith("lead", map[string]any{"name": fmt.Sprintf("线索%d", i), "phone": fmt.Sprintf("1390000%04d", i)}), http.StatusCreated, nil, nil)
	}
	return w
}

// dashboardSeries decodes a dashboard answer into chart → key → value.
func dashboardSeries(t *testing.T, body []byte) map[string]map[string]float64 {
	t.Helper()
	var d dashboardJSON
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatalf("decode dashboard: %v: %s", err, body)
	}
	out := map[string]map[string]float64{}
	for _, c := range d.Charts {
		out[c.Key] = map[string]float64{}
		for _, p := range c.Series {
			out[c.Key][fmt.Sprint(p.Key)] = p.Value
		}
	}
	return out
}

func TestAPIDashboard(t *testing.T) {
	w := dealerDashboard(t)
	url := "/api/v1/apps/dealership/dashboards/store_daily?range="
	phones := []string{"13900000000", "13900000001", "13900000003"}
	count := func(user string) float64 {
		var l struct {
			Items []any `json:"items"`
		}
		rec := w.do("GET", w.records("lead")+"?limit=500", user, "", nil)
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		return float64(len(l.Items))
	}
	for _, tc := range []struct {
		user string
		want map[string]float64
	}{
		{"smgr1", map[string]float64{"store1": 3}},
		{"smgr2", map[string]float64{"store2": 4}},
		{"hqview", map[string]float64{"store1": 3, "store2": 4}},
	} {
		t.Run(tc.user, func(t *testing.T) {
			rec := w.do("GET", url, tc.user, "", map[string]string{"Accept-Language": "zh-CN"})
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
			got := dashboardSeries(t, rec.Body.Bytes())["leads_by_store"]
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("leads per store = %v, want %v", got, tc.want)
			}
			var sum float64
			for _, v := range got {
				sum += v
			}
			if n := count(tc.user); sum != n {
				t.Errorf("the chart counts %v leads, the list shows %s %v", sum, tc.user, n)
			}
			for _, p := range phones {
				if strings.Contains(rec.Body.String(), p) {
					t.Errorf("a lead's phone %s is in the dashboard answer", p)
				}
			}
		})
	}
	w.call("labels in the caller's language", "GET", url, "hqview", nil, map[string]string{"Accept-Language": "en"}, http.StatusOK, []string{`"name":"Leads per store"`}, nil)
	w.call("a consultant holds none of its roles", "GET", url, "cons1", nil, nil, http.StatusNotFound, nil, []string{"store_daily", "leads_by_store"})
	w.call("an unknown dashboard", "GET", "/api/v1/apps/dealership/dashboards/nope", "hqview", nil, nil, http.StatusNotFound, nil, nil)
	w.call("a bad period", "GET", "/api/v1/apps/dealership/dashboards/store_daily?range=forever", "hqview", nil, nil, http.StatusUnprocessableEntity, []string{"/range"}, nil)
	w.call("a day that is not one", "GET", "/api/v1/apps/dealership/dashboards/store_daily?from=2026-13-01", "hqview", nil, nil, http.StatusUnprocessableEntity, []string{"/from"}, nil)
	w.call("a unit that does not exist", "GET", url+"&unit=atlantis", "hqview", nil, nil, http.StatusUnprocessableEntity, []string{"/unit"}, nil)
	w.call("the list of dashboards", "GET", "/api/v1/apps/dealership/dashboards", "smgr1", nil, nil, http.StatusOK, []string{`"key":"store_daily"`}, nil)
	w.call("none for a consultant", "GET", "/api/v1/apps/dealership/dashboards", "cons1", nil, nil, http.StatusOK, []string{`"items":[]`}, nil)
	unit := dashboardSeries(t, w.do("GET", url+"&unit=store2", "hqview", "", nil).Body.Bytes())["leads_by_store"]
	if fmt.Sprint(unit) != fmt.Sprint(map[string]float64{"store2": 4}) {
		t.Errorf("HQ narrowed to store2 sees %v", unit)
	}
}
