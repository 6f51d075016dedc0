package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"formwork/designer"
	"formwork/engine"
	"formwork/web"
)

// bindDesignerDashboardPages binds the designer's dashboards page: the
// draft's dashboards, each with its roles and charts, changed one step at
// a time by plain forms (each step a JSON Patch of the draft, checked as
// every draft change is).
func (s *server) bindDesignerDashboardPages(e *echo.Echo, page []echo.MiddlewareFunc) {
	e.GET("/designer/apps/:app/dashboards", s.designerDashboardsPage, page...)
	e.POST("/designer/apps/:app/dashboards", s.designerDashboardsStep, page...)
}

func designerDashboardsURL(app string) string { return designerAppURL(app) + "/dashboards" }

// draftField is what the dashboards page needs of a draft's field.
type draftField struct {
	Type      string      `json:"type"`
	Format    string      `json:"format"`
	Widget    string      `json:"x-widget"`
	Label     engine.Text `json:"x-label"`
	Sensitive string      `json:"x-sensitive"`
	Items     struct {
		Type string `json:"type"`
	} `json:"items"`
}

// chartFields are the fields of a draft form a chart may group by and
// measure, in the form's order (system fields first for groups).
func chartFields(props map[string]json.RawMessage, order []string, lang string) (groups, measures []web.Choice) {
	for _, k := range []string{"_unit", "_owner", "_status", "_created_at"} {
		label, _ := engine.SystemFieldLabel(k)
		groups = append(groups, web.Choice{Value: k, Label: label.In(lang)})
	}
	for _, k := range order {
		var f draftField
		if json.Unmarshal(props[k], &f) != nil || f.Sensitive != "" {
			continue
		}
		label := f.Label.In(lang)
		if label == "" {
			label = k
		}
		switch {
		case f.Type == "number" || f.Type == "integer":
			measures = append(measures, web.Choice{Value: k, Label: label})
			groups = append(groups, web.Choice{Value: k, Label: label})
		case f.Type == "string" && f.Widget != "attachment" && f.Widget != "image", f.Type == "boolean", f.Type == "array" && f.Items.Type == "string":
			groups = append(groups, web.Choice{Value: k, Label: label})
		}
	}
	return groups, measures
}

// propertyOrder is the order of a form's properties as written.
func propertyOrder(raw json.RawMessage) []string {
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return keys
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return keys
		}
	}
	return keys
}

// draftDashboards reads the draft's dashboards as maps, so keys this page
// does not know survive its changes.
func draftDashboards(d *designer.Draft) []map[string]any {
	var top struct {
		Dashboards []map[string]any `json:"dashboards"`
	}
	_ = json.Unmarshal(d.Bundle, &top)
	return top.Dashboards
}

func (s *server) designerDashboardsPage(c echo.Context) error {
	return s.renderDesignerDashboards(c, http.StatusOK, "")
}

func (s *server) renderDesignerDashboards(c echo.Context, status int, msg string) error {
	lang, app := pageLang(c), c.Param("app")
	d, b, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	name := b.App.Name.In(lang)
	v := web.DesignerDashboardsPage{Page: s.designerPage(c, web.Msg(lang, "dzd.title")+" · "+name), App: app, AppName: name,
		AppURL: designerAppURL(app), Action: designerDashboardsURL(app), Error: msg}
	v.Page.Scripts = append(v.Page.Scripts, "designer/dashboards.js")
	titles := map[string]string{}
	var raw struct {
		Forms []struct {
			Key        string          `json:"x-key"`
			Properties json.RawMessage `json:"properties"`
		} `json:"forms"`
		Roles []struct {
			Key  string      `json:"key"`
			Name engine.Text `json:"name"`
		} `json:"roles"`
	}
	_ = json.Unmarshal(d.Bundle, &raw)
	for i, f := range b.Forms {
		title := f.Title.In(lang)
		if title == "" {
			title = f.Key
		}
		titles[f.Key] = title
		var order []string
		if i < len(raw.Forms) {
			order = propertyOrder(raw.Forms[i].Properties)
		}
		groups, measures := chartFields(f.Properties, order, lang)
		v.Forms = append(v.Forms, web.DesignerChartForm{Key: f.Key, Title: title, Groups: groups, Measures: measures})
	}
	roleNames := map[string]string{}
	for _, r := range raw.Roles {
		nm := r.Name.In(lang)
		if nm == "" {
			nm = r.Key
		}
		roleNames[r.Key] = nm
		v.Roles = append(v.Roles, web.Choice{Value: r.Key, Label: nm})
	}
	for _, dm := range draftDashboards(d) {
		v.Dashboards = append(v.Dashboards, dashboardItemOf(dm, titles, roleNames, v.Forms, lang))
	}
	for _, p := range d.Problems {
		if strings.HasPrefix(p.Pointer, "/dashboards") {
			v.Problems = append(v.Problems, p.Message.In(lang))
		}
	}
	return Render(c, status, web.DesignerDashboardsView(v))
}

