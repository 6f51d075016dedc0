package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// bindAuditPages binds the pages administrators and auditors share: the
// audit log with its CSV export, and explain. The route guard only picks
// the page; every engine call behind them checks again.
func (s *server) bindAuditPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	auditors := append(page[:len(page):len(page)], s.requireAuditor)
	e.GET("/admin/audit", s.auditPage, auditors...)
	e.GET("/admin/audit/export.csv", s.auditCSV, auditors...)
	e.GET("/admin/explain", s.adminExplain, auditors...)
}

// requireAuditor lets administrators and auditors through (403 otherwise).
func (s *server) requireAuditor(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !engine.CanAudit(principal(c)) {
			_ = s.svc.Audit(c.Request().Context(), principal(c), "admin."+strings.ToLower(c.Request().Method), "", "", c.Path(), engine.ResultDenied, "not an administrator or auditor")
			return engine.Errorf(engine.EFORBIDDEN, engine.T("需要系统管理员或审计员权限", "system administrators and auditors only"))
		}
		return next(c)
	}
}

// recordAuditURL is the audit log filtered to one record: who looked at it.
func recordAuditURL(app, form, id string) string {
	return "/admin/audit?" + url.Values{"form": {app + "/" + form}, "record": {id}}.Encode()
}

// auditQueryOf reads an audit filter from the query string, as the API
// and the page take it: actor (email or id), action, app and form (or
// form=APP/FORM), record (or object), result, ip, from and to (RFC 3339,
// or a day in the organisation's zone; to is inclusive of that day),
// limit and cursor.
func (s *server) auditQueryOf(c echo.Context) (engine.AuditQuery, web.AuditFilter, error) {
	qs := c.QueryParams()
	f := web.AuditFilter{Actor: qs.Get("actor"), Action: qs.Get("action"), Form: qs.Get("form"), Record: strings.TrimSpace(qs.Get("record")),
		Result: qs.Get("result"), IP: strings.TrimSpace(qs.Get("ip")), From: qs.Get("from"), To: qs.Get("to")}
	q := engine.AuditQuery{Action: f.Action, App: qs.Get("app"), Form: f.Form, Object: f.Record, Result: f.Result, IP: f.IP, Cursor: qs.Get("cursor")}
	if app, form, ok := strings.Cut(f.Form, "/"); ok {
		q.App, q.Form = app, form
	}
	if q.Object == "" {
		q.Object = qs.Get("object")
	}
	if a := f.Actor; a != "" {
		q.Actor = a
		if strings.Contains(a, "@") {
			u, err := s.org.FindUserByEmail(c.Request().Context(), a)
			switch {
			case err == nil:
				q.Actor = u.ID
			case engine.ErrorCode(err) == engine.ENOTFOUND:
				q.Actor = "unknown:" + a // matches no event
			default:
				return q, f, err
			}
		}
	}
	zone := s.svc.TimeZone()
	for _, p := range []struct {
		name string
		dst  *time.Time
		end  bool
	}{{"from", &q.From, false}, {"to", &q.To, true}} {
		v := qs.Get(p.name)
		if v == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			*p.dst = t
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, v, zone)
		if err != nil {
			return q, f, badRequest(engine.Tf("%s 须为日期或 RFC 3339 时间", "%s must be a date or an RFC 3339 time", p.name))
		}
		if p.end {
			t = t.AddDate(0, 0, 1)
		}
		*p.dst = t
	}
	if l := qs.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > engine.MaxAuditLimit {
			return q, f, badRequest(engine.T("limit 须为 1 到 1000 的整数", "limit must be a whole number from 1 to 1000"))
		}
		q.Limit = n
	}
	return q, f, nil
}

// auditNames are the people and forms an audit page names, read once.
type auditNames struct {
	people map[string]string // user id → "name <email>"
	units  map[string]string // user id → unit key
	unit   map[string]string // unit key → name
	forms  map[string]string // app/form → "app · form" titles
}

func (s *server) auditNames(c echo.Context, lang string) (*auditNames, []web.Choice, []web.Choice, error) {
	ctx, p := c.Request().Context(), principal(c)
	n := &auditNames{people: map[string]string{}, units: map[string]string{}, unit: map[string]string{}, forms: map[string]string{}}
	users, err := s.svc.Users(ctx, p)
	if err != nil {
		return nil, nil, nil, err
	}
	var people, forms []web.Choice
	for _, u := range users {
		n.people[u.ID] = u.Name + " <" + u.Email + ">"
		n.units[u.ID] = u.Unit
		people = append(people, web.Choice{Value: u.ID, Label: n.people[u.ID]})
	}
	sortChoices(people)
	units, err := s.svc.Units(ctx, p)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, u := range units {
		n.unit[u.Key] = u.Name.In(lang)
	}
	apps, err := s.svc.AdminApps(ctx, p)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, ch := range formChoices(apps, lang) {
		n.forms[ch.Value] = ch.Label
		forms = append(forms, ch)
	}
	return n, people, forms, nil
}

func (n *auditNames) person(lang, actor string) string {
	if actor == engine.SystemActor {
		return web.Msg(lang, "audit.system")
	}
	if p, ok := n.people[actor]; ok {
		return p
	}
	return actor
}

