package server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// putRules sets the anomaly rules as the admin through the API.
func (h *harness) putRules(tb testing.TB, rules string) {
	tb.Helper()
	if rec := h.do("PUT", "/api/v1/settings/anomaly", "admin", `{"rules": `+rules+`}`, nil); rec.Code != http.StatusOK {
		tb.Fatalf("PUT settings/anomaly = %d %s", rec.Code, rec.Body)
	}
}

// openAlerts lists the open alerts as the admin.
func (h *harness) openAlerts(tb testing.TB) []map[string]any {
	tb.Helper()
	rec := h.do("GET", "/api/v1/alerts?status=open", "admin", "", nil)
	if rec.Code != http.StatusOK {
		tb.Fatalf("GET alerts = %d %s", rec.Code, rec.Body)
	}
	var out struct{ Items []map[string]any }
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		tb.Fatal(err)
	}
	return out.Items
}

// TestAlertMassViewingFreezesWithin10s: a script viewing 300 customer
// records in a minute as one user trips the mass-viewing rule, and that
// user's next request is answered 423 within 10 s.
func TestAlertMassViewingFreezesWithin10s(t *testing.T) {
	h := newHarness(t, testConfig())
	ids := make([]string, 300)
	for i := range ids {
		ids[i] = h.createCustomer("staff", fmt.Sprintf("客户%03d", i)).ID
	}
	h.putRules(t, `[{"kind": "mass_view", "threshold": 300, "window": "PT1M", "action": "freeze", "roles": ["staff"]}]`)
	start := time.Now()
	for _, id := range ids {
		if rec := h.do("GET", "/api/v1/apps/shop/forms/customer/records/"+id, "staff", "", nil); rec.Code != http.StatusOK {
			t.Fatalf("view %s = %d %s", id, rec.Code, rec.Body)
		}
	}
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("viewing took %v, more than the rule's minute", d)
	}
	viewed := time.Now()
	for {
		rec := h.do("GET", "/api/v1/tasks?status=open", "staff", "", nil)
		if rec.Code == http.StatusLocked {
			break
		}
		if time.Since(viewed) > 10*time.Second {
			t.Fatalf("staff still answered %d 10 s after the 300th view: %s", rec.Code, rec.Body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	as := h.openAlerts(t)
	if len(as) != 1 || as[0]["rule"] != "mass_view" || as[0]["user"] != h.users["staff"].ID {
		t.Fatalf("open alerts = %v, want one mass_view alert for staff", as)
	}
	if rec := h.do("POST", "/api/v1/alerts/"+as[0]["id"].(string)+"/resolve", "admin", "", nil); rec.Code != http.StatusOK {
		t.Fatalf("resolve = %d %s", rec.Code, rec.Body)
	}
	if as := h.openAlerts(t); len(as) != 0 {
		t.Errorf("open alerts after resolve = %v", as)
	}
}

// TestAlertOffHoursDoesNotFreeze: an access outside the working hours
// raises an alert; the user keeps working.
func TestAlertOffHoursDoesNotFreeze(t *testing.T) {
	h := newHarness(t, testConfig())
	from := (time.Now().UTC().Hour() + 2) % 24 // a working day of one hour that is not now (the server's zone is UTC)
	h.putRules(t, fmt.Sprintf(`[{"kind": "off_hours", "window": "P1D", "action": "alert", "roles": ["staff"], "hours": [%d, %d]}]`, from, from+1))
	if rec := h.do("GET", "/api/v1/apps/shop/forms/customer/records", "staff", "", nil); rec.Code != http.StatusOK {
		t.Fatalf("list = %d %s", rec.Code, rec.Body)
	}
	deadline := time.Now().Add(10 * time.Second)
	var as []map[string]any
	for len(as) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		as = h.openAlerts(t)
	}
	if len(as) != 1 || as[0]["rule"] != "off_hours" || as[0]["user"] != h.users["staff"].ID {
		t.Fatalf("open alerts = %v, want one off_hours alert for staff", as)
	}
	if rec := h.do("GET", "/api/v1/apps/shop/forms/customer/records", "staff", "", nil); rec.Code != http.StatusOK {
		t.Errorf("staff after an alert-only rule = %d, want 200", rec.Code)
	}
}

// TestAlertAPIRefusals: only administrators set rules and change alerts;
// auditors and administrators read alerts; bad rules keep their pointers.
func TestAlertAPIRefusals(t *testing.T) {
	for _, sc := range []struct {
		name, method, path, user, body string
		status                         int
		want                           string
	}{
		{"staff reads alerts", "GET", "/api/v1/alerts", "staff", "", http.StatusForbidden, ""},
		{"anonymous reads alerts", "GET", "/api/v1/alerts", "", "", http.StatusUnauthorized, ""},
		{"manager reads rules", "GET", "/api/v1/settings/anomaly", "manager", "", http.StatusForbidden, ""},
		{"staff sets rules", "PUT", "/api/v1/settings/anomaly", "staff", `{"rules": []}`, http.StatusForbidden, ""},
		{"staff resolves", "POST", "/api/v1/alerts/x/resolve", "staff", "", http.StatusForbidden, ""},
		{"admin bad status", "GET", "/api/v1/alerts?status=gone", "admin", "", http.StatusUnprocessableEntity, "/status"},
		{"admin unknown alert", "POST", "/api/v1/alerts/x/acknowledge", "admin", "", http.StatusNotFound, ""},
		{"admin bad rule", "PUT", "/api/v1/settings/anomaly", "admin", `{"rules": [{"kind": "x", "threshold": 1, "window": "PT1M", "action": "freeze"}]}`,
			http.StatusUnprocessableEntity, "/rules/0/kind"},
		{"admin reads rules", "GET", "/api/v1/settings/anomaly", "admin", "", http.StatusOK, `"rules":[]`},
		{"admin reads alerts", "GET", "/api/v1/alerts?status=open", "admin", "", http.StatusOK, `"items":[]`},
	} {
		t.Run(sc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			rec := h.do(sc.method, sc.path, sc.user, sc.body, map[string]string{"Accept-Language": "en"})
			if rec.Code != sc.status || !strings.Contains(rec.Body.String(), sc.want) {
				t.Errorf("%s %s = %d %s, want %d with %q", sc.method, sc.path, rec.Code, rec.Body, sc.status, sc.want)
			}
		})
	}
}