// dashboardItemOf describes one draft dashboard in words.
func dashboardItemOf(dm map[string]any, titles, roleNames map[string]string, forms []web.DesignerChartForm, lang string) web.DesignerDash {
	var text engine.Text
	_ = json.Unmarshal(engine.MustJSON(dm["name"]), &text)
	item := web.DesignerDash{Key: str(dm["key"]), Name: text.In(lang), Roles: map[string]bool{}}
	if item.Name == "" {
		item.Name = item.Key
	}
	for _, r := range list(dm["roles"]) {
		item.Roles[str(r)] = true
		item.RoleNames = append(item.RoleNames, orKey(roleNames[str(r)], str(r)))
	}
	label := func(form, field string) string {
		for _, f := range forms {
			if f.Key != form {
				continue
			}
			for _, c := range append(slices.Clone(f.Groups), f.Measures...) {
				if c.Value == field {
					return c.Label
				}
			}
		}
		return field
	}
	for _, cv := range list(dm["charts"]) {
		cm, _ := cv.(map[string]any)
		form := str(cm["form"])
		ch := web.DesignerChart{Key: str(cm["key"]), Type: web.Msg(lang, "dzd.type."+str(cm["type"])), Form: orKey(titles[form], form)}
		var nm engine.Text
		if json.Unmarshal(engine.MustJSON(cm["name"]), &nm) == nil {
			ch.Name = nm.In(lang)
		}
		for _, g := range []any{cm["group"], cm["columns"]} {
			field, by := groupOf(g)
			if field == "" {
				continue
			}
			words := label(form, field)
			if by != "" {
				words += " · " + web.Msg(lang, "dzd.by."+by)
			}
			ch.Groups = append(ch.Groups, words)
		}
		m, _ := cm["measure"].(map[string]any)
		ch.Measure = web.Msg(lang, "dzd.op."+str(m["op"]))
		if f := str(m["field"]); f != "" {
			ch.Measure += " · " + label(form, f)
		}
		item.Charts = append(item.Charts, ch)
	}
	return item
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func orKey(label, key string) string {
	if label == "" {
		return key
	}
	return label
}

// groupOf reads a chart group: a key, or {"field", "by"}.
func groupOf(g any) (field, by string) {
	switch x := g.(type) {
	case string:
		return x, ""
	case map[string]any:
		return str(x["field"]), str(x["by"])
	}
	return "", ""
}

// designerDashboardsStep applies one step the page's forms send (do=new,
// delete, roles, add_chart, delete_chart, up, down) to the draft's
// dashboards and shows the page again.
func (s *server) designerDashboardsStep(c echo.Context) error {
	lang, app := pageLang(c), c.Param("app")
	d, _, err := s.pageDraft(c)
	if err != nil {
		return err
	}
	dashes := draftDashboards(d)
	key := c.FormValue("dashboard")
	at := slices.IndexFunc(dashes, func(m map[string]any) bool { return str(m["key"]) == key })
	refuse := func(msgKey string) error {
		return s.renderDesignerDashboards(c, http.StatusUnprocessableEntity, web.Msg(lang, msgKey))
	}
	do := c.FormValue("do")
	if do != "new" && at < 0 {
		return refuse("dzd.err.no_dashboard")
	}
	switch do {
	case "new":
		zh, en := eachOther(strings.TrimSpace(c.FormValue("name_zh")), strings.TrimSpace(c.FormValue("name_en")))
		if zh == "" {
			return refuse("dzd.err.name")
		}
		nk := flowKey(en, func(k string) bool {
			return slices.ContainsFunc(dashes, func(m map[string]any) bool { return str(m["key"]) == k })
		})
		dashes = append(dashes, map[string]any{"key": nk, "name": engine.Text{Zh: zh, En: en}, "charts": []any{}})
		key = nk
	case "delete":
		dashes = slices.Delete(dashes, at, at+1)
	case "roles":
		form, _ := c.FormParams()
		roles := form["roles"]
		if len(roles) == 0 {
			delete(dashes[at], "roles")
		} else {
			dashes[at]["roles"] = roles
		}
	case "add_chart":
		ch, msgKey := chartFromForm(c, list(dashes[at]["charts"]))
		if msgKey != "" {
			return refuse(msgKey)
		}
		dashes[at]["charts"] = append(list(dashes[at]["charts"]), ch)
	case "delete_chart", "up", "down":
		charts := list(dashes[at]["charts"])
		i := slices.IndexFunc(charts, func(v any) bool { m, _ := v.(map[string]any); return str(m["key"]) == c.FormValue("chart") })
		if i < 0 {
			return refuse("dzd.err.no_chart")
		}
		switch do {
		case "delete_chart":
			charts = slices.Delete(charts, i, i+1)
		case "up":
			if i > 0 {
				charts[i-1], charts[i] = charts[i], charts[i-1]
			}
		case "down":
			if i < len(charts)-1 {
				charts[i+1], charts[i] = charts[i], charts[i+1]
			}
		}
		dashes[at]["charts"] = charts
	default:
		return refuse("dzd.err.step")
	}
	op := map[string]any{"op": "add", "path": "/dashboards", "value": dashes}
	if len(dashes) == 0 {
		op = map[string]any{"op": "remove", "path": "/dashboards"}
	}
	if _, err := s.designer.Patch(c.Request().Context(), principal(c), app, engine.MustJSON([]any{op}), d.Version); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, designerDashboardsURL(app)+"#dash-"+url.PathEscape(key))
}

