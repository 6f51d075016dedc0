package server

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"formwork/engine"
)

// bindDashboardRoutes binds the dashboards' JSON; the engine decides who
// sees which dashboard and computes every chart under the caller's scope.
func (s *server) bindDashboardRoutes(e *echo.Echo, user []echo.MiddlewareFunc) {
	const v1 = "/api/v1"
	e.GET(v1+"/apps/:app/dashboards", s.listDashboards, user...)
	e.GET(v1+"/apps/:app/dashboards/:key", s.getDashboard, user...)
}

// dashboardItem is one dashboard the caller may open.
type dashboardItem struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// listDashboards answers {"items": [{"key", "name"}]}.
func (s *server) listDashboards(c echo.Context) error {
	ds, err := s.svc.Dashboards(c.Request().Context(), principal(c), c.Param("app"))
	if err != nil {
		return err
	}
	lang := apiLang(c)
	items := make([]dashboardItem, 0, len(ds))
	for _, d := range ds {
		items = append(items, dashboardItem{Key: d.Key, Name: d.Name.In(lang)})
	}
	return c.JSON(http.StatusOK, map[string]any{"items": items})
}

// dashboardJSON is a computed dashboard as the API answers it: labels in
// the caller's language.
type dashboardJSON struct {
	Key    string      `json:"key"`
	Name   string      `json:"name"`
	From   string      `json:"from,omitempty"`
	To     string      `json:"to,omitempty"`
	Charts []chartJSON `json:"charts"`
}

type chartJSON struct {
	Key      string              `json:"key"`
	Type     string              `json:"type"`
	Form     string              `json:"form"`
	Name     string              `json:"name"`
	Measure  engine.ChartMeasure `json:"measure"`
	Series   []pointJSON         `json:"series"`
	Previous *float64            `json:"previous,omitempty"`
	Other    bool                `json:"other,omitempty"`
	Refused  string              `json:"refused,omitempty"`
}

type pointJSON struct {
	Key         any             `json:"key"`
	Label       string          `json:"label"`
	Column      any             `json:"column,omitempty"`
	ColumnLabel string          `json:"column_label,omitempty"`
	Value       float64         `json:"value"`
	Count       int64           `json:"count"`
	Filter      json.RawMessage `json:"filter,omitempty"`
	List        string          `json:"list,omitempty"` // the list page of the point's records
}

// getDashboard computes one dashboard: ?range=this_month (see
// engine.DashboardRanges) or ?from=2026-12-01&to=2026-12-31, and ?unit=.
func (s *server) getDashboard(c echo.Context) error {
	v, q, err := s.computeDashboard(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, dashboardOut(v, q, apiLang(c)))
}

// computeDashboard reads the range and unit a request asks for and
// computes the dashboard.
func (s *server) computeDashboard(c echo.Context) (*engine.DashboardView, engine.DashboardQuery, error) {
	qs := c.QueryParams()
	q, err := s.svc.DashboardRangeQuery(qs.Get("range"), qs.Get("from"), qs.Get("to"), qs.Get("unit"))
	if err != nil {
		return nil, q, err
	}
	v, err := s.svc.Dashboard(c.Request().Context(), principal(c), c.Param("app"), c.Param("key"), q)
	return v, q, err
}

func dashboardOut(v *engine.DashboardView, q engine.DashboardQuery, lang string) dashboardJSON {
	out := dashboardJSON{Key: v.Key, Name: v.Name.In(lang), Charts: make([]chartJSON, 0, len(v.Charts))}
	if !q.From.IsZero() {
		out.From = q.From.Format("2006-01-02")
	}
	if !q.To.IsZero() {
		out.To = q.To.AddDate(0, 0, -1).Format("2006-01-02")
	}
	for _, ch := range v.Charts {
		cj := chartJSON{Key: ch.Key, Type: ch.Type, Form: ch.Form, Name: ch.Name.In(lang), Measure: ch.Measure, Previous: ch.Previous, Other: ch.Other, Series: make([]pointJSON, 0, len(ch.Series))}
		if ch.Refused != nil {
			cj.Refused = ch.Refused.In(lang)
		}
		for _, pt := range ch.Series {
			pj := pointJSON{Key: pt.Key, Label: pt.Label.In(lang), Column: pt.Column, Value: pt.Value, Count: pt.Count, Filter: pt.Filter}
			if pt.ColumnLabel != nil {
				pj.ColumnLabel = pt.ColumnLabel.In(lang)
			}
			if pt.Filter != nil {
				pj.List = formBase(v.App, ch.Form) + "?filter=" + url.QueryEscape(string(pt.Filter))
			}
			cj.Series = append(cj.Series, pj)
		}
		out.Charts = append(out.Charts, cj)
	}
	return out
}
