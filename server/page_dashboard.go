package server

import (
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/engine"
	"formwork/web"
)

// dashboardRefresh is how often (seconds) an open dashboard reads its
// numbers again.
const dashboardRefresh = 300

// bindDashboardPages binds the dashboard page; the engine decides who
// sees it (404 for others) and computes it under the viewer's scope.
func (s *server) bindDashboardPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	e.GET("/apps/:app/dashboards/:key", s.dashboardPage, page...)
}

func dashboardURL(app, key string) string {
	return "/apps/" + url.PathEscape(app) + "/dashboards/" + url.PathEscape(key)
}

// dashboardPage renders a dashboard with the period (this month unless
// the viewer picked another) and unit asked for.
func (s *server) dashboardPage(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	lang := pageLang(c)
	app, key := c.Param("app"), c.Param("key")
	qs := c.QueryParams()
	if !qs.Has("range") && qs.Get("from") == "" && qs.Get("to") == "" {
		qs.Set("range", "this_month")
	}
	v := web.DashboardPage{Range: qs.Get("range"), From: qs.Get("from"), To: qs.Get("to"), Unit: qs.Get("unit"), Refresh: dashboardRefresh}
	q, qerr := s.svc.DashboardRangeQuery(v.Range, v.From, v.To, v.Unit)
	if qerr != nil {
		if engine.ErrorCode(qerr) != engine.EINVALID {
			return qerr
		}
		v.Error = errText(qerr, lang)
		v.Range, v.From, v.To = "this_month", "", ""
		q, _ = s.svc.DashboardRangeQuery(v.Range, "", "", v.Unit)
	}
	d, err := s.svc.Dashboard(ctx, p, app, key, q)
	if err != nil {
		if engine.ErrorCode(err) != engine.EINVALID || v.Unit == "" {
			return err
		}
		v.Error, v.Unit, q.Unit = errText(err, lang), "", ""
		if d, err = s.svc.Dashboard(ctx, p, app, key, q); err != nil {
			return err
		}
	}
	out := dashboardOut(d, q, lang)
	if v.Range == "" {
		v.From, v.To = out.From, out.To
	}
	v.Page = s.page(c, out.Name)
	v.Page.Scripts = append(v.Page.Scripts, "vendor/echarts/echarts.common.min.js", "dashboard.js")
	v.Page.Styles = append(v.Page.Styles, "dashboard.css")
	v.Name = out.Name
	data, err := json.Marshal(out)
	if err != nil {
		return err
	}
	v.Data = string(data)
	for _, r := range engine.DashboardRanges {
		v.Ranges = append(v.Ranges, web.Choice{Value: r, Label: web.Msg(lang, "dash.range."+r)})
	}
	v.Ranges = append(v.Ranges, web.Choice{Value: "custom", Label: web.Msg(lang, "dash.range.custom")})
	if v.Range == "" && (v.From != "" || v.To != "") {
		v.Range = "custom"
	}
	units, err := s.svc.DashboardUnits(ctx, p)
	if err != nil {
		return err
	}
	for _, u := range units {
		v.Units = append(v.Units, web.Choice{Value: u.Key, Label: strings.Repeat("　", max(len(u.Path)-1, 0)) + u.Name.In(lang)})
	}
	for _, ch := range out.Charts {
		v.Charts = append(v.Charts, dashChart(ch, lang))
	}
	others, err := s.svc.Dashboards(ctx, p, app)
	if err != nil {
		return err
	}
	for _, o := range others {
		if o.Key != key {
			v.Others = append(v.Others, web.Choice{Value: dashboardURL(app, o.Key), Label: o.Name.In(lang)})
		}
	}
	return Render(c, http.StatusOK, web.DashboardView(v))
}

// dashChart is a chart's card: a number with its change, or the table of
// its points (a pivot table's rows and columns).
func dashChart(ch chartJSON, lang string) web.DashChart {
	dc := web.DashChart{Key: ch.Key, Type: ch.Type, Name: ch.Name, Refused: ch.Refused, Other: ch.Other}
	if ch.Refused != "" {
		return dc
	}
	if ch.Type == engine.ChartNumber {
		if len(ch.Series) > 0 {
			dc.Value = formatNumber(ch.Series[0].Value)
			dc.Change, dc.Trend = change(ch.Series[0].Value, ch.Previous)
		}
		return dc
	}
	if ch.Type != engine.ChartPivot {
		dc.Head = []string{web.Msg(lang, "dash.group"), web.Msg(lang, "dash.value")}
		for _, pt := range ch.Series {
			dc.Rows = append(dc.Rows, web.DashRow{Label: pt.Label, Cells: []string{formatNumber(pt.Value)}, URL: pt.List})
		}
		return dc
	}
	// A pivot table: one row per row key, one column per column key.
	var rows, cols []string
	rowLabel, colLabel := map[string]string{}, map[string]string{}
	cells := map[[2]string]float64{}
	for _, pt := range ch.Series {
		rk, ck := keyText(pt.Key), keyText(pt.Column)
		if _, ok := rowLabel[rk]; !ok {
			rows = append(rows, rk)
			rowLabel[rk] = pt.Label
		}
		if _, ok := colLabel[ck]; !ok {
			cols = append(cols, ck)
			colLabel[ck] = pt.ColumnLabel
		}
		cells[[2]string{rk, ck}] += pt.Value
	}
	dc.Head = []string{web.Msg(lang, "dash.group")}
	for _, ck := range cols {
		dc.Head = append(dc.Head, colLabel[ck])
	}
	for _, rk := range rows {
		r := web.DashRow{Label: rowLabel[rk]}
		for _, ck := range cols {
			r.Cells = append(r.Cells, formatNumber(cells[[2]string{rk, ck}]))
		}
		dc.Rows = append(dc.Rows, r)
	}
	return dc
}

func keyText(k any) string {
	b, _ := json.Marshal(k)
	return string(b)
}

// formatNumber writes a chart value: whole numbers with thousands
// separators, others with two decimals.
func formatNumber(v float64) string {
	neg := v < 0
	v = math.Abs(v)
	whole := math.Floor(v)
	frac := ""
	if v-whole >= 0.005 {
		s := strconv.FormatFloat(v, 'f', 2, 64)
		frac = s[strings.IndexByte(s, '.'):]
		whole, _ = strconv.ParseFloat(s[:strings.IndexByte(s, '.')], 64)
	}
	digits := strconv.FormatFloat(whole, 'f', 0, 64)
	var b strings.Builder
	if neg {
		b.WriteString("-")
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String() + frac
}

// change is a value against the previous period's, as "+12%" with its
// direction; "" without a previous value, or when it was nothing.
func change(v float64, prev *float64) (string, string) {
	if prev == nil || *prev == 0 {
		return "", ""
	}
	pct := (v - *prev) / math.Abs(*prev) * 100
	switch {
	case math.Abs(pct) < 0.05:
		return "±0%", "flat"
	case pct > 0:
		return "+" + strconv.FormatFloat(pct, 'f', 1, 64) + "%", "up"
	default:
		return "−" + strconv.FormatFloat(-pct, 'f', 1, 64) + "%", "down"
	}
}