// chartFromForm builds a chart from the add-chart form, or names the
// message of what is wrong with it.
func chartFromForm(c echo.Context, charts []any) (map[string]any, string) {
	typ, form := c.FormValue("type"), c.FormValue("form")
	if !slices.Contains([]string{engine.ChartNumber, engine.ChartBar, engine.ChartLine, engine.ChartPie, engine.ChartTable, engine.ChartPivot}, typ) {
		return nil, "dzd.err.type"
	}
	if form == "" {
		return nil, "dzd.err.form"
	}
	ch := map[string]any{"type": typ, "form": form}
	n := len(charts) + 1
	for slices.ContainsFunc(charts, func(v any) bool { m, _ := v.(map[string]any); return str(m["key"]) == "c"+strconv.Itoa(n) }) {
		n++
	}
	ch["key"] = "c" + strconv.Itoa(n)
	if zh, en := eachOther(strings.TrimSpace(c.FormValue("name_zh")), strings.TrimSpace(c.FormValue("name_en"))); zh != "" {
		ch["name"] = engine.Text{Zh: zh, En: en}
	}
	for _, g := range []struct{ name, by, key string }{{"group", "group_by", "group"}, {"columns", "columns_by", "columns"}} {
		v := c.FormValue(g.name)
		if v == "" {
			continue
		}
		gf, field, ok := strings.Cut(v, "/")
		if !ok || gf != form {
			return nil, "dzd.err.other_form"
		}
		if by := c.FormValue(g.by); by != "" {
			ch[g.key] = map[string]any{"field": field, "by": by}
		} else {
			ch[g.key] = field
		}
	}
	op := c.FormValue("op")
	m := map[string]any{"op": op}
	if op != engine.MeasureCount {
		mf, field, ok := strings.Cut(c.FormValue("measure"), "/")
		if !ok || mf != form {
			return nil, "dzd.err.measure"
		}
		m["field"] = field
	}
	ch["measure"] = m
	return ch, ""
}