// TestAlertAuditorScenarios: an auditor reads alerts (API and page) but
// acknowledges, resolves and sets nothing; the page offers them no buttons.
func TestAlertAuditorScenarios(t *testing.T) {
	h := newHarness(t, testConfig())
	withAuditor(t, h)
	h.putRules(t, `[{"kind": "denials", "threshold": 1, "window": "PT1H", "action": "alert"}]`)
	if rec := h.do("GET", "/api/v1/audit", "staff", "", nil); rec.Code != http.StatusForbidden {
		t.Fatalf("staff reads the log = %d", rec.Code)
	}
	deadline := time.Now().Add(10 * time.Second)
	var as []map[string]any
	for len(as) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		as = h.openAlerts(t)
	}
	if len(as) != 1 || as[0]["rule"] != "denials" {
		t.Fatalf("open alerts = %v, want one denials alert", as)
	}
	id := as[0]["id"].(string)
	zh := map[string]string{"Accept-Language": "zh-CN,zh;q=0.9"}
	h.run(t, []scenario{
		{name: "auditor reads alerts", method: "GET", path: "/api/v1/alerts?status=open", user: "auditor", status: http.StatusOK, want: []string{`"rule":"denials"`}},
		{name: "auditor resolves nothing", method: "POST", path: "/api/v1/alerts/" + id + "/resolve", user: "auditor", status: http.StatusForbidden},
		{name: "auditor acknowledges nothing", method: "POST", path: "/api/v1/alerts/" + id + "/acknowledge", user: "auditor", status: http.StatusForbidden},
		{name: "auditor sets no rules", method: "PUT", path: "/api/v1/settings/anomaly", user: "auditor", body: `{"rules": []}`, status: http.StatusForbidden},
		{name: "auditor's page", method: "GET", path: "/admin/alerts", user: "auditor", headers: zh, status: http.StatusOK,
			want: []string{"异常告警", "多次被拒", `data-alert="` + id + `"`}, not: []string{`data-action="resolve"`, "告警规则"}},
		{name: "admin's page", method: "GET", path: "/admin/alerts", user: "admin", headers: zh, status: http.StatusOK,
			want: []string{`data-action="resolve"`, "告警规则", `value="PT1H"`}},
	}, nil)
	if rec := h.do("GET", "/admin/alerts", "staff", "", zh); rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "多次被拒") {
		t.Errorf("staff's /admin/alerts = %d, want 403 without the alerts", rec.Code)
	}
}

// TestAlertDetailInBothLanguages: an alert's detail is answered in the
// request's language, with the window in words, and both are kept.
func TestAlertDetailInBothLanguages(t *testing.T) {
	h := newHarness(t, testConfig())
	h.putRules(t, `[{"kind": "denials", "threshold": 2, "window": "PT10M", "action": "alert", "roles": ["staff"]}]`)
	h.tripDenials(t, "staff", 2)
	deadline := time.Now().Add(30 * time.Second)
	for len(h.openAlerts(t)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no alert 30 s after the refusals")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for lang, want := range map[string]string{"zh-CN": "10 分钟内 2 次操作被拒绝", "en": "2 refused actions within 10 minutes"} {
		rec := h.do("GET", "/api/v1/alerts?status=open", "admin", "", map[string]string{"Accept-Language": lang})
		var out struct {
			Items []struct {
				Detail  string            `json:"detail"`
				Message map[string]string `json:"message"`
			}
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Items) != 1 {
			t.Fatalf("alerts in %s = %d %s", lang, rec.Code, rec.Body)
		}
		if got := out.Items[0].Detail; got != want {
			t.Errorf("detail in %s = %q, want %q", lang, got, want)
		}
		if m := out.Items[0].Message; m["zh"] != "10 分钟内 2 次操作被拒绝" || m["en"] != "2 refused actions within 10 minutes" {
			t.Errorf("message = %v, want both languages", m)
		}
	}
}