func (s *server) auditPage(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	pg, nav := s.adminPage(c, "audit.title", "audit")
	pg.Styles = append(pg.Styles, "audit.css")
	pg.Scripts = append(pg.Scripts, "vendor/echarts/echarts.common.min.js", "audit.js")
	names, people, forms, err := s.auditNames(c, pg.Lang)
	if err != nil {
		return err
	}
	q, f, err := s.auditQueryOf(c)
	v := web.AuditPage{Page: pg, AdminNav: nav, Filter: f, People: people, Forms: forms, Record: f.Record}
	if v.Record != "" {
		pg.Title = web.Msg(pg.Lang, "audit.who.title")
		v.Page = pg
	}
	status := http.StatusOK
	fail := func(err error) error {
		if !formError(err) {
			return err
		}
		v.Error = errText(err, pg.Lang)
		return Render(c, statusOf(engine.ErrorCode(err)), web.AuditView(v))
	}
	if err != nil {
		return fail(err)
	}
	page, err := s.svc.AuditEvents(ctx, p, q)
	if err != nil {
		return fail(err)
	}
	act, err := s.svc.Activity(ctx, p, q)
	if err != nil {
		return fail(err)
	}
	v.Chart, v.Sampled, v.Partial = auditChart(act, names, pg.Lang), act.Sample, !act.Complete
	zone := s.svc.TimeZone()
	for _, e := range page.Items {
		row := web.AuditRow{Seq: strconv.FormatInt(e.Seq, 10), Time: e.Time.In(zone).Format("2006-01-02 15:04:05"), Person: names.person(pg.Lang, e.Actor),
			Action: e.Action, Object: e.Object, Fields: strings.Join(e.Fields, ", "), Result: e.Result, Reason: e.Reason, IP: e.IP}
		if e.App != "" {
			row.Where = e.App
			if e.Form != "" {
				row.Where = names.forms[e.App+"/"+e.Form]
				if row.Where == "" {
					row.Where = e.App + "/" + e.Form
				}
				if e.Object != "" && e.Object != v.Record {
					row.ObjectURL = recordAuditURL(e.App, e.Form, e.Object)
				}
			}
		}
		v.Rows = append(v.Rows, row)
	}
	links := listLinks{base: "/admin/audit", qs: c.QueryParams()}
	if page.NextCursor != "" {
		v.NextURL = links.with(func(u url.Values) { u.Set("cursor", page.NextCursor) })
	}
	if q.Cursor != "" {
		v.FirstURL = links.with(func(u url.Values) { u.Del("cursor") })
	}
	v.CSVURL = listLinks{base: "/admin/audit/export.csv", qs: c.QueryParams()}.with(func(url.Values) {})
	return Render(c, status, web.AuditView(v))
}

// chartTop is how many units or people the chart names; the rest add up
// as one series.
const chartTop = 8

// auditChart turns the activity counts into the JSON audit.js draws:
// {"days": [...], "unit": [{"name", "data"}], "person": [...]}.
func auditChart(a *engine.AuditActivity, n *auditNames, lang string) string {
	type series struct {
		Name string `json:"name"`
		Data []int  `json:"data"`
	}
	top := func(m map[string][]int, name func(string) string) []series {
		var out []series
		for k, d := range m {
			out = append(out, series{Name: name(k), Data: d})
		}
		total := func(d []int) (t int) {
			for _, x := range d {
				t += x
			}
			return t
		}
		sort.SliceStable(out, func(i, j int) bool {
			if ti, tj := total(out[i].Data), total(out[j].Data); ti != tj {
				return ti > tj
			}
			return out[i].Name < out[j].Name
		})
		if len(out) > chartTop {
			rest := series{Name: web.Msg(lang, "audit.chart.others"), Data: make([]int, len(a.Days))}
			for _, s := range out[chartTop:] {
				for i, x := range s.Data {
					rest.Data[i] += x
				}
			}
			out = append(out[:chartTop], rest)
		}
		return out
	}
	unitName := func(k string) string {
		if k == "" {
			return web.Msg(lang, "audit.system")
		}
		if u := n.unit[k]; u != "" {
			return u
		}
		return k
	}
	personName := func(id string) string {
		p := n.person(lang, id)
		if i := strings.Index(p, " <"); i > 0 {
			return p[:i]
		}
		return p
	}
	days := a.Days
	if days == nil {
		days = []string{}
	}
	b, _ := json.Marshal(map[string]any{"days": days, "unit": top(a.ByUnit, unitName), "person": top(a.ByPerson, personName)})
	return string(b)
}

// auditCSV downloads the page of events the filter shows, as CSV.
func (s *server) auditCSV(c echo.Context) error {
	q, _, err := s.auditQueryOf(c)
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="audit-`+s.svc.Now().In(s.svc.TimeZone()).Format("20060102-150405")+`.csv"`)
	var buf strings.Builder
	buf.WriteString("\ufeff") // so spreadsheet programs read UTF-8
	if err := s.svc.ExportAudit(c.Request().Context(), principal(c), q, &buf); err != nil {
		h.Del(echo.HeaderContentDisposition)
		return err
	}
	return c.String(http.StatusOK, buf.String())
}
