package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindAlertPages binds /admin/alerts for administrators and auditors; the
// engine refuses auditors' acknowledge, resolve and rule changes.
func (s *server) bindAlertPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	auditors := append(page[:len(page):len(page)], s.requireAuditor)
	e.GET("/admin/alerts", s.alertsPage, auditors...)
	e.POST("/admin/alerts/rules", s.alertRulesSave, auditors...)
	e.POST("/admin/alerts/:id/acknowledge", s.alertAcknowledgeSubmit, auditors...)
	e.POST("/admin/alerts/:id/resolve", s.alertResolveSubmit, auditors...)
}

func (s *server) alertsPage(c echo.Context) error {
	return s.renderAlerts(c, http.StatusOK, "", nil)
}

// renderAlerts shows the alerts of the status asked (open by default) and,
// for administrators, the rules form: the refused rules when given, else
// the stored ones, with one empty row to add a rule.
func (s *server) renderAlerts(c echo.Context, status int, msg string, rules []web.AlertRuleRow) error {
	ctx, p := c.Request().Context(), principal(c)
	pg, nav := s.adminPage(c, "alerts.title", "alerts")
	v := web.AlertsPage{Page: pg, AdminNav: nav, Status: c.QueryParam("status"), Error: msg, CanAct: p.User.Admin}
	switch v.Status {
	case "":
		v.Status = engine.AlertOpen
	case "all":
		v.Status = ""
	}
	alerts, err := s.svc.Alerts(ctx, p, v.Status)
	if err != nil {
		if !formError(err) {
			return err
		}
		v.Error, status = errText(err, pg.Lang), statusOf(engine.ErrorCode(err))
	}
	users, err := s.svc.Users(ctx, p)
	if err != nil {
		return err
	}
	names := map[string]string{}
	for _, u := range users {
		names[u.ID] = u.Name + " <" + u.Email + ">"
	}
	zone := s.svc.TimeZone()
	for _, a := range alerts {
		who := names[a.User]
		if who == "" {
			who = a.User
		}
		v.Alerts = append(v.Alerts, web.AlertRow{ID: a.ID, At: a.At.In(zone).Format("2006-01-02 15:04:05"), Rule: a.Rule, User: who,
			Detail: a.DetailIn(pg.Lang), Action: a.Action, Status: a.Status})
	}
	if v.CanAct {
		if rules == nil {
			set, err := s.svc.AnomalySettings(ctx, p)
			if err != nil {
				return err
			}
			rules = ruleRows(set.Rules)
		}
		v.Rules = append(rules, web.AlertRuleRow{Window: "PT1M", Action: engine.ActionAlert})
	}
	return Render(c, status, web.AlertsView(v))
}

// ruleRows puts rules into the form's words.
func ruleRows(rules []engine.AlertRule) []web.AlertRuleRow {
	rows := make([]web.AlertRuleRow, 0, len(rules))
	for _, r := range rules {
		row := web.AlertRuleRow{Kind: r.Kind, Threshold: strconv.Itoa(r.Threshold), Window: r.Window, Action: r.Action, Roles: strings.Join(r.Roles, ", ")}
		if len(r.Hours) == 2 {
			row.Hours = fmt.Sprintf("%d-%d", r.Hours[0], r.Hours[1])
		}
		rows = append(rows, row)
	}
	return rows
}

// alertRulesSave reads the rules form (parallel lists, one entry per row;
// a row without a kind is dropped) and stores it.
func (s *server) alertRulesSave(c echo.Context) error {
	vals, err := c.FormParams()
	if err != nil {
		return badRequest(engine.T("表单无法解析", "the form could not be read"))
	}
	at := func(key string, i int) string {
		if l := vals[key]; i < len(l) {
			return strings.TrimSpace(l[i])
		}
		return ""
	}
	var rows []web.AlertRuleRow
	set := &engine.AnomalySettings{Rules: []engine.AlertRule{}}
	for i := range vals["kind"] {
		row := web.AlertRuleRow{Kind: at("kind", i), Threshold: at("threshold", i), Window: at("window", i), Action: at("action", i),
			Roles: at("roles", i), Hours: at("hours", i)}
		if row.Kind == "" {
			continue
		}
		rows = append(rows, row)
		r := engine.AlertRule{Kind: row.Kind, Window: row.Window, Action: row.Action}
		r.Threshold, _ = strconv.Atoi(row.Threshold) // not a number: 0, refused with its pointer
		for _, role := range strings.Split(row.Roles, ",") {
			if role = strings.TrimSpace(role); role != "" {
				r.Roles = append(r.Roles, role)
			}
		}
		if from, to, ok := strings.Cut(row.Hours, "-"); ok {
			f, ferr := strconv.Atoi(strings.TrimSpace(from))
			t, terr := strconv.Atoi(strings.TrimSpace(to))
			if ferr != nil || terr != nil {
				f, t = -1, -1
			}
			r.Hours = []int{f, t}
		} else if row.Hours != "" {
			r.Hours = []int{-1, -1}
		}
		set.Rules = append(set.Rules, r)
	}
	if _, err := s.svc.SetAnomalySettings(c.Request().Context(), principal(c), set); err != nil {
		if !formError(err) {
			return err
		}
		return s.renderAlerts(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)), rows)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/alerts?ok=admin.alerts.saved")
}

func (s *server) alertAcknowledgeSubmit(c echo.Context) error {
	return s.alertStatusSubmit(c, engine.AlertAcknowledged, "admin.alerts.acknowledged")
}

func (s *server) alertResolveSubmit(c echo.Context) error {
	return s.alertStatusSubmit(c, engine.AlertResolved, "admin.alerts.resolved")
}

// alertStatusSubmit acknowledges or resolves an alert from the list.
func (s *server) alertStatusSubmit(c echo.Context, status, ok string) error {
	if _, err := s.svc.SetAlertStatus(c.Request().Context(), principal(c), c.Param("id"), status); err != nil {
		if !formError(err) {
			return err
		}
		return s.renderAlerts(c, statusOf(engine.ErrorCode(err)), errText(err, pageLang(c)), nil)
	}
	return c.Redirect(http.StatusSeeOther, "/admin/alerts?"+url.Values{"ok": {ok}}.Encode())
}
